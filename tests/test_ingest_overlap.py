"""What the ingest overlaps: a new store hands its readers their first files before DuckDB is imported
(the catalog is made while they read them); once the readers have a batch's last files the parent writes
what it holds while they read them; the readers exit while the last batch is recorded. Also the pieces
this rests on: whole row groups, per-day totals without Arrow's query engine, and member buffers with
room to spare."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.parquet as pq

import dyadwatch.sources.whole as whole
import dyadwatch.store.parts as parts_mod
import dyadwatch.store.pipeline as store_mod
from dyadwatch.store import dyad_index
from dyadwatch.store.catalog import Catalog
from dyadwatch.knowledge.schema import DAILY_TOTALS_SCHEMA
from dyadwatch.store import PART_SCHEMA, Store
from dyadwatch.store.parts import PartWriter
from dyadwatch.store.pipeline import _read_in_order

from conftest import KARABAKH, run_json


def test_the_command_line_and_the_store_import_no_duckdb():
    imported = run_json("""
import json, sys
from dyadwatch import cli, store
from dyadwatch.cli import options
from dyadwatch.sources import reading
options.use_engine("duckdb", None)
print(json.dumps("duckdb" in sys.modules))
""")
    assert imported is False


def test_a_new_store_hands_out_files_before_duckdb_is_imported(tmp_path):
    """Into a new store the first files go to the readers before DuckDB is imported; into a store that
    exists, after its catalog said which files it knows. Both ingests store every event once."""
    files = sorted(KARABAKH.glob("*.zip"))
    got = run_json(f"""
import json, sys
from concurrent.futures import ProcessPoolExecutor
from dyadwatch.store import Store
seen = []
real = ProcessPoolExecutor.submit
def submit(self, fn, *args, **kwargs):
    if fn is not int:  # the warm-up that starts the processes
        seen.append("duckdb" in sys.modules)
    return real(self, fn, *args, **kwargs)
ProcessPoolExecutor.submit = submit
store = Store({str(tmp_path / "st")!r})
first = store.ingest([{str(files[0])!r}, {str(files[1])!r}], workers=2)
at_new = list(seen)
seen.clear()
second = store.ingest([{str(KARABAKH)!r}], workers=2)
print(json.dumps([at_new, seen, first.rows_stored, second.rows_stored, len(second.skipped),
                  store.events().num_rows, store.status()["files"]]))
""")
    at_new, at_existing, first, second, skipped, rows, n_files = got
    assert at_new == [False]  # both files handed out (one run: they are small), DuckDB not imported yet
    assert at_existing == [True]  # the third file, once the catalog was read
    assert skipped == 2 and first + second == rows == 9354 and n_files == 3


def test_a_new_store_deletes_what_a_killed_first_ingest_left(store_dir):
    """A first ingest killed before it made the catalog left staging files, a part and an index file:
    none is recorded, so the next ingest deletes them all."""
    leftovers = [
        store_dir / "staging" / "20260101T000000-deadbeef" / "x.arrow",
        store_dir / "events" / "source=gdelt2" / "year=2020" / "month=11" / "part-20260101T000000-deadbeef_0.parquet",
        store_dir / dyad_index.INDEX_DIR / "stale.parquet",
    ]
    for p in leftovers:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"half written")
    store = Store(store_dir)
    report = store.ingest([KARABAKH], workers=2)
    assert report.rows_stored == 9354
    assert not any(p.exists() for p in leftovers)
    assert store.events().num_rows == 9354


def test_reading_in_order_says_when_the_first_and_the_last_files_are_handed_out(monkeypatch):
    """Five files, one reader, two files ahead: `meanwhile` once the first three are handed out, and
    `handed_out` when the fifth was and the third result is taken; results in order."""
    log = []
    monkeypatch.setattr(store_mod, "read_files", lambda name: log.append(f"read {name}") or name.upper())

    class Pool(ThreadPoolExecutor):
        def submit(self, fn, *args):
            log.append(f"submit {args[0]}")
            future = super().submit(fn, *args)
            future.result()  # one at a time, so the log's order is fixed
            return future

    monkeypatch.setattr(store_mod, "_AHEAD", 2)
    with Pool(1) as pool:
        gen = _read_in_order(((n,) for n in "abcde"), pool, 1, meanwhile=lambda: log.append("meanwhile"),
                             handed_out=lambda: log.append("handed out"))
        for result in gen:
            log.append(f"got {result}")
    assert log == [
        "submit a", "read a", "submit b", "read b", "submit c", "read c", "meanwhile",
        "submit d", "read d", "got A", "submit e", "read e", "got B", "handed out", "got C", "got D", "got E",
    ]
    # without a pool the files are read here, after `meanwhile`, and `handed_out` is not needed
    log.clear()
    assert list(_read_in_order(((n,) for n in "ab"), None, 1, meanwhile=lambda: log.append("meanwhile"),
                               handed_out=lambda: log.append("handed out"))) == ["A", "B"]
    assert log == ["meanwhile", "read a", "read b"]


def events(n: int, start: int, month: int = 11) -> pa.Table:
    cols = {}
    for f in PART_SCHEMA:
        if f.name == "event_id":
            cols[f.name] = pa.array(range(start, start + n), pa.int64())
        elif f.name == "event_date":
            cols[f.name] = pa.array([dt.date(2020, month, 1)] * n, pa.date32())
        else:
            cols[f.name] = pa.nulls(n, f.type)
    cols["source"] = pa.array(["gdelt2"] * n)
    return pa.table(cols)


def row_groups(path) -> list[int]:
    meta = pq.ParquetFile(path).metadata
    return [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]


def test_part_writer_writes_whole_row_groups_then_drains(tmp_path, monkeypatch):
    """Row groups of 32 rows. Before `drain`, 20 + 20 rows make one whole group and 8 rows wait. After
    it, the 8 are written, and then each partition's rows as they come when there are at least
    32 // 16 = 2 of them; a single row of another month waits for the close."""
    monkeypatch.setattr(parts_mod, "_ROW_GROUP", 32)
    monkeypatch.setattr(parts_mod, "_BUFFERED", 1000)
    w = PartWriter(tmp_path, "b")
    w.add(events(20, 0))
    assert w.writers == {} and w.buffered == 20  # 20 of 32: waiting
    w.add(events(20, 20))
    assert list(w.writers) == [("gdelt2", 2020, 11)] and w.buffered == 8  # 32 written, 8 wait
    w.drain()  # the 8
    assert w.buffered == 0
    w.add(events(3, 40))  # 3 >= 2: written at once
    w.add(events(1, 43, month=10))  # 1 < 2: waits for the close
    assert ("gdelt2", 2020, 10) not in w.writers and w.buffered == 1
    w.add(events(40, 44))  # all of it (a whole group and 8) while draining
    assert w.buffered == 1
    parts = {(y, m): (path, n) for path, _, y, m, n in w.close()}
    assert {k: n for k, (_, n) in parts.items()} == {(2020, 10): 1, (2020, 11): 83}
    assert row_groups(parts[(2020, 11)][0]) == [32, 8, 3, 32, 8]
    assert row_groups(parts[(2020, 10)][0]) == [1]
    ids = pq.read_table(parts[(2020, 11)][0], columns=["event_id"])["event_id"].to_pylist()
    assert ids == [*range(0, 43), *range(44, 84)]  # every row once, in the order added


def test_the_readers_exit_before_the_last_batch_is_recorded(store_dir, monkeypatch):
    shutdowns, at_record = [], []
    real_readers, real_record = store_mod._readers, Catalog.record

    @contextmanager
    def readers(workers):
        with real_readers(workers) as pool:
            real = pool.shutdown
            pool.shutdown = lambda wait=True, **kw: shutdowns.append(wait) or real(wait=wait, **kw)
            yield pool

    def record(self, *args):
        at_record.append(list(shutdowns))
        return real_record(self, *args)

    monkeypatch.setattr(store_mod, "_readers", readers)
    monkeypatch.setattr(Catalog, "record", record)
    monkeypatch.setattr(store_mod, "BATCH_FILES", 2)  # two batches: the first two files, then the third
    report = Store(store_dir).ingest([KARABAKH], workers=2)
    assert report.rows_stored == 9354
    assert at_record == [[], [False]]  # told to exit (without waiting) before the last batch only
    assert shutdowns == [False, True]  # and waited for when the ingest ends


def test_a_new_stores_first_batch_does_not_look_for_stored_parts(tmp_path, monkeypatch):
    """A new store has recorded nothing: its ingest opens no catalog connection to read the parts
    (~40 ms), not even for a second batch (it keeps what its own batches recorded); an ingest into a
    store that exists reads them once."""
    looked = []
    real = Catalog.parts_by_partition
    monkeypatch.setattr(Catalog, "parts_by_partition", lambda self: looked.append(self.root.name) or real(self))
    files = sorted(KARABAKH.glob("*.zip"))
    first = Store(tmp_path / "a").ingest(files[:2], workers=2).rows_stored
    assert looked == []
    assert first + Store(tmp_path / "a").ingest(files, workers=2).rows_stored == 9354
    assert looked == ["a"]
    monkeypatch.setattr(store_mod, "BATCH_FILES", 2)  # two batches: the first two files, then the third
    assert Store(tmp_path / "b").ingest(files, workers=2).rows_stored == 9354
    assert looked == ["a"]  # the second batch knows the first one's parts without asking


def test_a_files_per_day_totals_add_up_its_chunks(tmp_path, monkeypatch):
    """Read in blocks of 64 KB, a real export gives ~10 chunks, each with its own per-day totals; the
    file's totals are their sum per day: every line's SQLDATE counted once, as the text says."""
    import collections
    import zipfile

    import dyadwatch.sources.gdelt as gdelt
    from dyadwatch.sources.reading import read_file

    path = sorted(KARABAKH.glob("*.zip"))[0]
    with zipfile.ZipFile(path) as zf:
        text = zf.read(zf.infolist()[0])
    expected = collections.Counter(dt.datetime.strptime(line.split(b"\t")[1].decode(), "%Y%m%d").date()
                                   for line in text.splitlines() if line)
    chunks = []
    real_read = gdelt.GdeltSource.read
    monkeypatch.setattr(gdelt.GdeltSource, "read", lambda self, f, c: (chunks.append(1) or ch for ch in real_read(self, f, c)))
    monkeypatch.setattr(gdelt, "BLOCK_SIZE", 64 << 10)
    result = read_file(str(path), "m", str(tmp_path), None, "gdelt2")
    assert result.error is None and len(chunks) >= 5
    assert result.totals.schema == DAILY_TOTALS_SCHEMA
    assert set(result.totals["source"].to_pylist()) == {"gdelt2"}
    days = result.totals["day"].to_pylist()
    assert len(days) == len(set(days))  # one row a day
    assert dict(zip(days, result.totals["events"].to_pylist())) == dict(expected)
    assert sum(expected.values()) == result.rows_read == len(text.splitlines())


def test_member_buffers_have_room_for_twice_the_size(monkeypatch):
    monkeypatch.setattr(whole, "_pool", [])
    monkeypatch.setattr(whole, "_MIN_CAPACITY", 4096)
    a = whole.take(10_000)
    assert len(a) == 20_000
    whole.give_back(a)
    b = whole.take(19_000)  # a bigger file fits in the same memory
    assert b is a
    whole.give_back(b)
    c = whole.take(30_000)  # too big: a new buffer, which replaces the old one
    assert c is not a and len(c) == 60_000 and whole._pool == []
    whole.give_back(c)
    assert whole._pool == [c]
    assert whole.take(10) is c  # the smallest that fits
    assert len(whole.take(10)) == 4096  # none free: a new one, of at least the minimum


def test_text_and_compressed_bytes_keep_to_their_own_buffers(monkeypatch):
    """Two buffers of the same size: each file's text goes to the one whose pages the last text used,
    not to the compressed bytes' (whose pages past theirs were never touched)."""
    monkeypatch.setattr(whole, "_pool", [])
    monkeypatch.setattr(whole, "_MIN_CAPACITY", 64_000)
    text, packed = whole.take(30_000), whole.take(5_000)
    assert len(text) == len(packed) == 64_000
    whole.give_back(packed)  # in InputFile.whole's order: the compressed bytes first
    whole.give_back(text)
    t2, p2 = whole.take(20_000), whole.take(4_000)
    assert t2 is text and p2 is packed
    whole.give_back(p2)
    whole.give_back(t2)
    assert whole.take(40_000) is text  # more than either used: the one with the most pages in use


def test_a_forked_reader_does_not_share_the_buffers_it_inherits(monkeypatch):
    """A reader forked while this process's pool holds a buffer gets its own copy of it: the text it
    inflates there never shows through in this process (nor in the other readers)."""
    import os

    monkeypatch.setattr(whole, "_pool", [])
    mine = whole.take(100)
    mine[:6] = b"parent"
    whole.give_back(mine)
    pid = os.fork()
    if pid == 0:  # the reader: takes the inherited buffer and writes its own text into it
        theirs = whole.take(100)
        theirs[:6] = b"child!"
        os._exit(0 if theirs is mine else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0  # the child did reuse the inherited buffer
    assert mine[:6] == b"parent"


def test_cli_ingest_imports_numpy_with_one_openblas_thread_unless_told_otherwise(tmp_path):
    script = f"""
import json, os, sys
seen = []
class Finder:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "numpy":
            seen.append(os.environ.get("OPENBLAS_NUM_THREADS"))
        return None
sys.meta_path.insert(0, Finder)
from dyadwatch import cli
sys.argv = ["dyadwatch", "ingest", {str(KARABAKH)!r}, "--store", sys.argv[1], "--workers", "1"]
try:
    cli.app(prog_name="dyadwatch")
except SystemExit as exc:
    pass
print(json.dumps(seen[:1]))
"""
    import os

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    assert run_json(script, str(tmp_path / "a"), env=env) == ["1"]
    assert run_json(script, str(tmp_path / "b"), env={**env, "OPENBLAS_NUM_THREADS": "3"}) == ["3"]  # the user's setting stands


def test_ids_seen_in_a_batch_are_kept_as_bitmaps_where_they_are_dense_enough():
    import numpy as np

    runs = store_mod._IdRuns()
    runs.add(np.array([100, 101, 103]))  # span 4 <= 64 * 3: a bitmap of one byte
    runs.add(np.array([1000, 100_000]))  # span 99,001 > 64 * 2: a sorted run
    runs.add(np.array([100_001, 100_009]))  # span 9: a second bitmap, after the run
    assert [(a, b, bits.tolist()) for a, b, bits in runs.bitmaps] == [(100, 103, [0b1011]), (100_001, 100_009, [1, 1])]
    assert [r.tolist() for r in runs.runs] == [[1000, 100_000]]
    asked = np.array([99, 100, 102, 103, 104, 1000, 5000, 100_000, 100_001, 100_005, 100_009, 100_010])
    assert runs.seen(asked).tolist() == [False, True, False, True, False, True, False, True, True, False, True, False]
    assert runs.seen(np.array([50, 60])).tolist() == [False, False]  # below every range: nothing read
    assert runs.seen(np.array([], dtype=np.int64)).tolist() == []
