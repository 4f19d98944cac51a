"""The `dyadwatch` command line: the Typer app, with every command module's commands registered.

Each command module (`ingest`, `bigquery`, `demo`, `measures`, `brief`, `web`, `claims`, `synth`) defines plain
functions over the shared options (`options`); this module alone knows the app and registers them, so
no command module imports another's app and nothing imports this one but the entry point. The command
line may import every stage; its top level imports none that loads Arrow or DuckDB.
"""

from __future__ import annotations

import os
import sys

import typer

from . import bigquery, brief, claims, demo, ingest, measures, synth, web

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Measure how a relationship between two states changes, from open event data (GDELT, ICEWS).",
)
fetch_app = typer.Typer(no_args_is_help=True, help="Download event files from their publishers, or query GDELT in BigQuery.")
app.add_typer(fetch_app, name="fetch")

app.command()(ingest.ingest)
fetch_app.command("gdelt")(ingest.fetch_gdelt_cmd)
fetch_app.command("bigquery")(bigquery.fetch_bigquery_cmd)
app.command()(ingest.status)
app.command()(ingest.compact)
app.command()(ingest.events)
app.command()(ingest.quarantine)
app.command()(demo.demo)
app.command()(measures.indicators)
app.command()(measures.contacts)
app.command()(measures.compare)
app.command()(measures.shifts)
app.command()(brief.brief)
app.command()(web.serve)
app.command("claims")(claims.claims_cmd)
app.command("scenarios")(claims.scenarios_cmd)
app.command()(synth.synth)


def main() -> None:
    """The console entry point. After the command, the process leaves without tearing the interpreter
    down: freeing the state of Arrow, DuckDB and the other imports took ~0.4 s after an ingest. Output is flushed
    first, and nothing needs closing by then (commands close their catalogs and files on return, and
    join their worker processes). A crash still ends the usual way, with its traceback."""
    try:
        app(prog_name="dyadwatch")
        code = 0
    except SystemExit as exc:
        code = exc.code
        if code is None:
            code = 0
        elif not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, OSError):  # the reader went away (`| head`): nothing left to say
            pass
    os._exit(code)
