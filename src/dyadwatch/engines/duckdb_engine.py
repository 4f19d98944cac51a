"""The DuckDB engine: the measures' SQL as written, on an in-process DuckDB connection."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa

from ..knowledge.leaders import leaders_table
from .base import Engine


def connect_store(store) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection over a store with the relations measures read: the store's (events,
    dyad_rows, daily_totals) and the leaders file's terms (`leaders`)."""
    con = store.connect()
    con.register("leaders", leaders_table())
    return con


class DuckDBEngine(Engine):
    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection, owned: bool = True):
        self.con = con
        self.owned = owned  # close the connection with the engine (not when wrapping a caller's)

    def sql(self, query: str, params: Sequence | None = None) -> pa.Table:
        return self.con.sql(query, params=list(params) if params else None).to_arrow_table()

    def create_temp_table(self, name: str, query: str, params: Sequence | None = None) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {_ident(name)} AS {query}", list(params) if params else None)

    def create_temp_view(self, name: str, query: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {_ident(name)} AS {query}")

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(_ident(name), table)

    def unregister(self, name: str) -> None:
        self.con.unregister(_ident(name))

    def has_relation(self, name: str) -> bool:
        found = self.con.execute(
            "SELECT view_name FROM duckdb_views() WHERE view_name = ? UNION ALL "
            "SELECT table_name FROM duckdb_tables() WHERE table_name = ?", [name, name]
        ).fetchall()
        return bool(found)

    def close(self) -> None:
        if self.owned:
            self.con.close()


def _ident(name: str) -> str:
    if not name.isidentifier():
        raise ValueError(f"not a relation name: {name!r}")
    return name
