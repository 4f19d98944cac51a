"""The GDELT downloader against a local HTTP server that serves real files, a corrupt one, a 404, a slow
one, a connection that drops half way, and that honours Range requests like GDELT's server does."""

from __future__ import annotations

import functools
import hashlib
import http.server
import re
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from dyadwatch.acquire import fetch
from dyadwatch.acquire.fetch import FetchError, Slot, fetch_gdelt, format_coverage, parse_masterfilelist, plan_slots

from conftest import KARABAKH

DAY = date(2020, 11, 13)
GOOD = {  # slot -> real file served under it
    "20201113000000": KARABAKH / "20201113.export.CSV.zip",
    "20201113001500": KARABAKH / "20201114.export.CSV.zip",
}
CORRUPT, GONE, SLOW, STALLS, DROPS = (
    "20201113003000", "20201113004500", "20201113010000", "20201113011500", "20201113013000")
SLOW_SECONDS, STALL_SECONDS, TIMEOUT = 0.3, 3.0, 1.0


class GdeltServer:
    """Serves /gdeltv2/<slot>.export.CSV.zip plus masterfilelist.txt and records every request."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.index: list[str] = []
        self.requests: list[tuple[str, str | None]] = []
        self.dropped_once: set[str] = set()
        real = {k: p.read_bytes() for k, p in GOOD.items()}
        for slot, data in real.items():
            self.add(slot, data)
        data = KARABAKH.joinpath("20201115.export.CSV.zip").read_bytes()
        self.add(CORRUPT, data, served=data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])
        self.index.append(f"1234 {'a' * 32} http://x/gdeltv2/{GONE}.export.CSV.zip")  # listed, not served
        self.add(SLOW, real["20201113000000"])
        self.add(STALLS, real["20201113001500"])
        self.add(DROPS, data)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                name = self.path.rsplit("/", 1)[-1]
                rng = self.headers.get("Range")
                server.requests.append((name, rng))
                if self.path == "/gdeltv2/masterfilelist.txt":
                    return self._send(200, "\n".join(server.index).encode() + b"\n")
                if not self.path.startswith("/gdeltv2/") or name not in server.files:
                    return self._send(404, b"not found")
                body = server.files[name]
                if name.startswith(SLOW):
                    time.sleep(SLOW_SECONDS)
                if name.startswith(STALLS):
                    time.sleep(STALL_SECONDS)
                start = 0
                if rng and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                status = 206 if start else 200
                part = body[start:]
                if name.startswith(DROPS) and name not in server.dropped_once:
                    server.dropped_once.add(name)  # promise the whole body, send half, hang up
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(part)))
                    self.end_headers()
                    self.wfile.write(part[: len(part) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self._send(status, part, start, len(body))

            def _send(self, status: int, body: bytes, start: int = 0, total: int | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{total - 1}/{total}")
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda *a: None  # clients that time out break pipes: expected here
        self.base = f"http://127.0.0.1:{self.httpd.server_port}/gdeltv2/"

    def add(self, slot: str, data: bytes, served: bytes | None = None) -> None:
        name = f"{slot}.export.CSV.zip"
        self.files[name] = data if served is None else served
        self.index.append(f"{len(data)} {hashlib.md5(data).hexdigest()} http://x/gdeltv2/{name}")
        self.index.append(f"99 {'0' * 32} http://x/gdeltv2/{slot}.mentions.CSV.zip")

    def zip_requests(self) -> list[tuple[str, str | None]]:
        return [r for r in self.requests if r[0].endswith(".zip")]


@pytest.fixture
def server():
    s = GdeltServer()
    t = threading.Thread(target=s.httpd.serve_forever, daemon=True)
    t.start()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def run_fetch(server: GdeltServer, dest: Path, **kw):
    opts = dict(base_url=server.base, workers=4, retries=2, timeout=TIMEOUT, backoff=0.01)
    opts.update(kw)
    return fetch_gdelt(DAY, DAY, dest, **opts)


def by_key(report):
    return {r.slot.key: r for r in report.results}


def test_every_slot_is_accounted_for_with_its_reason(server, tmp_path):
    seen = []
    report = run_fetch(server, tmp_path, progress=seen.append)
    assert len(report.results) == 96 and len(seen) == 96
    r = by_key(report)
    assert [r[k].status for k in (*GOOD, SLOW, DROPS)] == ["downloaded"] * 4
    assert r[CORRUPT].status == "failed"
    data = KARABAKH.joinpath("20201115.export.CSV.zip").read_bytes()
    served_md5 = hashlib.md5(server.files[f"{CORRUPT}.export.CSV.zip"]).hexdigest()
    assert r[CORRUPT].reason == f"MD5 {served_md5}, index says {hashlib.md5(data).hexdigest()} (after 2 attempts)"
    assert r[CORRUPT].attempts == 2
    assert (r[GONE].status, r[GONE].reason, r[GONE].attempts) == ("missing", "HTTP 404 on the server", 1)
    assert (r[STALLS].status, r[STALLS].reason) == ("failed", "timed out (after 2 attempts)")
    assert r["20201113234500"].status == "missing" and r["20201113234500"].reason == "not in masterfilelist.txt"
    assert len(report.missing) == 96 - 7 + 1 and len(report.failed) == 2 and not report.complete
    # verified copies only: nothing corrupt, no half files
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{k}.export.CSV.zip" for k in (*GOOD, SLOW, DROPS))
    for k, p in GOOD.items():
        assert (tmp_path / f"{k}.export.CSV.zip").read_bytes() == p.read_bytes()
    assert report.ok_paths == [str(tmp_path / f"{k}.export.CSV.zip") for k in sorted((*GOOD, SLOW, DROPS))]


def test_a_dropped_connection_resumes_with_a_range_request(server, tmp_path):
    report = run_fetch(server, tmp_path)
    name = f"{DROPS}.export.CSV.zip"
    size = len(server.files[name])
    assert [rng for n, rng in server.zip_requests() if n == name] == [None, f"bytes={size // 2}-"]
    assert by_key(report)[DROPS].attempts == 2
    assert (tmp_path / name).read_bytes() == server.files[name]


def test_an_interrupted_run_resumes_from_its_part_file(server, tmp_path):
    name = "20201113000000.export.CSV.zip"
    data = server.files[name]
    (tmp_path / f"{name}.part").write_bytes(data[:1000])  # what a killed run leaves behind
    run_fetch(server, tmp_path)
    assert [rng for n, rng in server.zip_requests() if n == name] == ["bytes=1000-"]
    assert (tmp_path / name).read_bytes() == data and not (tmp_path / f"{name}.part").exists()


def test_rerun_downloads_nothing_and_a_damaged_copy_is_fetched_again(server, tmp_path):
    run_fetch(server, tmp_path)
    before = len(server.zip_requests())
    report = run_fetch(server, tmp_path)
    # only the ones not in hand are asked for again; the verified copies are not
    again = {n for n, _ in server.zip_requests()[before:]}
    assert again == {f"{k}.export.CSV.zip" for k in (CORRUPT, GONE, STALLS)}
    assert {k for k, r in by_key(report).items() if r.status == "cached"} == {*GOOD, SLOW, DROPS}

    damaged = tmp_path / "20201113000000.export.CSV.zip"
    damaged.write_bytes(b"x" * damaged.stat().st_size)
    report = run_fetch(server, tmp_path)
    assert by_key(report)["20201113000000"].status == "downloaded"
    assert damaged.read_bytes() == GOOD["20201113000000"].read_bytes()


def test_coverage_report_names_every_slot_not_in_hand(server, tmp_path):
    lines = format_coverage(run_fetch(server, tmp_path))
    assert lines[-1].startswith("coverage GDELT 2 2020-11-13..2020-11-13: 4 of 96 files in hand (4 downloaded")
    assert re.search(r"; 0 already here\), 90 missing, 2 failed \(\d+\.\d s\)$", lines[-1])
    named = [l.split()[1] for l in lines[:-1]]
    assert len(named) == 92 and len(set(named)) == 92
    assert f"missing {GONE} {GONE}.export.CSV.zip: HTTP 404 on the server" in lines


def test_unreadable_index_is_one_fetch_error(tmp_path, server):
    with pytest.raises(FetchError, match=r"cannot read index http://127\.0\.0\.1:\d+/nothere/masterfilelist\.txt: HTTP 404"):
        fetch_gdelt(DAY, DAY, tmp_path, base_url=server.base.replace("gdeltv2", "nothere"), retries=1)
    with pytest.raises(FetchError, match=r"cannot read index http://127\.0\.0\.1:9/masterfilelist\.txt: cannot connect.*after 2 attempts"):
        fetch_gdelt(DAY, DAY, tmp_path, base_url="http://127.0.0.1:9", retries=2, backoff=0.01, timeout=1)


def test_plan_slots_follows_gdelt_publishing_calendar():
    assert len(plan_slots(2, DAY, DAY)) == 96
    assert len(plan_slots(2, date(2020, 2, 28), date(2020, 3, 1))) == 3 * 96  # leap day included
    first = plan_slots(2, date(2015, 2, 17), date(2015, 2, 18))
    assert [s.key for s in first] == ["20150218230000", "20150218231500", "20150218233000", "20150218234500"]
    assert plan_slots(2, DAY, DAY)[-1] == Slot("20201113234500", "20201113234500.export.CSV.zip")
    assert [s.filename for s in plan_slots(1, date(2013, 3, 30), date(2013, 4, 2))] == [
        "201303.zip", "20130401.export.CSV.zip", "20130402.export.CSV.zip"]
    assert [s.filename for s in plan_slots(1, date(2005, 12, 31), date(2006, 2, 1))] == [
        "2005.zip", "200601.zip", "200602.zip"]
    assert [s.filename for s in plan_slots(1, date(1970, 1, 1), date(1979, 1, 1))] == ["1979.zip"]
    with pytest.raises(FetchError):
        plan_slots(2, date(2020, 1, 2), date(2020, 1, 1))
    with pytest.raises(FetchError):
        plan_slots(3, DAY, DAY)


def test_v1_index_is_md5sums_and_filesizes(tmp_path):
    data = KARABAKH.joinpath("20201113.export.CSV.zip").read_bytes()
    www = tmp_path / "www" / "events"
    www.mkdir(parents=True)
    (www / "20130401.export.CSV.zip").write_bytes(data)
    (www / "md5sums").write_text(f"{hashlib.md5(data).hexdigest()}  20130401.export.CSV.zip\nzzz  201303.zip\n")
    (www / "filesizes").write_text(f"{len(data)} 20130401.export.CSV.zip\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "www"))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        report = fetch_gdelt(date(2013, 3, 31), date(2013, 4, 1), tmp_path / "d", version=1, retries=1,
                             base_url=f"http://127.0.0.1:{httpd.server_port}/events/")
    finally:
        httpd.shutdown()
    assert [(r.slot.filename, r.status) for r in report.results] == [
        ("201303.zip", "missing"), ("20130401.export.CSV.zip", "downloaded")]
    assert report.index_problems == ["md5sums line 2: malformed entry 'zzz  201303.zip'"]


def test_masterfilelist_parser_keeps_wanted_entries_and_reports_bad_lines():
    lines = [
        "150383 297a16b493de7cf6ca809a7cc31d0b93 http://data.gdeltproject.org/gdeltv2/20150218230000.export.CSV.zip",
        "318084 bb27f78ba45f69a17ea6ed7755e9f8ff http://data.gdeltproject.org/gdeltv2/20150218230000.mentions.CSV.zip",
        "",
        " http://data.gdeltproject.org/gdeltv2/20150218231500.export.CSV.zip",
    ]
    wanted = {"20150218230000.export.CSV.zip", "20150218231500.export.CSV.zip"}
    entries, problems = parse_masterfilelist(lines, wanted)
    assert entries["20150218230000.export.CSV.zip"] == fetch.IndexEntry(150383, "297a16b493de7cf6ca809a7cc31d0b93")
    assert entries["20150218231500.export.CSV.zip"] == fetch.IndexEntry(None, None)
    assert problems == ["masterfilelist.txt line 4: malformed entry "
                        "'http://data.gdeltproject.org/gdeltv2/20150218231500.export.CSV.zip'"]


@given(st.lists(st.text(max_size=80), max_size=30))
def test_masterfilelist_parser_never_crashes_and_loses_no_wanted_name(lines):
    wanted = {"20150218230000.export.CSV.zip"}
    lines = lines + ["7 " + "b" * 32 + " http://h/20150218230000.export.CSV.zip"]
    entries, problems = parse_masterfilelist(lines, wanted)
    assert entries["20150218230000.export.CSV.zip"] == fetch.IndexEntry(7, "b" * 32)
