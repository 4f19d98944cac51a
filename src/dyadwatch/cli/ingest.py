"""Commands that fill and inspect the store: ingest, fetch gdelt, status, compact, events, quarantine."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..acquire.inputs import Inputs
from ..knowledge.codebook import CodeError, parse_dyad
from ..knowledge.formats import SOURCE_NAMES
from .options import (
    CountriesOption, EngineOption, MasterOption, StoreOption, as_countries, as_date, check_format, console, err,
    fail, guard, store_at, use_engine, write_table,
)

if TYPE_CHECKING:
    from ..store import IngestReport, Store


def run_ingest(store: Store, paths: list | Inputs, countries, source: Optional[str], workers: Optional[int],
               quiet: bool = False, engine: str = "duckdb") -> IngestReport:
    """Ingest with a progress bar over input bytes, then print the per-file problems."""
    from ..sources.reading import FileResult

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
            from ..engines.spark_ingest import ingest as spark_ingest

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


def print_ingest(report: IngestReport) -> None:
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
    untotalled = [f.name for f in report.files if f.rows_kept and not f.totals.num_rows]
    if untotalled and not any(f.totals.num_rows for f in report.files):
        # a BigQuery export of a filtered query holds no "all events": its days have no totals
        console.print(
            f"note: {len(untotalled)} file(s) gave events but no per-day totals ({untotalled[0]}"
            f"{', ...' if len(untotalled) > 1 else ''}: a filtered BigQuery export holds no \"all events\"); "
            "normalised measures need them: ingest the totals query's result too "
            "(dyadwatch fetch bigquery --print-sql prints it)",
            highlight=False,
        )


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
    wanted = as_countries(countries)
    inputs = Inputs(paths)
    if engine == "duckdb":
        inputs.digests.start()  # while the store's modules are imported
        # nothing here multiplies matrices: without this OpenBLAS starts a thread per core when numpy
        # is imported (~30 ms before the readers can start) and they spin for a while
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    use_engine(engine, master, workers)
    if engine == "duckdb":
        _skip_pandas_probe()
    report = guard(lambda: run_ingest(store_at(store), inputs, wanted, source, workers, engine=engine))
    print_ingest(report)
    if report.failed or report.problems:
        raise typer.Exit(1)


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
    from ..acquire import fetch as fetching

    if version not in (1, 2):
        fail("--version must be 1 or 2")
    d0, d1 = as_date(start, "--from"), as_date(end, "--to")
    if d1 < d0:
        fail(f"--to {end} is before --from {start}")
    filt = as_countries(countries)
    st = store_at(store)
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
        ingest_report = guard(lambda: run_ingest(st, report.ok_paths, filt, None, None))
        print_ingest(ingest_report)
        if ingest_report.failed:
            raise typer.Exit(1)
    if not report.complete:
        raise typer.Exit(1)


def status(store: Optional[Path] = StoreOption, as_json: bool = typer.Option(False, "--json", help="Print JSON")):
    """What the store holds: sources, date range, events, files, rejects."""
    info = guard(lambda: store_at(store).status())
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


def compact(store: Optional[Path] = StoreOption):
    """Rewrite each month's parts as one part sorted by the actors' countries: dyad queries then read
    a few row groups per month instead of the whole store. Safe to rerun; atomic like ingest."""
    st = store_at(store)
    if not st.exists():
        fail(f"{st.root}: no dyadwatch store here (run `dyadwatch ingest` first)")
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err, transient=True) as progress:
        task = progress.add_task("compacting", total=None)
        r = guard(lambda: st.compact(on_month=lambda s, y, m, n: progress.update(
            task, description=f"compacted {s} {y}-{m:02d} ({n:,} events)")))
    console.print(f"compacted {r.months_compacted:,} month(s) ({r.parts_before:,} parts, {r.rows:,} events) into one "
                  f"sorted part each; {r.months_kept:,} already compact"
                  + (f"; dyad index rebuilt ({r.index_rows:,} two-country rows)" if r.index_built else "")
                  + f" ({r.seconds:.1f} s)", highlight=False)


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
    d0, d1 = as_date(start, "--from"), as_date(end, "--to")
    table = guard(lambda: store_at(store).events(dyad=pair, start=d0, end=d1, limit=limit))
    write_table(table, fmt, out, EVENT_COLUMNS_SHOWN)


EVENT_COLUMNS_SHOWN = ["event_id", "event_date", "actor1_country", "actor1_name", "event_code", "actor2_country",
                       "actor2_name", "quad_class", "goldstein", "num_articles", "action_geo_country", "source_url"]



def quarantine(store: Optional[Path] = StoreOption, fmt: str = typer.Option("table", "--format", help="table, csv or json")):
    """Rows that could not be read, with file, line and reason."""
    table = guard(lambda: store_at(store).quarantine())
    if fmt != "table":
        write_table(table, fmt, None)
        return
    t = Table("file", "line", "reason", title=f"{table.num_rows:,} quarantined rows")
    for r in table.to_pylist():
        t.add_row(r["source_file"], str(r["source_line"]), r["reason"])
    console.print(t)
