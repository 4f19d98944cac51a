"""`dyadwatch fetch bigquery` (acquire.bigquery, cli.bigquery): the SQL it builds, the one-line message
without the client library or credentials, `--print-sql`, and, with a runner put in the client's
place (no network here), the budget, the dry run and the Arrow-to-store path over real GDELT rows."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp
from typer.testing import CliRunner

import bq_exports as bx
from conftest import KARABAKH
from dyadwatch.acquire import bigquery as bq
from dyadwatch.cli.app import app
from dyadwatch.knowledge.schema import GDELT_QUERY_COLUMNS
from dyadwatch.store import Store
from test_cli import run

D = dt.date
ZIPS = sorted(KARABAKH.glob("*.export.CSV.zip"))


def _parse(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="bigquery")


def test_events_query_is_pruned_by_partition_and_columns_with_bound_countries():
    q = bq.events_query(2, D(2015, 1, 1), D(2025, 12, 31), ["TUR", "RUS", "TUR"])
    tree = _parse(q.sql)
    assert [c.name for c in tree.expressions] == list(GDELT_QUERY_COLUMNS)  # only what the schema takes
    assert "*" not in q.sql
    (table,) = list(tree.find_all(exp.Table))
    assert (table.catalog, table.db, table.name) == ("gdelt-bq", "gdeltv2", "events_partitioned")
    where = tree.find(exp.Where).sql(dialect="bigquery")
    assert "_PARTITIONTIME >= @partition_from AND _PARTITIONTIME < @partition_to" in where
    assert "DATEADDED BETWEEN @added_from AND @added_to" in where
    assert "IN UNNEST(@countries)" in where
    # the values are parameters, never in the text
    for text in ("RUS", "TUR", "2015", "2025", "2014"):
        assert text not in q.sql
    assert {p.name: (p.type, p.value) for p in q.params} == {
        "partition_from": ("TIMESTAMP", "2014-12-31 00:00:00"),  # a day early, and two days late:
        "partition_to": ("TIMESTAMP", "2026-01-02 00:00:00"),  # a late batch is loaded after midnight
        "added_from": ("INT64", 20150101000000),
        "added_to": ("INT64", 20251231235959),
        "countries": ("ARRAY<STRING>", ("RUS", "TUR")),
    }


def test_totals_query_counts_all_events_of_the_same_range():
    q = bq.totals_query(2, D(2020, 11, 13), D(2020, 11, 15))
    tree = _parse(q.sql)
    assert [e.alias_or_name for e in tree.expressions] == ["source", "day", "events"]
    assert "countries" not in q.sql and "UNNEST" not in q.sql  # before any country filter
    assert "_PARTITIONTIME >= @partition_from" in q.sql and tree.find(exp.Group) is not None
    assert [p.name for p in q.params] == ["partition_from", "partition_to", "added_from", "added_to"]


def test_gdelt1_queries_read_the_unpartitioned_table_by_8_digit_dateadded():
    q = bq.events_query(1, D(2013, 3, 1), D(2013, 3, 31), ["GEO"])
    assert "`gdelt-bq.full.events`" in q.sql and "_PARTITIONTIME" not in q.sql
    assert {p.name: p.value for p in q.params} == {"added_from": 20130301, "added_to": 20130331, "countries": ("GEO",)}
    assert "'gdelt1' AS source" in bq.totals_query(1, D(2013, 3, 1), D(2013, 3, 31)).sql


def test_day_runs_leave_out_days_already_fetched():
    covered = [(D(2020, 1, 5), D(2020, 1, 10)), (D(2019, 12, 1), D(2020, 1, 2))]
    assert bq.day_runs(D(2020, 1, 1), D(2020, 1, 20), covered) == [(D(2020, 1, 3), D(2020, 1, 4)),
                                                                   (D(2020, 1, 11), D(2020, 1, 20))]
    assert bq.day_runs(D(2020, 1, 5), D(2020, 1, 6), covered) == []


def test_print_sql_prints_runnable_sql_without_a_client():
    r = run("fetch", "bigquery", "--from", "2015-01-01", "--to", "2025-12-31", "--countries", "RUS,TUR", "--print-sql")
    assert r.returncode == 0, r.stderr
    statements = [s for s in sqlglot.parse(r.stdout, read="bigquery") if s is not None]
    assert len(statements) == 2
    events, totals = statements
    assert [c.name for c in events.expressions] == list(GDELT_QUERY_COLUMNS)
    assert [e.alias_or_name for e in totals.expressions] == ["source", "day", "events"]
    # the parameters go as bq's flags, the countries among them
    assert "--parameter='countries:ARRAY<STRING>:[\"RUS\",\"TUR\"]'" in r.stdout
    assert "--parameter='added_from:INT64:20150101000000'" in r.stdout
    sql_lines = [l for l in r.stdout.splitlines() if not l.startswith("--")]
    assert not any("RUS" in l for l in sql_lines)


def test_without_the_extra_fetch_bigquery_exits_1_with_one_line(tmp_path):
    r = run("fetch", "bigquery", "--from", "2020-11-13", "--to", "2020-11-15", "--countries", "RUS,TUR",
            "--store", str(tmp_path / "s"))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "pip install 'dyadwatch[bigquery]'" in lines[0] and "gcloud auth application-default login" in lines[0]
    assert "--print-sql" in lines[0]


def test_without_credentials_fetch_bigquery_exits_1_with_one_line(tmp_path):
    """The library is there (a stand-in whose Client fails as google-cloud-bigquery's does without
    credentials), the credentials are not."""
    lib = tmp_path / "lib"
    for pkg, body in {
        "google/cloud/bigquery/__init__.py": "from google.auth.exceptions import DefaultCredentialsError\n"
        "class Client:\n    def __init__(self, project=None):\n"
        "        raise DefaultCredentialsError('Your default credentials were not found.')\n",
        "google/auth/exceptions.py": "class GoogleAuthError(Exception): pass\n"
        "class DefaultCredentialsError(GoogleAuthError): pass\n",
        "google/auth/__init__.py": "",
        "google/api_core/__init__.py": "",
        "google/api_core/exceptions.py": "class GoogleAPIError(Exception): pass\n",
    }.items():
        (lib / pkg).parent.mkdir(parents=True, exist_ok=True)
        (lib / pkg).write_text(body)
    r = run("fetch", "bigquery", "--from", "2020-11-13", "--to", "2020-11-15", "--countries", "RUS,TUR",
            "--store", str(tmp_path / "s"), env={"PYTHONPATH": f"{lib}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"})
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Google credentials" in lines[0] and "default credentials were not found" in lines[0]


# -- a runner in the client's place -----------------------------------------------------------------


class FakeJob:
    def __init__(self, n: int, table: pa.Table, bytes_: int):
        self.job_id, self.bytes_processed, self.bytes_billed = f"job_{n}", bytes_, bytes_
        self._table = table

    def batches(self):
        return iter(self._table.to_batches(max_chunksize=300))  # a result comes in pages


class FakeRunner:
    """Answers each query from the real rows by its parameters, as BigQuery would; its results are
    Arrow tables typed like google-cloud-bigquery's (INT64 -> int64, FLOAT64 -> double, STRING)."""

    BYTES = {"events": 40 * 10**9, "totals": 3 * 10**9}

    def __init__(self, rows):
        self.rows = rows
        self.estimated, self.ran = [], []

    def estimate(self, q):
        self.estimated.append(q)
        return self.BYTES[q.kind]

    def run(self, q, max_bytes_billed):
        self.ran.append((q, max_bytes_billed))
        p = {x.name: x.value for x in q.params}
        rows = [r for r in self.rows if p["added_from"] <= r["DATEADDED"] <= p["added_to"]]
        if q.kind == "events":
            table = bx.arrow_table(bx.of_countries(rows, set(p["countries"])), list(GDELT_QUERY_COLUMNS))
        else:
            table = bx.arrow_table(bx.totals_rows(rows), ["source", "day", "events"])
        return FakeJob(len(self.ran), table, self.BYTES[q.kind])


@pytest.fixture(scope="module")
def rows():
    return bx.gdelt_rows(ZIPS)


@pytest.fixture
def fake(monkeypatch, rows):
    runner = FakeRunner(rows)
    monkeypatch.setattr(bq, "connect", lambda project: runner)
    return runner


def invoke(*args):
    return CliRunner().invoke(app, ["fetch", "bigquery", *args], catch_exceptions=False)


def _added_days(rows):
    return sorted({r["DATEADDED"] // 1000000 for r in rows})


def test_dry_run_shows_the_bytes_and_runs_nothing(fake, tmp_path):
    r = invoke("--from", "2020-11-13", "--to", "2020-11-15", "--countries", "RUS,TUR", "--store", str(tmp_path / "s"),
               "--dry-run")
    assert r.exit_code == 0, r.output
    assert "events query, GDELT 2.0, added 2020-11-13 .. 2020-11-15: 40.00 GB to scan" in r.output
    assert "totals query, GDELT 2.0, added 2020-11-13 .. 2020-11-15: 3.00 GB to scan" in r.output
    assert "in all: 43.00 GB to scan (budget 100 GB" in r.output
    assert [q.kind for q in fake.estimated] == ["events", "totals"] and fake.ran == []
    assert not (tmp_path / "s" / "downloads").exists()


def test_over_the_budget_it_asks_and_without_a_terminal_stops(fake, tmp_path):
    r = invoke("--from", "2020-11-13", "--to", "2020-11-15", "--countries", "RUS,TUR", "--store", str(tmp_path / "s"),
               "--budget-gb", "42.5")
    assert r.exit_code == 1
    assert "the queries would scan 43.00 GB, over the budget of 42.5 GB: rerun with --yes" in r.output
    assert fake.ran == []


def test_fetch_streams_results_into_the_store_like_a_file_ingest(fake, rows, tmp_path):
    files = Store(tmp_path / "files")
    files.ingest(ZIPS, countries=frozenset({"RUS", "TUR"}))
    assert _added_days(rows) == [20201113, 20201114, 20201115]
    store = tmp_path / "s"
    r = invoke("--from", "2020-11-13", "--to", "2020-11-15", "--countries", "RUS,TUR", "--store", str(store),
               "--budget-gb", "42.5", "--yes")
    assert r.exit_code == 0, r.output
    assert [q.kind for q, _ in fake.ran] == ["events", "totals"]
    assert fake.ran[0][1] == int(40e9 * 1.1) + (20 << 20)  # maximum bytes billed: the estimate and a margin
    assert "ingested 2 file(s)" in r.output and "1,025 new events stored" in r.output
    st = Store(store)
    keep = lambda t: t.drop_columns(["source_file", "source_line"]).sort_by("event_id")  # noqa: E731
    assert keep(st.events()).equals(keep(files.events()))
    assert st.daily_totals().equals(files.daily_totals())
    out = sorted(p.name for p in (store / "downloads" / "bigquery").iterdir())
    assert out == ["gdelt2.20201113-20201115.events.RUS-TUR.parquet", "gdelt2.20201113-20201115.totals.parquet"]
    jobs = st.bigquery_jobs().to_pylist()
    assert [(j["kind"], j["job_id"], j["bytes_billed"], j["countries"], j["rows"]) for j in jobs] == [
        ("events", "job_1", 40 * 10**9, "RUS,TUR", 1025),
        ("totals", "job_2", 3 * 10**9, None, len({r["SQLDATE"] for r in rows})),
    ]
    manifest = {m["md5"]: m["name"] for m in st.manifest().to_pylist()}
    for j in jobs:
        assert manifest[j["md5"]] == Path(j["path"]).name
        assert hashlib.md5(Path(j["path"]).read_bytes()).hexdigest() == j["md5"]
        assert j["sql"] == fake.ran[0 if j["kind"] == "events" else 1][0].sql
        assert (j["added_from"], j["added_to"]) == (D(2020, 11, 13), D(2020, 11, 15))

    # again: every day is in the store, nothing is queried
    fake.ran.clear()
    r = invoke("--from", "2020-11-13", "--to", "2020-11-15", "--countries", "RUS,TUR", "--store", str(store))
    assert r.exit_code == 0 and "nothing to fetch" in r.output and fake.ran == [] and fake.estimated[2:] == []

    # a longer range: only the new days; another country: its events, but not the totals again
    r = invoke("--from", "2020-11-12", "--to", "2020-11-15", "--countries", "RUS,TUR", "--store", str(store), "--yes")
    assert r.exit_code == 0, r.output
    assert [(q.kind, q.start, q.end) for q, _ in fake.ran] == [("events", D(2020, 11, 12), D(2020, 11, 12)),
                                                                ("totals", D(2020, 11, 12), D(2020, 11, 12))]
    assert "0 rows" in r.output  # no row of these files was added on the 12th
    fake.ran.clear()
    r = invoke("--from", "2020-11-13", "--to", "2020-11-15", "--countries", "AZE", "--store", str(store), "--yes")
    assert r.exit_code == 0, r.output
    assert [q.kind for q, _ in fake.ran] == ["events"]
    assert st.daily_totals().equals(files.daily_totals())  # totals not counted twice


def test_fetch_bigquery_rejects_bad_arguments(fake, tmp_path):
    today = dt.datetime.now(dt.timezone.utc).date()
    for args, message in [
        (["--from", "2020-11-13", "--to", "2020-11-15"], "--countries is required"),
        (["--from", "2020-11-15", "--to", "2020-11-13", "--countries", "RUS"], "is before --from"),
        (["--from", "2020-11-13", "--to", str(today), "--countries", "RUS"], "still adding events"),
        (["--from", "2020-11-13", "--to", "2020-11-15", "--countries", "RUS", "--version", "3"], "--version must be 1 or 2"),
    ]:
        r = invoke(*args, "--store", str(tmp_path / "s"))
        assert r.exit_code == 1 and message in r.output, (args, r.output)
    assert fake.ran == []


def test_google_runner_binds_every_value_as_a_query_parameter():
    """The adapter over google-cloud-bigquery, on a stand-in of its classes: what it hands the client."""
    import types

    made = []
    module = types.SimpleNamespace(
        ScalarQueryParameter=lambda name, typ, value: ("scalar", name, typ, value),
        ArrayQueryParameter=lambda name, typ, values: ("array", name, typ, values),
        QueryJobConfig=lambda **kw: kw,
    )
    table = pa.table({"source": ["gdelt2"], "day": [20201113], "events": [3]})

    class Rows:
        def to_arrow_iterable(self):
            return iter(table.to_batches())

    class Job:
        job_id, total_bytes_processed, total_bytes_billed = "j1", 123, 10 << 20

        def result(self):
            return Rows()

    class Client:
        def query(self, sql, job_config):
            made.append((sql, job_config))
            return Job()

    runner = bq.GoogleRunner(Client(), module)
    q = bq.events_query(2, D(2020, 11, 13), D(2020, 11, 15), ["TUR", "RUS"])
    assert runner.estimate(q) == 123
    sql, config = made[0]
    assert sql == q.sql and config["dry_run"] is True and config["use_query_cache"] is False
    utc = dt.timezone.utc
    assert config["query_parameters"] == [
        ("scalar", "partition_from", "TIMESTAMP", dt.datetime(2020, 11, 12, tzinfo=utc)),
        ("scalar", "partition_to", "TIMESTAMP", dt.datetime(2020, 11, 17, tzinfo=utc)),
        ("scalar", "added_from", "INT64", 20201113000000),
        ("scalar", "added_to", "INT64", 20201115235959),
        ("array", "countries", "STRING", ["RUS", "TUR"]),
    ]
    job = runner.run(bq.totals_query(2, D(2020, 11, 13), D(2020, 11, 15)), max_bytes_billed=5 << 30)
    assert made[1][1]["maximum_bytes_billed"] == 5 << 30 and "dry_run" not in made[1][1]
    assert (job.job_id, job.bytes_processed, job.bytes_billed) == ("j1", 123, 10 << 20)
    assert pa.Table.from_batches(list(job.batches())).equals(table)


def test_fetch_writes_pages_of_another_type_into_one_file(tmp_path):
    """A page whose column is all NULL may come typed `null`: it is cast to the file's schema."""
    first = pa.table({"GLOBALEVENTID": [1, 2], "SOURCEURL": ["a", "b"]})
    second = pa.table({"GLOBALEVENTID": [3], "SOURCEURL": pa.nulls(1)})

    class Job:
        job_id, bytes_processed, bytes_billed = "j", 1, 1

        def batches(self):
            return iter([*first.to_batches(), *second.to_batches()])

    class Runner:
        def run(self, q, max_bytes_billed):
            return Job()

    q = bq.events_query(2, D(2020, 11, 13), D(2020, 11, 13), ["RUS"])
    f = bq.fetch(Runner(), q, tmp_path / "out.parquet", 1)
    import pyarrow.parquet as pq

    got = pq.read_table(f.path)
    assert got["SOURCEURL"].to_pylist() == ["a", "b", None] and got.schema.equals(first.schema)
    assert f.rows == 3 and not (tmp_path / "out.parquet.part").exists()
