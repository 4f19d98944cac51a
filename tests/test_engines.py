"""The engine interface without Spark: the DuckDB engine, the exact sums that make both engines agree
to the bit, the SQL that sqlglot translates for Spark, and the one-line errors when Spark cannot run."""

from __future__ import annotations

import datetime as dt
import itertools
import sys

import duckdb
import pyarrow as pa
import pytest
import sqlglot
from typer.testing import CliRunner

from dyadwatch.cli import app
from dyadwatch.engines import ENGINES, Engine, EngineError, as_engine, check_name, open_engine
from dyadwatch.engines.duckdb_engine import DuckDBEngine
from dyadwatch.measures import compare as cmp
from dyadwatch.measures.contacts import CONTACTS_SQL
from dyadwatch.measures.frame import exact_mean, exact_sum, unique_events_sql
from dyadwatch.measures.indicators import indicators_sql
from dyadwatch.store import Store
from dyadwatch.knowledge.taxonomy import load_taxonomy

from conftest import KARABAKH

D = dt.date


def test_duckdb_engine_runs_sql_with_parameters_and_relations():
    eng = DuckDBEngine(duckdb.connect())
    eng.register("t", pa.table({"x": [1, 2, 3], "d": [D(2020, 1, k) for k in (1, 2, 3)]}))
    assert eng.rows("SELECT sum(x) FROM t WHERE d >= ?", [D(2020, 1, 2)]) == [(5,)]
    eng.create_temp_table("big", "SELECT x * 10 AS y FROM t WHERE x > ?", [1])
    assert eng.sql("SELECT y FROM big ORDER BY y").column("y").to_pylist() == [20, 30]
    eng.create_temp_table("big", "SELECT 7 AS y")  # replaces
    assert eng.rows("SELECT * FROM big") == [(7,)]
    eng.unregister("t")
    with pytest.raises(duckdb.CatalogException):
        eng.sql("SELECT * FROM t")
    with pytest.raises(ValueError, match="not a relation name"):
        eng.create_temp_table("x; DROP TABLE big", "SELECT 1")
    eng.close()


def test_as_engine_wraps_a_connection_without_closing_it():
    con = duckdb.connect()
    eng = as_engine(con)
    assert isinstance(eng, Engine) and as_engine(eng) is eng
    with eng:
        eng.register("t", pa.table({"x": [1]}))
    assert con.execute("SELECT x FROM t").fetchall() == [(1,)]  # still open: the caller owns it
    assert check_name("spark") == "spark" and ENGINES == ("duckdb", "spark")
    with pytest.raises(EngineError, match="unknown engine 'polars': choose duckdb or spark"):
        check_name("polars")


def test_exact_sums_do_not_depend_on_the_order_of_rows():
    # 0.1 + 0.2 + 0.3 in floating point depends on the order; summed as integers of 1/1000 it does not
    con = duckdb.connect()
    values = [0.1, 0.2, 0.3, 1e-3, 2.5, -0.7]
    plain, exact, mean = set(), set(), set()
    for perm in itertools.permutations(values):
        con.register("t", pa.table({"x": list(perm), "k": list(range(len(perm)))}))
        # a one-thread sum in the order given: what a partition of an engine does
        plain.add(con.execute("SELECT list_reduce(list(x ORDER BY k), lambda a, b: a + b) FROM t").fetchall()[0][0])
        exact.add(con.execute(f"SELECT {exact_sum('x', 1000)} FROM t").fetchall()[0][0])
        mean.add(con.execute(f"SELECT {exact_mean('x', 1000)} FROM t").fetchall()[0][0])
    assert len(plain) > 1  # the plain sum differs with the order
    assert exact == {2.401} and mean == {2401 / 6 / 1000}  # the decimal answer, correctly rounded, always
    con.register("t", pa.table({"x": pa.array([None, None], pa.float64())}))
    assert con.execute(f"SELECT {exact_sum('x', 1000)}, {exact_mean('x', 1000)} FROM t").fetchall() == [(None, None)]


def test_trend_is_exact_least_squares():
    # shares 1/1000, 2/1000, 3/1000: slope 1/1000 a month over a mean of 2/1000 -> 6 a year, exactly
    assert cmp.trend([(24000, 1, 1000), (24001, 2, 1000), (24002, 3, 1000)]) == 6.0
    # the order of the months does not matter, and two months are too few
    assert cmp.trend([(24002, 3, 1000), (24000, 1, 1000), (24001, 2, 1000)]) == 6.0
    assert cmp.trend([(24000, 1, 1000), (24001, 2, 1000)]) is None
    assert cmp.trend([(24000, 0, 1000), (24001, 0, 900), (24002, 0, 800)]) is None  # no share to grow
    # a falling share: 3, 2, 1 over a mean of 2 -> -6 a year
    assert cmp.trend([(1, 3, 1000), (2, 2, 1000), (3, 1, 1000)]) == -6.0


def test_every_measure_query_translates_to_spark_sql():
    from dyadwatch.engines.spark_engine import to_spark

    tax = load_taxonomy()
    tracks = ["all", *(c.name for c in tax.tracks)]
    theatres = ["all", *(c.name for c in tax.theatres)]
    queries = [
        unique_events_sql(tax, "RUS", ["TUR", "CHN"], start=D(2020, 1, 1), end=D(2020, 12, 31), source="gdelt2"),
        indicators_sql(tax, "RUS", "TUR", "quarter", tracks, theatres, "gdelt2", D(2020, 1, 1), None),
        cmp.compare_sql(tax, None, D(2020, 1, 1), None),
        cmp.monthly_share_sql(None, None, D(2021, 1, 1)),
        (CONTACTS_SQL.format(leaders="l", kinds="k", events="events", filters="AND e.event_date >= ?"), [None] * 11),
    ]
    for sql, params in queries:
        spark_sql = to_spark(sql)
        sqlglot.parse_one(spark_sql, read="spark")  # valid Spark SQL
        # parameters stay parameters: as many markers as values, no value pasted into the text
        assert spark_sql.count("?") == sql.count("?") == len(params)
        assert '"track:' not in spark_sql  # DuckDB's quoted names become Spark's backquoted ones
    assert "`track:diplomacy`" in to_spark(queries[1][0])


def test_missing_pyspark_or_java_is_one_line(monkeypatch, tmp_path):
    from dyadwatch.engines import spark_engine

    store = Store(tmp_path / "store")
    store.ingest([KARABAKH / "20201113.export.CSV.zip"])
    runner = CliRunner()
    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if it were not installed
    with pytest.raises(EngineError, match=r"needs pyspark: pip install 'dyadwatch\[spark\]'"):
        spark_engine.require_spark()
    for args in (["indicators", "--store", str(store.root), "--engine", "spark"],
                 ["ingest", str(KARABAKH), "--store", str(store.root), "--engine", "spark"],
                 ["claims", "--store", str(store.root), "--engine", "spark"]):
        res = runner.invoke(app, args)
        assert res.exit_code == 1 and res.output.strip().splitlines() == [
            "error: --engine spark needs pyspark: pip install 'dyadwatch[spark]' (and Java 17 or later)"]
    monkeypatch.delitem(sys.modules, "pyspark")
    pytest.importorskip("pyspark")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    res = runner.invoke(app, ["compare", "RUS", "--store", str(store.root), "--engine", "spark"])
    assert res.exit_code == 1
    assert res.output.strip() == "error: --engine spark needs Java 17 or later: no `java` on PATH or in JAVA_HOME"
    # the store is untouched, and the default engine still answers
    monkeypatch.undo()
    assert runner.invoke(app, ["compare", "RUS", "--store", str(store.root)]).exit_code == 0


def test_open_engine_duckdb_over_a_store(tmp_path):
    store = Store(tmp_path / "store")
    store.ingest([KARABAKH / "20201113.export.CSV.zip"])
    with open_engine(store, "duckdb") as eng:
        assert eng.rows("SELECT count(*) FROM events") == [(2824,)]
        assert eng.rows("SELECT sum(events) FROM daily_totals") == [(2824,)]
        assert eng.rows("SELECT DISTINCT country FROM leaders WHERE spelling = ?", ["VLADIMIR PUTIN"]) == [("RUS",)]
