"""Indicators, the unique-event rule, theatres and the partner comparison on a hand-made fixture whose
every expected value is worked out in the comments; then the real Karabakh sample."""

from __future__ import annotations

import datetime as dt
from math import isclose

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from dyadwatch.measures.compare import compare
from dyadwatch.measures.frame import LEADERS_SCHEMA, materialise_unique_events
from dyadwatch.measures.indicators import INDICATOR_SCHEMA, indicators
from dyadwatch.knowledge.schema import DAILY_TOTALS_SCHEMA, EVENT_SCHEMA
from dyadwatch.store import Store
from dyadwatch.knowledge.taxonomy import TaxonomyError, load_taxonomy, rule_sql

from conftest import KARABAKH

D = dt.date


def event(event_id, day, a1, a2, code, quad, goldstein, articles, tone, geo, *, a1type=None, a2type=None,
          a1name=None, a2name=None, place=None):
    return {
        "event_id": event_id, "source": "gdelt2", "event_date": day,
        "actor1_code": a1 + (a1type or ""), "actor1_country": a1, "actor1_type1": a1type, "actor1_name": a1name,
        "actor2_code": a2 + (a2type or ""), "actor2_country": a2, "actor2_type1": a2type, "actor2_name": a2name,
        "event_code": code, "event_base_code": code[:3], "event_root_code": code[:2], "quad_class": quad,
        "goldstein": goldstein, "num_articles": articles, "avg_tone": tone, "action_geo_country": geo,
        "action_geo_fullname": place, "source_url": f"https://news.example/{event_id}",
        "source_file": "fixture", "source_line": event_id,
    }


EVENTS = [
    # January 2021
    event(1, D(2021, 1, 5), "RUS", "TUR", "042", 1, 1.9, 4, -1.0, "TU"),
    event(2, D(2021, 1, 5), "RUS", "TUR", "042", 1, 1.9, 2, -3.0, "TU"),  # same event as 1: counted once
    event(3, D(2021, 1, 5), "TUR", "RUS", "061", 2, 6.4, 1, 2.0, "AJ", a1type="GOV", a2type="GOV"),
    event(4, D(2021, 1, 20), "RUS", "TUR", "190", 4, -10.0, 10, -8.0, "SY", a1type="MIL"),
    # February 2021
    event(5, D(2021, 2, 3), "RUS", "TUR", "041", 1, 1.0, 3, 0.5, "RS", a1type="GOV", a2type="GOV",
          a1name="VLADIMIR PUTIN", a2name="RECEP TAYYIP ERDOGAN"),
    event(6, D(2021, 2, 3), "RUS", "CHN", "042", 1, 1.9, 1, 0.0, "CH"),
    event(7, D(2021, 2, 10), "TUR", "RUS", "111", 3, -2.0, 5, -4.0, "UP", a1type="BUS"),
    event(8, D(2021, 2, 11), "RUS", "TUR", "042", 1, 1.9, 1, 1.0, None, a2type="MED"),
]
TOTALS = [(D(2021, 1, 5), 1000), (D(2021, 1, 20), 1000), (D(2021, 2, 3), 500), (D(2021, 2, 10), 500)]
LEADERS = [("RUS", "VLADIMIR PUTIN", D(2012, 5, 7), None), ("TUR", "RECEP TAYYIP ERDOGAN", D(2014, 8, 28), None)]


@pytest.fixture
def con():
    c = duckdb.connect()
    c.register("events", pa.Table.from_pylist(EVENTS, schema=EVENT_SCHEMA))
    c.register("daily_totals", pa.Table.from_pylist(
        [{"source": "gdelt2", "day": d, "events": n} for d, n in TOTALS], schema=DAILY_TOTALS_SCHEMA))
    c.register("leaders", pa.Table.from_pylist(
        [dict(zip(LEADERS_SCHEMA.names, row)) for row in LEADERS], schema=LEADERS_SCHEMA))
    yield c
    c.close()


def row(table, **where):
    mask = None
    for k, v in where.items():
        m = pc.equal(table[k], v)
        mask = m if mask is None else pc.and_(mask, m)
    rows = table.filter(mask).to_pylist()
    assert len(rows) == 1, (where, rows)
    return rows[0]


def test_unique_event_rule_counts_repeats_once(con):
    materialise_unique_events(con, load_taxonomy(), "RUS", ["TUR"])
    got = con.sql("SELECT event_id, records, articles, tone FROM unique_events ORDER BY event_id").fetchall()
    # 1 and 2 share source, day, actors, code and place: one event, 2 records, 4+2 articles, tone (-1-3)/2
    assert got == [(1, 2, 6, -2.0), (3, 1, 1, 2.0), (4, 1, 10, -8.0), (5, 1, 3, 0.5), (7, 1, 5, -4.0), (8, 1, 1, 1.0)]


def test_monthly_indicators_exact(con):
    t = indicators(con, "RUS", "TUR", by="month")
    assert t.schema == INDICATOR_SCHEMA
    # 2 months x (all + 5 tracks) x 3 directions
    assert t.num_rows == 2 * 6 * 3
    jan = row(t, period=D(2021, 1, 1), track="all", theatre="all", direction="both")
    # unique events {1,2}, 3, 4; records 4 of 2000 seen in January
    assert (jan["events"], jan["records"], jan["articles"], jan["all_events"]) == (3, 4, 17, 2000)
    assert jan["share_of_all"] == 4 / 2000
    assert (jan["quad1"], jan["quad2"], jan["quad3"], jan["quad4"]) == (1, 1, 0, 1)
    assert jan["quad1_share"] == 1 / 3 and jan["quad3_share"] == 0
    assert isclose(jan["goldstein_sum"], 1.9 + 6.4 - 10.0) and isclose(jan["goldstein_mean"], (1.9 + 6.4 - 10.0) / 3)
    assert jan["net_cooperation"] == (1 + 1 - 0 - 1) / 3
    assert isclose(jan["mean_tone"], (-2.0 + 2.0 - 8.0) / 3)
    out = row(t, period=D(2021, 1, 1), track="all", theatre="all", direction="RUS>TUR")
    back = row(t, period=D(2021, 1, 1), track="all", theatre="all", direction="TUR>RUS")
    assert (out["events"], out["records"], back["events"], back["records"]) == (2, 3, 1, 1)
    feb = row(t, period=D(2021, 2, 1), track="all", theatre="all", direction="both")
    assert (feb["events"], feb["records"], feb["all_events"], feb["share_of_all"]) == (3, 3, 1000, 3 / 1000)
    assert feb["net_cooperation"] == (2 - 1) / 3


def test_tracks_follow_the_taxonomy(con):
    t = indicators(con, "RUS", "TUR", by="month")
    both = t.filter(pc.equal(t["direction"], "both"))
    counts = {(r["period"].month, r["track"]): r["events"] for r in both.to_pylist()}
    # Jan: 1 bare-country verbal cooperation (diplomacy); 3 is 061 (economy); 4 MIL + material conflict
    # Feb: 5 GOV-GOV call between leaders (diplomacy, leaders); 7 BUS criticism (economy, friction);
    #      8 involves a media actor, so it is not diplomacy
    assert counts == {
        (1, "all"): 3, (1, "diplomacy"): 1, (1, "economy_energy"): 1, (1, "security_arms"): 1, (1, "friction"): 1,
        (1, "leaders"): 0,
        (2, "all"): 3, (2, "diplomacy"): 1, (2, "economy_energy"): 1, (2, "security_arms"): 0, (2, "friction"): 1,
        (2, "leaders"): 1,
    }


def test_theatres_by_action_location(con):
    t = indicators(con, "RUS", "TUR", by="year", tracks="all", theatres="each")
    both = {r["theatre"]: r["events"] for r in t.filter(pc.equal(t["direction"], "both")).to_pylist()}
    # TU and RS are home; AJ South Caucasus; SY Syria; UP Ukraine; event 8 has no location
    assert both == {"home": 2, "ukraine_black_sea": 1, "syria": 1, "south_caucasus": 1, "central_asia": 0,
                    "libya": 0, "africa": 0}


def test_periods_and_filters(con):
    q = indicators(con, "RUS", "TUR", by="quarter", tracks="all")
    assert [(r["period"], r["direction"], r["events"]) for r in q.to_pylist()] == [
        (D(2021, 1, 1), "RUS>TUR", 4), (D(2021, 1, 1), "TUR>RUS", 2), (D(2021, 1, 1), "both", 6)]
    feb = indicators(con, "RUS", "TUR", by="month", tracks="diplomacy", start=D(2021, 2, 1), end=D(2021, 2, 28))
    assert [(r["period"], r["direction"], r["events"]) for r in feb.to_pylist()] == [
        (D(2021, 2, 1), "RUS>TUR", 1), (D(2021, 2, 1), "TUR>RUS", 0), (D(2021, 2, 1), "both", 1)]
    with pytest.raises(ValueError, match="unknown track 'energy'"):
        indicators(con, "RUS", "TUR", tracks="energy")
    with pytest.raises(ValueError, match="--by must be one of month, quarter, year"):
        indicators(con, "RUS", "TUR", by="week")


def test_leader_out_of_office_is_not_leader_level(con):
    con.register("leaders", pa.Table.from_pylist(
        [{"country": "RUS", "spelling": "VLADIMIR PUTIN", "term_start": D(2012, 5, 7), "term_end": D(2020, 12, 31)},
         {"country": "TUR", "spelling": "RECEP TAYYIP ERDOGAN", "term_start": D(2014, 8, 28), "term_end": None}],
        schema=LEADERS_SCHEMA))
    t = indicators(con, "RUS", "TUR", tracks="leaders")
    assert sum(r["events"] for r in t.to_pylist() if r["direction"] == "both") == 0


def test_partner_comparison_profiles_and_ranks(con):
    t = compare(con, "RUS", ["TUR", "CHN", "IND"], contacts={"TUR": 1, "CHN": 0, "IND": 0})
    tur, chn, ind = (row(t, partner=p) for p in ("TUR", "CHN", "IND"))
    # TUR: 6 unique events from 7 records; quads 1,1,1 | 2 | 3 | 4 -> (4 - 2) / 6
    assert (tur["events"], tur["records"], tur["share_of_all"]) == (6, 7, 7 / 3000)
    assert tur["net_cooperation"] == 2 / 6
    assert (tur["diplomacy_share"], tur["economy_energy_share"], tur["security_arms_share"],
            tur["friction_share"], tur["leaders_share"]) == (2 / 6, 2 / 6, 1 / 6, 2 / 6, 1 / 6)
    assert (chn["events"], chn["share_of_all"], chn["net_cooperation"]) == (1, 1 / 3000, 1.0)
    assert (ind["events"], ind["share_of_all"], ind["net_cooperation"]) == (0, 0.0, None)
    # one contact in two months of data -> 6 a year
    assert (tur["leader_contacts"], tur["leader_contacts_per_year"]) == (1, 6.0)
    assert [r["rank_share_of_all"] for r in (tur, chn, ind)] == [1, 2, 3]
    assert [r["rank_net_cooperation"] for r in (tur, chn, ind)] == [2, 1, None]
    assert [r["rank_leader_contacts_per_year"] for r in (tur, chn, ind)] == [1, 2, 2]  # ties share a rank
    assert tur["trend"] is None  # two months are too few for a trend
    with pytest.raises(ValueError, match="own partner"):
        compare(con, "RUS", ["RUS"])


def test_trend_is_relative_change_of_monthly_share_per_year(con):
    # shares 1/1000, 2/1000, 3/1000 in three months: slope 1/1000 a month, mean 2/1000 -> 12 * 0.5 = 6 a year
    rows = [event(100 + i, D(2022, m, 1 + i), "RUS", "IND", "042", 1, 1.9, 1, 0.0, "IN")
            for m, n in ((1, 1), (2, 2), (3, 3)) for i in range(n)]
    con.register("events", pa.Table.from_pylist(rows, schema=EVENT_SCHEMA))
    con.register("daily_totals", pa.Table.from_pylist(
        [{"source": "gdelt2", "day": D(2022, m, 1), "events": 1000} for m in (1, 2, 3)], schema=DAILY_TOTALS_SCHEMA))
    t = compare(con, "RUS", ["IND"])
    assert isclose(t["trend"][0].as_py(), 6.0)


def test_taxonomy_errors_name_file_and_entry(tmp_path):
    bad = tmp_path / "t.yaml"
    bad.write_text("version: 1\nunique_event_key: [source, event_date, event_code]\n"
                   "tracks:\n  econ:\n    rule:\n      - event_code: [61]\n"
                   "theatres:\n  x:\n    rule:\n      - place_country: [SY]\n")
    with pytest.raises(TaxonomyError, match=r"t\.yaml: tracks\.econ\.rule\[1\]: event_code has invalid value\(s\) \[61\] "
                                            r"\(write codes in quotes to keep leading zeros\)"):
        load_taxonomy(bad)
    bad.write_text("version: 1\nunique_event_key: [source, event_date, event_code]\n"
                   "tracks:\n  econ:\n    rule:\n      - evnt_code: ['061']\ntheatres: {}\n")
    with pytest.raises(TaxonomyError, match=r"tracks\.econ\.rule\[1\]: unknown condition 'evnt_code'"):
        load_taxonomy(bad)
    bad.write_text("version: 1\nunique_event_key: [source, event_date]\ntracks: {}\n")
    with pytest.raises(TaxonomyError, match="unique_event_key must include event_code"):
        load_taxonomy(bad)
    bad.write_text("version: [\n")
    with pytest.raises(TaxonomyError, match=r"t\.yaml line \d+: not valid YAML"):
        load_taxonomy(bad)
    with pytest.raises(TaxonomyError, match="cannot read"):
        load_taxonomy(tmp_path / "none.yaml")


def test_rules_compile_to_plain_sql():
    tax = load_taxonomy()
    assert rule_sql(tax.track("friction")) == "((coalesce(quad_class IN (3, 4), FALSE)))"
    assert "NOT" in rule_sql(tax.theatre("africa")) and "'LY'" in rule_sql(tax.theatre("africa"))


@pytest.fixture(scope="module")
def karabakh(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("kb") / "store")
    store.ingest([str(KARABAKH)])
    return store


def test_real_sample_tracks_and_theatres(karabakh):
    from dyadwatch.measures import api

    t = api.indicators(karabakh, "RUS-TUR", by="month", tracks="all", theatres="all,each")
    both = {r["theatre"]: r["events"] for r in t.to_pylist() if r["direction"] == "both"}
    assert both["all"] == 40  # 57 RUS-TUR rows are 40 unique events
    regional = {k: v for k, v in both.items() if k not in ("all", "home")}
    assert max(regional, key=regional.get) == "south_caucasus" and regional["south_caucasus"] == 7
    with api.connect(karabakh) as con:
        materialise_unique_events(con, load_taxonomy(), "RUS", ["TUR"])
        flags = {r[0]: r[1:] for r in con.sql(
            'SELECT event_id, "track:diplomacy", "track:security_arms", "track:friction", "theatre:south_caucasus" '
            "FROM unique_events").fetchall()}
    # Russia visits Turkey's counterparts in Armenia (042): diplomacy in the South Caucasus
    assert flags[954682912] == (True, False, False, True)
    # Turkey and Russia: peacekeeping / monitoring in Azerbaijan (074): security, South Caucasus
    assert flags[954713408] == (False, True, False, True)
    # Russia accuses Turkey over Lachin (112): friction, South Caucasus
    assert flags[954682915] == (False, False, True, True)
    # use of force reported from Ankara (193): security and friction, not regional
    assert flags[954682918] == (False, True, True, False)
