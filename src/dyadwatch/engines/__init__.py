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
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import pyarrow as pa

ENGINES = ("duckdb", "spark")


class EngineError(ValueError):
    """An engine cannot run here (unknown name, pyspark or Java missing): one line saying what to do."""


class Engine(ABC):
    """Runs DuckDB-dialect SQL with `?` parameters over named relations; results come back as Arrow."""

    name: str

    @abstractmethod
    def sql(self, query: str, params: Sequence | None = None) -> pa.Table:
        """The query's result."""

    @abstractmethod
    def create_temp_table(self, name: str, query: str, params: Sequence | None = None) -> None:
        """Run the query once and keep its result as relation `name` (replacing any before)."""

    @abstractmethod
    def create_temp_view(self, name: str, query: str) -> None:
        """Name the query (no parameters) as relation `name`, run each time it is read."""

    @abstractmethod
    def register(self, name: str, table: pa.Table) -> None:
        """Make an Arrow table readable as relation `name`."""

    @abstractmethod
    def unregister(self, name: str) -> None:
        """Forget a registered relation."""

    def has_relation(self, name: str) -> bool:
        """Whether relation `name` is defined (the store's optional `dyad_rows`, for one)."""
        return False

    def close(self) -> None:
        """Release the engine's relations (a shared Spark session keeps running)."""

    def rows(self, query: str, params: Sequence | None = None) -> list[tuple]:
        """The result as a list of tuples (for small results)."""
        t = self.sql(query, params)
        cols = [c.to_pylist() for c in t.columns]
        return list(zip(*cols)) if cols else []

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


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
    from ..measures.frame import connect
    from .duckdb_engine import DuckDBEngine

    return DuckDBEngine(connect(store), owned=True)


__all__ = ["ENGINES", "Engine", "EngineError", "as_engine", "check_name", "open_engine"]
