"""GDELT through Google BigQuery: the queries, their cost, and their results as files to ingest.

Two queries per run, both over the same events, those GDELT *added* between two days (what `fetch
gdelt` downloads for the same days: its files are named by the time their events were added):

- **events**: the columns the canonical schema takes (`knowledge.schema.GDELT_QUERY_COLUMNS`, no
  more: BigQuery bills the bytes of the columns a query reads), of the events with either actor in
  the countries;
- **totals**: events per day of SQLDATE among *all* those events, before the country filter (the
  per-day totals normalised measures divide by; a filtered result cannot give them).

On GDELT 2.0 (`gdelt-bq.gdeltv2.events_partitioned`, partitioned by the day a row was loaded) both
are partition-pruned: `_PARTITIONTIME` from a day before the first day to two days after the last
(a batch added at 23:45 may be loaded after midnight), and DATEADDED then picks the exact range.
GDELT 1.0 (`gdelt-bq.full.events`) has no partitions: its queries read the columns of the whole
table. Every value (days, countries) is a query parameter, never pasted into the SQL.

A `Runner` does the BigQuery part: `GoogleRunner` over `google-cloud-bigquery` (the optional extra
`dyadwatch[bigquery]`); tests hand in their own. `fetch` streams a result's Arrow batches into a
Parquet file (no CSV round trip), which `sources.bigquery` reads like any BigQuery export.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Protocol

from ..knowledge.schema import GDELT_QUERY_COLUMNS

TABLES = {2: "gdelt-bq.gdeltv2.events_partitioned", 1: "gdelt-bq.full.events"}
PARTITIONED = {2: True, 1: False}
GB = 10**9  # BigQuery's on-demand pricing counts bytes in TiB; the budget and messages use GB (10^9)

INSTALL = ("BigQuery needs the optional extra: pip install 'dyadwatch[bigquery]' (google-cloud-bigquery), "
           "then authenticate with: gcloud auth application-default login; or run the queries yourself: "
           "dyadwatch fetch bigquery ... --print-sql")
AUTH = ("BigQuery needs Google credentials: gcloud auth application-default login (or set "
        "GOOGLE_APPLICATION_CREDENTIALS to a service account key) and a project (--project P); or run "
        "the queries yourself: dyadwatch fetch bigquery ... --print-sql")


class BigQueryUnavailable(Exception):
    """No client library or no credentials: one line saying what to install and how to authenticate."""


class BigQueryError(Exception):
    """A query failed (BigQuery's own reason, on one line)."""


@dataclass(frozen=True)
class Param:
    """A query parameter: `type` is BigQuery's (INT64, TIMESTAMP, STRING; ARRAY<STRING> for a list)."""

    name: str
    type: str
    value: object

    def bq_flag(self) -> str:
        """The parameter as `bq query --parameter` takes it."""
        if self.type.startswith("ARRAY"):
            return f"{self.name}:{self.type}:{json.dumps(list(self.value), separators=(',', ':'))}"
        return f"{self.name}:{self.type}:{self.value}"


@dataclass(frozen=True)
class Query:
    kind: str  # events or totals
    version: int
    start: dt.date  # first day added
    end: dt.date  # last day added (inclusive)
    sql: str
    params: tuple[Param, ...]

    @property
    def source(self) -> str:
        return f"gdelt{self.version}"


def _where(version: int) -> str:
    added = "DATEADDED BETWEEN @added_from AND @added_to"
    if PARTITIONED[version]:
        return (f"_PARTITIONTIME >= @partition_from AND _PARTITIONTIME < @partition_to\n"
                f"  AND {added}")
    return added


def _range_params(version: int, start: dt.date, end: dt.date) -> list[Param]:
    if version == 2:
        params = [Param("added_from", "INT64", int(start.strftime("%Y%m%d") + "000000")),
                  Param("added_to", "INT64", int(end.strftime("%Y%m%d") + "235959"))]
    else:
        params = [Param("added_from", "INT64", int(start.strftime("%Y%m%d"))),
                  Param("added_to", "INT64", int(end.strftime("%Y%m%d")))]
    if PARTITIONED[version]:
        params = [Param("partition_from", "TIMESTAMP", f"{start - dt.timedelta(days=1)} 00:00:00"),
                  Param("partition_to", "TIMESTAMP", f"{end + dt.timedelta(days=2)} 00:00:00"), *params]
    return params


def events_query(version: int, start: dt.date, end: dt.date, countries: Iterable[str]) -> Query:
    """The events added from `start` to `end` with either actor in `countries`: the pruned columns."""
    _check(version, start, end)
    codes = sorted(set(countries))
    if not codes:
        raise ValueError("a BigQuery fetch needs --countries (a whole day of GDELT is ~100,000 events)")
    select = ",\n  ".join(GDELT_QUERY_COLUMNS)
    sql = (f"SELECT\n  {select}\nFROM `{TABLES[version]}`\nWHERE {_where(version)}\n"
           "  AND (Actor1CountryCode IN UNNEST(@countries) OR Actor2CountryCode IN UNNEST(@countries))")
    params = (*_range_params(version, start, end), Param("countries", "ARRAY<STRING>", tuple(codes)))
    return Query("events", version, start, end, sql, params)


def totals_query(version: int, start: dt.date, end: dt.date) -> Query:
    """Events per day of SQLDATE among all the events added from `start` to `end` (no country filter),
    as the totals file `sources.bigquery` reads: source, day, events."""
    _check(version, start, end)
    sql = (f"SELECT 'gdelt{version}' AS source, SQLDATE AS day, COUNT(*) AS events\n"
           f"FROM `{TABLES[version]}`\nWHERE {_where(version)}\n  AND SQLDATE IS NOT NULL\n"
           "GROUP BY day\nORDER BY day")
    return Query("totals", version, start, end, sql, tuple(_range_params(version, start, end)))


def _check(version: int, start: dt.date, end: dt.date) -> None:
    if version not in TABLES:
        raise ValueError("--version must be 1 or 2")
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")


def printable(queries: list[Query]) -> str:
    """The queries as a script to run by hand: each with its parameters as `bq query` flags, whose CSV
    output (a header of the column names) `dyadwatch ingest` reads as a BigQuery export."""
    out = []
    for q in queries:
        flags = " ".join(f"--parameter='{p.bq_flag()}'" for p in q.params)
        out.append(f"-- {q.kind}: GDELT {q.version}.0, events added {q.start} .. {q.end}; run it with\n"
                   f"--   bq query --use_legacy_sql=false --format=csv --max_rows=1000000000 {flags} "
                   f"< {q.kind}.sql > {q.source}-{q.kind}.csv\n"
                   f"{q.sql};\n")
    return "\n".join(out)


def day_runs(start: dt.date, end: dt.date, covered: Iterable[tuple[dt.date, dt.date]]) -> list[tuple[dt.date, dt.date]]:
    """The runs of days from `start` to `end` outside every `covered` range (inclusive ranges)."""
    done = set()
    for a, b in covered:
        a, b = max(a, start), min(b, end)
        done.update(a + dt.timedelta(days=i) for i in range((b - a).days + 1))
    runs, first, day = [], None, start
    while day <= end:
        if day in done:
            if first is not None:
                runs.append((first, day - dt.timedelta(days=1)))
                first = None
        elif first is None:
            first = day
        day += dt.timedelta(days=1)
    if first is not None:
        runs.append((first, end))
    return runs


# -- running -----------------------------------------------------------------------------------------


class Job(Protocol):
    job_id: str
    bytes_processed: int
    bytes_billed: int

    def batches(self) -> Iterator: ...  # pyarrow RecordBatches of the result


class Runner(Protocol):
    def estimate(self, query: Query) -> int: ...  # bytes a run would process (BigQuery's dry run)

    def run(self, query: Query, max_bytes_billed: int) -> Job: ...


@dataclass
class Fetched:
    """One query run into one file."""

    query: Query
    job_id: str
    bytes_processed: int
    bytes_billed: int
    path: Path | None  # None when the result had no rows
    rows: int
    md5: str | None = None


def fetch(runner: Runner, query: Query, dest: Path, max_bytes_billed: int) -> Fetched:
    """Run `query` and stream its Arrow batches into `dest` (Parquet), written whole or not at all."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    dest.parent.mkdir(parents=True, exist_ok=True)
    job = runner.run(query, max_bytes_billed)
    part = dest.with_name(dest.name + ".part")
    rows = 0
    try:
        if query.kind == "totals":
            # small; one sorted row group, so that the same days give the same bytes (and MD5) again
            batches = list(job.batches())
            if batches:
                table = pa.Table.from_batches(batches).sort_by("day")
                rows = table.num_rows
                if rows:
                    pq.write_table(table, part, row_group_size=max(rows, 1))
        else:
            writer = None
            try:
                for batch in job.batches():
                    if not batch.num_rows:
                        continue
                    if writer is None:
                        writer = pq.ParquetWriter(part, batch.schema, compression="zstd")
                    elif not batch.schema.equals(writer.schema):  # a page typed otherwise (all nulls)
                        batch = pa.Table.from_batches([batch]).cast(writer.schema).combine_chunks().to_batches()[0]
                    writer.write_batch(batch)
                    rows += batch.num_rows
            finally:
                if writer is not None:
                    writer.close()
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise BigQueryError(f"{dest}: cannot write the {query.kind} result ({_one_line(exc)})") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    path = None
    md5 = None
    if rows:
        part.replace(dest)
        path = dest
        md5 = hashlib.md5(dest.read_bytes()).hexdigest()
    return Fetched(query, job.job_id, int(job.bytes_processed or 0), int(job.bytes_billed or 0), path, rows, md5)


def file_stem(query: Query, countries: Iterable[str] = ()) -> str:
    codes = sorted(set(countries))
    who = "-".join(codes) if len(codes) <= 6 else f"{len(codes)}countries-" + hashlib.md5(",".join(codes).encode()).hexdigest()[:8]
    tail = f".{who}" if query.kind == "events" else ""
    return f"{query.source}.{query.start:%Y%m%d}-{query.end:%Y%m%d}.{query.kind}{tail}.parquet"


@dataclass
class GoogleRunner:
    """The runner over google-cloud-bigquery (`connect` makes one)."""

    client: object
    module: object  # google.cloud.bigquery
    location: str | None = None
    errors: tuple = field(default_factory=tuple)

    def _config(self, query: Query, **kw):
        bq = self.module
        params = []
        for p in query.params:
            if p.type.startswith("ARRAY"):
                params.append(bq.ArrayQueryParameter(p.name, "STRING", list(p.value)))
            elif p.type == "TIMESTAMP":
                value = dt.datetime.fromisoformat(str(p.value)).replace(tzinfo=dt.timezone.utc)
                params.append(bq.ScalarQueryParameter(p.name, "TIMESTAMP", value))
            else:
                params.append(bq.ScalarQueryParameter(p.name, p.type, p.value))
        return bq.QueryJobConfig(query_parameters=params, **kw)

    def estimate(self, query: Query) -> int:
        try:
            job = self.client.query(query.sql, job_config=self._config(query, dry_run=True, use_query_cache=False))
        except self.errors as exc:
            raise BigQueryError(f"BigQuery dry run of the {query.kind} query failed: {_one_line(exc)}") from None
        return int(job.total_bytes_processed or 0)

    def run(self, query: Query, max_bytes_billed: int) -> Job:
        try:
            job = self.client.query(query.sql, job_config=self._config(query, maximum_bytes_billed=int(max_bytes_billed)))
            rows = job.result()
        except self.errors as exc:
            raise BigQueryError(f"BigQuery {query.kind} query failed: {_one_line(exc)}") from None
        return _GoogleJob(job, rows, self.errors)


@dataclass
class _GoogleJob:
    job: object
    rows: object
    errors: tuple

    @property
    def job_id(self) -> str:
        return self.job.job_id

    @property
    def bytes_processed(self) -> int:
        return self.job.total_bytes_processed

    @property
    def bytes_billed(self) -> int:
        return self.job.total_bytes_billed

    def batches(self) -> Iterator:
        try:
            yield from self.rows.to_arrow_iterable()
        except self.errors as exc:
            raise BigQueryError(f"reading the BigQuery result failed: {_one_line(exc)}") from None


def connect(project: str | None) -> Runner:
    """A runner over google-cloud-bigquery, or BigQueryUnavailable (one line) without the library or
    credentials. The command line looks this up when it runs, so tests can put their own in its place."""
    try:
        from google.cloud import bigquery
    except ImportError:
        raise BigQueryUnavailable(INSTALL) from None
    try:
        from google.api_core import exceptions as api_exceptions
        from google.auth import exceptions as auth_exceptions

        errors = (api_exceptions.GoogleAPIError, auth_exceptions.GoogleAuthError)
    except ImportError:  # pragma: no cover - both come with google-cloud-bigquery
        errors = ()
    try:
        client = bigquery.Client(project=project)
    except Exception as exc:  # DefaultCredentialsError, or no project could be determined
        raise BigQueryUnavailable(f"{AUTH} ({_one_line(exc)})") from None
    return GoogleRunner(client, bigquery, errors=errors)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
