"""Leader contacts: the leaders file, the counting rules on hand-made events, and the real samples."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from dyadwatch.knowledge.codebook import CodeError
from dyadwatch.measures.contacts import (
    CONTACTS_SCHEMA,
    LEADERS_SCHEMA,
    PER_YEAR_SCHEMA,
    ROLES,
    TaxonomyError,
    contacts_per_year,
    default_leaders_path,
    leader_contacts,
    load_leaders,
)
from dyadwatch.knowledge.schema import EVENT_SCHEMA
from dyadwatch.store import Store

from conftest import ICEWS, KARABAKH

D = dt.date
TEN = dt.timedelta(days=10)
PUTIN, ERDOGAN = ("VLADIMIR PUTIN", "RUS"), ("RECEP TAYYIP ERDOGAN", "TUR")
LAVROV, CAVUSOGLU, FIDAN = ("SERGEY LAVROV", "RUS"), ("MEVLUT CAVUSOGLU", "TUR"), ("HAKAN FIDAN", "TUR")


# -- helpers ---------------------------------------------------------------------------------------


def ev(event_id, day, actor1, actor2, code, url=None, articles=1, source="gdelt2", place=None, sources=None):
    """One event row: actors are (name, country) pairs; place is a city-level action place (GDELT's
    geo type 4, world city); everything else is left null."""
    return {
        "action_geo_fullname": place, "action_geo_type": 4 if place else None, "num_sources": sources,
        "event_id": event_id, "source": source, "event_date": day,
        "actor1_name": actor1[0], "actor1_country": actor1[1],
        "actor2_name": actor2[0], "actor2_country": actor2[1],
        "event_code": code, "event_base_code": code[:3], "event_root_code": code[:2],
        "source_url": url, "num_articles": articles,
        "source_file": "hand-made", "source_line": event_id,
    }


def connect(*rows) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    table = pa.Table.from_pylist(list(rows), schema=EVENT_SCHEMA)
    con.register("_events_table", table)
    con.execute("CREATE VIEW events AS SELECT * FROM _events_table")
    return con


def contacts(*rows, a="RUS", b="TUR", **kw) -> list[dict]:
    return leader_contacts(connect(*rows), a, b, **kw).to_pylist()


def brief(table_rows) -> list[tuple]:
    return [(r["day"], r["kind"], r["event_ids"]) for r in table_rows]


# -- counting rules on hand-made events ------------------------------------------------------------


def test_two_calls_on_one_day_are_one_call_with_both_ids():
    rows = contacts(
        ev(1, D(2021, 3, 1), PUTIN, ERDOGAN, "041", "https://x.org/a", articles=3),
        ev(2, D(2021, 3, 1), ERDOGAN, PUTIN, "041", "https://x.org/b", articles=4),
    )
    assert rows == [{
        "day": D(2021, 3, 1), "year": 2021, "kind": "call",
        "leaders": "VLADIMIR PUTIN–RECEP TAYYIP ERDOGAN",
        "event_ids": [1, 2], "urls": ["https://x.org/a", "https://x.org/b"], "events": 2, "articles": 7,
        "sources": None, "reports": 2, "codes": ["041"], "days_reported": [D(2021, 3, 1)],
        "corroborated": True, "confidence": "corroborated",
    }]


def test_a_visit_and_a_call_on_one_day_are_two_contacts():
    rows = contacts(
        ev(1, D(2021, 9, 29), ERDOGAN, PUTIN, "042"),
        ev(2, D(2021, 9, 29), PUTIN, ERDOGAN, "041"),
        ev(3, D(2021, 9, 29), PUTIN, ERDOGAN, "043"),
    )
    assert brief(rows) == [(D(2021, 9, 29), "call", [2]), (D(2021, 9, 29), "visit", [1, 3])]


def test_kinds_by_code():
    rows = contacts(
        ev(1, D(2021, 1, 1), PUTIN, ERDOGAN, "040"),
        ev(2, D(2021, 1, 11), PUTIN, ERDOGAN, "044"),
        ev(3, D(2021, 1, 21), PUTIN, ERDOGAN, "043"),
        ev(4, D(2021, 1, 31), PUTIN, ERDOGAN, "041"),
        # not contact codes: 045 mediate, 046 negotiate, 036 intend to meet, 010 statement
        ev(5, D(2021, 1, 5), PUTIN, ERDOGAN, "045"),
        ev(6, D(2021, 1, 5), PUTIN, ERDOGAN, "046"),
        ev(7, D(2021, 1, 5), PUTIN, ERDOGAN, "036"),
        ev(8, D(2021, 1, 5), PUTIN, ERDOGAN, "010"),
    )
    assert brief(rows) == [
        (D(2021, 1, 1), "meeting", [1]), (D(2021, 1, 11), "meeting", [2]),
        (D(2021, 1, 21), "visit", [3]), (D(2021, 1, 31), "call", [4]),
    ]


def test_leader_out_of_office_is_not_counted():
    rows = contacts(
        # Cavusoglu was out of office 2015-08-29 .. 2015-11-23 (Sinirlioglu's interim)
        ev(1, D(2015, 9, 15), LAVROV, CAVUSOGLU, "040"),
        ev(2, D(2015, 11, 24), LAVROV, CAVUSOGLU, "040"),
        # Fidan from 2023-06-04 (inclusive); Cavusoglu until 2023-06-03 (inclusive)
        ev(3, D(2023, 6, 3), LAVROV, FIDAN, "041"),
        ev(4, D(2023, 6, 4), LAVROV, FIDAN, "041"),
        ev(5, D(2023, 6, 3), LAVROV, CAVUSOGLU, "041"),
        ev(6, D(2023, 6, 4), LAVROV, CAVUSOGLU, "041"),
        # Putin as prime minister (2008-2012) is a leader too; Erdogan before 2003-03-14 is not
        ev(7, D(2010, 1, 13), PUTIN, ERDOGAN, "044"),
        ev(8, D(2002, 12, 24), PUTIN, ERDOGAN, "044"),
    )
    assert brief(rows) == [
        (D(2010, 1, 13), "meeting", [7]),
        (D(2015, 11, 24), "meeting", [2]),
        (D(2023, 6, 3), "call", [5]),
        (D(2023, 6, 4), "call", [4]),
    ]
    assert [r["leaders"] for r in rows][-2:] == ["SERGEY LAVROV–MEVLUT CAVUSOGLU", "SERGEY LAVROV–HAKAN FIDAN"]


def test_non_leader_actors_are_not_counted():
    rows = contacts(
        ev(1, D(2021, 3, 1), ("RUSSIA", "RUS"), ERDOGAN, "041"),
        ev(2, D(2021, 3, 1), PUTIN, ("TURKEY", "TUR"), "041"),
        ev(3, D(2021, 3, 1), ("DMITRY PESKOV", "RUS"), ERDOGAN, "041"),
        ev(4, D(2021, 3, 1), PUTIN, ("IBRAHIM KALIN", "TUR"), "041"),
        ev(5, D(2021, 3, 1), PUTIN, ("ILHAM ALIYEV", "AZE"), "041"),  # a leader, but of a third country
    )
    assert rows == []


def test_name_must_come_with_the_leaders_country():
    rows = contacts(
        ev(1, D(2021, 3, 1), ("VLADIMIR PUTIN", None), ERDOGAN, "041"),  # blank country: not counted
        ev(2, D(2021, 3, 1), ("VLADIMIR PUTIN", "TUR"), ERDOGAN, "041"),  # wrong country: not a RUS-TUR event
        ev(3, D(2021, 3, 2), PUTIN, ("RECEP TAYYIP ERDOGAN", "RUS"), "041"),  # both RUS: not RUS-TUR
    )
    assert rows == []


def test_reversed_direction_counts_and_names_a_first():
    con = connect(ev(1, D(2021, 3, 1), ERDOGAN, PUTIN, "041"))
    assert leader_contacts(con, "RUS", "TUR").to_pylist()[0]["leaders"] == "VLADIMIR PUTIN–RECEP TAYYIP ERDOGAN"
    assert leader_contacts(con, "TUR", "RUS").to_pylist()[0]["leaders"] == "RECEP TAYYIP ERDOGAN–VLADIMIR PUTIN"
    assert brief(leader_contacts(con, "tur", "rus").to_pylist()) == [(D(2021, 3, 1), "call", [1])]


def test_several_pairs_on_one_day_are_one_contact_naming_each_pair():
    rows = contacts(
        ev(1, D(2021, 3, 1), PUTIN, ERDOGAN, "044"),
        ev(2, D(2021, 3, 1), CAVUSOGLU, LAVROV, "044"),
    )
    assert rows[0]["leaders"] == "SERGEY LAVROV–MEVLUT CAVUSOGLU, VLADIMIR PUTIN–RECEP TAYYIP ERDOGAN"
    assert brief(rows) == [(D(2021, 3, 1), "meeting", [1, 2])]


def test_phone_mention_in_the_url_makes_a_call():
    rows = contacts(
        ev(1, D(2021, 1, 1) + TEN * 0, PUTIN, ERDOGAN, "040", "https://www.dailysabah.com/putin-erdogan-hold-phone-call-on-economy"),
        ev(2, D(2021, 1, 1) + TEN * 1, PUTIN, ERDOGAN, "044", "https://tass.ru/politika/telefonnyj-razgovor-putina"),
        ev(3, D(2021, 1, 1) + TEN * 2, PUTIN, ERDOGAN, "040", "https://x.com/news/putin-erdogan-telephonic-talks"),
        ev(4, D(2021, 1, 1) + TEN * 3, PUTIN, ERDOGAN, "043", "https://x.com/erdogan-putin-call/123"),
        ev(5, D(2021, 1, 1) + TEN * 4, PUTIN, ERDOGAN, "040", "https://x.com/erdogan-calls-for-ceasefire-after-talks-with-putin"),
        ev(6, D(2021, 1, 1) + TEN * 5, PUTIN, ERDOGAN, "040", "https://x.com/putin-erdogan-discuss-smartphone-exports"),
        ev(7, D(2021, 1, 1) + TEN * 6, PUTIN, ERDOGAN, "040", "https://x.com/putin-and-erdogan-met-in-sochi"),
        ev(8, D(2021, 1, 1) + TEN * 7, PUTIN, ERDOGAN, "040", None),
        ev(9, D(2021, 1, 1) + TEN * 8, PUTIN, ERDOGAN, "040", "https://x.com/Putin-Erdogan-PHONE-Talks"),
    )
    assert [(1 + (r["day"] - D(2021, 1, 1)).days // 10, r["kind"]) for r in rows] == [
        (1, "call"), (2, "call"), (3, "call"), (4, "call"),
        (5, "meeting"), (6, "meeting"), (7, "meeting"), (8, "meeting"), (9, "call"),
    ]


def test_a_consult_on_a_call_day_is_that_call_but_other_kinds_stay():
    rows = contacts(
        ev(1, D(2021, 4, 9), PUTIN, ERDOGAN, "041"),
        ev(2, D(2021, 4, 9), ERDOGAN, PUTIN, "040"),
        ev(3, D(2021, 4, 9), PUTIN, ERDOGAN, "044"),
        # another pair's consult that day is its own meeting
        ev(4, D(2021, 4, 9), LAVROV, CAVUSOGLU, "040"),
        # a consult without a call that day stays a meeting
        ev(5, D(2021, 4, 20), ERDOGAN, PUTIN, "040"),
    )
    assert brief(rows) == [
        (D(2021, 4, 9), "call", [1, 2]),
        (D(2021, 4, 9), "meeting", [3, 4]),
        (D(2021, 4, 20), "meeting", [5]),
    ]


def test_names_are_matched_case_insensitively_icews_style():
    rows = contacts(
        ev(1, D(2018, 6, 2), ("Recep Tayyip Erdoğan", "TUR"), (" Vladimir Putin ", "RUS"), "041", source="icews",
           articles=None),
    )
    assert rows == [{
        "day": D(2018, 6, 2), "year": 2018, "kind": "call", "leaders": "VLADIMIR PUTIN–RECEP TAYYIP ERDOGAN",
        "event_ids": [1], "urls": [], "events": 1, "articles": None,
        "sources": None, "reports": 1, "codes": ["041"], "days_reported": [D(2018, 6, 2)],
        "corroborated": False, "confidence": "single report",
    }]


def test_date_range_and_source_filters():
    con = connect(
        ev(1, D(2020, 12, 31), PUTIN, ERDOGAN, "041"),
        ev(2, D(2021, 1, 1), PUTIN, ERDOGAN, "041"),
        ev(3, D(2021, 12, 31), PUTIN, ERDOGAN, "041", source="icews"),
        ev(4, D(2022, 1, 1), PUTIN, ERDOGAN, "041"),
    )
    assert [r["event_ids"] for r in leader_contacts(con, "RUS", "TUR", start="2021-01-01", end=D(2021, 12, 31)).to_pylist()] \
        == [[2], [3]]
    assert [r["event_ids"] for r in leader_contacts(con, "RUS", "TUR", source="icews").to_pylist()] == [[3]]
    assert [r["event_ids"] for r in leader_contacts(con, "RUS", "TUR", start=D(2022, 1, 1)).to_pylist()] == [[4]]


def test_duplicate_urls_are_listed_once_and_ids_sorted():
    rows = contacts(
        ev(30, D(2021, 3, 1), PUTIN, ERDOGAN, "041", "https://x.org/a"),
        ev(10, D(2021, 3, 1), ERDOGAN, PUTIN, "041", "https://x.org/a"),
        ev(20, D(2021, 3, 1), ERDOGAN, PUTIN, "041", None),
    )
    assert rows[0]["event_ids"] == [10, 20, 30]
    assert rows[0]["urls"] == ["https://x.org/a"]
    assert rows[0]["events"] == 3


def test_empty_result_has_the_schema():
    table = leader_contacts(connect(), "RUS", "TUR")
    assert table.num_rows == 0
    assert table.schema == CONTACTS_SCHEMA


def test_bad_arguments():
    con = connect()
    with pytest.raises(CodeError):
        leader_contacts(con, "RUS", "XXX")
    with pytest.raises(ValueError, match="two different countries"):
        leader_contacts(con, "RUS", "RUS")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        leader_contacts(con, "RUS", "TUR", start="2021/01/01")


def test_leaves_the_connection_as_it_was():
    con = connect(ev(1, D(2021, 3, 1), PUTIN, ERDOGAN, "041"))
    con.register("leaders", pa.table({"country": ["RUS"]}))  # measures.frame registers one of its own
    before = sorted(r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall())
    leader_contacts(con, "RUS", "TUR")
    after = sorted(r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall())
    assert before == after
    assert con.execute("SELECT country FROM leaders").fetchall() == [("RUS",)]


def test_custom_leaders_table_and_file(tmp_path):
    path = tmp_path / "leaders.yaml"
    path.write_text(
        "version: 1\ncountries:\n"
        "  RUS:\n    - {name: DMITRY PESKOV, terms: [{role: foreign_minister, from: 2012-05-22, to: null}]}\n"
        "  TUR:\n    - {name: IBRAHIM KALIN, terms: [{role: foreign_minister, from: 2014-01-01, to: null}]}\n",
        encoding="utf-8",
    )
    con = connect(ev(1, D(2021, 3, 1), ("DMITRY PESKOV", "RUS"), ("IBRAHIM KALIN", "TUR"), "041"),
                  ev(2, D(2021, 3, 1), PUTIN, ERDOGAN, "040"))
    assert brief(leader_contacts(con, "RUS", "TUR", leaders=path).to_pylist()) == [(D(2021, 3, 1), "call", [1])]
    assert brief(leader_contacts(con, "RUS", "TUR", leaders=load_leaders(path)).to_pylist()) == \
        [(D(2021, 3, 1), "call", [1])]


# -- the encounter rule: one encounter per day and class, echoes folded ------------------------------


def encounter(rows: list[dict]) -> list[tuple]:
    return [(r["day"], r["kind"], r["event_ids"], r["reports"], r["days_reported"], r["confidence"]) for r in rows]


SOCHI = "Sochi, Krasnodar, Russia"


def test_echo_reports_on_later_days_fold_into_the_encounter():
    d = D(2021, 9, 29)
    rows = contacts(
        # the summit: Erdogan visits, Putin hosts, they meet; three articles, placed in Sochi
        ev(1, d, ERDOGAN, PUTIN, "042", "https://a.tr/erdogan-in-sochi", place=SOCHI, sources=2, articles=4),
        ev(2, d, PUTIN, ERDOGAN, "043", "https://b.ru/putin-receives-erdogan", place=SOCHI, sources=1, articles=2),
        ev(3, d, PUTIN, ERDOGAN, "040", "https://c.com/putin-erdogan-talks", place=SOCHI, sources=1, articles=1),
        # "Putin and Erdogan agreed in Sochi ..." two and five days later: one article each, a Consult
        ev(4, d + dt.timedelta(days=2), ERDOGAN, PUTIN, "040", "https://d.com/what-they-agreed-in-sochi", place=SOCHI),
        ev(5, d + dt.timedelta(days=5), PUTIN, ERDOGAN, "040", "https://e.com/after-sochi", place=None),
        # a week later still: same place, two articles, but no new place: an echo (7 days is inside the window)
        ev(6, d + dt.timedelta(days=7), PUTIN, ERDOGAN, "040", "https://f.com/sochi-1", place=SOCHI),
        ev(7, d + dt.timedelta(days=7), ERDOGAN, PUTIN, "040", "https://g.com/sochi-2", place=SOCHI),
        # past the window: a report of its own, flagged as a single report
        ev(8, d + dt.timedelta(days=12), PUTIN, ERDOGAN, "040", "https://h.com/sochi-legacy"),
    )
    assert encounter(rows) == [
        (d, "visit", [1, 2, 3, 4, 5, 6, 7], 7,
         [d, d + dt.timedelta(days=2), d + dt.timedelta(days=5), d + dt.timedelta(days=7)], "corroborated"),
        (d + dt.timedelta(days=12), "meeting", [8], 1, [d + dt.timedelta(days=12)], "single report"),
    ]
    assert rows[0]["codes"] == ["040", "042", "043"]
    assert (rows[0]["events"], rows[0]["articles"], rows[0]["sources"]) == (7, 11, 4)
    assert rows[0]["urls"][0] == "https://a.tr/erdogan-in-sochi" and len(rows[0]["urls"]) == 7
    per_year = contacts_per_year(leader_contacts(connect(*[
        ev(1, d, ERDOGAN, PUTIN, "042", "https://a.tr/x"), ev(2, d, PUTIN, ERDOGAN, "043", "https://b.ru/y"),
        ev(4, d + dt.timedelta(days=2), ERDOGAN, PUTIN, "040", "https://d.com/z")]), "RUS", "TUR"))
    assert per_year.to_pylist() == [
        {"year": 2021, "calls": 0, "visits": 1, "meetings": 0, "total": 1, "corroborated": 1}]


def test_a_new_place_with_coverage_of_its_own_is_a_new_encounter():
    d = D(2020, 3, 5)
    rows = contacts(
        ev(1, d, ERDOGAN, PUTIN, "042", "https://a/1", place="Moscow, Moskva, Russia"),
        ev(2, d, PUTIN, ERDOGAN, "043", "https://a/2", place="Moscow, Moskva, Russia"),
        # three days later in Ankara, two articles: a new encounter
        ev(3, d + dt.timedelta(days=3), PUTIN, ERDOGAN, "044", "https://b/1", place="Ankara, Ankara, Turkey"),
        ev(4, d + dt.timedelta(days=3), ERDOGAN, PUTIN, "044", "https://b/2", place="Ankara, Ankara, Turkey"),
        # a single report placed elsewhere is not enough
        ev(5, d + dt.timedelta(days=4), ERDOGAN, PUTIN, "040", "https://c/1", place="Istanbul, Istanbul, Turkey"),
    )
    assert [(r["day"], r["kind"], r["event_ids"]) for r in rows] == [
        (d, "visit", [1, 2]), (d + dt.timedelta(days=3), "meeting", [3, 4, 5])]


def test_visit_and_meeting_on_one_day_are_one_encounter_of_the_most_specific_kind():
    d = D(2019, 4, 8)
    rows = contacts(
        ev(1, d, ERDOGAN, PUTIN, "044", "https://a/meet"),
        ev(2, d, PUTIN, ERDOGAN, "040", "https://a/consult"),
        ev(3, d, ERDOGAN, PUTIN, "042", "https://a/visit"),
        ev(4, d, PUTIN, ERDOGAN, "043", "https://a/visit"),  # same article as 3
    )
    assert encounter(rows) == [(d, "visit", [1, 2, 3, 4], 3, [d], "corroborated")]
    assert rows[0]["codes"] == ["040", "042", "043", "044"]
    only_meetings = contacts(ev(1, d, ERDOGAN, PUTIN, "044"), ev(2, d, PUTIN, ERDOGAN, "040"))
    assert encounter(only_meetings) == [(d, "meeting", [1, 2], 1, [d], "single report")]


def test_call_and_meeting_on_one_day_are_two_contacts():
    d = D(2020, 10, 30)
    rows = contacts(
        ev(1, d, PUTIN, ERDOGAN, "041", "https://a/phone"),
        ev(2, d, ERDOGAN, PUTIN, "040", "https://b/talks"),  # a consult on a call day: that call
        ev(3, d, PUTIN, ERDOGAN, "044", "https://c/met"),
    )
    assert encounter(rows) == [(d, "call", [1, 2], 2, [d], "corroborated"),
                               (d, "meeting", [3], 1, [d], "single report")]


def test_two_calls_on_consecutive_days_that_are_both_real():
    d = D(2020, 2, 28)
    nxt = d + dt.timedelta(days=1)
    rows = contacts(
        ev(1, d, PUTIN, ERDOGAN, "041", "https://a/1"), ev(2, d, ERDOGAN, PUTIN, "041", "https://a/2"),
        ev(3, d, PUTIN, ERDOGAN, "041", "https://a/3"),
        # the next day, a call covered by two articles of its own (at least half the first day's three)
        ev(4, nxt, PUTIN, ERDOGAN, "041", "https://b/1"), ev(5, nxt, ERDOGAN, PUTIN, "041", "https://b/2"),
    )
    assert encounter(rows) == [(d, "call", [1, 2, 3], 3, [d], "corroborated"),
                               (nxt, "call", [4, 5], 2, [nxt], "corroborated")]
    # the same next day with a single article is an echo of the first call
    echo = contacts(ev(1, d, PUTIN, ERDOGAN, "041", "https://a/1"), ev(2, d, ERDOGAN, PUTIN, "041", "https://a/2"),
                    ev(4, nxt, PUTIN, ERDOGAN, "041", "https://b/1"))
    assert encounter(echo) == [(d, "call", [1, 2, 4], 3, [d, nxt], "corroborated")]
    # two articles after a call six articles covered are a trickle: folded as well
    big = [ev(i, d, PUTIN, ERDOGAN, "041", f"https://a/{i}") for i in range(1, 7)]
    trickle = contacts(*big, ev(7, nxt, PUTIN, ERDOGAN, "041", "https://b/1"),
                       ev(8, nxt, ERDOGAN, PUTIN, "041", "https://b/2"))
    assert [(r["day"], r["event_ids"]) for r in trickle] == [(d, [1, 2, 3, 4, 5, 6, 7, 8])]
    # another pair's call the next day is another call, whatever its coverage
    other = contacts(ev(1, d, PUTIN, ERDOGAN, "041", "https://a/1"), ev(2, nxt, LAVROV, CAVUSOGLU, "041"))
    assert [(r["day"], r["leaders"]) for r in other] == [
        (d, "VLADIMIR PUTIN–RECEP TAYYIP ERDOGAN"), (nxt, "SERGEY LAVROV–MEVLUT CAVUSOGLU")]


def test_announcements_never_count():
    d = D(2021, 9, 20)
    rows = contacts(
        ev(1, d, ERDOGAN, PUTIN, "036", "https://a/erdogan-wants-to-meet-putin"),  # intent to meet
        ev(2, d, ERDOGAN, PUTIN, "042", "https://www.x.com/erdogan-to-visit-russia-next-week"),
        ev(3, d, PUTIN, ERDOGAN, "043", "https://x.com/putin-will-host-erdogan-in-sochi"),
        ev(4, d, PUTIN, ERDOGAN, "044", "https://x.com/ahead-of-sochi-summit-turkey-says"),
        ev(5, d, PUTIN, ERDOGAN, "041", "https://x.com/kremlin-putin-plans-to-call-erdogan"),
        ev(6, d, PUTIN, ERDOGAN, "040", "https://x.com/putin-erdogan-expected-to-hold-talks"),
        # nine days later the visit itself
        ev(7, d + dt.timedelta(days=9), ERDOGAN, PUTIN, "042", "https://x.com/erdogan-arrives-in-sochi"),
    )
    assert [(r["day"], r["kind"], r["event_ids"]) for r in rows] == [(d + dt.timedelta(days=9), "visit", [7])]


def test_reports_without_an_address_count_the_busier_direction_of_one_pair():
    """ICEWS has no URL: a story codes a symmetric meeting once each way, so two records (one each way)
    are one report; three stories give three records each way."""
    d = D(2018, 6, 2)
    one = contacts(ev(1, d, PUTIN, ERDOGAN, "040", articles=None, source="icews"),
                   ev(2, d, ERDOGAN, PUTIN, "040", articles=None, source="icews"))
    assert (one[0]["reports"], one[0]["confidence"]) == (1, "single report")
    three = contacts(*[ev(i, d, PUTIN if i % 2 else ERDOGAN, ERDOGAN if i % 2 else PUTIN, "041", articles=None,
                          source="icews") for i in range(1, 7)])
    assert (three[0]["reports"], three[0]["events"], three[0]["corroborated"]) == (3, 6, True)


# -- per year --------------------------------------------------------------------------------------


def test_contacts_per_year_counts_exactly_and_fills_quiet_years():
    table = leader_contacts(connect(
        ev(1, D(2019, 5, 1), PUTIN, ERDOGAN, "041"),
        ev(2, D(2019, 5, 1), PUTIN, ERDOGAN, "041"),  # same day and kind: one call
        ev(3, D(2019, 5, 2), PUTIN, ERDOGAN, "041"),  # next day, one report: an echo of the call of 5-1
        ev(4, D(2019, 5, 2), PUTIN, ERDOGAN, "042", "https://x.org/v1"),
        ev(9, D(2019, 5, 2), ERDOGAN, PUTIN, "043", "https://x.org/v2"),  # the visit, corroborated
        ev(5, D(2019, 6, 1), PUTIN, ERDOGAN, "044"),
        ev(6, D(2021, 9, 29), ERDOGAN, PUTIN, "042"),
        ev(7, D(2021, 9, 29), PUTIN, ERDOGAN, "044"),
        ev(8, D(2021, 12, 31), LAVROV, CAVUSOGLU, "041"),
    ), "RUS", "TUR")
    per_year = contacts_per_year(table)
    assert per_year.schema == PER_YEAR_SCHEMA
    assert per_year.to_pylist() == [
        {"year": 2019, "calls": 1, "visits": 1, "meetings": 1, "total": 3, "corroborated": 2},
        {"year": 2020, "calls": 0, "visits": 0, "meetings": 0, "total": 0, "corroborated": 0},
        {"year": 2021, "calls": 1, "visits": 1, "meetings": 0, "total": 2, "corroborated": 0},
    ]
    assert contacts_per_year(table, years=range(2021, 2023)).to_pylist() == [
        {"year": 2021, "calls": 1, "visits": 1, "meetings": 0, "total": 2, "corroborated": 0},
        {"year": 2022, "calls": 0, "visits": 0, "meetings": 0, "total": 0, "corroborated": 0},
    ]


def test_contacts_per_year_of_nothing():
    empty = leader_contacts(connect(), "RUS", "TUR")
    assert contacts_per_year(empty).num_rows == 0
    assert contacts_per_year(empty).schema == PER_YEAR_SCHEMA
    assert contacts_per_year(empty, years=[2021]).to_pylist() == [
        {"year": 2021, "calls": 0, "visits": 0, "meetings": 0, "total": 0, "corroborated": 0}]


# -- the shipped leaders file ----------------------------------------------------------------------


def terms_of(table: pa.Table, name: str) -> list[tuple]:
    rows = table.filter(pc.equal(table["name"], name)).to_pylist()
    return sorted({(r["country"], r["role"], r["start"], r["end"]) for r in rows}, key=lambda t: t[2])


def test_shipped_leaders_file():
    t = load_leaders()
    assert t.schema == LEADERS_SCHEMA
    assert set(t.column("role").to_pylist()) == set(ROLES)
    assert {"RUS", "TUR", "CHN", "IND", "IRN", "PRK", "AZE", "ARM", "UKR", "USA", "SYR"} <= set(t.column("country").to_pylist())
    assert all(s == s.upper() == s.strip() for s in t.column("spelling").to_pylist())
    assert terms_of(t, "RECEP TAYYIP ERDOGAN") == [
        ("TUR", "head_of_government", D(2003, 3, 14), D(2014, 8, 28)),
        ("TUR", "head_of_state", D(2014, 8, 28), None),
    ]
    assert ("RUS", "head_of_government", D(2008, 5, 8), D(2012, 5, 7)) in terms_of(t, "VLADIMIR PUTIN")
    assert ("RUS", "head_of_state", D(2012, 5, 7), None) in terms_of(t, "VLADIMIR PUTIN")
    assert terms_of(t, "DMITRY MEDVEDEV")[0] == ("RUS", "head_of_state", D(2008, 5, 7), D(2012, 5, 7))
    assert terms_of(t, "MEVLUT CAVUSOGLU") == [
        ("TUR", "foreign_minister", D(2014, 8, 29), D(2015, 8, 28)),
        ("TUR", "foreign_minister", D(2015, 11, 24), D(2023, 6, 3)),
    ]
    assert terms_of(t, "HAKAN FIDAN") == [("TUR", "foreign_minister", D(2023, 6, 4), None)]
    assert terms_of(t, "EBRAHIM RAISI") == [("IRN", "head_of_government", D(2021, 8, 3), D(2024, 5, 19))]
    assert terms_of(t, "MASOUD PEZESHKIAN") == [("IRN", "head_of_government", D(2024, 7, 28), None)]
    assert terms_of(t, "MIKHAIL MISHUSTIN") == [("RUS", "head_of_government", D(2020, 1, 16), None)]
    for name in ("XI JINPING", "NARENDRA MODI", "KIM JONG UN", "ILHAM ALIYEV", "SERGEY LAVROV"):
        assert terms_of(t, name)[-1][3] is None, name
    spellings = set(t.column("spelling").to_pylist())
    assert {"VLADIMIR PUTIN", "SERGEY LAVROV", "SERGEI LAVROV", "DMITRIY MEDVEDEV", "KIM JONG-UN",
            "BASHAR AL ASSAD", "RECEP TAYYIP ERDOĞAN"} <= spellings
    assert load_leaders(default_leaders_path()).equals(t)


# -- validation of a leaders file ------------------------------------------------------------------

GOOD = """version: 1
countries:
  RUS:
    - name: VLADIMIR PUTIN
      spellings: [PUTIN]
      terms:
        - {role: head_of_state, from: 2012-05-07, to: null}
"""


def bad(tmp_path: Path, text: str) -> str:
    path = tmp_path / "leaders.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TaxonomyError) as info:
        load_leaders(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


def test_good_file_loads(tmp_path):
    path = tmp_path / "leaders.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_leaders(path).to_pylist() == [
        {"country": "RUS", "name": "VLADIMIR PUTIN", "role": "head_of_state", "start": D(2012, 5, 7), "end": None,
         "spelling": s} for s in ("VLADIMIR PUTIN", "PUTIN")
    ]


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("from: 2012-05-07", "from: 2012-13-07", "countries.RUS[1] (VLADIMIR PUTIN) terms[1]: bad date '2012-13-07' for from"),
        ("from: 2012-05-07", "from: 7 May 2012", "countries.RUS[1] (VLADIMIR PUTIN) terms[1]: bad date '7 May 2012'"),
        ("to: null", "to: 2012-02-30", "terms[1]: bad date '2012-02-30' for to"),
        ("to: null", "to: 2011-01-01", "terms[1]: to 2011-01-01 is before from 2012-05-07"),
        (", to: null", "", "countries.RUS[1] (VLADIMIR PUTIN) terms[1]: missing to (null if still in office)"),
        ("{role: head_of_state, ", "{", "terms[1]: missing role"),
        ("head_of_state", "president", "terms[1]: unknown role 'president'"),
        ("to: null}", "to: null, untill: 2020-01-01}", "terms[1]: unknown key 'untill'"),
        ("    - name: VLADIMIR PUTIN\n", "    - nom: VLADIMIR PUTIN\n", "countries.RUS[1]: missing name"),
        ("[PUTIN]", "[Putin]", "(VLADIMIR PUTIN): spelling 'Putin' must be upper case"),
        ("[PUTIN]", "[VLADIMIR PUTIN]", "spelling 'VLADIMIR PUTIN' listed twice"),
        ("  RUS:", "  RUSSIA:", "countries.RUSSIA: not a CAMEO country code"),
        ("version: 1", "version: 2", "version must be 1, found 2"),
        ("        - {role", "        - [role", "not valid YAML"),
    ],
)
def test_bad_file_names_file_and_entry(tmp_path, old, new, expected):
    assert old in GOOD
    assert expected in bad(tmp_path, GOOD.replace(old, new))


def test_one_spelling_cannot_name_two_people_at_once(tmp_path):
    text = GOOD + "    - name: DMITRY MEDVEDEV\n      spellings: [PUTIN]\n" \
                  "      terms: [{role: head_of_government, from: 2012-05-08, to: 2020-01-15}]\n"
    assert "countries.RUS[2] (DMITRY MEDVEDEV) terms[1]: spelling 'PUTIN' is also VLADIMIR PUTIN's" in bad(tmp_path, text)


def test_missing_file(tmp_path):
    with pytest.raises(TaxonomyError, match="cannot read"):
        load_leaders(tmp_path / "nope.yaml")


# -- the real samples ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def karabakh(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("contacts") / "store")
    store.ingest([KARABAKH])
    con = store.connect()
    yield con
    con.close()


def test_karabakh_sample_has_no_russia_turkey_leader_contact(karabakh):
    """13-15 Nov 2020: Russia and Turkey are busy over Karabakh, but no event has Putin or Lavrov on one
    side and Erdogan or Cavusoglu on the other. The country-level visits and consultations (RUSSIA ->
    TURKEY 042, TURKEY -> RUSSIA 043, RUSSIAN -> TURKEY 040) are not leader contacts."""
    table = leader_contacts(karabakh, "RUS", "TUR")
    assert table.num_rows == 0 and table.schema == CONTACTS_SCHEMA
    country_level = karabakh.execute(
        "SELECT list(event_id ORDER BY event_id) FROM events WHERE event_code IN ('040','041','042','043','044') "
        "AND ((actor1_country = 'RUS' AND actor2_country = 'TUR') OR (actor1_country = 'TUR' AND actor2_country = 'RUS'))"
    ).fetchone()[0]
    assert country_level == [954682910, 954682911, 954682912, 954683042, 954683043, 954683044,
                             954685956, 954685957, 954685999]
    named = karabakh.execute(
        "SELECT actor2_name, list(event_id ORDER BY event_id) FROM events "
        "WHERE actor2_name IN ('VLADIMIR PUTIN', 'RECEP TAYYIP ERDOGAN') AND event_date = DATE '2020-11-15' "
        "AND actor1_country = 'USA' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert named == [("RECEP TAYYIP ERDOGAN", [954735997]), ("VLADIMIR PUTIN", [954735995])]  # USA -> each, 080
    assert contacts_per_year(table, years=[2020]).to_pylist() == [
        {"year": 2020, "calls": 0, "visits": 0, "meetings": 0, "total": 0, "corroborated": 0}]


def test_karabakh_sample_former_leaders_are_not_leaders(karabakh):
    """Obama's memoir (published 17 Nov 2020) is coded as visits between OBAMA and MANMOHAN SINGH on
    2020-11-13; both left office years before, so this is no India-US leader contact. Give them a term
    covering 2020 and the same events become one visit: the date check is what keeps them out."""
    assert leader_contacts(karabakh, "IND", "USA").num_rows == 0
    shipped = load_leaders()
    whose = pc.is_in(shipped["name"], pa.array(["BARACK OBAMA", "MANMOHAN SINGH"]))
    pretend = shipped.set_column(
        shipped.schema.get_field_index("end"), "end",
        pc.if_else(whose, pa.scalar(None, pa.date32()), shipped["end"]),
    )
    rows = leader_contacts(karabakh, "IND", "USA", leaders=pretend).to_pylist()
    assert [(r["day"], r["kind"], r["leaders"], r["event_ids"], r["events"]) for r in rows] == [
        (D(2020, 11, 13), "visit", "MANMOHAN SINGH–BARACK OBAMA",
         [954687702, 954688618, 954699741, 954700336, 954702864, 954703848], 6),
    ]


def test_icews_sample_russia_turkey_call(store_dir):
    """ICEWS, 2 June 2018: Medvedev and Yildirim talk by telephone (041 from Xinhua, Interfax and Trend,
    placed at Akkuyu); Interfax also codes it as a consult (040), which joins the call."""
    store = Store(store_dir)
    store.ingest([ICEWS / "icews_sample_20180601-03.tsv"])
    con = store.connect()
    try:
        rows = leader_contacts(con, "RUS", "TUR").to_pylist()
    finally:
        con.close()
    assert rows == [{
        "day": D(2018, 6, 2), "year": 2018, "kind": "call", "leaders": "DMITRY MEDVEDEV–BINALI YILDIRIM",
        "event_ids": [32897191, 32897192, 32897201, 32897202, 32897225, 32897226, 32897354, 32897355,
                      32897740, 32897741],
        "urls": [], "events": 10, "articles": None, "sources": None,
        # five stories (Xinhua, TASS, two from Interfax, Trend): five records each way
        "reports": 5, "codes": ["040", "041"], "days_reported": [D(2018, 6, 2)],
        "corroborated": True, "confidence": "corroborated",
    }]


def test_icews_sample_every_russian_contact_is_an_encounter_with_its_support(store_dir):
    """ICEWS 1-3 June 2018, Russia with every partner of the leaders file (docs/leaders.md, the worked
    example): four encounters where one contact per day and kind gave five. The two corroborated ones are
    real (Lavrov in Pyongyang on 31 May, five stories; the Medvedev-Yildirim call, five stories); the two
    single-report ones are not (an echo of the Putin-Assad meeting in Sochi of 17 May; announcements and
    a recollection on 3 June, three Chinese pairs from three single stories, folded into one visit)."""
    store = Store(store_dir)
    store.ingest([ICEWS / "icews_sample_20180601-03.tsv"])
    con = store.connect()
    try:
        partners = sorted(set(load_leaders().column("country").to_pylist()) - {"RUS"})
        got = [(p, r["day"], r["kind"], r["event_ids"], r["events"], r["reports"], r["codes"], r["confidence"])
               for p in partners for r in leader_contacts(con, "RUS", p).to_pylist()]
        per_year = {p: contacts_per_year(leader_contacts(con, "RUS", p)).to_pylist() for p in ("CHN", "PRK")}
    finally:
        con.close()
    assert got == [
        ("CHN", D(2018, 6, 3), "visit", [32895462, 32895463, 32896169, 32896170, 32898551, 32898553], 6, 1,
         ["040", "042", "043"], "single report"),
        ("PRK", D(2018, 6, 1), "meeting",
         [32887267, 32887270, 32888013, 32888014, 32888016, 32888017, 32891402, 32891482, 32891483, 32891597,
          32891599, 32891602, 32891843, 32891845], 14, 5, ["040"], "corroborated"),
        ("SYR", D(2018, 6, 2), "meeting", [32900236, 32900237], 2, 1, ["040"], "single report"),
        ("TUR", D(2018, 6, 2), "call",
         [32897191, 32897192, 32897201, 32897202, 32897225, 32897226, 32897354, 32897355, 32897740, 32897741],
         10, 5, ["040", "041"], "corroborated"),
    ]
    assert per_year == {
        "CHN": [{"year": 2018, "calls": 0, "visits": 1, "meetings": 0, "total": 1, "corroborated": 0}],
        "PRK": [{"year": 2018, "calls": 0, "visits": 0, "meetings": 1, "total": 1, "corroborated": 1}],
    }
