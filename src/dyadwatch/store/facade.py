"""The store a reader queries: `Store`, over a folder holding Parquet parts and a DuckDB catalog.

    store = dyadwatch.open(".dyadwatch")
    store.ingest(["events/"], countries=frozenset({"RUS", "TUR"}))
    store.events(dyad="RUS-TUR", start="2020-11-13")      # pyarrow.Table

Layout under the store folder (docs/store.md):
    catalog.duckdb                    manifest (files), parts, quarantine, daily_totals (`catalog`)
    events/source=S/year=Y/month=M/   part-<batch>_<i>.parquet (`parts`)
    index/dyads-<id>/                 the dyad index, after compaction (`dyad_index`)
    staging/<batch>/                  worker output of an ingest in progress (`pipeline`)

`Store` reads; writing is the ingest pipeline's (`pipeline.ingest`) and the compaction's
(`compaction.compact`), which it calls. Events are visible only through the catalog's `parts` table,
so a reader never sees half a batch.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pyarrow as pa

from ..acquire.inputs import Inputs
from ..knowledge.codebook import parse_dyad
from ..knowledge.schema import EVENT_COLUMNS, EVENT_SCHEMA
from ..sources.reading import FileResult
from . import compaction, dyad_index, pipeline
from .catalog import DAILY_TOTALS_SQL, Catalog, duckdb_module, no_store, sql_list

if TYPE_CHECKING:
    import duckdb


def default_store_path() -> Path:
    return Path(os.environ.get("DYADWATCH_HOME") or ".dyadwatch")


class Store:
    """An event store in a folder. Create with `dyadwatch.open(path)`."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_store_path()
        self.catalog = Catalog(self.root)
        self.catalog_path = self.catalog.path

    def exists(self) -> bool:
        return self.catalog.exists()

    def part_paths(self) -> list[str]:
        """Absolute paths of the recorded Parquet parts (the catalog keeps them relative to the store)."""
        return self.catalog.part_paths()

    # -- writing ---------------------------------------------------------------------------------

    def ingest(
        self,
        paths: list[str | os.PathLike] | Inputs,
        countries: frozenset[str] | None = None,
        source: str | None = None,
        workers: int | None = None,
        on_file: Callable[[FileResult | str, int], None] | None = None,
    ) -> pipeline.IngestReport:
        """Ingest files, folders or globs (or `Inputs` of them, maybe hashing already); idempotent and
        atomic per batch (`pipeline.ingest`). `on_file(result_or_skipped_name, bytes)` reports
        progress."""
        return pipeline.ingest(self.catalog, paths, countries=countries, source=source, workers=workers,
                               on_file=on_file)

    def compact(self, on_month: Callable[[str, int, int, int], None] | None = None) -> compaction.CompactReport:
        """Rewrite each month's parts as one part sorted by country pair, then rebuild the dyad index
        (`compaction.compact`). `on_month(source, year, month, rows)` reports progress."""
        return compaction.compact(self.catalog, on_month)

    # -- reading ---------------------------------------------------------------------------------

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with the store's relations: `events` over the recorded parts,
        `dyad_rows` (the two-country rows with pair_lo / pair_hi, from the dyad index where there is
        one) and `daily_totals` (source, day, events). The catalog is read once, for all three."""
        con = duckdb_module().connect()
        if self.exists():
            with self.catalog.attached(con) as cat:
                relative, index, totals = self.catalog.read_snapshot(cat)
        else:
            relative, index, totals = self.catalog.snapshot()
        root = self.root.resolve()
        parts = [(root / p).as_posix() for p in relative]
        cols = ", ".join(EVENT_COLUMNS)
        if parts:
            con.execute(
                f"CREATE VIEW events AS SELECT {cols} FROM read_parquet({sql_list(parts)}, hive_partitioning=true)"
            )
        else:
            con.register("_empty_events", EVENT_SCHEMA.empty_table())
            con.execute(f"CREATE VIEW events AS SELECT {cols} FROM _empty_events")
        # footers are read once per connection, not once per scan of the same files
        con.execute("SET parquet_metadata_cache = true")
        dyad_index.define_dyad_rows(con, index, self.root, relative)
        con.register("daily_totals", totals)
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
            raise no_store(self.root)
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
            raise no_store(self.root)
        with self.catalog.open() as con:
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
        with self.catalog.open() as con:
            return con.sql(
                "SELECT source_file, source_line, reason, raw FROM quarantine ORDER BY source_file, source_line"
            ).to_arrow_table()

    def daily_totals(self) -> pa.Table:
        """All events per source and day before any country filter (summed over files)."""
        with self.catalog.open() as con:
            return con.sql(DAILY_TOTALS_SQL).to_arrow_table()

    def bigquery_jobs(self) -> pa.Table:
        """The BigQuery queries `fetch bigquery` ran: SQL, parameters, job id, bytes billed, file MD5."""
        return self.catalog.bigquery_jobs()

    def record_bigquery_jobs(self, jobs: list[dict]) -> None:
        self.catalog.record_bigquery_jobs(jobs)

    def manifest(self) -> pa.Table:
        with self.catalog.open() as con:
            return con.sql("SELECT * FROM files ORDER BY ingested_at, name").to_arrow_table()



def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"bad date {value!r}: use YYYY-MM-DD") from None



def open_store(path: str | os.PathLike | None = None) -> Store:
    """The store in `path` (default: $DYADWATCH_HOME, else ./.dyadwatch); created by the first ingest."""
    return Store(path)
