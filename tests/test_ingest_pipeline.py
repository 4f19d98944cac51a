"""The ingest pipeline: files are hashed ahead in a thread (eight at a time) and read as their MD5s come
in; batches never split files of the same name; the CLI's ingest skips pyarrow's pandas probe; parts are
encoded without dictionaries of unique columns and with statistics where something reads them."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

import dyadwatch.store as store_mod
from dyadwatch.store import Store, _batch_of, _Digests, _Peekable

from conftest import KARABAKH


def hashlib_md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def make_files(folder: Path, sizes: list[int]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, n in enumerate(sizes):
        p = folder / f"f{i:02d}.bin"
        p.write_bytes(bytes((i * 7 + k) % 251 for k in range(n)))
        paths.append(p)
    return paths


def test_digests_come_in_file_order(tmp_path):
    paths = make_files(tmp_path, [0, 1, 55, 56, 63, 64, 65, 119, 120, 4096, 100_000] + [300 + i for i in range(8)])
    with _Digests(paths) as digests:
        got = list(digests)
    assert got == [hashlib_md5(p) for p in paths]  # 19 files: three calls of eight lanes


def test_a_file_that_cannot_be_hashed_gives_its_error_in_its_place(tmp_path):
    paths = make_files(tmp_path, [10] * 12)
    paths[9].unlink()
    with _Digests(paths) as digests:
        got = list(digests)
    assert got[:9] == [hashlib_md5(p) for p in paths[:9]]
    assert isinstance(got[9], FileNotFoundError) and got[9].filename == str(paths[9])
    assert got[10:] == [hashlib_md5(p) for p in paths[10:]]


def test_an_unreadable_file_is_reported_and_the_others_are_ingested(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    for zipped in sorted(KARABAKH.glob("*.zip")):
        (folder / zipped.name).write_bytes(zipped.read_bytes())
    bad = sorted(folder.iterdir())[1]
    real_many, real_one = store_mod.md5_many, store_mod.md5_of

    def refuse(path):
        if Path(path) == bad:
            raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(store_mod, "md5_many", lambda chunk: [refuse(p) for p in chunk] and real_many(chunk))
    monkeypatch.setattr(store_mod, "md5_of", lambda p: refuse(p) or real_one(p))
    store = Store(tmp_path / "st")
    report = store.ingest([folder], workers=2)
    assert [f.error for f in report.failed] == [f"{bad}: cannot be read (Permission denied)"]
    assert sorted(f.name for f in report.files) == sorted(p.name for p in folder.iterdir() if p != bad)
    assert store.status()["files"] == 2


def test_leaving_early_stops_the_hashing_thread(tmp_path, monkeypatch):
    paths = make_files(tmp_path, [10] * 40)
    calls = []
    real = store_mod.md5_many

    def slow_md5_many(chunk):
        calls.append(len(chunk))
        time.sleep(0.05)
        return real(chunk)

    monkeypatch.setattr(store_mod, "md5_many", slow_md5_many)
    with _Digests(paths) as digests:
        first = next(iter(digests))
    assert first == hashlib_md5(paths[0])
    assert not digests.thread.is_alive()
    assert calls[:1] == [8] and len(calls) <= 2  # of five: it stopped at the next call


def batches(items, size, max_bytes):
    todo = _Peekable(iter(items))
    out = []
    while todo.more():
        out.append([p.parent.name + "/" + p.name for p, _ in _batch_of(todo, size, max_bytes)])
    return out


def test_batches_do_not_split_files_of_the_same_name(tmp_path):
    def f(folder, name, n=10):
        p = tmp_path / folder / name
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(b"x" * n)
        return p, "md5"

    items = [f("p", "a"), f("p", "b"), f("q", "b"), f("r", "b"), f("p", "c"), f("p", "d")]
    assert batches(items, 2, 1 << 30) == [["p/a", "p/b", "q/b", "r/b"], ["p/c", "p/d"]]
    assert batches(items, 1, 1 << 30) == [["p/a"], ["p/b", "q/b", "r/b"], ["p/c"], ["p/d"]]
    # by bytes: at most 25 bytes a batch, but never fewer than one file
    big = [f("s", "e", 100), f("s", "f", 10), f("s", "g", 10), f("s", "h", 10)]
    assert batches(big, 10, 25) == [["s/e"], ["s/f", "s/g"], ["s/h"]]


def test_one_batch_per_file_reads_everything(store_dir, monkeypatch):
    monkeypatch.setattr(store_mod, "BATCH_FILES", 1)
    store = Store(store_dir)
    report = store.ingest([KARABAKH], workers=2)
    assert len(report.files) == 3 and report.rows_stored == 9354
    assert sorted(store.manifest()["batch"].to_pylist()) == sorted(set(store.manifest()["batch"].to_pylist()))
    again = store.ingest([KARABAKH], workers=2)
    assert len(again.skipped) == 3 and again.rows_stored == 0


def test_cli_ingest_does_not_import_pandas_and_pandas_still_works(tmp_path):
    script = f"""
import json, sys
from dyadwatch import cli
sys.argv = ["dyadwatch", "ingest", {str(KARABAKH)!r}, "--store", {str(tmp_path / "st")!r}, "--workers", "2"]
try:
    cli.app(prog_name="dyadwatch")
except SystemExit as exc:
    code = exc.code
after_ingest = "pandas" in sys.modules
import dyadwatch, pyarrow as pa
frame = dyadwatch.open({str(tmp_path / "st")!r}).to_pandas()
import pandas as pd
kind = str(pa.array(pd.Series(["x", "y", "x"], dtype="category")).type)
print(json.dumps([code, after_ingest, len(frame), type(frame).__name__, kind]))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    code, after_ingest, rows, kind, arrow_type = json.loads(out.stdout.strip().splitlines()[-1])
    assert code in (0, None) and after_ingest is False
    assert rows == 9354 and kind == "DataFrame"
    assert arrow_type.startswith("dictionary<values=")  # a categorical: pyarrow knows pandas again


def test_parts_skip_dictionaries_of_unique_columns_and_keep_the_statistics_read(store_dir):
    store = Store(store_dir)
    store.ingest([KARABAKH], workers=1)
    parts = store.part_paths()
    assert parts
    for path in parts:
        meta = pq.ParquetFile(path).metadata
        for g in range(meta.num_row_groups):
            cols = {meta.row_group(g).column(j).path_in_schema: meta.row_group(g).column(j)
                    for j in range(meta.num_columns)}
            for name in ("event_id", "source_line"):
                assert not any("DICTIONARY" in e for e in cols[name].encodings), name
            assert any("DICTIONARY" in e for e in cols["actor1_name"].encodings)
            for name in ("event_id", "event_date", "actor1_country", "actor2_country", "event_root_code", "quad_class"):
                assert cols[name].statistics is not None and cols[name].statistics.has_min_max, name
            assert cols["actor1_name"].statistics is None or not cols["actor1_name"].statistics.has_min_max
