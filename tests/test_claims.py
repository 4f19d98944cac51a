"""Claims: the YAML format and its one-line errors, the shipped seed-paper claims, and verdicts on small
stores built from GDELT 2.0 export rows, every expected number worked out by hand in the comments."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from pathlib import Path

import pytest

from dyadwatch.judgements import claims
from dyadwatch.judgements.conditions import (
    CONTACT_MEASURES, ConditionError, Selector, binomial_tail, partner_metrics, poisson_p,
)
from dyadwatch.measures import api
from dyadwatch.measures.indicators import INDICATORS
from dyadwatch.sources.gdelt import V2_COLUMNS
from dyadwatch.store import Store
from dyadwatch.knowledge.taxonomy import TaxonomyError, load_taxonomy

from conftest import REPO
from test_cli import run

D = dt.date
PAPER = REPO.parent / "shared" / "reference" / "seed-paper.md"
PUTIN, ERDOGAN = ("VLADIMIR PUTIN", "RUS"), ("RECEP TAYYIP ERDOGAN", "TUR")


# -- building stores from GDELT 2.0 export rows ------------------------------------------------------


class Rows:
    """Tab-separated GDELT 2.0 export lines (61 columns), ids handed out in order."""

    def __init__(self, first_id: int = 1):
        self.lines: list[str] = []
        self.next_id = first_id

    def add(self, day: dt.date, a1, a2, code: str, quad: int, *, geo: str = "", goldstein: float = 1.0,
            articles: int = 1, tone: float = 0.0, url: str | None = None) -> int:
        """a1 / a2: a country code, or a (name, country) pair for a named person."""
        (n1, c1), (n2, c2) = ((a, a) if isinstance(a, str) else a for a in (a1, a2))
        eid = self.next_id
        self.next_id += 1
        v = dict.fromkeys(V2_COLUMNS, "")
        v.update({
            "GLOBALEVENTID": str(eid), "SQLDATE": f"{day:%Y%m%d}", "MonthYear": f"{day:%Y%m}", "Year": str(day.year),
            "FractionDate": f"{day.year + (day.timetuple().tm_yday - 0.5) / 365:.4f}",
            "Actor1Code": c1, "Actor1Name": n1, "Actor1CountryCode": c1,
            "Actor2Code": c2, "Actor2Name": n2, "Actor2CountryCode": c2,
            "IsRootEvent": "1", "EventCode": code, "EventBaseCode": code[:3], "EventRootCode": code[:2],
            "QuadClass": str(quad), "GoldsteinScale": str(goldstein), "NumMentions": str(articles),
            "NumSources": "1", "NumArticles": str(articles), "AvgTone": str(tone),
            "ActionGeo_Type": "1" if geo else "0", "ActionGeo_FullName": geo, "ActionGeo_CountryCode": geo,
            "DATEADDED": f"{day:%Y%m%d}000000", "SOURCEURL": url or f"https://news.example/{eid}",
        })
        self.lines.append("\t".join(v[c] for c in V2_COLUMNS))
        return eid

    def filler(self, first: dt.date, last: dt.date, per_day: int = 1) -> None:
        """Events of another dyad on every day: the store then has data (daily totals) on those days."""
        day = first
        while day <= last:
            for _ in range(per_day):
                self.add(day, "USA", "FRA", "010", 1, geo="FR")
            day += dt.timedelta(days=1)

    def store(self, root: Path) -> Store:
        root.mkdir(parents=True, exist_ok=True)
        path = root / "fixture.export.CSV"
        path.write_text("\n".join(self.lines) + "\n")
        st = Store(root / "store")
        report = st.ingest([path])
        assert report.rows_rejected == 0
        return st


def months(first: dt.date, n: int) -> list[dt.date]:
    return [D(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1) for i in range(n)]


def build_contacts_store(root: Path) -> tuple[Store, dict]:
    """Store A: leader contacts. 2021 and 2024 have data on every day (20 filler rows a day); 2023 has
    a trickle of one row a day, less than 5% of the busiest day, so it is NOT covered.
    Calls: 10 in 2021 (the 15th of Jan..Oct, articles 1..10), 2 in 2024 (Mar 10, 5 articles; Oct 24, 7).
    Meetings (044): 6 in 2021 (the 20th of Jan..Jun), 4 in 2024 (the 20th of Jan..Apr)."""
    r, ids = Rows(), {}
    r.filler(D(2021, 1, 1), D(2021, 12, 31), per_day=20)
    r.filler(D(2024, 1, 1), D(2024, 12, 31), per_day=20)
    r.filler(D(2023, 1, 1), D(2023, 12, 31), per_day=1)
    for i, m in enumerate(months(D(2021, 1, 1), 10), 1):
        ids[("call", m.replace(day=15))] = r.add(m.replace(day=15), PUTIN, ERDOGAN, "041", 1, articles=i)
    ids[("call", D(2024, 3, 10))] = r.add(D(2024, 3, 10), ERDOGAN, PUTIN, "041", 1, articles=5)
    ids[("call", D(2024, 10, 24))] = r.add(D(2024, 10, 24), PUTIN, ERDOGAN, "041", 1, articles=7)
    for m in months(D(2021, 1, 1), 6) + months(D(2024, 1, 1), 4):
        ids[("meeting", m.replace(day=20))] = r.add(m.replace(day=20), PUTIN, ERDOGAN, "044", 1)
    return r.store(root), ids


def build_indicators_store(root: Path) -> tuple[Store, dict]:
    """Store B: monthly indicators. One filler row every day of 2021-2022 (all covered).

    RUS-TUR:
      2021-08..2022-01  2 a month, RUS>TUR verbal cooperation (042, 043) at home (TU)        12 events
      2022-02           5 RUS>TUR verbal conflict (111) at home                               5 events
      2022-03..2022-08  a month: 1 TUR>RUS cooperation (042, home) and 3 RUS>TUR material conflict
                        (190) in Syria (SY; tracks friction and security_arms)               24 events
    RUS-CHN: 5 a month in 2022-03..2022-08 (042, CH); RUS-IND: 2 (2022-04-20, 2022-05-20).
    Most-reported Syria events: 2022-08-10 (50 articles), 2022-07-11 (40), 2022-03-12 (30)."""
    r, ids = Rows(), {}
    r.filler(D(2021, 1, 1), D(2022, 12, 31))
    for m in months(D(2021, 8, 1), 6):
        r.add(m.replace(day=5), "RUS", "TUR", "042", 1, geo="TU")
        r.add(m.replace(day=12), "RUS", "TUR", "043", 1, geo="TU")
    for day in range(1, 6):
        r.add(D(2022, 2, day), "RUS", "TUR", "111", 3, geo="TU", goldstein=-2.0)
    top = {D(2022, 8, 10): 50, D(2022, 7, 11): 40, D(2022, 3, 12): 30}
    for m in months(D(2022, 3, 1), 6):
        r.add(m.replace(day=5), "TUR", "RUS", "042", 1, geo="TU")
        for day in (10, 11, 12):
            d = m.replace(day=day)
            ids[d] = r.add(d, "RUS", "TUR", "190", 4, geo="SY", goldstein=-10.0, articles=top.get(d, 1))
        for day in range(15, 20):
            r.add(m.replace(day=day), "RUS", "CHN", "042", 1, geo="CH")
    r.add(D(2022, 4, 20), "RUS", "IND", "042", 1, geo="IN")
    r.add(D(2022, 5, 20), "RUS", "IND", "042", 1, geo="IN")
    return r.store(root), ids


@pytest.fixture(scope="module")
def contacts_store(tmp_path_factory):
    return build_contacts_store(tmp_path_factory.mktemp("claims-contacts"))


@pytest.fixture(scope="module")
def store_b(tmp_path_factory):
    return build_indicators_store(tmp_path_factory.mktemp("claims-indicators"))


def write_claims(tmp_path: Path, *bodies: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text("version: 1\nclaims:\n" + "".join(bodies))
    return path


def claim(ident: str, kind: str, **keys) -> str:
    lines = [f"  - id: {ident}", f"    text: claim {ident}", "    quote: a quote", f"    kind: {kind}"]
    lines += [f"    {k}: {v}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


def check_one(store, tmp_path, ident, kind, *, name=None, **keys):
    path = write_claims(tmp_path, claim(ident, kind, **keys), name=name or f"{ident}.yaml")
    [v] = claims.check(store, claims.load_claims(path))
    return v


# -- the exact test on counts ------------------------------------------------------------------------


def test_binomial_tail_and_poisson_test_by_hand():
    assert binomial_tail(2, 12, 0.5, lower=True) == pytest.approx(79 / 4096)  # 1 + 12 + 66
    assert binomial_tail(18, 18, 0.5, lower=False) == pytest.approx(2 ** -18)
    assert binomial_tail(0, 0, 0.5, lower=True) == 1.0
    # equal exposures: p = 1/2; 6 vs 4 gives P(X <= 4 | 10) = (1 + 10 + 45 + 120 + 210) / 1024
    assert poisson_p(4, 12, 6, 12, "<") == pytest.approx(386 / 1024)
    # a long second window makes its count per month smaller: 4 in 6 months vs 6 in 18 is a rise
    assert poisson_p(4, 6, 6, 18, ">") == pytest.approx(sum(math.comb(10, k) * 0.25 ** k * 0.75 ** (10 - k)
                                                            for k in range(4, 11)))


# -- compare: contacts between two years -------------------------------------------------------------


def test_fewer_calls_supported_with_exact_numbers(contacts_store, tmp_path):
    store, ids = contacts_store
    v = check_one(store, tmp_path, "calls", "compare", measure="calls", first=2024, op='"<"', second=2021)
    assert v.verdict == "supported" and v.kind == "compare" and v.quote == "a quote"
    n = v.numbers
    # 2 calls in 12 full months of data vs 10: per year 2.0 vs 10.0; tolerance 10% of 10
    assert (n["first_count"], n["first_months"], n["first_value"]) == (2, 12.0, 2.0)
    assert (n["second_count"], n["second_months"], n["second_value"]) == (10, 12.0, 10.0)
    assert (n["difference"], n["tolerance"]) == (-8.0, 1.0)
    assert n["p_value"] == pytest.approx(79 / 4096)
    assert v.detail == ("calls per year: 2 (2024-01..2024-12: 2 calls, 12 months of data) vs "
                        "10 (2021-01..2021-12: 10 calls, 12 months of data), p=0.019")
    # evidence: the most-reported contacts of each window, 3 at most
    top = [("first", D(2024, 10, 24)), ("first", D(2024, 3, 10)),
           ("second", D(2021, 10, 15)), ("second", D(2021, 9, 15)), ("second", D(2021, 8, 15))]
    assert [(e["window"], e["event_id"], e["date"], e["url"]) for e in v.evidence] == [
        (w, ids[("call", d)], d, f"https://news.example/{ids[('call', d)]}") for w, d in top]


def test_more_calls_in_2024_contradicted(contacts_store, tmp_path):
    v = check_one(contacts_store[0], tmp_path, "more", "compare", measure="calls", first=2024, op='">"', second=2021)
    assert v.verdict == "contradicted"
    assert v.detail.endswith("the opposite of the claim")


def test_a_year_with_only_a_trickle_of_rows_is_not_enough_data(contacts_store, tmp_path):
    # 2023 has a row on every day, but 1 row is under 5% of the busiest day (21 rows): no month of data
    v = check_one(contacts_store[0], tmp_path, "trickle", "compare", measure="calls", first=2023, op='"<"', second=2021)
    assert v.verdict == "not enough data"
    assert v.numbers["first_months"] == 0
    assert v.detail == "not enough data: 2023-01..2023-12 has 0 months of data (needs 3 and 50% of its 12)"


def test_a_fall_within_chance_is_not_enough_data(contacts_store, tmp_path):
    # meetings 4 vs 6: enough units (10) and beyond the tolerance (0.6), but P(X <= 4 | 10, 1/2) = 386/1024
    v = check_one(contacts_store[0], tmp_path, "meet", "compare", measure="meetings", first=2024, op='"<"',
                  second=2021)
    assert v.verdict == "not enough data"
    assert (v.numbers["first_value"], v.numbers["second_value"]) == (4.0, 6.0)
    assert v.numbers["p_value"] == pytest.approx(386 / 1024)
    assert "as claimed, but within chance (p=0.38 >= 0.05)" in v.detail


def test_all_contacts_counts_every_kind(contacts_store, tmp_path):
    # 2 calls + 4 meetings = 6 vs 10 + 6 = 16; P(X <= 6 | 22, 1/2) = (1+22+231+1540+7315+26334+74613) / 2^22
    v = check_one(contacts_store[0], tmp_path, "all", "compare", measure="contacts", first=2024, op='"<"', second=2021)
    assert v.verdict == "supported"
    assert (v.numbers["first_count"], v.numbers["second_count"]) == (6, 16)
    assert v.numbers["p_value"] == pytest.approx(110056 / 2 ** 22)


def test_too_few_contacts_is_not_enough_data(contacts_store, tmp_path):
    # visits: none at all in either year -> 0 units (needs 10)
    v = check_one(contacts_store[0], tmp_path, "visits", "compare", measure="visits", first=2024, op='"<"', second=2021)
    assert v.verdict == "not enough data"
    assert v.detail == "not enough data: 0 visits in the two windows (needs 10)"


# -- change after a date, on tracks, theatres and directions -----------------------------------------


def test_net_cooperation_fell_after_a_date(store_b, tmp_path):
    store, _ = store_b
    v = check_one(store, tmp_path, "fell", "change", measure="net_cooperation", at="2022-02", months=6, change="fell")
    assert v.verdict == "supported"
    n = v.numbers
    # before 2021-08..2022-01: 12 cooperation events -> +1; after 2022-03..2022-08: (6 - 18) / 24 = -0.5.
    # February 2022 (5 conflict events) is in neither window.
    assert (n["before_window"], n["before_units"], n["before_value"]) == ("2021-08..2022-01", 12, 1.0)
    assert (n["after_window"], n["after_units"], n["after_value"]) == ("2022-03..2022-08", 24, -0.5)
    assert (n["difference"], n["tolerance"]) == (-1.5, 0.05)
    assert "p_value" not in n  # a ratio: no count test
    assert v.detail == ("net_cooperation: -0.5 (2022-03..2022-08: 24 events, 6 months of data) vs "
                        "1 (2021-08..2022-01: 12 events, 6 months of data)")


def test_net_cooperation_rose_contradicted(store_b, tmp_path):
    v = check_one(store_b[0], tmp_path, "rose", "change", measure="net_cooperation", at="2022-02", months=6,
                  change="rose")
    assert v.verdict == "contradicted"


def test_theatre_and_track_friction_rose_with_evidence(store_b, tmp_path):
    store, ids = store_b
    v = check_one(store, tmp_path, "syria", "change", measure="events", track="friction", theatre="syria",
                  at="2022-02", months=6, change="rose")
    # 0 Syria friction events before, 18 after: 0 vs 3 a month; P(X >= 18 | 18, 1/2) = 2^-18
    assert v.verdict == "supported"
    assert (v.numbers["before_value"], v.numbers["after_value"]) == (0.0, 3.0)
    assert v.numbers["tolerance"] == 0.0
    assert v.numbers["p_value"] == pytest.approx(2 ** -18)
    assert v.measure == "events per month, track friction, theatre syria"
    assert [(e["window"], e["event_id"], e["date"], e["url"]) for e in v.evidence] == [
        ("after", ids[d], d, f"https://news.example/{ids[d]}") for d in (D(2022, 8, 10), D(2022, 7, 11), D(2022, 3, 12))
    ]


def test_ratio_on_a_theatre_without_events_is_not_enough_data(store_b, tmp_path):
    v = check_one(store_b[0], tmp_path, "ratio", "change", measure="net_cooperation", theatre="syria", at="2022-02",
                  months=6, change="fell")
    assert v.verdict == "not enough data"
    assert v.detail == "not enough data: 0 events in 2021-08..2022-01 (needs 10 in each window)"


def test_direction_with_too_few_events_is_not_enough_data(store_b, tmp_path):
    # TUR>RUS: 0 before, 6 after: never a trend from 6 events
    v = check_one(store_b[0], tmp_path, "dir", "change", measure="events", direction="TUR>RUS", at="2022-02", months=6,
                  change="rose")
    assert v.verdict == "not enough data"
    assert v.detail == "not enough data: 6 events in the two windows (needs 10)"


def test_flat_is_contradicted(store_b, tmp_path):
    # 6 events in 2021-08..10 and 6 in 2021-11..2022-01: 2.0 vs 2.0 a month
    v = check_one(store_b[0], tmp_path, "flat", "compare", measure="events", first="{from: 2021-08, to: 2021-10}",
                  op='">"', second="{from: 2021-11, to: 2022-01}")
    assert v.verdict == "contradicted"
    assert "no clear difference (|0| within the tolerance 0.2)" in v.detail


def test_compare_two_selections_in_one_window(store_b, tmp_path):
    # 2022-03..2022-08: 18 Syria events vs 0 in Libya (a second side may name another theatre)
    v = check_one(store_b[0], tmp_path, "sides", "compare", measure="events",
                  first="{window: {from: 2022-03, to: 2022-08}, theatre: syria}", op='">"',
                  second="{window: {from: 2022-03, to: 2022-08}, theatre: libya}")
    assert v.verdict == "supported" and v.numbers["first_value"] == 3.0 and v.numbers["second_value"] == 0.0
    assert v.measure == "events per month, theatre syria vs events per month, theatre libya"


# -- level and record --------------------------------------------------------------------------------


def test_level(store_b, tmp_path):
    store = store_b[0]
    v = check_one(store, tmp_path, "lvl", "level", measure="net_cooperation", theatre="syria",
                  window="{from: 2022-03, to: 2022-08}", op='"<"', value=0)
    assert v.verdict == "supported" and v.numbers["value"] == -1.0 and v.numbers["threshold"] == 0.0
    v = check_one(store, tmp_path, "lvl2", "level", measure="share_of_all", window="2022-Q2", op='">"', value=0.1)
    # Q2 2022: 12 RUS-TUR records of 91 filler + 12 + 15 CHN + 2 IND = 120 rows: 0.1 is not above 0.1
    assert v.verdict == "contradicted" and v.numbers["value"] == pytest.approx(12 / 120)
    v = check_one(store, tmp_path, "lvl3", "level", measure="events", window=2020, op='">"', value=0)
    assert v.verdict == "not enough data"


def test_record_low(store_b, tmp_path):
    store = store_b[0]
    path = write_claims(tmp_path, claim("low", "record", measure="net_cooperation", months=6, extreme="low"),
                        claim("high", "record", measure="net_cooperation", months=6, extreme="high"),
                        claim("short", "record", measure="net_cooperation", months=6, extreme="low", since="2021-08"))
    low, high, short = claims.check(store, claims.load_claims(path), end=D(2022, 8, 31))
    # latest 2022-03..08: -0.5. Earlier 6-month windows with >= 10 events: 2021-07..12 (10, +1),
    # 2021-08..2022-01 (12, +1), 2021-09..2022-02 (10 + 5 conflict: (10 - 5) / 15 = 1/3)
    assert low.verdict == "supported"
    assert low.numbers["windows_compared"] == 3
    assert low.numbers["previous_extreme"] == pytest.approx(1 / 3)
    assert low.numbers["previous_extreme_window"] == "2021-09..2022-02"
    assert high.verdict == "contradicted"
    # since 2021-08: only two earlier windows (ending 2022-01 and 2022-02)
    assert short.verdict == "not enough data" and short.numbers["windows_compared"] == 2


# -- rank among theatres and partners ----------------------------------------------------------------


def test_rank_among_theatres(store_b, tmp_path):
    store = store_b[0]
    win = "{from: 2022-03, to: 2022-08}"
    v = check_one(store, tmp_path, "top", "rank", among="theatres", subject="syria", measure="events", window=win,
                  op='"<="', value=1)
    assert v.verdict == "supported" and v.numbers["rank"] == 1 and v.numbers["of"] == 6
    assert v.numbers["values"] == {"ukraine_black_sea": 0.0, "syria": 3.0, "south_caucasus": 0.0, "central_asia": 0.0,
                                   "libya": 0.0, "africa": 0.0}
    v = check_one(store, tmp_path, "not-top", "rank", among="theatres", subject="syria", measure="events", window=win,
                  op='">="', value=2)
    assert v.verdict == "contradicted"
    v = check_one(store, tmp_path, "libya", "rank", among="theatres", subject="libya", measure="events", window=win,
                  op='"<="', value=1)
    assert v.verdict == "not enough data" and v.detail.startswith("not enough data: 0 events for libya")


def test_rank_among_partners(store_b, tmp_path):
    store = store_b[0]
    win = "{from: 2022-03, to: 2022-08}"
    # 184 days x 1 filler + 24 TUR + 30 CHN + 2 IND rows = 240: shares 0.1, 0.125, 1/120 -> TUR second
    v = check_one(store, tmp_path, "top2", "rank", among="partners", partners="[CHN, IND]", measure="share_of_all",
                  window=win, op='"<="', value=2)
    assert v.verdict == "supported" and v.numbers["rank"] == 2
    assert v.numbers["values"] == {"TUR": pytest.approx(0.1), "CHN": pytest.approx(0.125),
                                   "IND": pytest.approx(1 / 120)}
    assert v.measure == "rank of TUR among partners by share_of_all"
    assert v.evidence and all(e["window"] == "window" for e in v.evidence)
    v = check_one(store, tmp_path, "top1", "rank", among="partners", partners="[CHN, IND]", measure="share_of_all",
                  window=win, op='"<="', value=1)
    assert v.verdict == "contradicted"
    v = check_one(store, tmp_path, "late", "rank", among="partners", partners="[CHN, IND]", measure="share_of_all",
                  window="{from: 2022-09, to: 2022-12}", op='"<="', value=2)
    assert v.verdict == "not enough data" and "0 events for TUR" in v.detail
    # no leader contacts at all: three partners tied at 0, ranks 1-3; a tie never helps a "top 2" claim
    v = check_one(store, tmp_path, "tie", "rank", among="partners", partners="[CHN, IND]",
                  measure="leader_contacts_per_year", window=win, op='"<="', value=2)
    assert v.verdict == "contradicted" and "(tied: ranks 1-3)" in v.detail


def test_window_outside_start_end_is_not_enough_data(store_b, tmp_path):
    v = check_one(store_b[0], tmp_path, "fell", "change", measure="net_cooperation", at="2022-02", months=6,
                  change="fell")
    assert v.verdict == "supported"
    path = write_claims(tmp_path, claim("fell", "change", measure="net_cooperation", at="2022-02", months=6,
                                        change="fell"), name="start.yaml")
    [v] = claims.check(store_b[0], claims.load_claims(path), start=D(2022, 1, 1))
    # from 2022-01-01 the before window 2021-08..2022-01 keeps only January: 1 month of data of 6
    assert v.verdict == "not enough data" and v.numbers["before_months"] == 1.0


def test_verdicts_table(store_b, tmp_path):
    path = write_claims(tmp_path,
                        claim("a", "change", measure="net_cooperation", at="2022-02", months=6, change="fell"),
                        claim("b", "level", measure="events", window=2020, op='">"', value=0))
    t = claims.verdicts_table(claims.check(store_b[0], claims.load_claims(path)))
    assert t.schema == claims.VERDICTS_SCHEMA
    rows = t.to_pylist()
    assert [(r["id"], r["verdict"]) for r in rows] == [("a", "supported"), ("b", "not enough data")]
    assert json.loads(rows[0]["numbers"])["after_value"] == -0.5
    assert rows[1]["evidence_event_ids"] == []


# -- the format: one-line errors naming the file and the claim ---------------------------------------


@pytest.mark.parametrize("body, message", [
    (claim("c1", "compare", measure="call", first=2024, op='"<"', second=2021),
     r"c\.yaml: claims\[1\] \(c1\): unknown measure 'call' \(choose from events, "),
    (claim("c1", "change", measure="events", track="energy", at="2022-02", change="fell"),
     r"claims\[1\] \(c1\): unknown track 'energy' \(choose from all, diplomacy, "),
    (claim("c1", "change", measure="events", theatre="syrai", at="2022-02", change="fell"),
     r"claims\[1\] \(c1\): unknown theatre 'syrai'"),
    (claim("c1", "change", measure="events", at="2022-13", change="fell"),
     r"claims\[1\] \(c1\): at '2022-13' is not a year"),
    (claim("c1", "change", measure="events", at="2022-02", change="dropped"),
     r"claims\[1\] \(c1\): change must be fell or rose, not 'dropped'"),
    (claim("c1", "compare", measure="events", first=2024, op='"<<"', second=2021),
     r"claims\[1\] \(c1\): op must be one of '<', '>', not '<<'"),
    (claim("c1", "compare", measure="events", first="{from: 2024-05, to: 2024-01}", op='"<"', second=2021),
     r"claims\[1\] \(c1\): first ends \(2024-01\) before it starts \(2024-05\)"),
    (claim("c1", "level", measure="events", window=2024, op='"<"', value="many"),
     r"claims\[1\] \(c1\): value must be a number"),
    (claim("c1", "change", measure="calls", track="friction", at="2022-02", change="fell"),
     r"claims\[1\] \(c1\): calls counts leader contacts: no track, theatre or direction"),
    (claim("c1", "change", measure="events", direction="RUS-TUR", at="2022-02", change="fell"),
     r"claims\[1\] \(c1\): direction must be both or like RUS>TUR"),
    (claim("c1", "rank", among="partners", measure="friction", op='"<="', value=1),
     r"claims\[1\] \(c1\): unknown measure 'friction' for a rank among partners"),
    (claim("c1", "rank", among="theatres", subject="home", measure="events", op='"<="', value=1),
     r"claims\[1\] \(c1\): home is not a regional theatre"),
    (claim("c1", "rank", among="partners", partners="[XXX]", measure="events", op='"<="', value=1),
     r"claims\[1\] \(c1\): .*XXX"),
    (claim("c1", "change", measure="events", at="2022-02", change="fell", wen="now"),
     r"claims\[1\] \(c1\): unknown key 'wen' for kind change"),
    (claim("c1", "change", measure="events", at="2022-02", change="fell", rules="{min_events: -1}"),
     r"claims\[1\] \(c1\): rule min_events has invalid value -1"),
    (claim("c1", "compare", measure="events", first=2024, op='"<"', second=2021)
     + claim("c1", "level", measure="events", window=2024, op='"<"', value=1),
     r"claims\[2\] \(c1\): id used twice"),
    ("  - id: c1\n    text: t\n    kind: level\n    measure: events\n    window: 2024\n    op: '<'\n    value: 1\n",
     r"claims\[1\] \(c1\): missing quote"),
    ("  - id: C 1\n    text: t\n", r"claims\[1\]: id must be lower-case"),
])
def test_errors_name_the_file_and_the_claim(tmp_path, body, message):
    path = write_claims(tmp_path, body)
    with pytest.raises(ConditionError, match=message) as info:
        claims.load_claims(path)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(str(path))


def test_document_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nclaims: [\n")
    with pytest.raises(TaxonomyError, match=r"bad\.yaml line 3: not valid YAML"):
        claims.load_claims(bad)
    bad.write_text("version: 2\nclaims: []\n")
    with pytest.raises(ConditionError, match="version must be 1"):
        claims.load_claims(bad)
    bad.write_text("version: 1\nclams: []\n")
    with pytest.raises(ConditionError, match="unknown top-level key 'clams'"):
        claims.load_claims(bad)
    with pytest.raises(ConditionError, match="cannot read"):
        claims.load_claims(tmp_path / "missing.yaml")


def test_unknown_direction_of_the_dyad(store_b, tmp_path):
    path = write_claims(tmp_path, claim("d", "change", measure="events", direction="CHN>USA", at="2022-02",
                                        change="fell"))
    with pytest.raises(ValueError, match="direction CHN>USA is not a direction of the dyad RUS-TUR"):
        claims.check(store_b[0], claims.load_claims(path))


# -- the shipped seed-paper claims -------------------------------------------------------------------


def test_seed_claims_parse_and_quote_the_paper_exactly():
    items = claims.load_claims()
    assert claims.default_claims_path().name == "seed-paper.yaml" and len(items) >= 8
    paper = " ".join(PAPER.read_text(encoding="utf-8").split())
    for c in items:
        assert c.quote in paper, c.id
        assert c.text and c.source.startswith("Pavel K. Baev")
    assert {c.kind for c in items} == {"compare", "change", "level", "rank"}


def test_seed_claims_map_to_measures_that_exist(store_b):
    """Every measure, track and theatre a seed claim names is a column or category the measures return."""
    store = store_b[0]
    tax = load_taxonomy()
    indicator_cols = set(api.indicators(store, "RUS-TUR", by="year").column_names)
    compare_cols = set(api.compare(store, "RUS", ["TUR", "CHN"]).column_names)
    contact_kinds = {"call", "visit", "meeting"}  # api.contacts' kinds (measures.contacts.KINDS)
    assert set(INDICATORS) <= indicator_cols and set(partner_metrics(tax)) <= compare_cols
    for c in claims.load_claims():
        cond = c.condition
        for sel in cond.selectors():
            if cond.kind == "rank" and cond.among == "partners":
                assert sel.measure in compare_cols, c.id
            elif sel.measure in CONTACT_MEASURES:
                assert set(CONTACT_MEASURES[sel.measure]) <= contact_kinds, c.id
            else:
                assert sel.measure in indicator_cols, c.id
            assert sel.track == "all" or sel.track in {t.name for t in tax.tracks}, c.id
            assert sel.theatre == "all" or sel.theatre in {t.name for t in tax.theatres}, c.id
        if cond.among == "theatres":
            assert cond.subject in {t.name for t in tax.theatres if t.regional}, c.id


def test_seed_claims_run_on_a_store(store_b):
    verdicts = claims.check(store_b[0])
    assert [v.id for v in verdicts] == [c.id for c in claims.load_claims()]
    assert all(v.verdict in claims.VERDICTS and v.detail and "\n" not in v.detail for v in verdicts)
    # store B holds 2021-2022 only: a 2024 window cannot be judged
    by_id = {v.id: v for v in verdicts}
    assert by_id["fewer-calls-2024-than-2021"].verdict == "not enough data"


# -- the command line --------------------------------------------------------------------------------


def test_cli_claims_csv_and_json(store_b, tmp_path):
    root = str(store_b[0].root)
    path = write_claims(tmp_path, claim("fell", "change", measure="net_cooperation", at="2022-02", months=6,
                                        change="fell"),
                        claim("thin", "change", measure="events", direction="TUR>RUS", at="2022-02", months=6,
                              change="rose"))
    r = run("claims", str(path), "--store", root, "--dyad", "RUS-TUR", "--format", "csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [(x["id"], x["verdict"]) for x in rows] == [("fell", "supported"), ("thin", "not enough data")]
    r = run("claims", str(path), "--store", root, "--to", "2022-06-30", "--format", "json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    # --to 2022-06-30: the after window keeps 2022-03..06 (4 of 6 months): 16 events, (4 - 12) / 16
    assert got[0]["numbers"]["after_months"] == 4.0 and got[0]["numbers"]["after_value"] == -0.5
    # evidence stops at --to: the most-reported events left are 2022-03-12 (30 articles), then the rest (1)
    assert got[0]["verdict"] == "supported" and got[0]["evidence"][0]["date"] == "2022-03-12"
    r = run("claims", "--store", root)  # the shipped file, as a table
    assert r.returncode == 0, r.stderr
    assert "claims" in r.stdout and "fewer-calls-2024-than-2021" in r.stdout


def test_cli_claims_errors_are_one_line(store_b, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nclaims:\n  - id: x\n    text: [unclosed\n")
    r = run("claims", str(bad), "--store", str(store_b[0].root))
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [r.stderr.strip()]
    assert str(bad) in r.stderr and "not valid YAML" in r.stderr and "Traceback" not in r.stderr
    wrong = write_claims(tmp_path, claim("c9", "compare", measure="phone_calls", first=2024, op='"<"', second=2021),
                         name="wrong.yaml")
    r = run("claims", str(wrong), "--store", str(store_b[0].root))
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert f"{wrong}: claims[1] (c9): unknown measure 'phone_calls'" in " ".join(r.stderr.split())
    r = run("claims", "--store", str(tmp_path / "nowhere"))
    assert r.returncode == 1 and "no dyadwatch store here" in r.stderr


def test_selector_labels():
    assert Selector("calls").label() == "calls per year"
    assert Selector("net_cooperation", "friction", "syria", "RUS>TUR").label() == \
        "net_cooperation, track friction, theatre syria, RUS>TUR"
