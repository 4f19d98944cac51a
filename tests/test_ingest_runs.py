"""Small files are read in runs (`sources.reading.read_files`, `GdeltSource.read_run`): several 15-minute
exports end to end through the compiled lane at once. A run must store exactly what reading the same
files one by one stores: the same events, quarantine (file and line), per-day totals, manifest rows and
errors, with files that cannot be read adding nothing and taking nothing from the others."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pyarrow as pa

import dyadwatch.store.pipeline as store_mod
from dyadwatch.sources import gdelt
from dyadwatch.store import Store

from conftest import KARABAKH

with zipfile.ZipFile(KARABAKH / "20201113.export.CSV.zip") as _zf:
    LINES = [line for line in _zf.read("20201113.export.CSV").split(b"\n") if line]
BOM = b"\xef\xbb\xbf"


def _zip(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(path.name[: -len(".zip")], data)
    return path


def _with(line: bytes, column: int, value: bytes) -> bytes:
    cols = line.split(b"\t")
    cols[column] = value
    return b"\t".join(cols)


def small_exports(folder: Path) -> dict[str, Path]:
    """Real rows of the Karabakh sample cut into small exports, with the cases a run must get right."""
    f = {}
    for i in range(6):  # plain 15-minute exports of 150 real rows each, in November
        f[f"ok{i}"] = _zip(folder / f"2020111300{i}000.export.CSV.zip", b"\n".join(LINES[150 * i : 150 * i + 150]) + b"\n")
    # a BOM, CRLF line ends and no newline after the last row
    f["bom"] = _zip(folder / "20201113010000.export.CSV.zip", BOM + b"\r\n".join(LINES[900:960]))
    # bad rows among good ones: 60 columns, an impossible date, no date at all, a blank line
    bad = list(LINES[960:1000])
    bad[3] = b"\t".join(bad[3].split(b"\t")[:-1])
    bad[7] = _with(bad[7], 1, b"20200231")
    bad[12] = b"12345"
    bad[20] = b""
    f["bad"] = _zip(folder / "20201113011500.export.CSV.zip", b"\n".join(bad) + b"\n")
    # a corrupt member (CRC mismatch) and an empty one between good files
    corrupt = _zip(folder / "20201113013000.export.CSV.zip", b"\n".join(LINES[1000:1100]) + b"\n")
    data = bytearray(corrupt.read_bytes())
    data[60] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    f["corrupt"] = corrupt
    f["empty"] = _zip(folder / "20201113014500.export.CSV.zip", b"\n\n")
    # a later file repeating ten ids of an earlier one with another tone (the earlier file's rows win)
    f["repeat"] = _zip(folder / "20201113020000.export.CSV.zip",
                       b"\n".join(_with(x, 34, b"9.5") for x in LINES[0:10]) + b"\n" + b"\n".join(LINES[1100:1150]) + b"\n")
    # a plain (not zipped) export, and files of the next month (a run ends where the month changes)
    f["plain"] = folder / "20201113021500.export.CSV"
    f["plain"].write_bytes(b"\n".join(LINES[1150:1250]) + b"\n")
    for i in range(2):
        f[f"dec{i}"] = _zip(folder / f"2020120100{i}000.export.CSV.zip",
                            b"\n".join(LINES[1250 + 100 * i : 1350 + 100 * i]) + b"\n")
    return f


def outcome(store: Store, report) -> dict:
    events = store.events()
    manifest = store.manifest().select(["name", "size", "md5", "source", "rows_read", "rows_kept", "rows_stored",
                                        "rows_rejected", "rows_filtered"])
    return {
        "events": events.sort_by([("event_id", "ascending")]),
        "quarantine": store.quarantine().sort_by([("source_file", "ascending"), ("source_line", "ascending")]),
        "totals": store.daily_totals(),
        "manifest": manifest.sort_by([("name", "ascending")]),
        "failed": sorted(r.error for r in report.failed),
    }


def test_a_run_stores_what_reading_the_files_one_by_one_stores(tmp_path, monkeypatch):
    files = small_exports(tmp_path / "in")
    runs = []
    real = gdelt.GdeltSource.read_run

    def read_run(self, inputs, countries):
        got = real(self, inputs, countries)
        runs.append((len(inputs), got is not None))
        return got

    monkeypatch.setattr(gdelt.GdeltSource, "read_run", read_run)
    together = Store(tmp_path / "runs")
    report = together.ingest([tmp_path / "in"], countries=frozenset({"RUS", "TUR", "ARM", "AZE"}), workers=1)
    # two runs: November's twelve files but the two that fail when their format is looked for (one of
    # them not zipped), then December's two
    assert runs == [(10, True), (2, True)]
    monkeypatch.setattr(store_mod, "RUN_FILES", 1)  # every file a run of its own: read file by file
    alone = Store(tmp_path / "alone")
    report_alone = alone.ingest([tmp_path / "in"], countries=frozenset({"RUS", "TUR", "ARM", "AZE"}), workers=1)
    assert len(runs) == 2  # no more runs of several files
    monkeypatch.undo()
    forked = Store(tmp_path / "forked")  # two reader processes: the runs' results are sent back
    report_forked = forked.ingest([tmp_path / "in"], countries=frozenset({"RUS", "TUR", "ARM", "AZE"}), workers=2)
    a, b, c = outcome(together, report), outcome(alone, report_alone), outcome(forked, report_forked)
    for key in a:
        assert a[key] == b[key] == c[key] if key == "failed" else a[key].equals(b[key]) and a[key].equals(c[key]), key
    # what that is, counted by hand: the corrupt and the empty file fail, with their path
    assert len(a["failed"]) == 2 and a["failed"][1] == f"{files['empty']}: empty file (no event rows)"
    assert a["failed"][0].startswith(f"{files['corrupt']}: corrupt")
    manifest = {r["name"]: r for r in a["manifest"].to_pylist()}
    assert files["corrupt"].name not in manifest and files["empty"].name not in manifest
    # the bad file: 39 rows (the blank line is none); the impossible date and the row without one are
    # quarantined at their lines; the 60-column row is about none of the countries, so under the filter
    # it is only counted (as a file read alone does)
    assert manifest[files["bad"].name]["rows_read"] == 39 and manifest[files["bad"].name]["rows_rejected"] == 2
    q = [(r["source_file"], r["source_line"], r["reason"][:10]) for r in a["quarantine"].to_pylist()]
    assert q == [(files["bad"].name, 8, "bad SQLDAT"), (files["bad"].name, 13, "expected 6")]
    # the BOM file's 60 rows, the repeat file's 60 rows of which its 10 repeated ids are not stored
    assert manifest[files["bom"].name]["rows_read"] == 60
    assert manifest[files["repeat"].name]["rows_read"] == 60
    repeated = {int(x.split(b"\t")[0]) for x in LINES[0:10]}
    kept_repeats = [r for r in a["events"].to_pylist() if r["event_id"] in repeated]
    assert all(r["source_file"] == files["ok0"].name for r in kept_repeats)
    # every row read is counted in the totals or quarantined, file by file as in one
    read = sum(r["rows_read"] for r in manifest.values())
    assert read == 6 * 150 + 60 + 39 + 60 + 100 + 200
    assert sum(a["totals"]["events"].to_pylist()) == read - 2


def test_a_run_with_invalid_utf8_is_read_file_by_file_with_the_same_result(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    for i in range(3):
        lines = list(LINES[100 * i : 100 * i + 100])
        if i == 1:
            lines[5] = lines[5].replace(b"\t", b"\t\xff", 1)  # not UTF-8: the lane gives the block back
        _zip(folder / f"2020111300{i}000.export.CSV.zip", b"\n".join(lines) + b"\n")
    together = Store(tmp_path / "runs")
    report = together.ingest([folder], workers=1)
    monkeypatch.setattr(store_mod, "RUN_FILES", 1)
    alone = Store(tmp_path / "alone")
    report_alone = alone.ingest([folder], workers=1)
    a, b = outcome(together, report), outcome(alone, report_alone)
    for key in a:
        assert a[key] == b[key] if key == "failed" else a[key].equals(b[key]), key
    assert [(r["source_file"], r["source_line"], r["reason"]) for r in a["quarantine"].to_pylist()] == [
        ("20201113001000.export.CSV.zip", 6, "invalid UTF-8 in SQLDATE")]
    assert a["events"].num_rows == 299


def test_runs_keep_same_name_files_together_and_end_at_a_month_or_a_big_file(tmp_path, monkeypatch):
    monkeypatch.setattr(store_mod, "RUN_FILES", 3)
    monkeypatch.setattr(store_mod, "RUN_BYTES", 1000)
    names = ["20201101000000.x", "20201101001500.x", "20201130234500.x", "20201201000000.x"]
    paths = []
    for n in names:
        p = tmp_path / n
        p.write_bytes(b"x" * 10)
        paths.append(p)
    big = tmp_path / "20201201001500.x"
    big.write_bytes(b"x" * 1000)
    same = [tmp_path / "a" / "20201201003000.x", tmp_path / "b" / "20201201003000.x"]
    for i, p in enumerate(same):
        p.parent.mkdir()
        p.write_bytes(b"y" * (10 + i))
    pairs = [(p, p.name[:10]) for p in paths] + [(big, "big")] + [(same[0], "m2"), (same[1], "m1")]
    runs = [[Path(p).name + ":" + m for p, m in run] for run in store_mod._runs_of(iter(pairs))]
    assert runs == [
        ["20201101000000.x:2020110100", "20201101001500.x:2020110100", "20201130234500.x:2020113023"],
        ["20201201000000.x:2020120100"],  # a new month
        ["20201201001500.x:big"],  # a file of RUN_BYTES alone
        ["20201201003000.x:m1", "20201201003000.x:m2"],  # one name: together, by MD5
    ]
