"""Compaction: each month's parts rewritten as one part sorted by country pair, then the dyad index.

Ingest appends a part per batch, so a month of a long fetch holds dozens of small parts with every
country pair in every row group; sorted, a pair's rows sit in a few row groups per month and a dyad
query skips the rest by their statistics. Atomic like ingest: the new part is written, then one
catalog transaction swaps it for the old ones.
"""

from __future__ import annotations

import shutil
import time
import uuid
from dataclasses import dataclass
from typing import Callable

from ..errors import StoreError
from . import dyad_index
from .catalog import Catalog, duckdb_module, sql_list

COMPACT_BATCH = "compacted"  # the batch name of a compacted part
# Sorted by country pair, a dyad's rows of a month sit in one or two row groups of this size, and a
# store of 120 months has few enough row groups that reading their footers stays cheap: at 10,240 rows
# the footers cost 4x the scan (0.86 s vs 0.21 s for RUS-TUR on 50 M events; 61,440 to 245,760 tie).
COMPACT_ROW_GROUP = 122_880
DUCKDB_MEMORY = "512MB"  # keeps the commit step's memory bounded whatever the input size


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

    Atomic like ingest: the new part is written first, then ONE catalog transaction swaps it for the
    old ones; the old files are deleted after the commit (or by the next write if killed before).
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
            for source, year, month, paths, rows, compacted in groups:
                if compacted and len(paths) == 1:
                    report.months_kept += 1
                    continue
                try:
                    _compact_month(catalog, work, source, year, month, paths, int(rows))
                except duckdb_module().Error as exc:  # disk full, unreadable part: one line, store unchanged
                    first = str(exc).strip().splitlines()[0]
                    raise StoreError(f"{catalog.root}: compacting {source} {year}-{month:02d} failed: {first}") from None
                report.months_compacted += 1
                report.parts_before += len(paths)
                report.rows += int(rows)
                if on_month:
                    on_month(source, year, month, int(rows))
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

def _compact_month(catalog: Catalog, work, source: str, year: int, month: int, paths: list[str], rows: int) -> None:
    folder = catalog.root / "events" / f"source={source}" / f"year={year}" / f"month={month}"
    target = folder / f"part-{COMPACT_BATCH}-{uuid.uuid4().hex[:8]}_0.parquet"
    files = sql_list([str(catalog.root / p) for p in paths])
    written = work.execute(
        f"COPY (SELECT * FROM read_parquet({files}, hive_partitioning=false) "
        "ORDER BY actor1_country, actor2_country, event_date, event_id) "
        f"TO '{target.as_posix()}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {COMPACT_ROW_GROUP})"
    ).fetchall()[0][0]
    if written != rows:  # never swap in a part that lost rows
        target.unlink(missing_ok=True)
        raise StoreError(f"{folder}: compaction wrote {written:,} rows, the parts hold {rows:,}; nothing changed")
    rel = target.relative_to(catalog.root).as_posix()
    with catalog.open(write=True) as con:
        con.execute("BEGIN")
        con.execute(f"DELETE FROM parts WHERE path IN ({', '.join('?' for _ in paths)})", paths)
        con.execute("INSERT INTO parts VALUES (?, ?, ?, ?, ?, ?)", [rel, source, year, month, COMPACT_BATCH, rows])
        con.execute("COMMIT")
    for p in paths:
        (catalog.root / p).unlink(missing_ok=True)

# -- reading ---------------------------------------------------------------------------------

