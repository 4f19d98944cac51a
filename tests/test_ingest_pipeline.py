"""The ingest pipeline: files are hashed ahead in a thread (eight at a time) and read as their MD5s come
in; batches never split files of the same name; the CLI's ingest skips pyarrow's pandas probe; parts are
encoded without dictionaries of unique columns and with statistics where something reads them."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import dyadwatch.acquire.inputs as inputs_mod
import dyadwatch.store.parts as parts_mod
import dyadwatch.store.pipeline as store_mod
from dyadwatch.sources import gdelt_fast
from dyadwatch.sources.gdelt import GDELT2
from dyadwatch.acquire.inputs import Digests
from dyadwatch.store import Store
from dyadwatch.store.pipeline import _batch_of, _Peekable

from conftest import KARABAKH, RAW, run_json


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
    with Digests(paths) as digests:
        got = list(digests)
    assert got == [hashlib_md5(p) for p in paths]  # 19 files: three calls of eight lanes


def test_a_file_that_cannot_be_hashed_gives_its_error_in_its_place(tmp_path):
    paths = make_files(tmp_path, [10] * 12)
    paths[9].unlink()
    with Digests(paths) as digests:
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
    real_many, real_one = inputs_mod.md5_many, inputs_mod.md5_of

    def refuse(path):
        if Path(path) == bad:
            raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(inputs_mod, "md5_many", lambda chunk: [refuse(p) for p in chunk] and real_many(chunk))
    monkeypatch.setattr(inputs_mod, "md5_of", lambda p: refuse(p) or real_one(p))
    store = Store(tmp_path / "st")
    report = store.ingest([folder], workers=2)
    assert [f.error for f in report.failed] == [f"{bad}: cannot be read (Permission denied)"]
    assert sorted(f.name for f in report.files) == sorted(p.name for p in folder.iterdir() if p != bad)
    assert store.status()["files"] == 2


def test_leaving_early_stops_the_hashing_thread(tmp_path, monkeypatch):
    paths = make_files(tmp_path, [10] * 40)
    calls = []
    real = inputs_mod.md5_many

    def slow_md5_many(chunk):
        calls.append(len(chunk))
        time.sleep(0.05)
        return real(chunk)

    monkeypatch.setattr(inputs_mod, "md5_many", slow_md5_many)
    with Digests(paths) as digests:
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
    code, after_ingest, rows, kind, arrow_type = run_json(script)
    assert code in (0, None) and after_ingest is False
    assert rows == 9354 and kind == "DataFrame"
    assert arrow_type.startswith("dictionary<values=")  # a categorical: pyarrow knows pandas again


def test_cli_ingest_hashes_before_it_imports_arrow_and_duckdb(tmp_path):
    """`dyadwatch ingest` starts hashing its files while Arrow and DuckDB are not imported yet (the
    command line does not import them at its top), and the store reuses that hashing."""
    script = f"""
import json, sys
HEAVY = ("pyarrow", "duckdb", "numpy", "dyadwatch.store")
from dyadwatch import cli
from dyadwatch.acquire import inputs
at_import = [m for m in HEAVY if m in sys.modules]
starts = []
real_start, real_hash = inputs.Digests.start, inputs.Digests._hash
def start(self):
    starts.append([m for m in HEAVY if m in sys.modules])
    return real_start(self)
hashed = []
def hash_(self):
    hashed.append(len(self.files))
    return real_hash(self)
inputs.Digests.start, inputs.Digests._hash = start, hash_
sys.argv = ["dyadwatch", "ingest", {str(KARABAKH)!r}, "--store", {str(tmp_path / "st")!r}, "--workers", "2"]
try:
    cli.app(prog_name="dyadwatch")
except SystemExit as exc:
    code = exc.code
import dyadwatch
print(json.dumps([code, at_import, starts[0], hashed, dyadwatch.open({str(tmp_path / "st")!r}).events().num_rows]))
"""
    code, at_import, at_start, hashed, rows = run_json(script)
    assert code in (0, None) and rows == 9354
    assert at_import == [] and at_start == []
    assert hashed == [3]  # one hashing thread, over the three files


def test_an_api_ingest_of_inputs_already_hashing_hashes_them_once(tmp_path, monkeypatch):
    runs = []
    real = inputs_mod.md5_many
    monkeypatch.setattr(inputs_mod, "md5_many", lambda chunk: runs.append(len(chunk)) or real(chunk))
    ready = inputs_mod.Inputs([KARABAKH, tmp_path / "nothing-here"])
    ready.digests.start()
    ready.digests.start()  # a second start does nothing
    report = Store(tmp_path / "st").ingest(ready, workers=1)
    assert runs == [3] and report.rows_read == 9354 and len(report.files) == 3
    assert report.problems == [f"{tmp_path / 'nothing-here'}: no such file or folder"]
    again = Store(tmp_path / "st2").ingest(ready, workers=1)  # the same inputs again: hashed anew
    assert runs == [3, 3] and again.rows_read == 9354 and len(again.files) == 3


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


# -- the rows of a file's main month come first (the lane), and the store relies on line, not position

def test_a_repeated_id_keeps_its_first_row_by_line_then_position():
    table = pa.table({"event_id": [5, 7, 5, 9, 7], "source_line": [10, 3, 2, 4, 3], "source_file": ["a"] * 5})
    rows = np.arange(5)
    _, inverse = np.unique(table["event_id"].to_numpy(), return_inverse=True)
    # id 5: line 2 (row 2) before line 10; id 7: both line 3, the first row wins; id 9 alone
    assert store_mod._first_by_line(table, rows, inverse, 3).tolist() == [False, True, True, True, False]
    assert store_mod._first_by_line(table, rows[:2], inverse[:2], 2).tolist() == [True, True]


def _row(sample: bytes, event_id: int, sqldate: str, tone: str) -> bytes:
    fields = sample.split(b"\t")
    fields[0], fields[1], fields[34] = str(event_id).encode(), sqldate.encode(), tone.encode()
    return b"\t".join(fields)


def test_a_repeated_id_across_months_stores_its_first_line(tmp_path, monkeypatch):
    """Event 42 on line 2 (October) and again on line 4 (November). The lane puts the file's November
    rows (its main month) first, so line 4's row comes before line 2's: the store still keeps line 2's,
    as the plain reader's order would."""
    monkeypatch.setattr(gdelt_fast, "MIN_BLOCK", 0)
    sample = (RAW / "events.csv").read_bytes().split(b"\n")[0]
    lines = [_row(sample, 40, "20201113", "1.5"), _row(sample, 42, "20201031", "-2.5"),
             _row(sample, 41, "20201113", "3.5"), _row(sample, 42, "20201114", "4.5")]
    path = tmp_path / "in" / "20201114.export.CSV"
    path.parent.mkdir()
    path.write_bytes(b"\n".join(lines) + b"\n")
    fb = gdelt_fast.fast_block(memoryview(path.read_bytes()), GDELT2.plan, gdelt_fast.codes_array(None))
    assert fb.kept_lines.tolist() == [0, 2, 3, 1]  # the lane's order: November first
    store = Store(tmp_path / "store")
    report = store.ingest([path], workers=1, source="gdelt2")
    assert report.rows_kept == 4 and report.rows_stored == 3
    got = store.events().sort_by("event_id").select(["event_id", "event_date", "avg_tone", "source_line"])
    assert got.to_pylist() == [
        {"event_id": 40, "event_date": dt.date(2020, 11, 13), "avg_tone": 1.5, "source_line": 1},
        {"event_id": 41, "event_date": dt.date(2020, 11, 13), "avg_tone": 3.5, "source_line": 3},
        {"event_id": 42, "event_date": dt.date(2020, 10, 31), "avg_tone": -2.5, "source_line": 2},
    ]


def test_most_of_a_table_in_few_runs_is_sliced_and_a_few_rows_are_copied():
    table = pa.table({"x": pa.array(range(10), pa.int64()), "s": pa.array([f"r{i}" for i in range(10)])})
    base = table["s"].chunks[0].buffers()[2].address
    key = np.array([5, 5, 5, 7, 5, 5, 5, 5, 3, 5])
    parts = {k: part for k, part in parts_mod._partitions(table, key)}
    assert sorted(parts) == [3, 5, 7]
    assert parts[5]["x"].to_pylist() == [0, 1, 2, 4, 5, 6, 7, 9]
    assert [c.buffers()[2].address for c in parts[5]["s"].chunks] == [base] * 3  # three slices, no copy
    assert parts[7]["x"].to_pylist() == [3] and parts[3]["s"].to_pylist() == ["r8"]
    for k in (3, 7):  # copied: they do not keep the table alive
        assert all(c.buffers()[2].address != base for c in parts[k]["s"].chunks)
    # most rows, but in more runs than _MAX_RUNS: every partition copied, each in the table's order
    n = 3 * (parts_mod._MAX_RUNS + 1)
    wide = pa.table({"x": pa.array(range(n), pa.int64())})
    ragged = np.where(np.arange(n) % 3 != 2, 1, 2)
    got = {k: part for k, part in parts_mod._partitions(wide, ragged)}
    assert got[1]["x"].to_pylist() == [i for i in range(n) if i % 3 != 2]
    assert got[2]["x"].to_pylist() == [i for i in range(n) if i % 3 == 2]
    assert got[1]["x"].chunks[0].buffers()[1].address != wide["x"].chunks[0].buffers()[1].address
    one = parts_mod._partitions(wide, np.full(n, 4))
    assert len(one) == 1 and one[0][0] == 4 and one[0][1] is wide
    # a staged file's table: one chunk per block, its other months at the end of each (two of them,
    # interleaved): each comes out in the table's order, copied
    blocks = pa.concat_tables([table.slice(0, 4), table.slice(4, 3), table.slice(7, 3)])
    assert blocks["x"].num_chunks == 3
    months = np.array([5, 5, 8, 9, 5, 5, 9, 5, 8, 5])
    got = {k: part for k, part in parts_mod._partitions(blocks, months)}
    assert {k: v["x"].to_pylist() for k, v in got.items()} == {5: [0, 1, 4, 5, 7, 9], 8: [2, 8], 9: [3, 6]}
    assert got[8]["s"].to_pylist() == ["r2", "r8"] and got[9]["s"].to_pylist() == ["r3", "r6"]
    for k in (8, 9):
        assert all(c.buffers()[2].address != base for c in got[k]["s"].chunks)
