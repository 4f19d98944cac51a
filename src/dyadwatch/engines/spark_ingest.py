"""Ingest on Spark: the same files, reader, checks and catalog as `Store.ingest`, spread over executors.

What runs where:

- the driver (this process) expands the paths, holds the store's writer lock, deletes what a killed
  ingest left, decides which rows are new (below), and after each batch records its parts, manifest
  rows, quarantined rows and per-day totals in ONE catalog transaction (`Catalog.record`, the DuckDB
  path's own), so a batch is visible whole or not at all and the catalog is the same whichever engine
  wrote it;
- job 1, on the executors: the MD5 of every file (a file already in the manifest is skipped);
- job 2, one task per group of files: each file is read by dyadwatch's own reader (`ingest.read_file`:
  the same parser, validation, quarantine and per-day totals) and its kept events are staged as Arrow,
  one piece per source/year/month (a file's late reports fall in earlier months);
- the driver then keeps the first row of each event id in the batch, ranked as the DuckDB path ranks
  them (file name, line, file MD5, row), and drops ids already stored in the same month partition (an
  event's id fixes its date; only row groups whose id range overlaps are read, by their statistics);
- job 3, one task per source/year/month: the task writes that month's new rows from every piece as ONE
  Parquet part in the store's layout (`events/source=S/year=Y/month=M/part-<batch>_0.parquet`, zstd,
  the store's part schema and row groups), which either engine reads.

The data moves between the jobs as files in the store's staging folder, so the store must be visible at
the same path from the driver and every executor (one machine, or a shared file system). A batch is
`BATCH_FILES` files (Spark's fixed cost per job is a second or so; the DuckDB path commits every 256).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from ..acquire.inputs import expand_paths, md5_of
from ..errors import StoreError
from ..knowledge.schema import DAILY_TOTALS_SCHEMA, QUARANTINE_SCHEMA
from ..sources.reading import FileResult, read_file
from ..store import PART_SCHEMA, IngestReport, Store, part_writer
from ..store.pipeline import batches, new_files
from .spark_engine import session

BATCH_FILES = 4096
FILES_PER_TASK = 16  # a reading task takes about this many files: tasks stay balanced across executors
ROW_GROUP = 122_880  # rows per row group of a part, as the DuckDB path writes them

TIMINGS_ENV = "DYADWATCH_SPARK_TIMINGS"  # a path: where to write the seconds each step took (benchmarks)

_RESULT_FIELDS = ("path", "name", "size", "md5", "source", "rows_read", "rows_kept", "rows_rejected",
                  "seconds", "staged", "error")


def _ipc_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def _from_ipc_bytes(data: bytes, schema: pa.Schema) -> pa.Table:
    if not data:
        return schema.empty_table()
    return ipc.open_stream(pa.py_buffer(data)).read_all().cast(schema)


def _read_staged(path: str) -> pa.Table:
    """The reader's staging file, Arrow IPC or Parquet (whichever the reader writes)."""
    with open(path, "rb") as f:
        if f.read(4) == b"PAR1":
            return pq.read_table(path)
    with pa.memory_map(path) as source:
        try:
            return ipc.open_file(source).read_all()
        except pa.ArrowInvalid:
            source.seek(0)
            return ipc.open_stream(source).read_all()


def _hash_task(item: tuple[int, str]) -> tuple[int, str]:
    return item[0], md5_of(Path(item[1]))


def _read_task(staging: str, countries, source):
    """Job 2 on an executor: read each file of the partition, stage its events by month."""

    def run(items):
        from pyspark import TaskContext

        ctx = TaskContext.get()
        task_dir = Path(staging) / f"task-{ctx.partitionId()}-{ctx.attemptNumber()}"
        task_dir.mkdir(parents=True, exist_ok=True)
        for path, md5 in items:
            r = read_file(path, md5, str(task_dir), countries, source)
            pieces = []
            if r.staged:
                table = _read_staged(r.staged)
                Path(r.staged).unlink()
                pieces = _stage_by_month(table, task_dir, md5)
                r.staged = None
            yield (*[getattr(r, f) for f in _RESULT_FIELDS], _ipc_bytes(r.quarantine), _ipc_bytes(r.totals), pieces)

    return run


def _stage_by_month(table: pa.Table, task_dir: Path, md5: str) -> list[tuple]:
    """Write a file's events as one Arrow piece per source/year/month, each row with its row number in
    the file's events (`_row`); returns (source, year, month, path, rows) per piece."""
    table = table.append_column("_row", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    dates = table["event_date"].combine_chunks()
    sources = pc.dictionary_encode(table["source"].combine_chunks())
    key = (sources.indices.to_numpy(zero_copy_only=False).astype(np.int64) * 1_000_000
           + pc.year(dates).to_numpy(zero_copy_only=False) * 100 + pc.month(dates).to_numpy(zero_copy_only=False))
    keys = np.unique(key)
    out = []
    for k in keys.tolist():
        piece = table if len(keys) == 1 else table.filter(pa.array(key == k))
        s, y, m = sources.dictionary[k // 1_000_000].as_py(), (k % 1_000_000) // 100, k % 100
        folder = task_dir / f"source={s}" / f"year={y}" / f"month={m}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{md5}.arrow"
        with ipc.new_file(path, piece.schema) as w:
            w.write_table(piece)
        out.append((s, y, m, str(path), piece.num_rows))
    return out


def _write_task(batch_id: str, events_dir: str):
    """Job 3 on an executor: one month's new rows from every piece, as one part."""

    def run(items):
        for (source, year, month), pieces in items:  # pieces: (path, source_file name, dropped _rows)
            folder = Path(events_dir) / f"source={source}" / f"year={year}" / f"month={month}"
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"part-{batch_id}_0.parquet"
            writer, pending, held, rows, by_file = None, [], 0, 0, {}
            for path, name, dropped in pieces:
                with pa.memory_map(path) as src:
                    t = ipc.open_file(src).read_all()
                if len(dropped):
                    t = t.filter(pc.invert(pc.is_in(t["_row"], pa.array(dropped, pa.int64()))))
                if not t.num_rows:
                    continue
                by_file[name] = by_file.get(name, 0) + t.num_rows
                pending.append(t.select(PART_SCHEMA.names).cast(PART_SCHEMA))
                held += t.num_rows
                rows += t.num_rows
                if held >= ROW_GROUP:
                    writer = writer or part_writer(target)
                    whole = pa.concat_tables(pending)
                    cut = held - held % ROW_GROUP
                    writer.write_table(whole.slice(0, cut), row_group_size=ROW_GROUP)
                    pending, held = ([whole.slice(cut)] if cut < held else []), held - cut
            if pending:
                writer = writer or part_writer(target)
                writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP)
            if writer is not None:
                writer.close()
            for path, _, _ in pieces:  # deleting is work too: done here, in parallel, not by the driver
                Path(path).unlink(missing_ok=True)
            if writer is not None:
                yield (str(target), source, year, month, rows, by_file)

    return run


def _result(row) -> tuple[FileResult, list[tuple]]:
    r = FileResult(**dict(zip(_RESULT_FIELDS, row[: len(_RESULT_FIELDS)])))
    r.quarantine = _from_ipc_bytes(row[-3], QUARANTINE_SCHEMA)
    r.totals = _from_ipc_bytes(row[-2], DAILY_TOTALS_SCHEMA)
    return r, row[-1]


def ingest(store: Store, paths: list, countries: frozenset[str] | None = None, source: str | None = None, *,
           spark=None, batch_files: int = BATCH_FILES,
           on_file: Callable[[FileResult | str, int], None] | None = None) -> IngestReport:
    """`Store.ingest` with Spark's executors doing the reading and writing; the same report, catalog and
    layout. `spark`: a SparkSession (default: the running one, else local[*])."""
    spark = spark if spark is not None else session()
    started = time.perf_counter()
    steps = {"hash": 0.0, "read": 0.0, "plan": 0.0, "write": 0.0, "record": 0.0, "batches": 0}
    report = IngestReport()
    files, report.problems = expand_paths(paths)
    with store.catalog.writer_lock():
        with store.catalog.open(write=True) as con:
            store.catalog.clean_orphans(con)
            known = {r[0] for r in con.execute("SELECT md5 FROM files").fetchall()}
        sc = spark.sparkContext
        t = time.perf_counter()
        md5s = _spark_job(store, lambda: dict(sc.parallelize(list(enumerate(map(str, files))),
                                                             _slices(sc, len(files))).map(_hash_task).collect()))
        steps["hash"] = time.perf_counter() - t
        todo = new_files(files, [md5s[i] for i in range(len(files))], known, report, on_file)
        for batch in batches(todo, batch_files):
            _ingest_batch(sc, store, batch, countries, source, report, on_file, steps)
    report.seconds = time.perf_counter() - started
    if os.environ.get(TIMINGS_ENV):
        Path(os.environ[TIMINGS_ENV]).write_text(json.dumps({**steps, "seconds": report.seconds}) + "\n")
    return report


def _slices(sc, n: int) -> int:
    return max(1, min(n, max(sc.defaultParallelism * 4, -(-n // FILES_PER_TASK))))


def _spark_job(store: Store, fn):
    """Run fn; a failed Spark job becomes one line naming the store (what it wrote stays invisible)."""
    try:
        return fn()
    except Exception as exc:
        if type(exc).__module__.startswith(("pyspark", "py4j")):
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise StoreError(f"{store.root}: Spark ingest failed: {first}") from None
        raise


def _ingest_batch(sc, store: Store, batch, countries, source, report: IngestReport, on_file, steps: dict) -> None:
    batch_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    staging = (store.root / "staging" / batch_id).resolve()
    staging.mkdir(parents=True, exist_ok=True)
    # biggest files first, dealt out by Spark's slicing: no task gets all the big ones
    items = sorted(((str(p), m) for p, m in batch), key=lambda pm: -Path(pm[0]).stat().st_size)
    t = time.perf_counter()
    rows = _spark_job(store, lambda: sc.parallelize(items, _slices(sc, len(items)))
                      .mapPartitions(_read_task(str(staging), countries, source)).collect())
    results: list[FileResult] = []
    pieces: list[tuple] = []  # (source, year, month, path, rows, file name, md5)
    for row in rows:
        r, ps = _result(row)
        (report.failed if r.error else results).append(r)
        if not r.error:
            pieces += [(*p, r.name, r.md5) for p in ps]
        if on_file:
            on_file(r, r.size)
    results.sort(key=lambda r: r.path)
    report.files.extend(results)
    t, steps["read"] = time.perf_counter(), steps["read"] + time.perf_counter() - t
    months = _new_rows(store, pieces)
    t, steps["plan"] = time.perf_counter(), steps["plan"] + time.perf_counter() - t
    events_dir = (store.root / "events").resolve()
    written = _spark_job(store, lambda: sc.parallelize(months, max(1, min(len(months), sc.defaultParallelism * 2)))
                         .mapPartitions(_write_task(batch_id, str(events_dir))).collect()) if months else []
    new_parts, stored_by_file = [], {}
    root = store.root.resolve()
    for path, s, y, m, n, by_file in sorted(written):
        new_parts.append((Path(path).relative_to(root).as_posix(), s, y, m, batch_id, n))
        for name, k in by_file.items():
            stored_by_file[name] = stored_by_file.get(name, 0) + k
    t, steps["write"] = time.perf_counter(), steps["write"] + time.perf_counter() - t
    store.catalog.record(batch_id, results, countries, new_parts, stored_by_file)
    report.rows_stored += sum(p[5] for p in new_parts)
    shutil.rmtree(staging, ignore_errors=True)
    steps["record"] += time.perf_counter() - t
    steps["batches"] += 1


def _new_rows(store: Store, pieces: list[tuple]) -> list[tuple]:
    """Which staged rows are new: the first row of each event id in the batch (by file name, line, MD5 and
    row, the DuckDB path's order), minus ids already stored in the same month partition. Returns one
    work item per source/year/month: ((source, year, month), [(piece path, file name, dropped _rows)])."""
    if not pieces:
        return []
    keys = [_keys(p[3]) for p in pieces]
    dropped: list[np.ndarray] = [np.empty(0, np.int64) for _ in pieces]
    by_source: dict[str, list[int]] = {}
    for i, p in enumerate(pieces):
        by_source.setdefault(p[0], []).append(i)
    name_rank = {n: k for k, n in enumerate(sorted({p[5] for p in pieces}))}
    md5_rank = {m: k for k, m in enumerate(sorted({p[6] for p in pieces}))}
    for src, idx in by_source.items():
        ids = np.concatenate([keys[i][0] for i in idx])
        uniq, counts = np.unique(ids, return_counts=True)
        dup = uniq[counts > 1]
        if not len(dup):
            continue
        piece_of = np.concatenate([np.full(len(keys[i][0]), i) for i in idx])
        line = np.concatenate([keys[i][1] for i in idx])
        row = np.concatenate([keys[i][2] for i in idx])
        at = np.flatnonzero(np.isin(ids, dup))
        names = np.array([name_rank[pieces[i][5]] for i in piece_of[at]])
        md5s = np.array([md5_rank[pieces[i][6]] for i in piece_of[at]])
        order = at[np.lexsort((row[at], md5s, line[at], names, ids[at]))]
        later = order[1:][ids[order][1:] == ids[order][:-1]]  # all but the first of each id
        for i in np.unique(piece_of[later]).tolist():
            dropped[i] = np.concatenate([dropped[i], row[later[piece_of[later] == i]]])
    stored = _parts_by_month(store)
    months: dict[tuple, list[int]] = {}
    for i, p in enumerate(pieces):
        months.setdefault((p[0], p[1], p[2]), []).append(i)
    work = []
    for key, idx in sorted(months.items()):
        if stored.get(key):
            ids = np.concatenate([keys[i][0] for i in idx])
            old = _stored_ids(stored[key], int(ids.min()), int(ids.max()))
            if len(old):
                for i in idx:
                    hit = np.isin(keys[i][0], old)
                    if hit.any():
                        dropped[i] = np.union1d(dropped[i], keys[i][2][hit])
        # pieces in the order the DuckDB path writes them: by file name, then MD5
        idx.sort(key=lambda i: (pieces[i][5], pieces[i][6]))
        work.append((key, [(pieces[i][3], pieces[i][5], dropped[i]) for i in idx]))
    return work


def _keys(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """event_id, source_line and _row of a piece (read without touching the other columns)."""
    with pa.memory_map(path) as src:
        t = ipc.open_file(src).read_all()
        return tuple(t[c].to_numpy() for c in ("event_id", "source_line", "_row"))


def _parts_by_month(store: Store) -> dict[tuple, list[str]]:
    out: dict[tuple, list[str]] = {}
    for p in store.part_paths():
        s, y, m = (seg.split("=", 1)[1] for seg in Path(p).parts[-4:-1])
        out.setdefault((s, int(y), int(m)), []).append(p)
    return out


def _stored_ids(parts: list[str], lo: int, hi: int) -> np.ndarray:
    """Stored event ids in [lo, hi] of recorded parts, reading only row groups whose statistics overlap."""
    found = []
    for path in parts:
        f = pq.ParquetFile(path)
        col = f.schema_arrow.get_field_index("event_id")
        groups = []
        for g in range(f.metadata.num_row_groups):
            st = f.metadata.row_group(g).column(col).statistics
            if st is None or not st.has_min_max or (st.min <= hi and st.max >= lo):
                groups.append(g)
        if groups:
            found.append(f.read_row_groups(groups, columns=["event_id"])["event_id"].to_numpy())
        f.close()
    return np.unique(np.concatenate(found)) if found else np.empty(0, np.int64)


__all__ = ["BATCH_FILES", "ingest"]
