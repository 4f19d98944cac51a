"""The embedded store: Parquet partitioned by source / year / month, plus a DuckDB catalog.

Layout under the store folder:
    catalog.duckdb                    manifest (files), parts, quarantine, daily_totals
    events/source=S/year=Y/month=M/   part-<batch>_<i>.parquet
    staging/<batch>/                  worker output of an ingest in progress

Atomicity: events are visible only through the `parts` table of the catalog. An ingest writes its
Parquet parts first and then records them, with the manifest, quarantine and totals, in ONE catalog
transaction. A killed ingest leaves unrecorded files behind, which the next ingest deletes; rerunning
it redoes the files that did not make it into the manifest.

Idempotency: a file whose MD5 is in the manifest is skipped; an event id already stored for the same
source (and therefore the same event date partition) is not stored again.

Compaction (`Store.compact`) rewrites each month's parts as one part sorted by the actors' countries,
so that a dyad query reads a few row groups per month instead of the whole store.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import itertools
import multiprocessing
import os
import shutil
import sys
import time
import uuid
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from .codebook import parse_dyad
from .errors import StoreError
from . import dyad_index
from .ingest import FileResult, read_file, reader_init
from .inputs import Inputs
from .sources import gdelt_fast
from .schema import DAILY_TOTALS_SCHEMA, EVENT_COLUMNS, EVENT_SCHEMA

if TYPE_CHECKING:
    import duckdb


def _duckdb():
    """DuckDB, imported on first use: an ingest into a new store hands its readers their first files
    before it needs the catalog."""
    import duckdb

    return duckdb


CATALOG_DDL = """
CREATE TABLE IF NOT EXISTS files (
    md5 VARCHAR PRIMARY KEY, name VARCHAR, path VARCHAR, size BIGINT, source VARCHAR,
    rows_read BIGINT, rows_kept BIGINT, rows_stored BIGINT, rows_rejected BIGINT, rows_filtered BIGINT,
    countries VARCHAR, batch VARCHAR, ingested_at TIMESTAMP, seconds DOUBLE);
CREATE TABLE IF NOT EXISTS parts (
    path VARCHAR PRIMARY KEY, source VARCHAR, year INTEGER, month INTEGER, batch VARCHAR, rows BIGINT);
CREATE TABLE IF NOT EXISTS quarantine (
    md5 VARCHAR, source_file VARCHAR, source_line BIGINT, reason VARCHAR, raw VARCHAR);
CREATE TABLE IF NOT EXISTS daily_totals (
    md5 VARCHAR, source VARCHAR, day DATE, events BIGINT);
"""

COMPACT_BATCH = "compacted"  # the batch name of a compacted part
# Sorted by country pair, a dyad's rows of a month sit in one or two row groups of this size, and a
# store of 120 months has few enough row groups that reading their footers stays cheap: at 10,240 rows
# the footers cost 4x the scan (0.86 s vs 0.21 s for RUS-TUR on 50 M events; 61,440 to 245,760 tie).
COMPACT_ROW_GROUP = 122_880
BATCH_FILES = 256  # files per atomic commit: a killed ingest loses at most this much work
BATCH_BYTES = 1 << 30  # ... and at most this much input: bounds the event ids a batch remembers
DUCKDB_MEMORY = "512MB"  # keeps the commit step's memory bounded whatever the input size


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)  # newly ingested
    skipped: list[str] = field(default_factory=list)  # already in the manifest (by MD5)
    failed: list[FileResult] = field(default_factory=list)  # could not be read at all
    problems: list[str] = field(default_factory=list)  # paths that matched nothing
    rows_stored: int = 0  # kept rows minus event ids already stored
    seconds: float = 0.0

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_kept(self) -> int:
        return sum(f.rows_kept for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)


@dataclass
class CompactReport:
    months_compacted: int = 0
    months_kept: int = 0  # already one sorted part
    parts_before: int = 0
    rows: int = 0
    index_built: bool = False  # the dyad index (dyad_index.py) was rebuilt
    index_rows: int = 0
    seconds: float = 0.0


def default_store_path() -> Path:
    return Path(os.environ.get("DYADWATCH_HOME") or ".dyadwatch")


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


class Store:
    """An event store in a folder. Create with `dyadwatch.open(path)`."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_store_path()
        self.catalog_path = self.root / "catalog.duckdb"

    # -- catalog access ---------------------------------------------------------------------------

    @contextmanager
    def _catalog(self, write: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """Short-lived catalog connection; retried while another process holds the file."""
        if write:
            self.root.mkdir(parents=True, exist_ok=True)
        elif not self.catalog_path.exists():
            raise StoreError(f"{self.root}: no dyadwatch store here (run `dyadwatch ingest` first)")
        con = self._retry_locked(lambda: _duckdb().connect(str(self.catalog_path), read_only=not write))
        try:
            if write:
                con.execute(CATALOG_DDL)
            yield con
        finally:
            con.close()

    def _retry_locked(self, open_catalog: Callable):
        """open_catalog(), retried for up to 30 s while another process holds the catalog file."""
        deadline = time.monotonic() + 30
        while True:
            try:
                return open_catalog()
            except _duckdb().IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise StoreError(f"{self.catalog_path}: cannot open catalog ({exc})") from None
                time.sleep(0.1)

    @contextmanager
    def _attached_catalog(self, con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
        """The catalog attached read-only to `con` and made its default database for the block: a
        second DuckDB instance for the catalog would cost ~35 ms on every connection."""
        path = str(self.catalog_path).replace("'", "''")
        self._retry_locked(lambda: con.execute(f"ATTACH '{path}' AS dw_catalog (READ_ONLY)"))
        try:
            con.execute("USE dw_catalog")
            yield con
        finally:
            con.execute("USE memory")
            con.execute("DETACH dw_catalog")

    @contextmanager
    def _writer_lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "lock", "w") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreError(f"{self.root}: another ingest is writing to this store") from None
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def exists(self) -> bool:
        return self.catalog_path.exists()

    def part_paths(self) -> list[str]:
        """Absolute paths of the recorded Parquet parts (the catalog keeps them relative to the store)."""
        if not self.exists():
            return []
        with self._catalog() as con:
            rows = con.execute("SELECT path FROM parts ORDER BY path").fetchall()
        return [str((self.root / r[0]).resolve()) for r in rows]

    # -- ingest ----------------------------------------------------------------------------------

    def ingest(
        self,
        paths: list[str | os.PathLike] | Inputs,
        countries: frozenset[str] | None = None,
        source: str | None = None,
        workers: int | None = None,
        on_file: Callable[[FileResult | str, int], None] | None = None,
    ) -> IngestReport:
        """Ingest files, folders or globs (or `Inputs` of them, maybe hashing already). `on_file(
        result_or_skipped_name, bytes)` reports progress.

        The work is a pipeline, so that both cores are busy from the start: the readers are forked
        first; a thread hashes the files (eight at a time) while the catalog says which are known;
        each new file goes to a reader as soon as its MD5 is in."""
        started = time.perf_counter()
        report = IngestReport()
        inputs = paths if isinstance(paths, Inputs) else Inputs(paths)
        files, report.problems = inputs.files, list(inputs.problems)
        workers = workers or min(os.cpu_count() or 1, 8)
        with self._writer_lock():
            _warm_up(sum(f.stat().st_size for f in files))  # before the fork: the readers share it
            with _readers(min(workers, len(files))) as pool, inputs.hashing() as digests:
                meanwhile = None
                if self.exists():
                    with self._catalog(write=True) as con:
                        self._clean_orphans(con)
                        known = {r[0] for r in con.execute("SELECT md5 FROM files").fetchall()}
                else:
                    # a new store knows no file and has recorded nothing: the readers get their first
                    # files at once, and the catalog (DuckDB's import, ~0.35 s, and its tables) is made
                    # while they read them
                    self._clean_orphans(None)
                    known = set()
                    meanwhile = self._create_catalog
                todo = _Peekable(_new_files_as_hashed(files, digests, known, report, on_file))

                def after_reading() -> None:
                    if pool is not None and not todo.more():
                        pool.shutdown(wait=False)  # the readers exit while the last batch is written

                while todo.more():
                    batch = _batch_of(todo, BATCH_FILES, BATCH_BYTES)
                    self._ingest_batch(batch, countries, source, pool, workers, report, on_file, meanwhile,
                                       after_reading, nothing_stored=meanwhile is not None)
                    meanwhile = None
        report.seconds = time.perf_counter() - started
        return report

    def _create_catalog(self) -> None:
        with self._catalog(write=True):
            pass

    def _ingest_batch(self, batch: Iterator[tuple[Path, str]], countries, source, pool, workers: int,
                      report: IngestReport, on_file, meanwhile: Callable[[], None] | None = None,
                      after_reading: Callable[[], None] | None = None, nothing_stored: bool = False) -> None:
        """Read a batch of files (name order) in parallel and write their new events as parts while they
        are read.

        The workers stage each file's kept events as Arrow IPC; this process takes the staged files in
        the order that decides which row of a repeated event id is kept (file name, then content), drops
        ids already seen in the batch and hands the rest to the part writer, so that encoding Parquet
        overlaps reading. Ids already stored are dropped at the end (`_NewEvents.close`).
        `meanwhile()` runs once the first files are handed out, `after_reading()` once all are read.
        `nothing_stored`: the store has recorded nothing yet (a new one): there are no stored ids to
        look for, so the catalog is not opened for them."""
        batch_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        staging = self.root / "staging" / batch_id
        staging.mkdir(parents=True, exist_ok=True)
        results: list[FileResult] = []
        args = ((str(p), m, str(staging), countries, source) for p, m in batch)
        events_dir = (self.root / "events").resolve()
        events_dir.mkdir(parents=True, exist_ok=True)
        new = _NewEvents(self, events_dir, batch_id, nothing_stored)
        try:
            reading = _read_in_order(args, pool, workers, meanwhile, handed_out=new.writer.drain)
            for group in _same_name_groups(reading):
                group.sort(key=lambda r: r.md5)  # files of the same name rank by content
                for r in group:
                    (report.failed if r.error else results).append(r)
                    if on_file:
                        on_file(r, r.size)
                new.add([r.staged for r in group if not r.error and r.staged])
                for r in group:
                    if r.staged:
                        Path(r.staged).unlink(missing_ok=True)
            if after_reading is not None:
                after_reading()
            new_parts, stored_by_file = new.close()
        finally:
            new.abort()
        results.sort(key=lambda r: r.path)
        report.files.extend(results)
        self._record(batch_id, results, countries, new_parts, stored_by_file)
        report.rows_stored += sum(p[5] for p in new_parts)
        shutil.rmtree(staging, ignore_errors=True)

    def _parts_of(self) -> dict[tuple, list[str]]:
        """Recorded parts by (source, year, month): absolute paths."""
        if not self.exists():
            return {}
        with self._catalog() as con:
            rows = con.execute("SELECT source, year, month, path FROM parts ORDER BY path").fetchall()
        out: dict[tuple, list[str]] = {}
        for source, y, m, path in rows:
            out.setdefault((source, int(y), int(m)), []).append(str((self.root / path).resolve()))
        return out

    def _record(self, batch_id, results, countries, new_parts, stored_by_file) -> None:
        """One catalog transaction: parts, manifest, quarantine and totals become visible together."""
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        country_text = ",".join(sorted(countries)) if countries else None
        # one insert per table for the whole batch (per-file inserts cost a statement each)
        quarantine = [r.quarantine.append_column("md5", pa.repeat(pa.scalar(r.md5), r.quarantine.num_rows))
                      for r in results if r.quarantine.num_rows]
        totals = [r.totals.append_column("md5", pa.repeat(pa.scalar(r.md5), r.totals.num_rows))
                  for r in results if r.totals.num_rows]
        # as Arrow tables: executemany costs ~1 ms a row (0.1 s for a batch of 100 files)
        parts = _rows_table(["path", "source", "year", "month", "batch", "rows"], new_parts)
        files = _rows_table(
            ["md5", "name", "path", "size", "source", "rows_read", "rows_kept", "rows_stored", "rows_rejected",
             "rows_filtered", "countries", "batch", "ingested_at", "seconds"],
            [[r.md5, r.name, r.path, r.size, r.source, r.rows_read, r.rows_kept, stored_by_file.get(r.name, 0),
              r.rows_rejected, r.rows_filtered, country_text, batch_id, now, r.seconds] for r in results],
        )
        with self._catalog(write=True) as con:
            con.execute("BEGIN")
            for name, table in (("parts", parts), ("files", files)):
                if table.num_rows:
                    con.register("new_rows", table)
                    con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM new_rows")
                    con.unregister("new_rows")
            if quarantine:
                con.register("q", pa.concat_tables(quarantine))
                con.execute("INSERT INTO quarantine SELECT md5, source_file, source_line, reason, raw FROM q")
                con.unregister("q")
            if totals:
                con.register("t", pa.concat_tables(totals))
                con.execute("INSERT INTO daily_totals SELECT md5, source, day, events FROM t")
                con.unregister("t")
            con.execute("COMMIT")

    def _clean_orphans(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """Delete what a killed ingest left: staging folders and parts the catalog never recorded (all
        of them when there is no catalog yet: None)."""
        shutil.rmtree(self.root / "staging", ignore_errors=True)
        recorded = {r[0] for r in con.execute("SELECT path FROM parts").fetchall()} if con is not None else set()
        for p in (self.root / "events").glob("source=*/year=*/month=*/*.parquet"):
            if p.relative_to(self.root).as_posix() not in recorded:
                p.unlink()
        dyad_index.clean_orphans(self.root, con)

    # -- compaction ------------------------------------------------------------------------------

    def compact(self, on_month: Callable[[str, int, int, int], None] | None = None) -> CompactReport:
        """Rewrite each source/year/month's parts as ONE part sorted by (actor1_country, actor2_country,
        event_date, event_id) in row groups of COMPACT_ROW_GROUP rows.

        Why: ingest appends a part per batch, so a month of a long fetch holds dozens of small parts with
        every country pair in every row group; a dyad query must then read the whole store. Sorted, a
        pair's rows sit in a few row groups per month and the Parquet scan skips the rest by their
        min/max statistics (docs/benchmarks.md: 50 M events, 8.4 s -> under a second for a dyad).

        Atomic like ingest: the new part is written first, then ONE catalog transaction swaps it for the
        old ones; the old files are deleted after the commit (or by the next write if killed before).
        Months already compacted are left alone, so running it twice changes nothing.
        `on_month(source, year, month, rows)` reports progress."""
        report = CompactReport()
        started = time.perf_counter()
        with self._writer_lock():
            with self._catalog(write=True) as con:
                self._clean_orphans(con)
                groups = con.execute(
                    "SELECT source, year, month, list(path ORDER BY path), sum(rows), "
                    f"bool_and(batch = '{COMPACT_BATCH}') FROM parts GROUP BY ALL ORDER BY ALL"
                ).fetchall()
            work = _duckdb().connect()
            try:
                spill = self.root / "staging" / "compact-spill"
                spill.mkdir(parents=True, exist_ok=True)
                work.execute(
                    f"SET memory_limit='{DUCKDB_MEMORY}'; SET preserve_insertion_order=false; "
                    f"SET temp_directory='{spill.as_posix()}'"
                )
                for source, year, month, paths, rows, compacted in groups:
                    if compacted and len(paths) == 1:
                        report.months_kept += 1
                        continue
                    try:
                        self._compact_month(work, source, year, month, paths, int(rows))
                    except _duckdb().Error as exc:  # disk full, unreadable part: one line, store unchanged
                        first = str(exc).strip().splitlines()[0]
                        raise StoreError(f"{self.root}: compacting {source} {year}-{month:02d} failed: {first}") from None
                    report.months_compacted += 1
                    report.parts_before += len(paths)
                    report.rows += int(rows)
                    if on_month:
                        on_month(source, year, month, int(rows))
                if report.months_compacted or not self._index_usable():
                    try:
                        report.index_rows = dyad_index.build(self.root, lambda: self._catalog(write=True), work)
                    except _duckdb().Error as exc:
                        first = str(exc).strip().splitlines()[0]
                        raise StoreError(f"{self.root}: building the dyad index failed: {first}") from None
                    report.index_built = True
            finally:
                work.close()
                shutil.rmtree(self.root / "staging", ignore_errors=True)
        report.seconds = time.perf_counter() - started
        return report

    def _compact_month(self, work, source: str, year: int, month: int, paths: list[str], rows: int) -> None:
        folder = self.root / "events" / f"source={source}" / f"year={year}" / f"month={month}"
        target = folder / f"part-{COMPACT_BATCH}-{uuid.uuid4().hex[:8]}_0.parquet"
        files = _sql_list([str(self.root / p) for p in paths])
        written = work.execute(
            f"COPY (SELECT * FROM read_parquet({files}, hive_partitioning=false) "
            "ORDER BY actor1_country, actor2_country, event_date, event_id) "
            f"TO '{target.as_posix()}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {COMPACT_ROW_GROUP})"
        ).fetchall()[0][0]
        if written != rows:  # never swap in a part that lost rows
            target.unlink(missing_ok=True)
            raise StoreError(f"{folder}: compaction wrote {written:,} rows, the parts hold {rows:,}; nothing changed")
        rel = target.relative_to(self.root).as_posix()
        with self._catalog(write=True) as con:
            con.execute("BEGIN")
            con.execute(f"DELETE FROM parts WHERE path IN ({', '.join('?' for _ in paths)})", paths)
            con.execute("INSERT INTO parts VALUES (?, ?, ?, ?, ?, ?)", [rel, source, year, month, COMPACT_BATCH, rows])
            con.execute("COMMIT")
        for p in paths:
            (self.root / p).unlink(missing_ok=True)

    # -- reading ---------------------------------------------------------------------------------

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with the store's relations: `events` over the recorded parts,
        `dyad_rows` (the two-country rows with pair_lo / pair_hi, from the dyad index where there is
        one) and `daily_totals` (source, day, events). The catalog is read once, for all three."""
        con = _duckdb().connect()
        if self.exists():
            with self._attached_catalog(con) as cat:
                relative, index, totals = self._read_snapshot(cat)
        else:
            relative, index, totals = self._snapshot()
        root = self.root.resolve()
        parts = [(root / p).as_posix() for p in relative]
        cols = ", ".join(EVENT_COLUMNS)
        if parts:
            con.execute(
                f"CREATE VIEW events AS SELECT {cols} FROM read_parquet({_sql_list(parts)}, hive_partitioning=true)"
            )
        else:
            con.register("_empty_events", EVENT_SCHEMA.empty_table())
            con.execute(f"CREATE VIEW events AS SELECT {cols} FROM _empty_events")
        # footers are read once per connection, not once per scan of the same files
        con.execute("SET parquet_metadata_cache = true")
        dyad_index.define_dyad_rows(con, index, self.root, relative)
        con.register("daily_totals", totals)
        return con

    def _snapshot(self) -> tuple[list[str], dyad_index.IndexState, pa.Table]:
        """In one catalog session: the recorded part paths (relative), the usable dyad index and the
        daily totals."""
        if not self.exists():
            return [], dyad_index.IndexState(None, 0, frozenset()), DAILY_TOTALS_SCHEMA.empty_table()
        with self._catalog() as cat:
            return self._read_snapshot(cat)

    def _read_snapshot(self, cat: duckdb.DuckDBPyConnection) -> tuple[list[str], dyad_index.IndexState, pa.Table]:
        relative = [r[0] for r in cat.execute("SELECT path FROM parts ORDER BY path").fetchall()]
        index = dyad_index.state(cat, self.root, set(relative))
        totals = cat.sql(_DAILY_TOTALS_SQL).to_arrow_table()
        return relative, index, totals

    def _index_state(self) -> tuple[dyad_index.IndexState, list[str]]:
        """The usable dyad index and the recorded part paths (relative)."""
        relative, index, _ = self._snapshot()
        return index, relative

    def _index_usable(self) -> bool:
        return self._index_state()[0].path is not None

    def events(
        self,
        dyad: str | tuple[str, str] | None = None,
        start: dt.date | str | None = None,
        end: dt.date | str | None = None,
        source: str | None = None,
        limit: int | None = None,
    ) -> pa.Table:
        """Events as Arrow, optionally for a dyad (either direction) and an inclusive date range."""
        where, params = [], []
        if dyad is not None:
            a, b = parse_dyad(dyad) if isinstance(dyad, str) else dyad
            where.append(
                "((actor1_country = ? AND actor2_country = ?) OR (actor1_country = ? AND actor2_country = ?))"
            )
            params += [a, b, b, a]
        if start is not None:
            where.append("event_date >= ?")
            params.append(_as_date(start))
        if end is not None:
            where.append("event_date <= ?")
            params.append(_as_date(end))
        if source is not None:
            where.append("source = ?")
            params.append(source)
        sql = "SELECT * FROM events"
        if dyad is not None and a != b:
            # the dyad index holds the pair's rows together (dyad_index.py): skip every other row group
            where.insert(0, "pair_lo = ? AND pair_hi = ?")
            params[:0] = sorted((a, b))
            sql = f"SELECT {', '.join(EVENT_COLUMNS)} FROM {dyad_index.DYAD_ROWS}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY event_date, source, event_id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        if not self.exists():
            raise StoreError(f"{self.root}: no dyadwatch store here (run `dyadwatch ingest` first)")
        con = self.connect()
        try:
            return con.sql(sql, params=params).to_arrow_table().cast(EVENT_SCHEMA)
        finally:
            con.close()

    def to_pandas(self, **filters):
        """`events(**filters)` as a pandas DataFrame (needs pandas)."""
        return self.events(**filters).to_pandas()

    def to_polars(self, **filters):
        """`events(**filters)` as a polars DataFrame (needs polars)."""
        try:
            import polars as pl
        except ImportError:
            raise ImportError("to_polars() needs polars: pip install polars") from None
        return pl.from_arrow(self.events(**filters))

    def status(self) -> dict:
        """What the store holds: per source rows, files, date range, rejects; and totals."""
        if not self.exists():
            raise StoreError(f"{self.root}: no dyadwatch store here (run `dyadwatch ingest` first)")
        with self._catalog() as con:
            files = con.execute(
                "SELECT source, count(*), sum(rows_read), sum(rows_kept), sum(rows_stored), sum(rows_rejected), "
                "sum(rows_filtered) FROM files GROUP BY source ORDER BY source"
            ).fetchall()
            parts = con.execute("SELECT source, sum(rows), count(*) FROM parts GROUP BY source").fetchall()
            totals = con.execute(
                "SELECT source, min(day), max(day), sum(events), count(DISTINCT day) FROM daily_totals GROUP BY source"
            ).fetchall()
            countries = con.execute(
                "SELECT DISTINCT coalesce(countries, 'all') FROM files ORDER BY 1"
            ).fetchall()
        con = self.connect()
        try:
            ranges = {
                s: (lo, hi)
                for s, lo, hi in con.execute(
                    "SELECT source, min(event_date), max(event_date) FROM events GROUP BY source"
                ).fetchall()
            }
        finally:
            con.close()
        stored = {s: (int(n), int(k)) for s, n, k in parts}
        tot = {s: (lo, hi, int(n), int(d)) for s, lo, hi, n, d in totals}
        sources = []
        for s, n_files, read, kept, rows_stored, rejected, filtered in files:
            lo, hi = ranges.get(s, (None, None))
            sources.append(
                {
                    "source": s,
                    "files": int(n_files),
                    "rows_read": int(read or 0),
                    "rows_kept": int(kept or 0),
                    "events": stored.get(s, (0, 0))[0],
                    "parts": stored.get(s, (0, 0))[1],
                    "rows_rejected": int(rejected or 0),
                    "rows_filtered": int(filtered or 0),
                    "first_event": lo.isoformat() if lo else None,
                    "last_event": hi.isoformat() if hi else None,
                    "all_events_total": tot.get(s, (None, None, 0, 0))[2],
                    "days_with_totals": tot.get(s, (None, None, 0, 0))[3],
                }
            )
        return {
            "store": str(self.root),
            "sources": sources,
            "events": sum(s["events"] for s in sources),
            "files": sum(s["files"] for s in sources),
            "rows_rejected": sum(s["rows_rejected"] for s in sources),
            "filters": [c[0] for c in countries],
        }

    def quarantine(self) -> pa.Table:
        with self._catalog() as con:
            return con.sql(
                "SELECT source_file, source_line, reason, raw FROM quarantine ORDER BY source_file, source_line"
            ).to_arrow_table()

    def daily_totals(self) -> pa.Table:
        """All events per source and day before any country filter (summed over files)."""
        with self._catalog() as con:
            return con.sql(_DAILY_TOTALS_SQL).to_arrow_table()

    def manifest(self) -> pa.Table:
        with self._catalog() as con:
            return con.sql("SELECT * FROM files ORDER BY ingested_at, name").to_arrow_table()


_DAILY_TOTALS_SQL = (
    "SELECT source, day, sum(events)::BIGINT AS events FROM daily_totals GROUP BY ALL ORDER BY source, day"
)
_ROW_GROUP = 122_880  # rows per Parquet row group in a part (DuckDB's default)
_BUFFERED = 2 * _ROW_GROUP  # rows held across all partitions before the biggest is written out
_AHEAD = 2  # files read ahead per worker of the one being written: bounds the staged data waiting

# a part holds the event columns but `source` (in its folder name), as DuckDB's partitioned COPY wrote them
PART_SCHEMA = pa.schema(
    [
        pa.field(f.name, pa.timestamp("us") if f.name == "date_added" else f.type)
        for f in EVENT_SCHEMA
        if f.name != "source"
    ]
)

# How a part is encoded. Event ids and line numbers are unique, so a dictionary of them only costs
# (~0.2 us a row, a fifth of the encoding) and makes the file bigger. Min/max statistics are kept where
# something reads them: the de-duplication (event_id), queries by date, dyad (the countries) and track
# (root code, quad class); over the other columns they cost another fifth of the encoding.
_UNIQUE = ("event_id", "source_line")
_FILTERED = ("event_id", "event_date", "actor1_country", "actor2_country", "event_root_code", "quad_class")
PART_OPTIONS = dict(
    compression="zstd",
    use_dictionary=[name for name in PART_SCHEMA.names if name not in _UNIQUE],
    write_statistics=list(_FILTERED),
)


def part_writer(path: Path | str) -> pq.ParquetWriter:
    """A Parquet writer of a part (PART_SCHEMA, PART_OPTIONS)."""
    return pq.ParquetWriter(path, PART_SCHEMA, **PART_OPTIONS)


def _warm_up(input_bytes: int) -> None:
    """pyarrow imports its optional companions (pandas when installed, ~0.3 s) on first use, and the
    compiled GDELT reader's kernel is built (once per machine, ~0.6 s) and loaded: do both once in
    this process, before the readers are forked, instead of once in each of them (the kernel only for
    inputs big enough to use it). Likewise numpy.ma, which pyarrow imports the first time it is handed
    a numpy array (to check for a masked one; ~50 ms a process)."""
    pa.array([0])
    pa.array(np.zeros(1))
    if input_bytes >= gdelt_fast.MIN_BLOCK:
        gdelt_fast.warm_up()


@contextmanager
def _readers(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    """The reader processes, forked now (before this process starts threads), or None when one reader
    is enough (it then reads in this process)."""
    if workers <= 1:
        yield None
        return
    # forked readers share this process's imports; but polars' threads do not survive a fork, so once
    # polars is loaded here (a one-file ingest read it in this process) the readers start afresh
    context = multiprocessing.get_context("spawn" if "polars" in sys.modules else None)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=reader_init) as pool:
        pool.submit(int)  # starts the processes
        yield pool


def _read_in_order(args: Iterator[tuple], pool: ProcessPoolExecutor | None, workers: int,
                   meanwhile: Callable[[], None] | None = None,
                   handed_out: Callable[[], None] | None = None) -> Iterator[FileResult]:
    """`read_file(*a)` for each of `args`, in the reader processes of `pool` (a few files ahead of the
    one yielded), yielded in the order of `args`. `meanwhile()` runs once the first files are handed
    out (before any is read when there is no pool); `handed_out()` once the last one is (with a pool)."""
    if pool is None:
        if meanwhile is not None:
            meanwhile()
        for a in args:
            yield read_file(*a)
        return
    todo = iter(args)
    running = deque(pool.submit(read_file, *a) for a in itertools.islice(todo, workers * (_AHEAD + 1)))
    if meanwhile is not None:
        meanwhile()
    while running:
        result = running.popleft().result()
        following = next(todo, None)
        if following is not None:
            running.append(pool.submit(read_file, *following))
        elif handed_out is not None:
            handed_out()
            handed_out = None
        yield result


class _Peekable:
    def __init__(self, items: Iterator):
        self.items, self.head = iter(items), []

    def more(self) -> bool:
        if not self.head:
            self.head = list(itertools.islice(self.items, 1))
        return bool(self.head)

    def peek(self):
        return self.head[0] if self.more() else None

    def __next__(self):
        if not self.more():
            raise StopIteration
        return self.head.pop()

    def __iter__(self):
        return self


def _same_name_groups(results: Iterator[FileResult]) -> Iterator[list[FileResult]]:
    """Consecutive results with the same file name, together (their rows are ranked by line across them)."""
    group: list[FileResult] = []
    for r in results:
        if group and r.name != group[0].name:
            yield group
            group = []
        group.append(r)
    if group:
        yield group


def _staged_table(paths: list[str]) -> pa.Table | None:
    """The staged events of files with the same name, as one table ranked like the store keeps a
    repeated id: by line, then by the order of `paths` (content MD5)."""
    tables = []
    for path in paths:
        with pa.memory_map(path) as source:
            tables.append(ipc.open_file(source).read_all())
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return None
    if len(tables) == 1:
        return tables[0]
    table = pa.concat_tables(tables)
    return table.take(pc.sort_indices(table, [("source_line", "ascending")]))  # a stable sort


class _IdRuns:
    """The event ids seen so far in a batch, for one source, each checked only when its range overlaps
    the ids asked about. GDELT ids grow with time, so files read in name order usually overlap no
    earlier ids: the check then costs nothing.

    A file's ids span ~9 times their number (GDELT numbers every event of every language), so most are
    kept as a bitmap over their range (~1 byte an id instead of 8: an unfiltered batch of 10 M rows
    held 80 MB of ids, and twice that while merging); ids too sparse for that (a filtered file's) are
    kept as sorted runs, merged as they grow, so there are few."""

    def __init__(self) -> None:
        self.runs: list[np.ndarray] = []
        self.bitmaps: list[tuple[int, int, np.ndarray]] = []  # (first id, last id, bits from the first)

    def seen(self, ids: np.ndarray) -> np.ndarray:
        """Mask of `ids` (sorted, unique) already seen."""
        out = np.zeros(len(ids), dtype=bool)
        if not len(ids):
            return out
        lo, hi = ids[0], ids[-1]
        for run in self.runs:
            if run[-1] < lo or run[0] > hi:
                continue
            at = np.minimum(np.searchsorted(run, ids), len(run) - 1)
            out |= run[at] == ids
        for first, last, bits in self.bitmaps:
            if last < lo or first > hi:
                continue
            a, b = np.searchsorted(ids, first), np.searchsorted(ids, last, side="right")
            offset = ids[a:b] - first
            out[a:b] |= ((bits[offset >> 3] >> (offset & 7)) & 1).astype(bool)
        return out

    def add(self, ids: np.ndarray) -> None:
        """Remember `ids` (sorted, unique, none seen before)."""
        if not len(ids):
            return
        span = int(ids[-1] - ids[0]) + 1
        if span <= 64 * len(ids):  # a bitmap is at most the 8 bytes an id of a run takes
            present = np.zeros(span, dtype=bool)
            present[ids - ids[0]] = True
            self.bitmaps.append((int(ids[0]), int(ids[-1]), np.packbits(present, bitorder="little")))
            return
        self.runs.append(ids)
        while len(self.runs) > 1 and len(self.runs[-2]) <= 2 * len(self.runs[-1]):
            last = self.runs.pop()
            self.runs[-1] = np.sort(np.concatenate([self.runs[-1], last]), kind="stable")


class _NewEvents:
    """The events of one batch that are new to the store, written as parts (invisible until recorded).

    `add` takes the staged events in ranking order and keeps the first row of each event id not seen
    before in the batch; `close` then drops the ids already stored. The stored ids are looked for only
    in the row groups of the same partition whose id range (Parquet statistics) overlaps the new ids:
    an event id belongs to its event date's partition, and new GDELT ids are above every stored one, so
    usually no stored id is read at all. A part that held stored ids is rewritten without them."""

    def __init__(self, store: "Store", events_dir: Path, batch_id: str, nothing_stored: bool = False):
        self.store = store
        self.writer = _PartWriter(events_dir, batch_id)
        self.seen: dict[str, _IdRuns] = {}
        self.stored_by_file: dict[str, int] = {}
        # the store's recorded parts, read on the first add (none to read in a store that has recorded
        # nothing yet)
        self.stored_parts: dict[tuple, list[str]] | None = {} if nothing_stored else None

    def _stored_parts(self) -> dict[tuple, list[str]]:
        # read once, while the readers read the batch's first files (not in the serial end of the
        # batch): nothing else writes meanwhile, this process holds the writer lock
        if self.stored_parts is None:
            self.stored_parts = self.store._parts_of()
        return self.stored_parts

    def add(self, staged: list[str]) -> None:
        self._stored_parts()
        table = _staged_table(staged) if staged else None
        if table is None:
            return
        keep = np.ones(table.num_rows, dtype=bool)
        sources = table["source"].unique().to_pylist()
        for source in sources:
            rows = np.arange(table.num_rows) if len(sources) == 1 else np.flatnonzero(
                pc.equal(table["source"], source).to_numpy(zero_copy_only=False)
            )
            ids = table["event_id"].to_numpy()[rows]
            uniq, inverse = np.unique(ids, return_inverse=True)
            runs = self.seen.setdefault(source, _IdRuns())
            old = runs.seen(uniq)
            keep[rows] = _first_by_line(table, rows, inverse, len(uniq)) & ~old[inverse]
            runs.add(uniq[~old])
        if not keep.all():
            table = table.filter(pa.array(keep))
        if table.num_rows:
            for name, n in _count_by(table["source_file"]).items():
                self.stored_by_file[name] = self.stored_by_file.get(name, 0) + n
            self.writer.add(table, source=sources[0] if len(sources) == 1 else None)

    def close(self) -> tuple[list[tuple], dict[str, int]]:
        """Finish the parts; (part rows for the catalog, new events per file name)."""
        root = self.store.root.resolve()
        stored = self._stored_parts()
        new_parts = []
        for path, source, y, m, n in self.writer.close():
            path, n = self._drop_stored(Path(path), stored.get((source, y, m), []), n)
            if n:
                rel = path.resolve().relative_to(root).as_posix()
                new_parts.append((rel, source, y, m, self.writer.batch_id, n))
        return new_parts, {k: v for k, v in self.stored_by_file.items() if v}

    def abort(self) -> None:
        self.writer.abort()

    def _drop_stored(self, path: Path, stored_parts: list[str], n: int) -> tuple[Path, int]:
        """Rewrite the part at `path` without the ids already in `stored_parts`; (path, rows)."""
        if not stored_parts:
            return path, n
        new = pq.ParquetFile(path)
        ranges = [_id_range(new.metadata, i) for i in range(new.metadata.num_row_groups)]
        lo = min(r[0] for r in ranges)
        hi = max(r[1] for r in ranges)
        stored_ids = []
        for other in stored_parts:
            f = pq.ParquetFile(other)
            groups = []
            for i in range(f.metadata.num_row_groups):
                first, last = _id_range(f.metadata, i)
                if first <= hi and last >= lo:  # ids of this row group may be among the new ones
                    groups.append(i)
            if groups:
                stored_ids.append(f.read_row_groups(groups, columns=["event_id"])["event_id"].to_numpy())
            f.close()
        if not stored_ids:
            new.close()
            return path, n
        stored_ids = np.unique(np.concatenate(stored_ids))
        target = path.with_name(path.name.replace("_0.parquet", "_1.parquet"))
        writer = None
        kept = 0
        try:
            for i in range(new.metadata.num_row_groups):
                group = new.read_row_group(i)
                ids = group["event_id"].to_numpy()
                dup = np.isin(ids, stored_ids)
                if dup.any():
                    for name, k in _count_by(group["source_file"].filter(pa.array(dup))).items():
                        self.stored_by_file[name] -= k
                    group = group.filter(pa.array(~dup))
                if group.num_rows:
                    if writer is None:
                        writer = part_writer(target)
                    writer.write_table(group, row_group_size=_ROW_GROUP)
                    kept += group.num_rows
        finally:
            new.close()
            if writer is not None:
                writer.close()
        if kept == n:  # nothing was stored already: keep the part as written
            target.unlink(missing_ok=True)
            return path, n
        path.unlink()
        return target, kept


def _first_by_line(table: pa.Table, rows: np.ndarray, inverse: np.ndarray, n_ids: int) -> np.ndarray:
    """Mask of `rows` of `table` that are the first of their event id (`inverse`: each row's id number)
    by source line, then position: a reader's rows are not in line order (the lane puts each file's
    rows of its main month first), and files of the same name come sorted by line (`_staged_table`)."""
    if n_ids == len(rows):  # no id repeats (the usual case)
        return np.ones(len(rows), dtype=bool)
    lines = table["source_line"].to_numpy()[rows]
    order = np.lexsort((np.arange(len(rows)), lines, inverse))  # by id, then line, then position
    ids = inverse[order]
    first = np.zeros(len(rows), dtype=bool)
    first[order[np.flatnonzero(np.diff(ids, prepend=-1))]] = True  # the first row of each id in that order
    return first


def _rows_table(names: list[str], rows: list) -> pa.Table:
    """Rows (sequences in the order of `names`) as an Arrow table; no columns when there are no rows."""
    return pa.table(dict(zip(names, map(list, zip(*rows)))))


def _id_range(meta, group: int) -> tuple[float, float]:
    """(min, max) event_id of a row group by its statistics; unbounded when it has none."""
    rg = meta.row_group(group)
    for j in range(rg.num_columns):
        col = rg.column(j)
        if col.path_in_schema == "event_id":
            st = col.statistics
            if st is not None and st.has_min_max:
                return st.min, st.max
            break
    return -np.inf, np.inf


def _count_by(values: pa.ChunkedArray | pa.Array) -> dict:
    vc = pc.value_counts(values)
    return dict(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist()))


class _PartWriter:
    """Writes batches of new events to one Parquet part per source/year/month (zstd), holding at most
    about `_BUFFERED` rows in memory. Parts are named part-<batch>_0.parquet in Hive-style folders.

    `add` takes events (EVENT_SCHEMA; `year` and `month` columns may be given, else they come from the
    event date; `source` when all are of that one, which saves encoding the column)."""

    def __init__(self, events_dir: Path, batch_id: str):
        self.events_dir, self.batch_id = events_dir, batch_id
        self.writers: dict[tuple, pq.ParquetWriter] = {}
        self.paths: dict[tuple, Path] = {}
        self.pending: dict[tuple, list[pa.Table]] = {}
        self.rows: dict[tuple, int] = {}
        self.buffered = 0
        self.draining = False

    def add(self, batch: pa.RecordBatch | pa.Table, source: str | None = None) -> None:
        if not batch.num_rows:
            return
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        # partition key per row: source (index in `names`) and year * 100 + month
        if "year" in table.column_names:
            year, month = table["year"].to_numpy(), table["month"].to_numpy()
        else:
            months = table["event_date"].to_numpy().astype("datetime64[M]").astype(np.int64)
            year, month = months // 12 + 1970, months % 12 + 1
        if source is not None:
            names, key = [source], year.astype(np.int64) * 100 + month
        else:
            sources = pc.dictionary_encode(table["source"]).combine_chunks()
            names = sources.dictionary.to_pylist()
            key = sources.indices.to_numpy(zero_copy_only=False).astype(np.int64) * 1_000_000 + year * 100 + month
        table = table.select([f.name for f in PART_SCHEMA]).cast(PART_SCHEMA)
        for u, part in _partitions(table, key):
            k = (names[u // 1_000_000], (u % 1_000_000) // 100, u % 100)
            self.pending.setdefault(k, []).append(part)
            self.rows[k] = self.rows.get(k, 0) + part.num_rows
            self.buffered += part.num_rows
            waiting = sum(t.num_rows for t in self.pending[k])
            if waiting >= _ROW_GROUP:
                self._flush(k, whole_groups=not self.draining)
            elif self.draining and waiting >= _ROW_GROUP // 16:  # a few stray rows wait for the close
                self._flush(k)
        while self.buffered > _BUFFERED:
            self._flush(max(self.pending, key=lambda k: sum(t.num_rows for t in self.pending[k])))

    def _flush(self, k: tuple, whole_groups: bool = False) -> None:
        """Write partition `k`'s buffered rows; with `whole_groups`, only whole row groups of them (the
        rest stays buffered, to start the next one)."""
        tables = self.pending.pop(k, [])
        if not tables:
            return
        table = pa.concat_tables(tables)
        if whole_groups and table.num_rows % _ROW_GROUP:
            cut = table.num_rows - table.num_rows % _ROW_GROUP
            self.pending[k] = [table.slice(cut)]
            table = table.slice(0, cut)
        self.buffered -= table.num_rows
        writer = self.writers.get(k)
        if writer is None:
            source, year, month = k
            folder = self.events_dir / f"source={source}" / f"year={year}" / f"month={month}"
            folder.mkdir(parents=True, exist_ok=True)
            self.paths[k] = folder / f"part-{self.batch_id}_0.parquet"
            writer = self.writers[k] = part_writer(self.paths[k])
        writer.write_table(table, row_group_size=_ROW_GROUP)

    def drain(self) -> None:
        """Write what is buffered, and from now on each partition's rows as they come (but for a few):
        the readers have their last files, so this is written while they read them, instead of after
        them while they idle (at the cost of a few short row groups)."""
        self.draining = True
        for k in list(self.pending):
            self._flush(k)

    def close(self) -> list[tuple]:
        """Write what is buffered, close the parts; (path, source, year, month, rows) per part."""
        for k in list(self.pending):
            self._flush(k)
        self.abort()
        return [(str(self.paths[k]), *k, self.rows[k]) for k in sorted(self.paths)]

    def abort(self) -> None:
        """Close the parts as they are (after an error: they are never recorded, so later deleted)."""
        for w in self.writers.values():
            w.close()
        self.writers.clear()


_MAX_RUNS = 64  # a partition's rows in at most this many runs are sliced out, others copied


def _runs(mask: np.ndarray) -> np.ndarray:
    """(start, end) of each run of True in `mask`, as rows of a (n, 2) array."""
    return np.flatnonzero(np.diff(mask, prepend=False, append=False)).reshape(-1, 2)


def _slices(table: pa.Table, runs: np.ndarray) -> pa.Table:
    """The rows of `runs` ((start, end) rows) of `table`, in order, without a copy."""
    return pa.concat_tables([table.slice(a, b - a) for a, b in runs.tolist()])


def _partitions(table: pa.Table, key: np.ndarray) -> list[tuple[int, pa.Table]]:
    """(key, rows) for each distinct `key` of the rows of `table`. The biggest partition, when it is
    most of the table in a few runs (a file's rows of its main month: the lane puts them first in each
    block), is sliced out without a copy (~0.8 us a row saved). The other rows are copied, in one take
    (a third of the time of a filter per partition), so that a few rows never keep a whole staged file
    alive while they wait to be written."""
    keys, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    if len(keys) == 1:
        return [(int(keys[0]), table)]
    out = []
    rest = np.arange(len(key))
    main = int(np.argmax(counts))
    is_main = inverse == main
    runs = _runs(is_main)
    main_sliced = 2 * counts[main] >= len(key) and len(runs) <= _MAX_RUNS
    if main_sliced:
        out.append((int(keys[main]), _slices(table, runs)))
        rest = np.flatnonzero(~is_main)
    by_partition = np.argsort(inverse[rest], kind="stable")  # each partition in the table's order
    ids = inverse[rest][by_partition]
    rest_runs = _runs(~is_main) if main_sliced else None
    if rest_runs is not None and len(rest_runs) <= _MAX_RUNS:
        # the other rows gathered into one chunk first (they are a few runs: the ends of the lane's
        # blocks): a take from one chunk costs half of one across the staged file's chunks
        copied = _slices(table, rest_runs).combine_chunks().take(by_partition)
    else:
        copied = table.take(rest[by_partition])
    starts = np.flatnonzero(np.diff(ids, prepend=-1))
    for a, b in zip(starts.tolist(), [*starts[1:].tolist(), len(ids)]):
        out.append((int(keys[ids[a]]), copied.slice(a, b - a)))
    return out


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"bad date {value!r}: use YYYY-MM-DD") from None


def _new_files(files: list[Path], md5s: list[str], known: set[str], report: "IngestReport",
               on_file=None) -> list[tuple[Path, str]]:
    """The (file, MD5) pairs not yet in the manifest; the others are reported as skipped. The same
    content twice in one run is read once."""
    return list(_new_files_as_hashed(files, md5s, known, report, on_file))


def _new_files_as_hashed(files, md5s, known: set[str], report: "IngestReport", on_file=None) -> Iterator[tuple[Path, str]]:
    """`_new_files`, one pair at a time as the MD5s (an iterable) come in. A file that could not be
    hashed (an OSError instead of its MD5) is reported as failed, with a one-line error."""
    for f, m in zip(files, md5s):
        if isinstance(m, OSError):
            failed = FileResult(path=str(f), name=f.name, size=0, md5="",
                                error=f"{f}: cannot be read ({m.strerror or m})")
            report.failed.append(failed)
            if on_file:
                on_file(failed, 0)
        elif m in known:
            report.skipped.append(str(f))
            if on_file:
                on_file(str(f), f.stat().st_size)
        else:
            known.add(m)
            yield f, m


def _batch_of(todo: _Peekable, size: int, max_bytes: int) -> Iterator[tuple[Path, str]]:
    """The next run of `todo` ((path, md5) pairs in name order): at most `size` files and `max_bytes` of
    input, at least one file, and never split between files of the same name (they rank together)."""
    n = total = 0
    last = None
    while todo.more():
        path = todo.peek()[0]
        nbytes = path.stat().st_size
        if n and path.name != last and (n >= size or total + nbytes > max_bytes):
            return
        yield next(todo)
        n, total, last = n + 1, total + nbytes, path.name


def _batches(items: list[tuple[Path, str]], size: int) -> Iterator[list]:
    """`items` ((path, md5) pairs) in runs of at most `size` files (the Spark engine's batches)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def open_store(path: str | os.PathLike | None = None) -> Store:
    """The store in `path` (default: $DYADWATCH_HOME, else ./.dyadwatch); created by the first ingest."""
    return Store(path)
