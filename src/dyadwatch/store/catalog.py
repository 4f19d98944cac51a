"""The store's catalog: one DuckDB file (`catalog.duckdb`) recording what the store holds.

Tables: `files` (the manifest: one row per ingested file, by MD5), `parts` (the Parquet parts that
are visible), `quarantine` (rows that could not be read, with file and line), `daily_totals` (all
events per source and day, before any country filter) and `bigquery_jobs` (each BigQuery query run by
`fetch bigquery`: its SQL, parameters, job id, bytes billed, and the MD5 of the file it gave). A part is visible only once it is recorded
here, and a batch records its parts, manifest rows, quarantine and totals in one transaction: that
is what makes an ingest atomic. One writer at a time holds the store's `lock` file.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np
import pyarrow as pa

from ..errors import StoreError
from ..knowledge.schema import DAILY_TOTALS_SCHEMA
from . import dyad_index

if TYPE_CHECKING:
    import duckdb


def duckdb_module():
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
CREATE TABLE IF NOT EXISTS bigquery_jobs (
    job_id VARCHAR, kind VARCHAR, source VARCHAR, added_from DATE, added_to DATE, countries VARCHAR,
    sql VARCHAR, parameters VARCHAR, bytes_processed BIGINT, bytes_billed BIGINT, rows BIGINT, md5 VARCHAR,
    path VARCHAR, fetched_at TIMESTAMP);
"""

BIGQUERY_JOB_COLUMNS = ("job_id", "kind", "source", "added_from", "added_to", "countries", "sql", "parameters",
                        "bytes_processed", "bytes_billed", "rows", "md5", "path")

DAILY_TOTALS_SQL = (
    "SELECT source, day, sum(events)::BIGINT AS events FROM daily_totals GROUP BY ALL ORDER BY source, day"
)


def sql_list(paths: list[str]) -> str:
    """Paths as a DuckDB list literal."""
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def no_store(root: Path) -> StoreError:
    return StoreError(f"{root}: no dyadwatch store here (run `dyadwatch ingest` first)")


_MADE: set[Path] = set()  # catalogs whose tables this process made (or found made)


class Catalog:
    """The catalog of the store in `root`."""

    def __init__(self, root: Path):
        self.root = root
        self.path = root / "catalog.duckdb"

    def exists(self) -> bool:
        return self.path.exists()

    # -- connections -----------------------------------------------------------------------------

    @contextmanager
    def open(self, write: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """Short-lived catalog connection; retried while another process holds the file."""
        if write:
            self.root.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise no_store(self.root)
        con = self._retry_locked(lambda: duckdb_module().connect(str(self.path), read_only=not write))
        try:
            if write and self.path not in _MADE:  # once a process (~40 ms a connection)
                con.execute(CATALOG_DDL)
                _MADE.add(self.path)
            yield con
        finally:
            con.close()

    def _retry_locked(self, open_catalog: Callable):
        """open_catalog(), retried for up to 30 s while another process holds the catalog file."""
        deadline = time.monotonic() + 30
        while True:
            try:
                return open_catalog()
            except duckdb_module().IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise StoreError(f"{self.path}: cannot open catalog ({exc})") from None
                time.sleep(0.1)

    @contextmanager
    def attached(self, con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
        """The catalog attached read-only to `con` and made its default database for the block: a
        second DuckDB instance for the catalog would cost ~35 ms on every connection."""
        path = str(self.path).replace("'", "''")
        self._retry_locked(lambda: con.execute(f"ATTACH '{path}' AS dw_catalog (READ_ONLY)"))
        try:
            con.execute("USE dw_catalog")
            yield con
        finally:
            con.execute("USE memory")
            con.execute("DETACH dw_catalog")

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """The one writer (ingest, compaction) allowed at a time."""
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

    def create(self) -> None:
        with self.open(write=True):
            pass

    # -- what is recorded ------------------------------------------------------------------------

    def part_paths(self) -> list[str]:
        """Absolute paths of the recorded Parquet parts (the catalog keeps them relative to the store)."""
        if not self.exists():
            return []
        with self.open() as con:
            rows = con.execute("SELECT path FROM parts ORDER BY path").fetchall()
        return [str((self.root / r[0]).resolve()) for r in rows]

    def parts_by_partition(self) -> dict[tuple, list[str]]:
        """Recorded parts by (source, year, month): absolute paths."""
        if not self.exists():
            return {}
        with self.open() as con:
            rows = con.execute("SELECT source, year, month, path FROM parts ORDER BY path").fetchall()
        out: dict[tuple, list[str]] = {}
        for source, y, m, path in rows:
            out.setdefault((source, int(y), int(m)), []).append(str((self.root / path).resolve()))
        return out

    def snapshot(self) -> tuple[list[str], dyad_index.IndexState, pa.Table]:
        """In one catalog session: the recorded part paths (relative), the usable dyad index and the
        daily totals."""
        if not self.exists():
            return [], dyad_index.IndexState(None, 0, frozenset()), DAILY_TOTALS_SCHEMA.empty_table()
        with self.open() as cat:
            return self.read_snapshot(cat)

    def read_snapshot(self, cat: duckdb.DuckDBPyConnection) -> tuple[list[str], dyad_index.IndexState, pa.Table]:
        """`snapshot()` through an open catalog connection (or one it is attached to)."""
        relative = [r[0] for r in cat.execute("SELECT path FROM parts ORDER BY path").fetchall()]
        index = dyad_index.state(cat, self.root, set(relative))
        totals = cat.sql(DAILY_TOTALS_SQL).to_arrow_table()
        return relative, index, totals

    def index_state(self) -> tuple[dyad_index.IndexState, list[str]]:
        """The usable dyad index and the recorded part paths (relative)."""
        relative, index, _ = self.snapshot()
        return index, relative

    def index_usable(self) -> bool:
        return self.index_state()[0].path is not None

    # -- writing ---------------------------------------------------------------------------------

    def record(self, batch_id, results, countries, new_parts, stored_by_file) -> None:
        """One catalog transaction: parts, manifest, quarantine and totals become visible together."""
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        country_text = ",".join(sorted(countries)) if countries else None
        # one insert per table for the whole batch (per-file inserts cost a statement each), each
        # file's MD5 repeated over its rows in one go (not a column appended per file)
        quarantine = _with_md5([r.quarantine for r in results], [r.md5 for r in results])
        totals = _with_md5([r.totals for r in results], [r.md5 for r in results])
        # as Arrow tables: executemany costs ~1 ms a row (0.1 s for a batch of 100 files)
        parts = _rows_table(["path", "source", "year", "month", "batch", "rows"], new_parts)
        files = _rows_table(
            ["md5", "name", "path", "size", "source", "rows_read", "rows_kept", "rows_stored", "rows_rejected",
             "rows_filtered", "countries", "batch", "ingested_at", "seconds"],
            [[r.md5, r.name, r.path, r.size, r.source, r.rows_read, r.rows_kept, stored_by_file.get(r.name, 0),
              r.rows_rejected, r.rows_filtered, country_text, batch_id, now, r.seconds] for r in results],
        )
        with self.open(write=True) as con:
            con.execute("BEGIN")
            for name, table in (("parts", parts), ("files", files)):
                if table.num_rows:
                    con.register("new_rows", table)
                    con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM new_rows")
                    con.unregister("new_rows")
            if quarantine is not None:
                con.register("q", quarantine)
                con.execute("INSERT INTO quarantine SELECT md5, source_file, source_line, reason, raw FROM q")
                con.unregister("q")
            if totals is not None:
                con.register("t", totals)
                con.execute("INSERT INTO daily_totals SELECT md5, source, day, events FROM t")
                con.unregister("t")
            con.execute("COMMIT")

    def record_bigquery_jobs(self, jobs: list[dict]) -> None:
        """Record BigQuery jobs (dicts of BIGQUERY_JOB_COLUMNS), each beside the file it gave."""
        if not jobs:
            return
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        table = pa.table({**{c: [j.get(c) for j in jobs] for c in BIGQUERY_JOB_COLUMNS},
                          "fetched_at": [now] * len(jobs)})
        with self.open(write=True) as con:
            con.register("new_jobs", table)
            con.execute("INSERT INTO bigquery_jobs BY NAME SELECT * FROM new_jobs")
            con.unregister("new_jobs")

    def bigquery_jobs(self) -> pa.Table:
        """The BigQuery jobs recorded, oldest first (no rows in a store that never ran one)."""
        if not self.exists():
            return pa.table({c: [] for c in (*BIGQUERY_JOB_COLUMNS, "fetched_at")})
        with self.open() as con:
            known = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            if "bigquery_jobs" not in known:  # a store made before the table existed
                return pa.table({c: [] for c in (*BIGQUERY_JOB_COLUMNS, "fetched_at")})
            return con.sql("SELECT * FROM bigquery_jobs ORDER BY fetched_at, kind").to_arrow_table()

    def clean_orphans(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """Delete what a killed ingest left: staging folders and parts the catalog never recorded (all
        of them when there is no catalog yet: None)."""
        shutil.rmtree(self.root / "staging", ignore_errors=True)
        recorded = {r[0] for r in con.execute("SELECT path FROM parts").fetchall()} if con is not None else set()
        for p in (self.root / "events").glob("source=*/year=*/month=*/*.parquet"):
            if p.relative_to(self.root).as_posix() not in recorded:
                p.unlink()
        dyad_index.clean_orphans(self.root, con)


def _with_md5(tables: list[pa.Table], md5s: list[str]) -> pa.Table | None:
    """The rows of `tables` as one table with an `md5` column (each table's rows get its MD5); None
    when there are none."""
    rows = [t.num_rows for t in tables]
    kept = [t for t in tables if t.num_rows]
    if not kept:
        return None
    table = pa.concat_tables(kept).combine_chunks()  # DuckDB scans an Arrow table chunk by chunk: one
    return table.append_column("md5", pa.array(np.repeat(np.array(md5s, dtype=object), rows), pa.string()))


def _rows_table(names: list[str], rows: list) -> pa.Table:
    """Rows (sequences in the order of `names`) as an Arrow table; no columns when there are no rows."""
    return pa.table(dict(zip(names, map(list, zip(*rows)))))
