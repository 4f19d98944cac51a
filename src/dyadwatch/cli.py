"""The `dyadwatch` command line. User errors end in one red line and exit code 1, never a traceback.

Arrow, DuckDB and the store are imported where a command needs them, not here: `ingest` starts
hashing its files first, so that the second core hashes while this one imports them (~0.4 s).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from .codebook import CodeError, parse_countries, parse_dyad
from .errors import InputError, StoreError
from .inputs import SOURCE_NAMES, Inputs

if TYPE_CHECKING:
    import pyarrow as pa

    from .store import IngestReport, Store

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Measure how a relationship between two states changes, from open event data (GDELT, ICEWS).",
)
fetch_app = typer.Typer(no_args_is_help=True, help="Download event files from their publishers.")
app.add_typer(fetch_app, name="fetch")

# Piped output is not squeezed to 80 columns: tables stay readable in a file or a pager.
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True)

StoreOption = typer.Option(None, "--store", help="Store folder [default: $DYADWATCH_HOME, else ./.dyadwatch]")
CountriesOption = typer.Option(
    None, "--countries", help="Keep only events with an actor of these CAMEO countries, e.g. RUS,TUR"
)
EngineOption = typer.Option("duckdb", "--engine", help="Run on duckdb (this process) or spark (PySpark)")
MasterOption = typer.Option(None, "--master", help="Spark master URL, e.g. spark://host:7077 [default: local[*]]")


def fail(message: str) -> None:
    from rich.markup import escape  # a message may hold [brackets] (paths, pip extras): not markup

    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _store(path: Optional[Path]) -> Store:
    from .store import Store, default_store_path

    return Store(path if path is not None else default_store_path())


def _date(text: Optional[str], flag: str) -> Optional[dt.date]:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"{flag} {text!r} is not a date; use YYYY-MM-DD")


def _countries(text: Optional[str]):
    try:
        return parse_countries(text)
    except CodeError as exc:
        fail(str(exc))


def use_engine(engine: str, master: Optional[str], workers: Optional[int] = None) -> str:
    """Check --engine / --master; for spark, start the session (one line if pyspark or Java is missing)."""
    from .engines import check_name

    _guard(lambda: check_name(engine))
    if engine != "spark":
        if master is not None:
            fail("--master needs --engine spark")
        return engine
    from .engines.spark_engine import session

    _guard(lambda: session(master or (f"local[{workers}]" if workers else None)))
    return engine


def run_ingest(store: Store, paths: list | Inputs, countries, source: Optional[str], workers: Optional[int],
               quiet: bool = False, engine: str = "duckdb") -> IngestReport:
    """Ingest with a progress bar over input bytes, then print the per-file problems."""
    from .ingest import FileResult

    inputs = paths if isinstance(paths, Inputs) else Inputs(paths)
    sizes = sum(f.stat().st_size for f in inputs.files)
    with Progress(
        TextColumn("[bold]ingest"), BarColumn(), DownloadColumn(), TextColumn("{task.fields[current]}"),
        TimeRemainingColumn(), console=err, disable=quiet or not err.is_terminal, transient=True,
    ) as progress:
        task = progress.add_task("ingest", total=sizes or None, current="")

        def on_file(result, size: int) -> None:
            name = result.name if isinstance(result, FileResult) else Path(result).name
            progress.update(task, advance=size, current=name)

        if engine == "spark":  # the executors read the files (dyadwatch.engines.spark_ingest)
            from .engines.spark_ingest import ingest as spark_ingest

            report = spark_ingest(store, inputs.paths, countries=countries, source=source, on_file=on_file)
        else:
            report = store.ingest(inputs, countries=countries, source=source, workers=workers, on_file=on_file)
    for problem in report.problems:
        err.print(f"[red]error:[/red] {problem}", highlight=False, soft_wrap=True)
    for f in report.failed:
        err.print(f"[red]error:[/red] {f.error}", highlight=False, soft_wrap=True)
    return report


def _skip_pandas_probe() -> None:
    """pyarrow imports pandas (~0.3 s, before the readers can start) the first time it is handed any
    object, only to check whether that is a pandas one; an ingest never hands it one. So this process
    lets pyarrow's first check find no pandas; pyarrow then skips the check, and anything that really
    needs pandas (`to_pandas`) still imports it."""
    import pyarrow as pa

    if "pandas" in sys.modules:
        return
    sys.meta_path.insert(0, _NoPandas)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(_NoPandas)


class _NoPandas:
    """An import finder under which `import pandas` raises ImportError."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "pandas":
            raise ImportError("pandas is skipped here")
        return None


def _print_ingest(report: IngestReport) -> None:
    rate = report.rows_read / report.seconds if report.seconds else 0
    console.print(
        f"ingested {len(report.files)} file(s), skipped {len(report.skipped)} already in the store, "
        f"{len(report.failed) + len(report.problems)} unreadable: {report.rows_read:,} rows read, "
        f"{report.rows_kept:,} kept, {report.rows_stored:,} new events stored, "
        f"{report.rows_rejected:,} quarantined ({report.seconds:.1f} s, {rate:,.0f} rows/s)",
        highlight=False,
    )
    if report.rows_rejected:
        console.print("see the quarantined rows with: dyadwatch quarantine", highlight=False)


@app.command()
def ingest(
    paths: list[str] = typer.Argument(..., help="Files, folders or globs of GDELT / ICEWS event files (plain or zipped)"),
    store: Optional[Path] = StoreOption,
    countries: Optional[str] = CountriesOption,
    source: Optional[str] = typer.Option(None, "--source", help=f"Force the format: {', '.join(SOURCE_NAMES)}"),
    workers: Optional[int] = typer.Option(None, "--workers", help="Parallel reader processes [default: cores]"),
    engine: str = EngineOption,
    master: Optional[str] = MasterOption,
):
    """Read event files into the store (idempotent: files already ingested are skipped)."""
    if source is not None and source not in SOURCE_NAMES:
        fail(f"--source {source!r}: choose one of {', '.join(SOURCE_NAMES)}")
    wanted = _countries(countries)
    inputs = Inputs(paths)
    if engine == "duckdb":
        inputs.digests.start()  # while the store's modules are imported
        # nothing here multiplies matrices: without this OpenBLAS starts a thread per core when numpy
        # is imported (~30 ms before the readers can start) and they spin for a while
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    use_engine(engine, master, workers)
    if engine == "duckdb":
        _skip_pandas_probe()
    report = _guard(lambda: run_ingest(_store(store), inputs, wanted, source, workers, engine=engine))
    _print_ingest(report)
    if report.failed or report.problems:
        raise typer.Exit(1)


@fetch_app.command("gdelt")
def fetch_gdelt_cmd(
    start: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD"),
    end: str = typer.Option(..., "--to", help="Last day, YYYY-MM-DD (inclusive)"),
    version: int = typer.Option(2, "--version", help="GDELT version: 1 or 2"),
    countries: Optional[str] = CountriesOption,
    store: Optional[Path] = StoreOption,
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Mirror of GDELT's file server"),
    download_dir: Optional[Path] = typer.Option(None, "--download-dir", help="Where files go [default: STORE/downloads/gdeltV]"),
    parallel: int = typer.Option(4, "--parallel", help="Downloads at once"),
    retries: int = typer.Option(3, "--retries", help="Attempts per file before it counts as failed"),
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds before a stalled download is retried"),
    backoff: float = typer.Option(1.0, "--backoff", help="Seconds before the first retry; doubles each time"),
    no_ingest: bool = typer.Option(False, "--no-ingest", help="Only download"),
):
    """Download GDELT event files for a date range, verify them, ingest them, report coverage."""
    from . import fetch as fetching

    if version not in (1, 2):
        fail("--version must be 1 or 2")
    d0, d1 = _date(start, "--from"), _date(end, "--to")
    if d1 < d0:
        fail(f"--to {end} is before --from {start}")
    filt = _countries(countries)
    st = _store(store)
    dest = download_dir or (st.root / "downloads" / f"gdelt{version}")
    dest.mkdir(parents=True, exist_ok=True)
    with Progress(
        TextColumn("[bold]fetch"), BarColumn(), TextColumn("{task.completed}/{task.total} files"),
        TextColumn("{task.fields[current]}"), TimeRemainingColumn(), console=err,
        disable=not err.is_terminal, transient=True,
    ) as progress:
        task = progress.add_task("fetch", total=None, current="")

        def on_plan(total: int) -> None:
            progress.update(task, total=total)

        def on_slot(result) -> None:
            progress.update(task, advance=1, current=f"{result.slot.filename} {result.status}")

        try:
            report = fetching.fetch_gdelt(
                d0, d1, dest, version=version, base_url=base_url, workers=parallel, retries=retries,
                timeout=timeout, backoff=backoff, progress=on_slot, on_plan=on_plan,
            )
        except fetching.FetchError as exc:
            fail(str(exc))
    for line in fetching.format_coverage(report):
        console.print(line, highlight=False, soft_wrap=True)
    if not no_ingest and report.ok_paths:
        ingest_report = _guard(lambda: run_ingest(st, report.ok_paths, filt, None, None))
        _print_ingest(ingest_report)
        if ingest_report.failed:
            raise typer.Exit(1)
    if not report.complete:
        raise typer.Exit(1)


@app.command()
def status(store: Optional[Path] = StoreOption, as_json: bool = typer.Option(False, "--json", help="Print JSON")):
    """What the store holds: sources, date range, events, files, rejects."""
    info = _guard(lambda: _store(store).status())
    if as_json:
        console.print_json(json.dumps(info))
        return
    console.print(f"store {info['store']}: {info['events']:,} events from {info['files']:,} files, "
                  f"{info['rows_rejected']:,} rows quarantined; filters: {', '.join(info['filters'])}",
                  highlight=False)
    t = Table("source", "files", "rows read", "events stored", "quarantined", "filtered out", "first event",
              "last event", "all events (totals)")
    for s in info["sources"]:
        t.add_row(s["source"], f"{s['files']:,}", f"{s['rows_read']:,}", f"{s['events']:,}",
                  f"{s['rows_rejected']:,}", f"{s['rows_filtered']:,}", s["first_event"] or "-",
                  s["last_event"] or "-", f"{s['all_events_total']:,}")
    console.print(t)


@app.command()
def compact(store: Optional[Path] = StoreOption):
    """Rewrite each month's parts as one part sorted by the actors' countries: dyad queries then read
    a few row groups per month instead of the whole store. Safe to rerun; atomic like ingest."""
    st = _store(store)
    if not st.exists():
        fail(f"{st.root}: no dyadwatch store here (run `dyadwatch ingest` first)")
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err, transient=True) as progress:
        task = progress.add_task("compacting", total=None)
        r = _guard(lambda: st.compact(on_month=lambda s, y, m, n: progress.update(
            task, description=f"compacted {s} {y}-{m:02d} ({n:,} events)")))
    console.print(f"compacted {r.months_compacted:,} month(s) ({r.parts_before:,} parts, {r.rows:,} events) into one "
                  f"sorted part each; {r.months_kept:,} already compact"
                  + (f"; dyad index rebuilt ({r.index_rows:,} two-country rows)" if r.index_built else "")
                  + f" ({r.seconds:.1f} s)", highlight=False)


@app.command()
def events(
    dyad: Optional[str] = typer.Option(None, "--dyad", help="Two CAMEO country codes, e.g. RUS-TUR (either direction)"),
    start: Optional[str] = typer.Option(None, "--from", help="First event date, YYYY-MM-DD"),
    end: Optional[str] = typer.Option(None, "--to", help="Last event date, YYYY-MM-DD (inclusive)"),
    fmt: str = typer.Option("table", "--format", help="table, csv, json or parquet"),
    out: Optional[Path] = typer.Option(None, "--out", help="Write to a file (required for parquet)"),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most this many events"),
    store: Optional[Path] = StoreOption,
):
    """List events, optionally for a dyad and a date range."""
    check_format(fmt, out)
    pair = None
    if dyad:
        try:
            pair = parse_dyad(dyad)
        except CodeError as exc:
            fail(str(exc))
    d0, d1 = _date(start, "--from"), _date(end, "--to")
    table = _guard(lambda: _store(store).events(dyad=pair, start=d0, end=d1, limit=limit))
    write_table(table, fmt, out, EVENT_COLUMNS_SHOWN)


EVENT_COLUMNS_SHOWN = ["event_id", "event_date", "actor1_country", "actor1_name", "event_code", "actor2_country",
                       "actor2_name", "quad_class", "goldstein", "num_articles", "action_geo_country", "source_url"]


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


@app.command()
def quarantine(store: Optional[Path] = StoreOption, fmt: str = typer.Option("table", "--format", help="table, csv or json")):
    """Rows that could not be read, with file, line and reason."""
    table = _guard(lambda: _store(store).quarantine())
    if fmt != "table":
        write_table(table, fmt, None)
        return
    t = Table("file", "line", "reason", title=f"{table.num_rows:,} quarantined rows")
    for r in table.to_pylist():
        t.add_row(r["source_file"], str(r["source_line"]), r["reason"])
    console.print(t)


@app.command()
def demo(
    store: Optional[Path] = typer.Option(None, "--store", help="Store folder [default: ./demo/store]"),
):
    """Ingest the real GDELT sample shipped in the package (Karabakh ceasefire, Nov 2020), show it, and write
    the RUS-TUR brief (brief.html, brief.pdf) beside the store."""
    root = store or Path("demo") / "store"
    sample = resources.files("dyadwatch").joinpath("data", "sample")
    with resources.as_file(sample) as sample_dir:
        files = sorted(str(p) for p in Path(sample_dir).glob("*.zip"))
        st = _store(root)
        report = _guard(lambda: run_ingest(st, files, None, None, None))
    _print_ingest(report)
    status(store=root, as_json=False)
    table = st.events(dyad=("RUS", "TUR"))
    console.print(f"\nRUS-TUR (either direction): {table.num_rows:,} events; the first ten:", highlight=False)
    write_table(table.slice(0, 10), "table", None, EVENT_COLUMNS_SHOWN)
    console.print(f"store: {root}  (try: dyadwatch events --store {root} --dyad RUS-TUR --format csv)", highlight=False)
    from .brief import BriefError, build_brief, render_html, render_pdf

    folder = root.parent
    html_path, pdf_path = folder / "brief.html", folder / "brief.pdf"
    brief_ = _guard(lambda: build_brief(st, ("RUS", "TUR")))
    html = render_html(brief_)
    html_path.write_text(html, encoding="utf-8")
    console.print(f"brief: {html_path}", highlight=False)
    try:
        render_pdf(brief_, pdf_path, html=html)
        console.print(f"brief: {pdf_path}", highlight=False)
    except BriefError as exc:  # the demo's data and HTML brief stand; say what the PDF needs
        err.print(f"[yellow]brief.pdf not written:[/yellow] {exc}", highlight=False, soft_wrap=True)


def _guard(fn):
    """Run fn; user-facing errors become one line and exit 1."""
    try:
        return fn()
    except (StoreError, InputError, CodeError, ValueError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        err.print("interrupted: nothing half-written is visible; rerun to complete")
        raise typer.Exit(130)


from . import cli_measures  # noqa: E402,F401  (registers indicators, contacts, compare, shifts)
from . import cli_brief  # noqa: E402,F401
from . import cli_web  # noqa: E402,F401  (registers serve)
from . import cli_claims  # noqa: E402,F401
from . import cli_synth  # noqa: E402,F401  (registers synth)


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
