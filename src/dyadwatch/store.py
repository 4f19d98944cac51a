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
import os
import shutil
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .codebook import parse_dyad
from .ingest import FileResult, expand_paths, md5_of, read_file
from .schema import EVENT_COLUMNS, EVENT_SCHEMA

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
COMPACT_ROW_GROUP = 10_240  # small enough that a country pair's rows fill few row groups of a month
BATCH_FILES = 256  # files per atomic commit: a killed ingest loses at most this much work
DUCKDB_MEMORY = "512MB"  # keeps the commit step's memory bounded whatever the input size


class StoreError(Exception):
    """A problem with the store itself (locked, unreadable). One line."""


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
        deadline = time.monotonic() + 30
        while True:
            try:
                con = duckdb.connect(str(self.catalog_path), read_only=not write)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise StoreError(f"{self.catalog_path}: cannot open catalog ({exc})") from None
                time.sleep(0.1)
        try:
            if write:
                con.execute(CATALOG_DDL)
            yield con
        finally:
            con.close()

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
        paths: list[str | os.PathLike],
        countries: frozenset[str] | None = None,
        source: str | None = None,
        workers: int | None = None,
        on_file: Callable[[FileResult | str, int], None] | None = None,
    ) -> IngestReport:
        """Ingest files, folders or globs. `on_file(result_or_skipped_name, bytes)` reports progress."""
        started = time.perf_counter()
        report = IngestReport()
        files, report.problems = expand_paths(paths)
        workers = workers or min(os.cpu_count() or 1, 8)
        with self._writer_lock():
            with self._catalog(write=True) as con:
                self._clean_orphans(con)
                known = {r[0] for r in con.execute("SELECT md5 FROM files").fetchall()}
            with ThreadPoolExecutor(max_workers=2) as pool:  # hashing releases the GIL
                md5s = list(pool.map(md5_of, files))
            todo: list[tuple[Path, str]] = []
            for f, m in zip(files, md5s):
                if m in known:
                    report.skipped.append(str(f))
                    if on_file:
                        on_file(str(f), f.stat().st_size)
                else:
                    known.add(m)  # the same content twice in one run is read once
                    todo.append((f, m))
            for batch in _batches(todo, BATCH_FILES):
                self._ingest_batch(batch, countries, source, workers, report, on_file)
        report.seconds = time.perf_counter() - started
        return report

    def _ingest_batch(self, batch, countries, source, workers, report: IngestReport, on_file) -> None:
        batch_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        staging = self.root / "staging" / batch_id
        staging.mkdir(parents=True, exist_ok=True)
        results: list[FileResult] = []

        def done(r: FileResult) -> None:
            (report.failed if r.error else results).append(r)
            if on_file:
                on_file(r, r.size)

        args = [(str(p), m, str(staging), countries, source) for p, m in batch]
        if workers > 1 and len(args) > 1:
            with ProcessPoolExecutor(max_workers=min(workers, len(args))) as pool:
                futures = [pool.submit(read_file, *a) for a in args]
                for fut in as_completed(futures):
                    done(fut.result())
        else:
            for a in args:
                done(read_file(*a))
        results.sort(key=lambda r: r.path)
        report.files.extend(results)
        new_parts, stored_by_file = self._write_parts(batch_id, results)
        self._record(batch_id, results, countries, new_parts, stored_by_file)
        report.rows_stored += sum(p[5] for p in new_parts)
        shutil.rmtree(staging, ignore_errors=True)

    def _write_parts(self, batch_id: str, results: list[FileResult]) -> tuple[list[tuple], dict[str, int]]:
        """Write the batch's new events as partitioned Parquet parts (invisible until recorded).

        DuckDB streams the new events (first row of each event id in the batch, minus ids already
        stored) and pyarrow writes them, one part per source/year/month, a row group at a time. DuckDB's
        own partitioned COPY was slower and held whole partitions in memory (it ran out of its memory
        limit on an unfiltered ingest of 5 M rows); here memory is bounded by a few row groups.
        """
        staged = [r.staged for r in results if r.staged]
        new_parts: list[tuple] = []
        stored_by_file: dict[str, int] = {}
        events_dir = (self.root / "events").resolve()
        events_dir.mkdir(parents=True, exist_ok=True)
        existing = self.part_paths()
        if not staged:
            return new_parts, stored_by_file
        work = duckdb.connect()
        writer = _PartWriter(events_dir, batch_id)
        try:
            spill = self.root / "staging" / batch_id / "spill"  # DuckDB spills here past its memory limit
            work.execute(
                f"SET memory_limit='{DUCKDB_MEMORY}'; SET preserve_insertion_order=false; "
                f"SET temp_directory='{spill.as_posix()}'"
            )
            # first occurrence of each event id in the batch (by file name and line), minus ids already
            # stored. Ids seen twice in a batch are rare: find them with a narrow aggregate, rank only
            # their rows, and drop the later ones (a row is identified by its staging file and row number)
            rows = f"read_parquet({_sql_list(staged)}, filename=true, file_row_number=true)"
            work.execute(
                f"CREATE TEMP TABLE dup_ids AS SELECT source, event_id FROM read_parquet({_sql_list(staged)}) "
                "GROUP BY ALL HAVING count(*) > 1"
            )
            work.execute(
                "CREATE TEMP TABLE later AS SELECT filename, file_row_number FROM ("
                "SELECT filename, file_row_number, row_number() OVER (PARTITION BY source, event_id "
                "ORDER BY source_file, source_line, filename, file_row_number) AS rank "
                f"FROM {rows} SEMI JOIN dup_ids USING (source, event_id)) WHERE rank > 1"
            )
            work.execute(
                "CREATE TEMP VIEW new_events AS SELECT * EXCLUDE (filename, file_row_number) "
                f"FROM {rows} ANTI JOIN later USING (filename, file_row_number)"
            )
            months = work.execute(
                "SELECT DISTINCT source, year(event_date), month(event_date) FROM new_events"
            ).fetchall()
            touched = [
                p for p in existing
                if any(f"source={s}/year={y}/month={m}/" in p for s, y, m in months)
            ]
            stored_ids = (
                f"SELECT source, event_id FROM read_parquet({_sql_list(touched)}, hive_partitioning=true)"
                if touched
                else "SELECT NULL::VARCHAR AS source, NULL::BIGINT AS event_id WHERE false"
            )
            cols = ", ".join(c for c in EVENT_COLUMNS if c != "source")
            reader = work.sql(
                f"SELECT n.source, {cols}, year(n.event_date) AS year, month(n.event_date) AS month "
                f"FROM new_events n ANTI JOIN ({stored_ids}) s USING (source, event_id)"
            ).to_arrow_reader(_BATCH_ROWS)
            for batch in reader:
                writer.add(batch)
            written = []
            for path, source, y, m, n in writer.close():
                rel = Path(path).resolve().relative_to(self.root.resolve()).as_posix()
                new_parts.append((rel, source, y, m, batch_id, n))
                written.append(path)
            if written:
                for name, n in work.execute(
                    f"SELECT source_file, count(*) FROM read_parquet({_sql_list(written)}) GROUP BY ALL"
                ).fetchall():
                    stored_by_file[name] = n
        finally:
            writer.abort()
            work.close()
        return new_parts, stored_by_file

    def _record(self, batch_id, results, countries, new_parts, stored_by_file) -> None:
        """One catalog transaction: parts, manifest, quarantine and totals become visible together."""
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        country_text = ",".join(sorted(countries)) if countries else None
        with self._catalog(write=True) as con:
            con.execute("BEGIN")
            if new_parts:
                con.executemany("INSERT INTO parts VALUES (?, ?, ?, ?, ?, ?)", new_parts)
            for r in results:
                con.execute(
                    "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [r.md5, r.name, r.path, r.size, r.source, r.rows_read, r.rows_kept,
                     stored_by_file.get(r.name, 0), r.rows_rejected, r.rows_filtered, country_text,
                     batch_id, now, r.seconds],
                )
                if r.quarantine.num_rows:
                    q = r.quarantine
                    con.register("q", q)
                    con.execute("INSERT INTO quarantine SELECT ?, source_file, source_line, reason, raw FROM q", [r.md5])
                    con.unregister("q")
                if r.totals.num_rows:
                    con.register("t", r.totals)
                    con.execute("INSERT INTO daily_totals SELECT ?, source, day, events FROM t", [r.md5])
                    con.unregister("t")
            con.execute("COMMIT")

    def _clean_orphans(self, con: duckdb.DuckDBPyConnection) -> None:
        """Delete what a killed ingest left: staging folders and parts the catalog never recorded."""
        shutil.rmtree(self.root / "staging", ignore_errors=True)
        recorded = {r[0] for r in con.execute("SELECT path FROM parts").fetchall()}
        for p in (self.root / "events").glob("source=*/year=*/month=*/*.parquet"):
            if p.relative_to(self.root).as_posix() not in recorded:
                p.unlink()

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
            work = duckdb.connect()
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
                    except duckdb.Error as exc:  # disk full, unreadable part: one line, store unchanged
                        first = str(exc).strip().splitlines()[0]
                        raise StoreError(f"{self.root}: compacting {source} {year}-{month:02d} failed: {first}") from None
                    report.months_compacted += 1
                    report.parts_before += len(paths)
                    report.rows += int(rows)
                    if on_month:
                        on_month(source, year, month, int(rows))
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
        """An in-memory DuckDB connection with an `events` view over the recorded parts."""
        con = duckdb.connect()
        parts = self.part_paths()
        cols = ", ".join(EVENT_COLUMNS)
        if parts:
            con.execute(
                f"CREATE VIEW events AS SELECT {cols} FROM read_parquet({_sql_list(parts)}, hive_partitioning=true)"
            )
        else:
            con.register("_empty_events", EVENT_SCHEMA.empty_table())
            con.execute(f"CREATE VIEW events AS SELECT {cols} FROM _empty_events")
        return con

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
            return con.sql(
                "SELECT source, day, sum(events)::BIGINT AS events FROM daily_totals GROUP BY ALL ORDER BY source, day"
            ).to_arrow_table()

    def manifest(self) -> pa.Table:
        with self._catalog() as con:
            return con.sql("SELECT * FROM files ORDER BY ingested_at, name").to_arrow_table()


_BATCH_ROWS = 65_536  # rows per batch streamed out of DuckDB
_ROW_GROUP = 122_880  # rows per Parquet row group in a part (DuckDB's default)
_BUFFERED = 2 * _ROW_GROUP  # rows held across all partitions before the biggest is written out

# a part holds the event columns but `source` (in its folder name), as DuckDB's partitioned COPY wrote them
PART_SCHEMA = pa.schema(
    [
        pa.field(f.name, pa.timestamp("us") if f.name == "date_added" else f.type)
        for f in EVENT_SCHEMA
        if f.name != "source"
    ]
)


class _PartWriter:
    """Writes batches of new events to one Parquet part per source/year/month (zstd), holding at most
    about `_BUFFERED` rows in memory. Parts are named part-<batch>_0.parquet in Hive-style folders."""

    def __init__(self, events_dir: Path, batch_id: str):
        self.events_dir, self.batch_id = events_dir, batch_id
        self.writers: dict[tuple, pq.ParquetWriter] = {}
        self.paths: dict[tuple, Path] = {}
        self.pending: dict[tuple, list[pa.Table]] = {}
        self.rows: dict[tuple, int] = {}
        self.buffered = 0

    def add(self, batch: pa.RecordBatch) -> None:
        if not batch.num_rows:
            return
        table = pa.Table.from_batches([batch])
        # partition key per row: source (dictionary index) and year * 100 + month
        sources = pc.dictionary_encode(table["source"]).combine_chunks()
        key = (
            sources.indices.to_numpy(zero_copy_only=False).astype(np.int64) * 1_000_000
            + table["year"].to_numpy() * 100
            + table["month"].to_numpy()
        )
        uniq = np.unique(key)
        names = sources.dictionary.to_pylist()
        for u in uniq.tolist():
            k = (names[u // 1_000_000], (u % 1_000_000) // 100, u % 100)
            # a partition's own copy of its rows (a slice would keep the whole batch alive while buffered)
            part = table if len(uniq) == 1 else table.filter(pa.array(key == u))
            part = part.drop_columns(["source", "year", "month"]).cast(PART_SCHEMA)
            self.pending.setdefault(k, []).append(part)
            self.rows[k] = self.rows.get(k, 0) + part.num_rows
            self.buffered += part.num_rows
            if sum(t.num_rows for t in self.pending[k]) >= _ROW_GROUP:
                self._flush(k)
        while self.buffered > _BUFFERED:
            self._flush(max(self.pending, key=lambda k: sum(t.num_rows for t in self.pending[k])))

    def _flush(self, k: tuple) -> None:
        tables = self.pending.pop(k, [])
        if not tables:
            return
        table = pa.concat_tables(tables)
        self.buffered -= table.num_rows
        writer = self.writers.get(k)
        if writer is None:
            source, year, month = k
            folder = self.events_dir / f"source={source}" / f"year={year}" / f"month={month}"
            folder.mkdir(parents=True, exist_ok=True)
            self.paths[k] = folder / f"part-{self.batch_id}_0.parquet"
            writer = self.writers[k] = pq.ParquetWriter(self.paths[k], PART_SCHEMA, compression="zstd")
        writer.write_table(table, row_group_size=_ROW_GROUP)

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


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"bad date {value!r}: use YYYY-MM-DD") from None


def _batches(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def open_store(path: str | os.PathLike | None = None) -> Store:
    """The store in `path` (default: $DYADWATCH_HOME, else ./.dyadwatch); created by the first ingest."""
    return Store(path)
