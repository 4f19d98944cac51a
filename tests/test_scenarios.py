"""Scenarios: signposts in the claims' condition language over the latest months, on the hand-made
store B of test_claims (its events and the expected numbers are described there)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest

from dyadwatch.judgements import scenarios
from dyadwatch.judgements.conditions import CONTACT_MEASURES, ConditionError
from dyadwatch.measures import api
from dyadwatch.knowledge.taxonomy import load_taxonomy

from test_claims import PAPER, build_indicators_store
from test_cli import run

D = dt.date

SCENARIOS = """\
version: 1
source: test
scenarios:
  - id: erosion
    title: Erosion
    quote: a quote
    signposts:
      - id: coop-down
        text: Net cooperation over the last 6 months below the 6 before
        kind: compare
        measure: net_cooperation
        first: {last: 6}
        op: "<"
        second: {last: 6, skip: 6}
      - id: syria-friction-up
        text: Syria friction over the last 3 months above the 3 before
        kind: compare
        measure: events
        track: friction
        theatre: syria
        first: {last: 3}
        op: ">"
        second: {last: 3, skip: 3}
      - id: fewer-contacts
        text: Leader contacts over the last 12 months below the 12 before
        kind: compare
        measure: contacts
        first: {last: 12}
        op: "<"
        second: {last: 12, skip: 12}
  - id: new-low
    title: A new low
    quote: another quote
    rules: {evidence: 1}
    signposts:
      - id: record-low
        text: Net cooperation at its lowest
        kind: record
        measure: net_cooperation
        months: 6
        extreme: low
      - id: conflictual
        text: More conflict than cooperation over the last 6 months
        kind: level
        measure: net_cooperation
        window: {last: 6}
        op: "<"
        value: 0
"""


@pytest.fixture(scope="module")
def store_b(tmp_path_factory):
    return build_indicators_store(tmp_path_factory.mktemp("scenarios"))


@pytest.fixture
def scenario_file(tmp_path) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIOS)
    return path


def test_signposts_over_the_latest_months(store_b, scenario_file):
    store, ids = store_b
    results = scenarios.evaluate(store, scenarios.load_scenarios(scenario_file), end=D(2022, 8, 31))
    got = {r.signpost_id: r for r in results}
    assert [(r.scenario_id, r.signpost_id, r.status) for r in results] == [
        ("erosion", "coop-down", "lit"),
        ("erosion", "syria-friction-up", "not lit"),
        ("erosion", "fewer-contacts", "not enough data"),
        ("new-low", "record-low", "lit"),
        ("new-low", "conflictual", "lit"),
    ]
    # --to 2022-08-31: the last 6 months are 2022-03..08 (-0.5 over 24 events); the 6 before are
    # 2021-09..2022-02: 10 cooperation and 5 conflict events, (10 - 5) / 15 = 1/3
    n = got["coop-down"].numbers
    assert (n["first_window"], n["first_value"], n["first_units"]) == ("2022-03..2022-08", -0.5, 24)
    assert (n["second_window"], n["second_units"]) == ("2021-09..2022-02", 15)
    assert n["second_value"] == pytest.approx(1 / 3)
    # 9 Syria friction events in 2022-06..08 and 9 in 2022-03..05: 3 a month each
    n = got["syria-friction-up"].numbers
    assert (n["first_value"], n["second_value"]) == (3.0, 3.0)
    assert "no clear difference" in got["syria-friction-up"].detail
    assert got["fewer-contacts"].detail == "not enough data: 0 leader contacts in the two windows (needs 10)"
    # evidence of the first window: the most-reported events of 2022-06..08 in Syria
    assert [e["event_id"] for e in got["syria-friction-up"].evidence[:2]] == [ids[D(2022, 8, 10)], ids[D(2022, 7, 11)]]
    # the scenario's rules: one evidence event per window
    assert [e["window"] for e in got["record-low"].evidence] == ["latest", "previous_extreme"]
    assert got["conflictual"].numbers["value"] == -0.5
    assert got["coop-down"].scenario_title == "Erosion" and got["coop-down"].quote == "a quote"


def test_latest_month_is_the_last_with_data(store_b, scenario_file):
    # without --to the latest month is 2022-12 (fillers run to the end of 2022): the last 6 months
    # (2022-07..12) hold 8 events, fewer than a ratio needs
    results = scenarios.evaluate(store_b[0], scenarios.load_scenarios(scenario_file))
    coop = results[0]
    assert coop.status == "not enough data"
    assert coop.numbers["first_window"] == "2022-07..2022-12"
    assert coop.detail == "not enough data: 8 events in 2022-07..2022-12 (needs 10 in each window)"


def test_summary_and_table(store_b, scenario_file):
    results = scenarios.evaluate(store_b[0], scenarios.load_scenarios(scenario_file), end="2022-08-31")
    assert scenarios.summary(results) == [
        {"scenario_id": "erosion", "scenario_title": "Erosion", "signposts": 3, "lit": 1, "not lit": 1,
         "not enough data": 1},
        {"scenario_id": "new-low", "scenario_title": "A new low", "signposts": 2, "lit": 2, "not lit": 0,
         "not enough data": 0},
    ]
    t = scenarios.signposts_table(results)
    assert t.schema == scenarios.SIGNPOSTS_SCHEMA and t.num_rows == 5
    row = t.to_pylist()[0]
    assert row["status"] == "lit" and json.loads(row["numbers"])["first_value"] == -0.5
    assert len(row["evidence_event_ids"]) == len(row["evidence_dates"]) == len(row["evidence_urls"]) == 6


@pytest.mark.parametrize("edit, message", [
    (("theatre: syria", "theatre: syrai"),
     r"s\.yaml: scenarios\[1\] \(erosion\)\.signposts\[2\] \(syria-friction-up\): unknown theatre 'syrai'"),
    (("first: {last: 6}", "first: {last: 0}"),
     r"scenarios\[1\] \(erosion\)\.signposts\[1\] \(coop-down\): first\.last must be a whole number"),
    (("extreme: low", "extreme: lowest"),
     r"scenarios\[2\] \(new-low\)\.signposts\[1\] \(record-low\): extreme must be low or high"),
    (("title: A new low", "titel: A new low"), r"scenarios\[2\] \(new-low\): unknown key 'titel'"),
    (("      - id: conflictual", "      - id: record-low"),
     r"scenarios\[2\] \(new-low\)\.signposts\[2\] \(record-low\): id used twice"),
    (("rules: {evidence: 1}", "rules: {evidense: 1}"), r"scenarios\[2\] \(new-low\): unknown rule 'evidense'"),
])
def test_errors_name_the_file_scenario_and_signpost(tmp_path, edit, message):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIOS.replace(*edit, 1))
    with pytest.raises(ConditionError, match=message) as info:
        scenarios.load_scenarios(path)
    assert "\n" not in str(info.value)


def test_seed_scenarios_parse_and_map_to_measures(store_b):
    items = scenarios.load_scenarios()
    assert scenarios.default_scenarios_path().name == "seed-paper.yaml"
    assert {s.id for s in items} >= {"erosion-if-ceasefire-fails", "new-low-if-syrian-bases-lost", "turkey-as-mediator"}
    paper = " ".join(PAPER.read_text(encoding="utf-8").split())
    tax = load_taxonomy()
    columns = set(api.indicators(store_b[0], "RUS-TUR", by="year").column_names)
    for s in items:
        assert s.quote in paper, s.id
        assert s.signposts
        for p in s.signposts:
            for sel in p.condition.selectors():
                assert sel.measure in columns or sel.measure in CONTACT_MEASURES, (s.id, p.id)
                assert sel.track == "all" or sel.track in {t.name for t in tax.tracks}, (s.id, p.id)
                assert sel.theatre == "all" or sel.theatre in {t.name for t in tax.theatres}, (s.id, p.id)
    results = scenarios.evaluate(store_b[0])
    assert len(results) == sum(len(s.signposts) for s in items)
    assert all(r.status in scenarios.STATUSES and "\n" not in r.detail for r in results)


def test_cli_scenarios(store_b, scenario_file, tmp_path):
    root = str(store_b[0].root)
    r = run("scenarios", str(scenario_file), "--store", root, "--to", "2022-08-31", "--format", "csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [(x["signpost_id"], x["status"]) for x in rows] == [
        ("coop-down", "lit"), ("syria-friction-up", "not lit"), ("fewer-contacts", "not enough data"),
        ("record-low", "lit"), ("conflictual", "lit")]
    r = run("scenarios", str(scenario_file), "--store", root, "--to", "2022-08-31", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["numbers"]["first_units"] == 24
    r = run("scenarios", "--store", root)
    assert r.returncode == 0, r.stderr and "signposts" in r.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENARIOS.replace("kind: level", "kind: levels"))
    r = run("scenarios", str(bad), "--store", root)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "(new-low).signposts[2] (conflictual): kind must be one of" in " ".join(r.stderr.split())
