"""indicators, contacts, compare and shifts run as a user runs them, on the real Karabakh sample."""

from __future__ import annotations

import csv
import io
import json

import pytest

from conftest import KARABAKH
from test_cli import run


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli-measures") / "store"
    r = run("ingest", str(KARABAKH), "--store", str(path))
    assert r.returncode == 0, r.stderr
    return str(path)


def rows(r) -> list[dict]:
    assert r.returncode == 0, r.stderr
    return list(csv.DictReader(io.StringIO(r.stdout)))


def test_indicators_csv_by_theatre(store):
    out = rows(run("indicators", "--store", store, "--dyad", "TUR-RUS", "--track", "all", "--theatre", "all,each",
                   "--format", "csv"))
    both = {r["theatre"]: r for r in out if r["direction"] == "both"}
    assert both["all"]["events"] == "40" and both["all"]["records"] == "57" and both["all"]["all_events"] == "9354"
    assert both["south_caucasus"]["events"] == "7"
    assert {r["period"] for r in out} == {"2020-11-01"} and {r["dyad"] for r in out} == {"TUR-RUS"}  # as the user wrote it
    # the directed rows add up to the combined one
    assert int(both["all"]["events"]) == sum(int(r["events"]) for r in out
                                             if r["theatre"] == "all" and r["direction"] != "both")


def test_indicators_json_by_year_one_track(store):
    r = run("indicators", "--store", store, "--by", "year", "--track", "friction", "--format", "json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert {g["track"] for g in got} == {"friction"} and {g["period"] for g in got} == {"2020-01-01"}
    assert all(g["quad3"] + g["quad4"] == g["events"] for g in got)  # friction is quad classes 3 and 4


def test_compare_ranks_partners(store):
    out = rows(run("compare", "RUS", "--store", store, "--partners", "TUR,CHN,IND,IRN,PRK", "--format", "csv"))
    assert [r["partner"] for r in out] == ["TUR", "CHN", "IND", "IRN", "PRK"]
    assert {r["partner"]: r["events"] for r in out} == {"TUR": "40", "CHN": "24", "IND": "4", "IRN": "7", "PRK": "3"}
    assert {r["partner"]: r["rank_share_of_all"] for r in out} == {"TUR": "1", "CHN": "2", "IRN": "3", "IND": "4",
                                                                   "PRK": "5"}


def test_contacts_table_and_per_year(store):
    r = run("contacts", "--store", store, "--dyad", "RUS-TUR")
    assert r.returncode == 0, r.stderr
    assert "contact rows" in r.stdout
    r = run("contacts", "--store", store, "--dyad", "RUS-TUR", "--per-year", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert isinstance(json.loads(r.stdout), list)


def test_shifts_on_an_analysts_series(tmp_path):
    series = tmp_path / "calls.csv"
    series.write_text("month,calls,note\n" + "".join(
        f"2020-{m:02d},{v},x\n" for m, v in zip(range(1, 13), [1, 1, 2, 1, 1, 2, 9, 10, 9, 11, 10, 9])))
    out = rows(run("shifts", "--series", str(series), "--column", "calls", "--format", "csv"))
    assert [(r["period"], r["indicator"], r["method"], r["direction"]) for r in out] == [
        ("2020-07-01", "calls", "changepoint", "up"), ("2020-07-01", "calls", "zscore", "up")]
    change = out[0]
    assert float(change["before"]) == pytest.approx(8 / 6) and float(change["after"]) == pytest.approx(58 / 6)


def test_shifts_on_a_dyad_carry_evidence(store):
    r = run("shifts", "--store", store, "--dyad", "RUS-TUR", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []  # one month of data: nothing to compare it with


@pytest.mark.parametrize("args, message", [
    (["indicators", "--dyad", "RUS-XXX"], "XXX"),
    (["indicators", "--by", "week"], "--by must be one of month, quarter, year"),
    (["indicators", "--format", "xml"], "--format 'xml'"),
    (["compare", "RUS", "--partners", ","], "--partners needs at least one country code"),
    (["shifts"], "give either --dyad RUS-TUR or --series FILE.csv"),
    (["shifts", "--dyad", "RUS-TUR", "--indicator", "vibes"], "unknown indicator 'vibes'"),
])
def test_user_errors_are_one_line(store, args, message):
    r = run(*args, "--store", store)
    assert r.returncode != 0
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_bad_series_row_is_named(tmp_path):
    series = tmp_path / "s.csv"
    series.write_text("month,x\n2020-01,1\n2020-02,lots\n")
    r = run("shifts", "--series", str(series))
    assert r.returncode == 1
    assert f"{series} row 3: 'lots' in column 'x' is not a number" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_store_is_one_line(tmp_path):
    r = run("indicators", "--store", str(tmp_path / "nothing"))
    assert r.returncode == 1 and "no dyadwatch store here" in r.stderr and "Traceback" not in r.stderr
