"""The dyad index: the store's two-country rows once more, sorted by country pair, so that a dyad's
rows over ten years sit in a handful of consecutive row groups instead of a few per month.

Why: the canonical parts are partitioned by month, so even sorted by country a dyad touches one to
five row groups in every month and the scan decompresses tens of thousands of other pairs' rows per
month (RUS-TUR on 50 M events: ~6 M rows read for 61 k wanted, docs/benchmarks.md). Sorted by the
unordered pair (pair_lo, pair_hi) across the whole store, RUS-TUR is ~6 row groups of one file and an
equality filter on both columns skips everything else by the row groups' min/max statistics.

Layout: `index/dyads-<id>/pair_lo=XXX/*.parquet` (every canonical column plus pair_hi; pair_lo =
least(actor1_country, actor2_country) is the folder, pair_hi = greatest(...); rows with both countries
set and different), recorded in the catalog tables `dyad_index` (the folder) and `dyad_index_parts`
(the parts it was built from). One folder per pair_lo keeps each file's footer small and lets a dyad's
read open one file, picked by its path: a single file of the whole index has a ~1 k row-group footer
that costs ~90 ms to parse on every connection.
`Store.compact` rebuilds it; parts ingested later are not in it and are read from the parts (the
`dyad_rows` relation unions both). An index whose parts are no longer all recorded (a compaction was
killed between its two commits) is stale and ignored, so a reader never sees a row twice or misses one.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only in annotations: importing the store must not import DuckDB (store._duckdb)
    import duckdb

from ..knowledge.schema import EVENT_COLUMNS

INDEX_DIR = "index"
ROW_GROUP = 10_240  # a dyad of ~60 k rows reads ~7 row groups
DDL = """
CREATE TABLE IF NOT EXISTS dyad_index (path VARCHAR PRIMARY KEY, rows BIGINT, built_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS dyad_index_parts (part VARCHAR PRIMARY KEY);
"""
PAIR_COLUMNS = ("pair_lo", "pair_hi")
DYAD_ROWS = "dyad_rows"  # the relation Store.connect defines over the index and the unindexed parts
INDEX_INFO = "dyad_index"  # ... and, only when the store has a usable index, this one: its path and rows


@dataclass
class IndexState:
    path: str | None  # absolute path of the index folder, or None when there is no usable index
    rows: int
    covered: frozenset[str]  # relative part paths the index holds


def _sql_list(paths) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def _pair_select(relation: str) -> str:
    cols = ", ".join(EVENT_COLUMNS)
    return (f"SELECT least(actor1_country, actor2_country) AS pair_lo, "
            f"greatest(actor1_country, actor2_country) AS pair_hi, {cols} FROM {relation} "
            "WHERE actor1_country IS NOT NULL AND actor2_country IS NOT NULL AND actor1_country <> actor2_country")


def state(catalog: duckdb.DuckDBPyConnection, root: Path, parts: set[str]) -> IndexState:
    """The usable index, given the catalog and the recorded (relative) part paths."""
    has = catalog.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('dyad_index', 'dyad_index_parts')"
    ).fetchall()[0][0]
    if has < 2:
        return IndexState(None, 0, frozenset())
    found = catalog.execute("SELECT path, rows FROM dyad_index ORDER BY built_at DESC LIMIT 1").fetchall()
    row = found[0] if found else None
    if row is None:
        return IndexState(None, 0, frozenset())
    covered = frozenset(r[0] for r in catalog.execute("SELECT part FROM dyad_index_parts").fetchall())
    if not covered <= parts or not (root / row[0]).exists():
        return IndexState(None, 0, frozenset())  # stale: built from parts that were since replaced
    return IndexState(str((root / row[0]).resolve()), int(row[1]), covered)


def build(root: Path, catalog_connect, work: duckdb.DuckDBPyConnection) -> int:
    """Write a new index from every recorded part and swap it in with one catalog transaction; the old
    index file is deleted after the commit. `catalog_connect()` opens the catalog for writing (the
    caller holds the store's writer lock). Returns the rows indexed."""
    with catalog_connect() as con:
        con.execute(DDL)
        parts = [r[0] for r in con.execute("SELECT path FROM parts ORDER BY path").fetchall()]
        old = [r[0] for r in con.execute("SELECT path FROM dyad_index").fetchall()]
    folder = root / INDEX_DIR
    folder.mkdir(parents=True, exist_ok=True)
    target: Path | None = folder / f"dyads-{uuid.uuid4().hex[:8]}"
    if not parts:  # nothing to index: drop the old index, write no file
        target = None
        rows = 0
    else:
        files = _sql_list([(root / p).as_posix() for p in parts])
        relation = f"read_parquet({files}, hive_partitioning=true)"
        # two steps, since DuckDB's partitioned COPY does not keep an ORDER BY within a partition's file
        # (measured: 31 of 153 files out of order on 50 M events): split by pair_lo, then sort each
        unsorted = folder / f"{target.name}.unsorted"
        rows = work.execute(
            f"COPY ({_pair_select(relation)}) TO '{unsorted.as_posix()}' "
            "(FORMAT parquet, COMPRESSION lz4_raw, PARTITION_BY (pair_lo))"
        ).fetchall()[0][0]
        saved = work.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
        work.execute("SET preserve_insertion_order = true")  # a plain COPY keeps its ORDER BY only so
        try:
            for split in sorted(unsorted.glob("pair_lo=*")):
                (target / split.name).mkdir(parents=True)
                pieces = _sql_list([p.as_posix() for p in sorted(split.glob("*.parquet"))])
                work.execute(
                    f"COPY (SELECT * FROM read_parquet({pieces}) ORDER BY pair_hi, event_date, source, event_id) "
                    f"TO '{(target / split.name / 'dyads.parquet').as_posix()}' "
                    f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP})"
                ).fetchall()
        finally:
            work.execute(f"SET preserve_insertion_order = {bool(saved)}")
        shutil.rmtree(unsorted, ignore_errors=True)
    rel = target.relative_to(root).as_posix() if target else None
    with catalog_connect() as con:
        con.execute("BEGIN")
        con.execute("DELETE FROM dyad_index")
        con.execute("DELETE FROM dyad_index_parts")
        if rel:
            con.execute("INSERT INTO dyad_index VALUES (?, ?, now())", [rel, rows])
            con.executemany("INSERT INTO dyad_index_parts VALUES (?)", [[p] for p in parts])
        con.execute("COMMIT")
    for p in old:
        if p != rel:
            _remove(root / p)
    return int(rows)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def clean_orphans(root: Path, catalog: duckdb.DuckDBPyConnection | None) -> None:
    """Delete index files the catalog does not record (a build killed before its commit); all of them
    when there is no catalog (None)."""
    folder = root / INDEX_DIR
    if not folder.exists():
        return
    has = catalog is not None and catalog.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'dyad_index'").fetchall()[0][0]
    recorded = {r[0] for r in catalog.execute("SELECT path FROM dyad_index").fetchall()} if has else set()
    for p in folder.iterdir():
        if p.relative_to(root).as_posix() not in recorded:
            _remove(p)


def define_dyad_rows(con: duckdb.DuckDBPyConnection, index: IndexState, root: Path, parts: list[str]) -> None:
    """Create the `dyad_rows` view: the index's rows plus the two-country rows of the parts it does not
    hold, each with pair_lo / pair_hi. `parts` are the recorded relative part paths."""
    cols = ", ".join((*PAIR_COLUMNS, *EVENT_COLUMNS))
    branches = []
    if index.path:
        glob = (Path(index.path) / "pair_lo=*" / "*.parquet").as_posix()
        branches.append(f"SELECT {cols} FROM read_parquet({_sql_list([glob])}, hive_partitioning=true, "
                        "hive_types={'pair_lo': VARCHAR})")
    base = root.resolve()
    rest = [(base / p).as_posix() for p in parts if p not in index.covered]
    if rest:
        branches.append(_pair_select(f"read_parquet({_sql_list(rest)}, hive_partitioning=true)"))
    if not branches:
        branches.append(_pair_select("events"))  # the empty events view
    con.execute(f"CREATE VIEW {DYAD_ROWS} AS " + " UNION ALL ".join(branches))
    if index.path:  # readers that ask "is one pair's read cheap here?" look for this
        path = index.path.replace("'", "''")
        con.execute(f"CREATE VIEW {INDEX_INFO} AS SELECT '{path}' AS path, CAST({int(index.rows)} AS BIGINT) AS rows")
