"""The brief: built from a hand-made GDELT 2.0 store (nine months with a planted jump, a leader call, a
repeated event, a bad row) and from the real Karabakh sample (too little data for trends), then
rendered to HTML, Markdown and PDF and checked: sections, footnotes resolving to the exact article
addresses, valid SVG charts, honest "not enough data" statements, the PDF's text."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys
import types
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dyadwatch.brief import BriefError, build_brief, html_to_pdf, render_html, render_markdown
from dyadwatch.sources.gdelt import V2_COLUMNS
from dyadwatch.store import Store

from conftest import KARABAKH
from test_cli import run

D = dt.date
COL = {c: i for i, c in enumerate(V2_COLUMNS)}
GEO = {
    "TU": ("Ankara, Ankara, Turkey", "39.93", "32.86"), "RS": ("Moscow, Moskva, Russia", "55.75", "37.62"),
    "SY": ("Idlib, Idlib, Syria", "35.93", "36.63"), "UP": ("Odesa, Odes'ka Oblast', Ukraine", "46.48", "30.73"),
    "AJ": ("Baku, Baki, Azerbaijan", "40.40", "49.88"), "CH": ("Beijing, Beijing, China", "39.93", "116.39"),
    "IN": ("New Delhi, Delhi, India", "28.60", "77.20"), "FR": ("Paris, Ile-de-France, France", "48.86", "2.35"),
}
SECTION_TITLES = ["Summary", "Key shifts", "Economy and energy", "Leader politics", "Security, the Black Sea and arms",
                  "Diplomacy", "Friction", "Regional theatres", "Russia and its other partners",
                  "Leader contacts per year", "Claims check", "Scenarios and signposts", "Data coverage and caveats",
                  "References"]
CALL_URL = "https://news.example/2021/03/10/putin-erdogan-phone-call"
VISIT_URL = "https://news.example/2021/09/29/erdogan-visit-sochi"


def gdelt_row(eid: int, day: dt.date, a1: str, a2: str, code: str, quad: int, goldstein: float, articles: int,
              tone: float, geo: str, url: str, *, a1type: str = "", a2type: str = "", a1name: str | None = None,
              a2name: str | None = None) -> str:
    """One GDELT 2.0 export line: 61 tab-separated columns."""
    c = [""] * len(V2_COLUMNS)
    c[COL["GLOBALEVENTID"]] = str(eid)
    c[COL["SQLDATE"]], c[COL["MonthYear"]], c[COL["Year"]] = day.strftime("%Y%m%d"), day.strftime("%Y%m"), str(day.year)
    c[COL["FractionDate"]] = f"{day.year + (day.timetuple().tm_yday - 1) / 365:.4f}"
    for n, code_, type_, name in ((1, a1, a1type, a1name), (2, a2, a2type, a2name)):
        c[COL[f"Actor{n}Code"]] = code_ + type_
        c[COL[f"Actor{n}Name"]] = name or {"RUS": "RUSSIA", "TUR": "TURKEY", "CHN": "CHINA", "IND": "INDIA",
                                           "USA": "UNITED STATES", "FRA": "FRANCE"}[code_]
        c[COL[f"Actor{n}CountryCode"]] = code_
        c[COL[f"Actor{n}Type1Code"]] = type_
    c[COL["IsRootEvent"]] = "1"
    c[COL["EventCode"]], c[COL["EventBaseCode"]], c[COL["EventRootCode"]] = code, code[:3], code[:2]
    c[COL["QuadClass"]], c[COL["GoldsteinScale"]] = str(quad), str(goldstein)
    c[COL["NumMentions"]], c[COL["NumSources"]], c[COL["NumArticles"]] = str(articles), "1", str(articles)
    c[COL["AvgTone"]] = str(tone)
    place, lat, lon = GEO[geo]
    c[COL["ActionGeo_Type"]], c[COL["ActionGeo_FullName"]], c[COL["ActionGeo_CountryCode"]] = "4", place, geo
    c[COL["ActionGeo_Lat"]], c[COL["ActionGeo_Long"]] = lat, lon
    c[COL["DATEADDED"]] = day.strftime("%Y%m%d") + "120000"
    c[COL["SOURCEURL"]] = url
    return "\t".join(c)


class Fixture:
    """Nine months of RUS-TUR (and RUS-CHN, RUS-IND, filler) events, one export file per month."""

    def __init__(self):
        self.lines: dict[int, list[str]] = {m: [] for m in range(1, 10)}
        self.next_id = 1000
        self.urls: dict[int, str] = {}

    def add(self, day: dt.date, a1, a2, code, quad, goldstein, articles, tone, geo, slug, **kw) -> int:
        eid = self.next_id
        self.next_id += 1
        url = kw.pop("url", None) or f"https://news.example/{day.isoformat()}/{slug}-{eid}"
        self.lines[day.month].append(gdelt_row(eid, day, a1, a2, code, quad, goldstein, articles, tone, geo, url, **kw))
        self.urls[eid] = url
        return eid

    def build(self) -> "Fixture":
        for m in range(1, 10):
            dip = 3 if m <= 6 else 12  # the planted jump: July 2021
            for i in range(dip):
                a1, a2 = ("RUS", "TUR") if i % 2 == 0 else ("TUR", "RUS")
                self.add(D(2021, m, 1 + i), a1, a2, "042" if i % 3 else "036", 1, 1.9, 2 + (i % 4), 1.0, "RS",
                         "diplomatic-visit")
            if m in (2, 4, 6, 8):
                self.add(D(2021, m, 20), "TUR", "RUS", "061", 2, 6.4, 4, 2.0, "TU", "gas-deal", a1type="GOV",
                         a2type="GOV")
            if m in (3, 7):
                self.add(D(2021, m, 21), "RUS", "TUR", "190", 4, -10.0, 9, -8.0, "SY", "idlib-strike", a1type="MIL")
            if m == 5:
                self.add(D(2021, 5, 22), "RUS", "TUR", "0234", 1, 5.2, 3, -1.0, "UP", "black-sea-navy", a1type="MIL")
            if m in (1, 8):
                self.add(D(2021, m, 23), "TUR", "RUS", "111", 3, -2.0, 5, -4.0, "RS", "criticism")
            if m in (2, 6):
                self.add(D(2021, m, 24), "RUS", "TUR", "040", 1, 1.0, 3, 0.5, "AJ", "karabakh-talks")
            for i in range(2):
                self.add(D(2021, m, 25 + i), "RUS", "CHN", "042", 1, 1.9, 3, 1.0, "CH", "china-visit")
            if m % 2:
                self.add(D(2021, m, 27), "IND", "RUS", "057", 1, 8.0, 2, 1.5, "IN", "india-agreement")
            for i in range(40):
                self.add(D(2021, m, 1 + i % 28), "USA", "FRA", "010", 1, 0.0, 1, 0.0, "FR", "filler")
        # a leader call, both directions, and a later visit
        self.call_ids = [
            self.add(D(2021, 3, 10), "RUS", "TUR", "041", 1, 1.0, 6, 1.0, "RS", "call", url=CALL_URL, a1type="GOV",
                     a2type="GOV", a1name="VLADIMIR PUTIN", a2name="RECEP TAYYIP ERDOGAN"),
            self.add(D(2021, 3, 10), "TUR", "RUS", "041", 1, 1.0, 4, 1.0, "RS", "call", url=CALL_URL, a1type="GOV",
                     a2type="GOV", a1name="RECEP TAYYIP ERDOGAN", a2name="VLADIMIR PUTIN"),
        ]
        self.visit_id = self.add(D(2021, 9, 29), "TUR", "RUS", "042", 1, 1.9, 7, 2.0, "RS", "visit", url=VISIT_URL,
                                 a1type="GOV", a2type="GOV", a1name="RECEP TAYYIP ERDOGAN", a2name="VLADIMIR PUTIN")
        # one real-world event reported twice: the unique event is cited by its first id, with that row's URL
        self.first_of_pair = self.add(D(2021, 7, 28), "RUS", "TUR", "057", 1, 8.0, 10, 3.0, "TU", "grain-deal")
        self.second_of_pair = self.add(D(2021, 7, 28), "RUS", "TUR", "057", 1, 8.0, 30, 3.0, "TU", "grain-deal-again")
        return self

    def write(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for m, lines in self.lines.items():
            body = list(lines)
            if m == 4:
                body.insert(3, "\t".join(["999999"] + [""] * 59))  # 60 columns: quarantined
            p = folder / f"2021{m:02d}01.export.CSV"
            p.write_text("\n".join(body) + "\n", encoding="utf-8")
            paths.append(p)
        return paths


@pytest.fixture(scope="module")
def fixture_store(tmp_path_factory) -> tuple[Store, Fixture]:
    root = tmp_path_factory.mktemp("brief-fixture")
    fx = Fixture().build()
    files = fx.write(root / "files")
    store = Store(root / "store")
    report = store.ingest([str(p) for p in files], workers=1)
    assert not report.failed and report.rows_rejected == 1
    return store, fx


@pytest.fixture(scope="module")
def brief(fixture_store):
    store, _ = fixture_store
    return build_brief(store, "RUS-TUR", None, "2021-10-31", ["TUR", "CHN", "IND", "IRN"])


@pytest.fixture(scope="module")
def html(brief) -> str:
    return render_html(brief)


@pytest.fixture(scope="module")
def karabakh(tmp_path_factory) -> Store:
    store = Store(tmp_path_factory.mktemp("brief-karabakh") / "store")
    store.ingest([str(KARABAKH)])
    return store


def store_rows(store: Store, ids) -> dict[int, dict]:
    con = store.connect()
    try:
        got = con.execute(f"SELECT event_id, event_date, source_url FROM events WHERE event_id IN "
                          f"({', '.join(str(int(i)) for i in ids)})").fetchall()
    finally:
        con.close()
    return {i: {"date": d, "url": u} for i, d, u in got}


# -- the model -------------------------------------------------------------------------------------


def test_sections_in_the_papers_order(brief):
    assert [s.id for s in brief.sections] == ["key-shifts", "tracks", "theatres", "comparison", "contacts", "claims",
                                              "scenarios", "coverage"]
    assert [s.id for s in brief.section("tracks").subsections] == [
        "track-economy_energy", "track-leaders", "track-security_arms", "track-diplomacy", "track-friction"]
    assert brief.title == "Russia and Turkey: what the event data show"
    assert (brief.start, brief.end) == (D(2021, 1, 1), D(2021, 10, 31))  # the data's first day, the asked last


def test_every_footnote_is_a_store_row_with_its_own_date_and_url(brief, fixture_store):
    store, fx = fixture_store
    assert [f.number for f in brief.footnotes] == list(range(1, len(brief.footnotes) + 1))
    rows = store_rows(store, [f.event_id for f in brief.footnotes])
    for f in brief.footnotes:
        assert f.url == rows[f.event_id]["url"] == fx.urls[f.event_id]
        assert f.date == rows[f.event_id]["date"]
    # every reference number used resolves to a footnote
    used = {n for _, s in brief.statements() for n in s.refs}
    assert used and used <= set(range(1, len(brief.footnotes) + 1))


def test_findings_carry_footnotes(brief):
    findings = [s for _, s in brief.statements() if s.kind == "finding"]
    assert len(findings) > 20
    assert all(s.refs for s in findings), [s.text for s in findings if not s.refs]


def test_shift_planted_in_july_is_key_and_cites_its_month(brief, fixture_store):
    store, fx = fixture_store
    sec = brief.section("key-shifts")
    items = [s for b in sec.blocks if b.type == "bullets" for s in b.items]
    july = [s for s in items if s.label == "July 2021"]
    assert any("Unique events jumped" in s.text for s in july), [s.text for s in items]
    assert any("changed level upwards" in s.text for s in july)
    for s in july:
        assert s.refs
        for n in s.refs:
            assert brief.footnote(n).date.strftime("%Y-%m") == "2021-07"


def test_repeated_event_cited_once_by_its_first_record(brief, fixture_store):
    _, fx = fixture_store
    ids = {f.event_id: f for f in brief.footnotes}
    assert fx.first_of_pair in ids and fx.second_of_pair not in ids
    assert ids[fx.first_of_pair].url == fx.urls[fx.first_of_pair]
    assert "grain-deal-again" not in " ".join(f.url for f in brief.footnotes)


def test_leader_contacts_cite_the_call_and_the_visit(brief, fixture_store):
    _, fx = fixture_store
    sec = brief.section("contacts")
    items = [s for b in sec.blocks if b.type == "bullets" for s in b.items]
    assert [(s.label, s.text.split(":")[0]) for s in items] == [("2021-03-10", "call"), ("2021-09-29", "visit")]
    call, visit = items
    assert {brief.footnote(n).url for n in call.refs} == {CALL_URL}
    assert {brief.footnote(n).event_id for n in call.refs} == set(fx.call_ids)
    assert [brief.footnote(n).url for n in visit.refs] == [VISIT_URL]
    table = next(b for b in sec.blocks if b.type == "table")
    # all contacts, and how many are corroborated: the call's two records share one article, the visit
    # has one: both are single reports
    assert table.columns == ["Year", "Calls", "Visits", "Meetings", "Total", "Corroborated"]
    assert [[c.text for c in row] for row in table.rows] == [["2021", "1", "1", "0", "2", "0"]]
    assert "1 distinct report" in call.text and call.text.endswith("; single report)")
    assert any(b.type == "chart" for b in sec.blocks)
    notes = " ".join(s.text for b in sec.blocks if b.type == "paragraph" for s in b.statements)
    assert "a contact is one encounter" in notes and "reports on the next 7 days folded in" in notes


def test_tracks_theatres_and_partners_numbers(brief):
    eco = brief.section("track-economy_energy")
    text = " ".join(s.text for b in eco.blocks if b.type == "paragraph" for s in b.statements)
    assert "4 unique events on this track" in text
    sec = brief.section("track-security_arms")
    text = " ".join(s.text for b in sec.blocks if b.type == "paragraph" for s in b.statements)
    assert "1 event located in Ukraine and the Black Sea" in text
    theatres = brief.section("theatres")
    assert [s.id for s in theatres.subsections] == ["theatre-syria", "theatre-south_caucasus", "theatre-ukraine_black_sea"]
    comp = brief.section("comparison")
    table = next(b for b in comp.blocks if b.type == "table")
    assert [r[0].text for r in table.rows] == ["Turkey", "China", "India", "Iran"]
    assert [r[1].text for r in table.rows][3] == "0" and not table.rows[3][0].refs  # no Iran events: no footnote
    assert all(r[0].refs for r in table.rows[:3])
    china = table.rows[1][0].refs
    assert all("china-visit" in brief.footnote(n).url for n in china)


def test_nine_months_give_trends_and_coverage_names_the_missing_month(brief):
    trend = [s for _, s in brief.statements() if s.text.startswith("Over 9 months with data")]
    assert trend and all(s.refs for s in trend)
    cov = brief.section("coverage")
    text = " ".join(s.text for b in cov.blocks if b.type == "paragraph" for s in b.statements)
    assert "No data for 1 of the 10 months in the range: 2021-10." in text
    assert "1 row could not be read and was quarantined" in text
    tables = [b for b in cov.blocks if b.type == "table"]
    assert tables[0].caption.startswith("Quarantined rows") and tables[0].rows[0][0].text == "20210401.export.CSV"
    assert [r[0].text for r in tables[1].rows] == [f"2021{m:02d}01.export.CSV" for m in range(1, 10)]


# -- HTML ------------------------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: dict[str, str] = {}
        self.refs: list[str] = []
        self.external: list[tuple[str, str]] = []
        self.headings: list[str] = []
        self._li: str | None = None
        self._h = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.setdefault(a["id"], "")
        if tag == "a" and a.get("class") == "ref":
            self.refs.append(a["href"][1:])
        if tag in ("script", "link", "img", "iframe", "object", "embed", "source") or "src" in a:
            self.external.append((tag, str(a)))
        if tag == "li" and a.get("id", "").startswith("ref-"):
            self._li = a["id"]
        if tag in ("h1", "h2", "h3", "h4"):
            self._h = True
            self.headings.append("")
        if tag == "a" and self._li and a.get("class") == "ref-url":
            self.ids[self._li] = a["href"]

    def handle_endtag(self, tag):
        if tag == "li":
            self._li = None
        if tag in ("h1", "h2", "h3", "h4"):
            self._h = False

    def handle_data(self, data):
        if self._h:
            self.headings[-1] += data


def test_html_sections_footnotes_and_no_external_resources(brief, html):
    p = _Links()
    p.feed(html)
    for title in SECTION_TITLES:
        assert title in p.headings
    assert p.external == []
    assert "@import" not in html and "url(http" not in html and "<link" not in html
    assert p.refs and all(r in p.ids for r in p.refs)
    for f in brief.footnotes:  # each numbered reference links to exactly its article
        assert p.ids[f"ref-{f.number}"] == f.url
    call_refs = re.findall(r'<strong class="label">2021-03-10\.</strong> call:[^<]*<sup class="refs">(.*?)</sup>', html)
    assert call_refs
    numbers = re.findall(r'href="#ref-(\d+)"', call_refs[0])
    assert numbers and all(p.ids[f"ref-{n}"] == CALL_URL for n in numbers)


def test_inline_charts_are_valid_svg_with_unique_ids(brief, html):
    svgs = re.findall(r"<svg\b.*?</svg>", html, re.S)
    assert len(svgs) == len(brief.charts()) >= 5
    names = {c.name for c in brief.charts()}
    assert {"indicators", "track-mix", "theatres", "partners", "contacts"} <= names
    all_ids = []
    for svg in svgs:
        root = ET.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        all_ids += [el.get("id") for el in root.iter() if el.get("id")]
    assert len(all_ids) == len(set(all_ids))  # several charts, one page: no id clash
    assert "<dc:date>" not in html  # no dates in the SVG metadata


def test_html_is_deterministic(fixture_store, html):
    store, _ = fixture_store
    again = render_html(build_brief(store, "RUS-TUR", None, "2021-10-31", ["TUR", "CHN", "IND", "IRN"]))
    assert again == html


def test_markdown_footnotes_and_chart_files(brief, tmp_path):
    md = render_markdown(brief, charts_dir=tmp_path / "charts", charts_href="charts/")
    used = set(re.findall(r"\[\^(\d+)\](?!:)", md))
    defined = dict(re.findall(r"^\[\^(\d+)\]: .*?<([^>]+)>$", md, re.M))
    assert used and used == set(defined)
    for f in brief.footnotes:
        assert defined[str(f.number)] == f.url
    for title in SECTION_TITLES:
        assert re.search(rf"^#+ {re.escape(title)}$", md, re.M), title
    for chart in brief.charts():
        path = tmp_path / "charts" / f"{chart.name}.svg"
        assert f"](charts/{chart.name}.svg)" in md
        assert ET.parse(path).getroot().tag == "{http://www.w3.org/2000/svg}svg"


# -- little data: the Karabakh sample --------------------------------------------------------------


def test_three_days_of_data_say_so_instead_of_trends(karabakh):
    b = build_brief(karabakh, "RUS-TUR")
    statements = [s for _, s in b.statements()]
    no_data = [s.text for s in statements if s.kind == "no_data"]
    assert any(t.startswith("Not enough data to detect shifts: the range holds 1 month with data") for t in no_data)
    assert any("Not enough data for trends or shifts: 1 month with data" in t for t in no_data)
    for track in ("security_arms", "diplomacy", "friction"):
        texts = [s.text for blk in b.section(f"track-{track}").blocks if blk.type == "paragraph" for s in blk.statements]
        assert any(t.startswith("Not enough data for a trend") for t in texts)
    words = " ".join(s.text for s in statements if s.kind == "finding")
    assert not re.search(r"\b(rose|fell|jumped|dropped|changed level)\b", words)
    assert b.section("key-shifts").blocks[0].caption.startswith("Per day")
    summary = b.abstract[0]
    assert summary.text.startswith("40 unique events between Russia and Turkey from 2020-11-13 to 2020-11-15 (57 records")
    assert summary.refs
    contacts = b.section("contacts")
    assert contacts.blocks[0].statements[0].kind == "empty"


def test_a_range_without_data(karabakh):
    b = build_brief(karabakh, "RUS-TUR", "2021-01-01", "2021-03-31")
    assert b.abstract[0].kind == "no_data" and b.footnotes == []
    cov = " ".join(s.text for _, s in b.statements() if _ is not None and _.id == "coverage")
    assert "the store has no data at all in that range" in cov
    assert "No data for 3 of the 3 months in the range: 2021-01, 2021-02, 2021-03." in cov
    render_html(b)  # renders without footnotes or charts but the indicators one


# -- claims and scenarios --------------------------------------------------------------------------


def test_claims_and_scenarios_unavailable_without_their_modules(karabakh, monkeypatch):
    monkeypatch.setitem(sys.modules, "dyadwatch.judgements.claims", None)
    monkeypatch.setitem(sys.modules, "dyadwatch.judgements.scenarios", None)
    b = build_brief(karabakh, "RUS-TUR")
    claims = b.section("claims").blocks[0].statements[0]
    assert claims.kind == "no_data" and claims.text.startswith("The claims check is unavailable")
    scen = b.section("scenarios").blocks[0].statements[0]
    assert scen.kind == "no_data" and scen.text.startswith("Scenarios and signposts are unavailable")


@dataclass
class _Verdict:
    id: str
    text: str
    quote: str
    kind: str
    verdict: str
    numbers: dict
    detail: str
    evidence: list = field(default_factory=list)


def test_claims_and_scenarios_rendered_with_their_evidence(fixture_store, monkeypatch):
    store, fx = fixture_store
    claims = types.ModuleType("dyadwatch.judgements.claims")
    claims.load_claims = lambda path=None: ["c1", "c2"]
    claims.check = lambda st, items, dyad="RUS-TUR", start=None, end=None: [
        _Verdict("calls-2021", "Ten phone calls in 2021.", "ten phone conversations", "count", "contradicted",
                 {"calls": 1}, "1 call in 2021, not 10.",
                 [{"event_id": fx.call_ids[0], "date": "2021-03-10", "url": CALL_URL}]),
        _Verdict("x", "Something before 2015.", "", "trend", "not enough data", {}, "no data before 2021.", []),
    ]
    scenarios = types.ModuleType("dyadwatch.judgements.scenarios")
    scenarios.load_scenarios = lambda path=None: ["s"]
    scenarios.evaluate = lambda st, items, dyad="RUS-TUR", start=None, end=None: [
        {"scenario_id": "erosion", "scenario_title": "Further erosion", "signpost_id": "visits",
         "signpost_text": "A leader visit", "status": "lit", "numbers": {"visits": 1}, "detail": "1 visit",
         "evidence": [{"event_id": fx.visit_id, "date": D(2021, 9, 29), "url": VISIT_URL}]},
    ]
    monkeypatch.setitem(sys.modules, "dyadwatch.judgements.claims", claims)
    monkeypatch.setitem(sys.modules, "dyadwatch.judgements.scenarios", scenarios)
    b = build_brief(store, "RUS-TUR")
    items = [s for blk in b.section("claims").blocks if blk.type == "bullets" for s in blk.items]
    assert [(s.label, s.kind) for s in items] == [("Contradicted", "verdict"), ("Not enough data", "no_data")]
    assert [b.footnote(n).url for n in items[0].refs] == [CALL_URL] and items[1].refs == []
    sub = b.section("scenario-erosion")
    assert sub.title == "Further erosion"
    lit = [s for blk in sub.blocks if blk.type == "bullets" for s in blk.items]
    assert lit[0].label == "Lit" and [b.footnote(n).url for n in lit[0].refs] == [VISIT_URL]
    html = render_html(b)
    assert "Further erosion" in html and "Contradicted." in html


# -- the command line and the PDF ------------------------------------------------------------------


needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None and not Path("/usr/bin/chromium").exists(),
                                    reason="chromium is not installed (apt-get install chromium)")
needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) missing")


@needs_chromium
@needs_pdftotext
def test_cli_writes_html_md_and_pdf(fixture_store, tmp_path):
    store, _ = fixture_store
    for name in ("brief.html", "brief.md", "brief.pdf"):
        r = run("brief", "--store", str(store.root), "--dyad", "RUS-TUR", "--to", "2021-10-31",
                "--partners", "TUR,CHN,IND,IRN", "--out", str(tmp_path / name))
        assert r.returncode == 0, r.stderr
        assert f"wrote {tmp_path / name}" in r.stdout
    assert (tmp_path / "brief_charts" / "indicators.svg").exists()
    pdf = tmp_path / "brief.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    for title in SECTION_TITLES:
        assert title in flat, title
    assert CALL_URL in flat  # the references survive into the PDF's text


@pytest.mark.parametrize("args, message", [
    (["--out", "brief.txt"], "must end in .html, .pdf or .md"),
    (["--out", "b.html", "--dyad", "RUS-XXX"], "unknown CAMEO country code 'XXX'"),
    (["--out", "b.html", "--partners", "CHN,ZZZ"], "unknown CAMEO country code 'ZZZ'"),
    (["--out", "b.html", "--from", "2021-05-01", "--to", "2021-01-01"], "is before --from"),
])
def test_cli_user_errors_are_one_line(fixture_store, tmp_path, args, message):
    store, _ = fixture_store
    r = run("brief", "--store", str(store.root), *args, cwd=tmp_path)
    assert r.returncode == 1
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and message in lines[0], r.stderr


def test_cli_no_store_is_one_line(tmp_path):
    r = run("brief", "--store", str(tmp_path / "none"), "--out", str(tmp_path / "b.html"))
    assert r.returncode == 1 and "no dyadwatch store here" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_pdf_without_chromium_says_how_to_install(fixture_store, tmp_path, monkeypatch):
    store, _ = fixture_store
    missing = str(tmp_path / "no-chromium-here")
    r = run("brief", "--store", str(store.root), "--out", str(tmp_path / "b.pdf"), env={"DYADWATCH_CHROMIUM": missing})
    assert r.returncode == 1
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "apt-get install chromium" in lines[0], r.stderr
    assert not (tmp_path / "b.pdf").exists()
    monkeypatch.setenv("DYADWATCH_CHROMIUM", missing)
    with pytest.raises(BriefError, match="apt-get install chromium"):
        html_to_pdf("<p>x</p>", tmp_path / "x.pdf")
