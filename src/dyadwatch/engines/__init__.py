"""Where the measures' SQL runs: DuckDB in this process (the default), or Apache Spark.

A measure is written once, as SQL in DuckDB's dialect, over three relations: `events` (the canonical
schema), `daily_totals` (source, day, events) and `leaders` (country, spelling, term_start, term_end).
An `Engine` runs that SQL and returns Arrow; the Spark engine transpiles it to Spark SQL with sqlglot
first. Nothing else differs, so both engines give the same numbers from the same store (the sums of
fractional values go through integers, see `measures.frame.exact_sum`, so not even the order in which
an engine adds rows changes a bit of the result).

    with open_engine(store, "spark") as eng:   # or "duckdb"
        eng.sql("SELECT count(*) AS n FROM events WHERE event_date >= ?", [dt.date(2020, 1, 1)])

Spark is optional: `dyadwatch.engines.spark_engine` is imported only when asked for, and says in one
line what is missing (pyspark, Java) if it cannot start.

Engines may import the store (the relations come from it), `knowledge` (the leaders relation) and the
base modules, never the measures that run on them: a measure hands an engine its SQL.
"""

from __future__ import annotations

from .base import ENGINES, Engine, EngineError


def as_engine(con) -> Engine:
    """An Engine for `con`: an Engine itself, or a DuckDB connection (wrapped, left open on close)."""
    if isinstance(con, Engine):
        return con
    from .duckdb_engine import DuckDBEngine

    return DuckDBEngine(con, owned=False)


def check_name(engine: str) -> str:
    if engine not in ENGINES:
        raise EngineError(f"unknown engine {engine!r}: choose {' or '.join(ENGINES)}")
    return engine


def open_engine(store, engine: str = "duckdb") -> Engine:
    """An engine over a store's recorded parts, its daily totals and the leaders file. Close it after
    use (it is a context manager). "spark" runs on the active SparkSession, else starts a local one
    (`spark_engine.session(master=...)` starts one for a cluster first)."""
    check_name(engine)
    if engine == "spark":
        from .spark_engine import SparkEngine

        return SparkEngine.over_store(store)
    from .duckdb_engine import DuckDBEngine, connect_store

    return DuckDBEngine(connect_store(store), owned=True)


__all__ = ["ENGINES", "Engine", "EngineError", "as_engine", "check_name", "open_engine"]
