"""The engine interface: what every engine (DuckDB, Spark) offers the measures."""

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
