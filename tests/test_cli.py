"""The CLI run as a user runs it: a subprocess, its stdout, stderr and exit code."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dyadwatch.store import Store

from conftest import GEORGIA, KARABAKH


def run(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dyadwatch", *args],
        capture_output=True, text=True, cwd=cwd, env={**os.environ, **(env or {})}, timeout=300,
    )


def test_ingest_status_events_csv_json(tmp_path):
    store = tmp_path / "s"
    r = run("ingest", str(KARABAKH), "--store", str(store), "--countries", "RUS,TUR")
    assert r.returncode == 0, r.stderr
    assert "9,354 rows read, 1,025 kept, 1,025 new events stored, 0 quarantined" in r.stdout

    r = run("status", "--store", str(store), "--json")
    info = json.loads(r.stdout)
    assert info["events"] == 1025 and info["files"] == 3
    assert info["sources"][0]["first_event"] <= "2020-11-13" <= info["sources"][0]["last_event"]

    r = run("events", "--store", str(store), "--dyad", "RUS-TUR", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == 57
    assert {row["event_root_code"] for row in rows} <= {f"{i:02d}" for i in range(1, 21)}

    r = run("events", "--store", str(store), "--dyad", "TUR-RUS", "--from", "2020-11-15", "--to", "2020-11-15",
            "--format", "json")
    rows = json.loads(r.stdout)
    assert rows and all(row["event_date"] == "2020-11-15" for row in rows)

    out = tmp_path / "e.parquet"
    r = run("events", "--store", str(store), "--dyad", "RUS-TUR", "--format", "parquet", "--out", str(out))
    assert r.returncode == 0
    import pyarrow.parquet as pq

    assert pq.read_table(out).num_rows == 57


def test_store_from_environment(tmp_path):
    r = run("ingest", str(KARABAKH / "20201113.export.CSV.zip"), env={"DYADWATCH_HOME": str(tmp_path / "home")})
    assert r.returncode == 0, r.stderr
    assert Store(tmp_path / "home").status()["events"] == 2824


@pytest.mark.parametrize(
    "args, message",
    [
        (["events", "--dyad", "RUS-XXX"], "unknown CAMEO country code 'XXX'"),
        (["events", "--dyad", "RUS"], "dyad 'RUS' should be two CAMEO country codes"),
        (["events", "--dyad", "RUS-TUR", "--from", "2020-13-01"], "--from '2020-13-01' is not a date"),
        (["events", "--format", "xml"], "--format 'xml'"),
        (["ingest", "/nonexistent/file.zip"], "/nonexistent/file.zip: no such file or folder"),
        (["ingest", "x", "--countries", "RUS,ZZZ"], "unknown CAMEO country code 'ZZZ'"),
        (["status"], "no dyadwatch store here"),
    ],
)
def test_user_errors_are_one_line(tmp_path, args, message):
    r = run(*args, "--store", str(tmp_path / "none"))
    assert r.returncode == 1
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    assert message in lines[0]
    assert "Traceback" not in r.stderr


def test_bad_file_named_good_files_kept(tmp_path):
    empty = tmp_path / "empty.export.CSV"
    empty.write_bytes(b"")
    r = run("ingest", str(empty), str(KARABAKH / "20201115.export.CSV.zip"), "--store", str(tmp_path / "s"))
    assert r.returncode == 1
    assert f"{empty}: empty file" in r.stderr
    assert Store(tmp_path / "s").status()["events"] == 3929


def test_killed_ingest_is_invisible_then_rerun_completes(tmp_path):
    store = tmp_path / "s"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dyadwatch", "ingest", str(GEORGIA), "--store", str(store), "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if (store / "catalog.duckdb").exists():
        assert Store(store).status()["events"] in (0, 105438)
    r = run("ingest", str(GEORGIA), "--store", str(store))
    assert r.returncode == 0, r.stderr
    assert Store(store).status()["events"] == 105438


def test_demo(tmp_path):
    r = run("demo", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "9,354 new events stored" in r.stdout
    assert "RUS-TUR (either direction): 57 events" in r.stdout
    # the brief, beside the store: HTML always, PDF when Chromium is installed (else one line says how)
    html = tmp_path / "demo" / "brief.html"
    assert f"brief: {Path('demo') / 'brief.html'}" in r.stdout
    assert "Russia and Turkey: what the event data show" in html.read_text(encoding="utf-8")
    pdf = tmp_path / "demo" / "brief.pdf"
    if shutil.which("chromium") or Path("/usr/bin/chromium").exists():
        assert f"brief: {Path('demo') / 'brief.pdf'}" in r.stdout
        assert pdf.read_bytes()[:5] == b"%PDF-"
    else:
        assert "apt-get install chromium" in r.stderr
    r = run("demo", cwd=tmp_path)  # idempotent
    assert "skipped 3 already in the store" in r.stdout
    assert Store(tmp_path / "demo" / "store").status()["events"] == 9354
