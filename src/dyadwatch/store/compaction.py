"""Compaction: each month's parts rewritten as one part sorted by country pair, then the dyad index.

Ingest appends a part per batch, so a month of a long fetch holds dozens of small parts with every
country pair in every row group; sorted, a pair's rows sit in a few row groups per month and a dyad
query skips the rest by their statistics. Atomic like ingest: the new parts are written, then
one catalog transaction swaps them for the old ones.
"""

from __future__ import annotations

import shutil
import time
import uuid
from dataclasses import dataclass
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import StoreError
from . import dyad_index
from .catalog import Catalog, duckdb_module, sql_list
from .parts import PART_SCHEMA, part_writer

COMPACT_BATCH = "compacted"  # the batch name of a compacted part
# Sorted by country pair, a dyad's rows of a month sit in one or two row groups of this size, and a
# store of 120 months has few enough row groups that reading their footers stays cheap: at 10,240 rows
# the footers cost 4x the scan (0.86 s vs 0.21 s for RUS-TUR on 50 M events; 61,440 to 245,760 tie).
COMPACT_ROW_GROUP = 122_880
DUCKDB_MEMORY = "512MB"  # keeps the commit step's memory bounded whatever the input size
ARROW_MONTH_ROWS = 1_000_000  # months up to this many events are sorted in memory (~400 MB at most)
SORT_KEY = ("actor1_country", "actor2_country", "event_date", "event_id")


@dataclass
class CompactReport:
    months_compacted: int = 0
    months_kept: int = 0  # already one sorted part
    parts_before: int = 0
    rows: int = 0
    index_built: bool = False  # the dyad index (dyad_index.py) was rebuilt
    index_rows: int = 0
    seconds: float = 0.0



def compact(catalog: Catalog, on_month: Callable[[str, int, int, int], None] | None = None) -> CompactReport:
    """Rewrite each source/year/month's parts as ONE part sorted by (actor1_country, actor2_country,
    event_date, event_id) in row groups of COMPACT_ROW_GROUP rows.

    Why: ingest appends a part per batch, so a month of a long fetch holds dozens of small parts with
    every country pair in every row group; a dyad query must then read the whole store. Sorted, a
    pair's rows sit in a few row groups per month and the Parquet scan skips the rest by their
    min/max statistics (docs/benchmarks.md: 50 M events, 8.4 s -> under a second for a dyad).

    Atomic like ingest: every month's new part is written first, then ONE catalog transaction swaps
    them for the old ones; the old files are deleted after the commit (or by the next write if
    killed before).
    Months already compacted are left alone, so running it twice changes nothing.
    `on_month(source, year, month, rows)` reports progress."""
    report = CompactReport()
    started = time.perf_counter()
    with catalog.writer_lock():
        with catalog.open(write=True) as con:
            catalog.clean_orphans(con)
            groups = con.execute(
                "SELECT source, year, month, list(path ORDER BY path), sum(rows), "
                f"bool_and(batch = '{COMPACT_BATCH}') FROM parts GROUP BY ALL ORDER BY ALL"
            ).fetchall()
        work = duckdb_module().connect()
        try:
            spill = catalog.root / "staging" / "compact-spill"
            spill.mkdir(parents=True, exist_ok=True)
            work.execute(
                f"SET memory_limit='{DUCKDB_MEMORY}'; SET preserve_insertion_order=false; "
                f"SET temp_directory='{spill.as_posix()}'"
            )
            swaps = []  # (old paths, new part row) of each month rewritten, recorded together at the end
            try:
                for source, year, month, paths, rows, compacted in groups:
                    if compacted and len(paths) == 1:
                        report.months_kept += 1
                        continue
                    try:
                        target = _compact_month(catalog, work, source, year, month, paths, int(rows))
                    except duckdb_module().Error as exc:  # disk full, unreadable part: one line, store unchanged
                        first = str(exc).strip().splitlines()[0]
                        raise StoreError(f"{catalog.root}: compacting {source} {year}-{month:02d} failed: {first}") from None
                    except OSError as exc:
                        raise StoreError(f"{catalog.root}: compacting {source} {year}-{month:02d} failed: {exc}") from None
                    swaps.append((paths, (target, source, year, month, COMPACT_BATCH, int(rows))))
                    report.months_compacted += 1
                    report.parts_before += len(paths)
                    report.rows += int(rows)
                    if on_month:
                        on_month(source, year, month, int(rows))
            except BaseException:
                for _, new_part in swaps:  # never recorded: gone now (else the next writer deletes them)
                    (catalog.root / new_part[0]).unlink(missing_ok=True)
                raise
            if swaps:
                # one catalog transaction for every month (a connection and a commit a month were most
                # of the time of compacting a store of small months); the old files go after it
                with catalog.open(write=True) as con:
                    con.execute("BEGIN")
                    old = [p for paths, _ in swaps for p in paths]
                    con.register("old_parts", pa.table({"path": pa.array(old, pa.string())}))
                    con.execute("DELETE FROM parts WHERE path IN (SELECT path FROM old_parts)")
                    con.unregister("old_parts")
                    con.executemany("INSERT INTO parts VALUES (?, ?, ?, ?, ?, ?)", [list(n) for _, n in swaps])
                    con.execute("COMMIT")
                for paths, _ in swaps:
                    for p in paths:
                        (catalog.root / p).unlink(missing_ok=True)
            if report.months_compacted or not catalog.index_usable():
                try:
                    report.index_rows = dyad_index.build(catalog.root, lambda: catalog.open(write=True), work)
                except duckdb_module().Error as exc:
                    first = str(exc).strip().splitlines()[0]
                    raise StoreError(f"{catalog.root}: building the dyad index failed: {first}") from None
                report.index_built = True
        finally:
            work.close()
            shutil.rmtree(catalog.root / "staging", ignore_errors=True)
    report.seconds = time.perf_counter() - started
    return report

def _compact_month(catalog: Catalog, work, source: str, year: int, month: int, paths: list[str], rows: int) -> str:
    """Write the month's parts as one sorted part (not yet recorded); its path relative to the store.

    A month up to ARROW_MONTH_ROWS is sorted in memory with Arrow (a few milliseconds for a small
    month, where DuckDB's COPY costs ~50 ms whatever the size); a bigger one by DuckDB, which spills
    to disk within DUCKDB_MEMORY."""
    folder = catalog.root / "events" / f"source={source}" / f"year={year}" / f"month={month}"
    target = folder / f"part-{COMPACT_BATCH}-{uuid.uuid4().hex[:8]}_0.parquet"
    files = [str(catalog.root / p) for p in paths]
    if rows <= ARROW_MONTH_ROWS:
        table = pa.concat_tables([pq.read_table(f, schema=PART_SCHEMA) for f in files])
        table = table.sort_by([(c, "ascending") for c in SORT_KEY])
        with part_writer(target) as writer:
            writer.write_table(table, row_group_size=COMPACT_ROW_GROUP)
        written = table.num_rows
        del table
    else:
        written = work.execute(
            f"COPY (SELECT * FROM read_parquet({sql_list(files)}, hive_partitioning=false) "
            f"ORDER BY {', '.join(SORT_KEY)}) "
            f"TO '{target.as_posix()}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {COMPACT_ROW_GROUP})"
        ).fetchall()[0][0]
    if written != rows:  # never swap in a part that lost rows
        target.unlink(missing_ok=True)
        raise StoreError(f"{folder}: compaction wrote {written:,} rows, the parts hold {rows:,}; nothing changed")
    return target.relative_to(catalog.root).as_posix()

# -- reading ---------------------------------------------------------------------------------

