"""What the command modules share: the consoles, the common options, and the one-line errors.

Arrow, DuckDB and the store are imported where a command needs them, not here: `ingest` starts
hashing its files first, so that the second core hashes while this process imports them (~0.4 s).
User errors end in one red line and exit code 1, never a traceback (`fail`, `guard`).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console
from rich.table import Table

from ..errors import InputError, StoreError
from ..knowledge.codebook import CodeError, parse_countries, parse_dyad

if TYPE_CHECKING:
    import pyarrow as pa

    from ..store import Store

# Piped output is not squeezed to 80 columns: tables stay readable in a file or a pager.
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True)

StoreOption = typer.Option(None, "--store", help="Store folder [default: $DYADWATCH_HOME, else ./.dyadwatch]")
CountriesOption = typer.Option(
    None, "--countries", help="Keep only events with an actor of these CAMEO countries, e.g. RUS,TUR"
)
EngineOption = typer.Option("duckdb", "--engine", help="Run on duckdb (this process) or spark (PySpark)")
MasterOption = typer.Option(None, "--master", help="Spark master URL, e.g. spark://host:7077 [default: local[*]]")

FormatOption = typer.Option("table", "--format", help="table, csv, json or parquet")
OutOption = typer.Option(None, "--out", help="Write to a file (required for parquet)")
FromOption = typer.Option(None, "--from", help="First day, YYYY-MM-DD")
ToOption = typer.Option(None, "--to", help="Last day, YYYY-MM-DD (inclusive)")
SourceOption = typer.Option(None, "--source", help="Only this source (gdelt2, gdelt1, icews, ...)")
TaxonomyOption = typer.Option(None, "--taxonomy", help="Your own taxonomy YAML [default: the shipped one]")


def fail(message: str) -> None:
    from rich.markup import escape  # a message may hold [brackets] (paths, pip extras): not markup

    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def store_at(path: Optional[Path]) -> Store:
    from ..store import Store, default_store_path

    return Store(path if path is not None else default_store_path())


def as_date(text: Optional[str], flag: str) -> Optional[dt.date]:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"{flag} {text!r} is not a date; use YYYY-MM-DD")


def as_countries(text: Optional[str]):
    try:
        return parse_countries(text)
    except CodeError as exc:
        fail(str(exc))


def as_pair(dyad: str) -> tuple[str, str]:
    try:
        return parse_dyad(dyad)
    except CodeError as exc:
        fail(str(exc))


def use_engine(engine: str, master: Optional[str], workers: Optional[int] = None) -> str:
    """Check --engine / --master; for spark, start the session (one line if pyspark or Java is missing)."""
    from ..engines import check_name

    guard(lambda: check_name(engine))
    if engine != "spark":
        if master is not None:
            fail("--master needs --engine spark")
        return engine
    from ..engines.spark_engine import session

    guard(lambda: session(master or (f"local[{workers}]" if workers else None)))
    return engine


def check_format(fmt: str, out: Optional[Path]) -> None:
    if fmt not in ("table", "csv", "json", "parquet"):
        fail(f"--format {fmt!r}: choose table, csv, json or parquet")
    if fmt == "parquet" and out is None:
        fail("--format parquet needs --out FILE.parquet")


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1 else f"{v:,.2f}"
    if isinstance(v, list):
        return " ".join(str(x) for x in v[:3]) + (" …" if len(v) > 3 else "")
    return str(v)


def write_table(table: pa.Table, fmt: str, out: Optional[Path], columns: Optional[list[str]] = None,
                what: str = "events") -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if fmt == "parquet":
        pq.write_table(table, out)
        err.print(f"wrote {table.num_rows:,} {what} to {out}", highlight=False)
        return
    if fmt == "csv":
        lists = [f.name for f in table.schema if pa.types.is_list(f.type)]
        for name in lists:  # CSV has no lists: join them with spaces
            i = table.schema.get_field_index(name)
            joined = [" ".join(str(x) for x in v) if v is not None else None for v in table[name].to_pylist()]
            table = table.set_column(i, name, pa.array(joined, pa.string()))
        if out:
            pacsv.write_csv(table, out)
        else:
            sink = pa.BufferOutputStream()
            pacsv.write_csv(table, sink)
            sys.stdout.write(sink.getvalue().to_pybytes().decode())
        return
    if fmt == "json":
        rows = table.to_pylist()
        text = json.dumps(rows, default=str, ensure_ascii=False, indent=1)
        if out:
            out.write_text(text + "\n")
        else:
            sys.stdout.write(text + "\n")
        return
    shown = columns or table.column_names
    t = Table(*shown, title=f"{table.num_rows:,} {what}")
    for row in table.select(shown).to_pylist():
        t.add_row(*(_cell(v) for v in row.values()))
    console.print(t)


def guard(fn):
    """Run fn; user-facing errors become one line and exit 1."""
    try:
        return fn()
    except (StoreError, InputError, CodeError, ValueError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        err.print("interrupted: nothing half-written is visible; rerun to complete")
        raise typer.Exit(130)
