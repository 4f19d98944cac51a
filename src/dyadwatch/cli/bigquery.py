"""`dyadwatch fetch bigquery`: GDELT's events of some countries, and their per-day totals, from Google
BigQuery's public tables straight into the store (`acquire.bigquery` builds and runs the queries;
`sources.bigquery` reads their results)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Optional

import typer

from .options import CountriesOption, StoreOption, as_countries, as_date, console, fail, guard, store_at


def fetch_bigquery_cmd(
    start: str = typer.Option(..., "--from", help="First day GDELT added events, YYYY-MM-DD"),
    end: str = typer.Option(..., "--to", help="Last day (inclusive), YYYY-MM-DD; before today (UTC)"),
    countries: Optional[str] = CountriesOption,
    project: Optional[str] = typer.Option(None, "--project", help="Google Cloud project billed [default: the credentials' own]"),
    version: int = typer.Option(2, "--version", help="GDELT version: 1 or 2"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only show the bytes the queries would scan"),
    print_sql: bool = typer.Option(False, "--print-sql", help="Print the queries (with their parameters) to run by hand"),
    budget_gb: float = typer.Option(100.0, "--budget-gb", help="Ask before scanning more than this many GB"),
    yes: bool = typer.Option(False, "--yes", help="Run even over the budget, without asking"),
    store: Optional[Path] = StoreOption,
    download_dir: Optional[Path] = typer.Option(None, "--download-dir", help="Where results go [default: STORE/downloads/bigquery]"),
):
    """Query GDELT in BigQuery (partition-pruned, only the columns dyadwatch keeps), ingest the events
    and their per-day totals, and record each job in the store. Days already fetched are skipped."""
    from ..acquire import bigquery as bq

    if version not in (1, 2):
        fail("--version must be 1 or 2")
    d0, d1 = as_date(start, "--from"), as_date(end, "--to")
    if d1 < d0:
        fail(f"--to {end} is before --from {start}")
    today = dt.datetime.now(dt.timezone.utc).date()
    if d1 >= today:
        fail(f"--to {end}: GDELT is still adding events to that day; fetch up to {today - dt.timedelta(days=1)}")
    wanted = as_countries(countries)
    if not wanted:
        fail("--countries is required (e.g. RUS,TUR): a whole day of GDELT is ~100,000 events")
    codes = sorted(wanted)
    if print_sql:
        queries = [bq.events_query(version, d0, d1, codes), bq.totals_query(version, d0, d1)]
        typer.echo(f"-- dyadwatch fetch bigquery: countries {','.join(codes)} are the @countries parameter")
        typer.echo(bq.printable(queries), nl=False)
        return

    st = store_at(store)
    queries = _queries_to_run(bq, st, version, d0, d1, codes)
    if not queries:
        console.print(f"nothing to fetch: the events of {','.join(codes)} added {d0} .. {d1} and their totals "
                      "are in the store already", highlight=False)
        return
    try:
        runner = bq.connect(project)
        estimates = [runner.estimate(q) for q in queries]
    except (bq.BigQueryUnavailable, bq.BigQueryError) as exc:
        fail(str(exc))
    for q, n in zip(queries, estimates):
        console.print(f"{q.kind} query, GDELT {version}.0, added {q.start} .. {q.end}: {_gb(n)} to scan", highlight=False)
    total = sum(estimates)
    console.print(f"in all: {_gb(total)} to scan (budget {budget_gb:g} GB; the first 1 TiB a month is free)",
                  highlight=False)
    if dry_run:
        console.print("dry run: nothing was run", highlight=False)
        return
    if total > budget_gb * bq.GB and not yes:
        if not sys.stdin.isatty():
            fail(f"the queries would scan {_gb(total)}, over the budget of {budget_gb:g} GB: "
                 "rerun with --yes, or a larger --budget-gb")
        if not typer.confirm(f"scan {_gb(total)}, over the budget of {budget_gb:g} GB?"):
            fail("stopped: nothing was run")
    dest = download_dir or (st.root / "downloads" / "bigquery")
    fetched = []
    for q, n in zip(queries, estimates):
        try:
            f = bq.fetch(runner, q, dest / bq.file_stem(q, codes), max_bytes_billed=int(n * 1.1) + (20 << 20))
        except bq.BigQueryError as exc:
            fail(str(exc))
        console.print(f"{q.kind}: job {f.job_id}, {f.rows:,} rows, {_gb(f.bytes_billed)} billed", highlight=False)
        fetched.append(f)
    paths = [f.path for f in fetched if f.path is not None]
    failed = set()
    if paths:
        from .ingest import print_ingest, run_ingest

        report = guard(lambda: run_ingest(st, paths, wanted, None, None))
        print_ingest(report)
        failed = {Path(r.path).resolve() for r in report.failed}
    else:
        st.catalog.create()
    jobs = [_job_row(f, codes) for f in fetched if f.path is None or f.path.resolve() not in failed]
    guard(lambda: st.record_bigquery_jobs(jobs))
    if failed:
        raise typer.Exit(1)


def _queries_to_run(bq, st, version: int, d0: dt.date, d1: dt.date, codes: list[str]):
    """The queries for the days not fetched yet: totals for days without them; events for days without
    an events job of these countries (or more)."""
    source = f"gdelt{version}"
    covered_totals, covered_events = [], []
    if st.exists():
        for job in guard(st.bigquery_jobs).to_pylist():
            if job["source"] != source:
                continue
            span = (job["added_from"], job["added_to"])
            if job["kind"] == "totals":
                covered_totals.append(span)
            elif set(codes) <= set((job["countries"] or "").split(",")):
                covered_events.append(span)
    queries = [bq.events_query(version, a, b, codes) for a, b in bq.day_runs(d0, d1, covered_events)]
    queries += [bq.totals_query(version, a, b) for a, b in bq.day_runs(d0, d1, covered_totals)]
    return queries


def _job_row(f, codes: list[str]) -> dict:
    q = f.query
    return {
        "job_id": f.job_id, "kind": q.kind, "source": q.source, "added_from": q.start, "added_to": q.end,
        "countries": ",".join(codes) if q.kind == "events" else None, "sql": q.sql,
        "parameters": json.dumps({p.name: list(p.value) if isinstance(p.value, tuple) else p.value for p in q.params}),
        "bytes_processed": f.bytes_processed, "bytes_billed": f.bytes_billed, "rows": f.rows, "md5": f.md5,
        "path": str(f.path) if f.path is not None else None,
    }


def _gb(n: int) -> str:
    return f"{n / 1e9:,.2f} GB"
