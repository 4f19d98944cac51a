"""Everything a brief says, gathered from the store before a word is written.

The numbers come from the measures API (`dyadwatch.measures.api`: indicators, shifts, contacts,
compare), exactly as `dyadwatch indicators|shifts|contacts|compare` print them. The footnotes come from
an *event index*: the same unique-event frame the measures count (`measures.frame`), kept open so a
statement can ask for "the most-reported events behind this number". A unique event is cited by its
frame id (the smallest GDELT event id among its records) with that record's own date and URL, so every
footnote names a real row of the store (`dyadwatch events` shows it).

Claims and scenarios come from `dyadwatch.judgements.claims` / `.scenarios` when those modules exist;
otherwise the brief says they are unavailable.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import duckdb

from ..knowledge.codebook import _lookup_rows, countries
from ..measures import api
from ..measures.compare import DEFAULT_PARTNERS
from ..measures.contacts import contacts_per_year
from ..measures.frame import connect, default_taxonomy, materialise_unique_events
from ..store import Store, StoreError, open_store
from ..knowledge.taxonomy import Taxonomy

SLOT_FILE = re.compile(r"^(\d{8})(\d{6})\.(?:translation\.)?export\.CSV(?:\.zip)?$", re.IGNORECASE)
SLOTS_PER_DAY = 96  # GDELT 2.0 publishes one export every 15 minutes


@dataclass(frozen=True)
class EventRef:
    """A source article as the store holds it: the row a footnote names."""

    event_id: int
    source: str | None
    date: dt.date | None
    url: str | None
    actor1: str | None = None
    actor1_country: str | None = None
    actor2: str | None = None
    actor2_country: str | None = None
    event_code: str | None = None
    place: str | None = None
    articles: int | None = None  # articles behind the unique event (all its records)
    quad_class: int | None = None


@dataclass
class ModuleResult:
    """What an optional module (claims, scenarios) returned, or why it could not run."""

    available: bool
    results: list = field(default_factory=list)
    error: str | None = None


@dataclass
class Coverage:
    sources: list[dict]  # store.status()["sources"]
    files: list[dict]  # the manifest
    quarantine: list[dict]  # source_file, source_line, reason
    filters: list[str]  # country filters files were ingested with ("all" = none)
    days: dict[dt.date, int]  # all events per day in the range (every source)
    months: list[dt.date]  # every month of the range
    months_without_data: list[dt.date]
    days_without_data: list[dt.date]  # inside the span of days with data
    incomplete_days: list[tuple[dt.date, int]]  # GDELT 2.0 days with fewer than 96 15-minute files
    taxonomy_path: str


@dataclass
class BriefData:
    a: str
    b: str
    names: tuple[str, str]
    start: dt.date | None  # the range the numbers cover (requested, else the data's own)
    end: dt.date | None
    requested: tuple[dt.date | None, dt.date | None]
    taxonomy: Taxonomy
    monthly: list[dict]  # api.indicators by month, tracks all+each, theatres all+each, all directions
    shifts: dict[str, list[dict]]  # track ("all" or a track name) -> api.shifts rows
    contacts: list[dict]
    contacts_per_year: list[dict]
    focal: str
    partners: list[str]
    compare: list[dict]
    coverage: Coverage
    claims: ModuleResult
    scenarios: ModuleResult
    events: "EventIndex"


def country_name(code: str) -> str:
    name = countries().get(code, code)
    return name if not name.isupper() else name.title()


@lru_cache(maxsize=1)
def _event_descriptions() -> dict[str, str]:
    return {r["CAMEOEVENTCODE"].strip(): r["EVENTDESCRIPTION"].strip() for r in _lookup_rows("CAMEO.eventcodes.txt")}


def event_description(code: str | None) -> str:
    if not code:
        return "event"
    text = _event_descriptions().get(code) or _event_descriptions().get(code[:3]) or "event"
    return text[0].upper() + text[1:].lower() if text.isupper() else text


# -- the event index -------------------------------------------------------------------------------


_REF_COLUMNS = ("event_id, source, event_date, source_url, actor1_name, actor1_country, actor2_name, "
                "actor2_country, event_code, place, articles, quad_class")


class EventIndex:
    """The dyad's (and its partner comparison's) unique events, with the row each is cited by.

    `top(...)` answers "which events stand behind this number": the most-reported unique events
    (by articles, then event id) matching a track, theatre, months, direction or quad classes."""

    def __init__(self, store: Store, taxonomy: Taxonomy, a: str, b: str, partners: list[str],
                 start: dt.date | None, end: dt.date | None):
        self.a, self.b = a, b
        self.con: duckdb.DuckDBPyConnection = connect(store)
        self.tracks = [c.name for c in taxonomy.tracks]
        self.theatres = [c.name for c in taxonomy.theatres]
        others = [p for p in dict.fromkeys([b, *partners]) if p != a]
        materialise_unique_events(self.con, taxonomy, a, others, start=start, end=end)
        ctry = ", ".join(f"'{c}'" for c in [a, *others])
        on_source = "AND r.source = u.source" if "source" in taxonomy.unique_event_key else ""
        # the cited row: the unique event's id, with that record's own date, URL, names and place
        self.con.execute(f"""
            CREATE TEMP TABLE brief_events AS
            SELECT u.*, CAST(date_trunc('month', u.event_date) AS DATE) AS month,
                   r.event_date AS row_date, r.source_url AS row_url, r.actor1_name, r.actor1_country,
                   r.actor2_name, r.actor2_country, r.action_geo_fullname AS place, r.source AS row_source
            FROM unique_events u
            LEFT JOIN (SELECT * FROM events WHERE actor1_country IN ({ctry}) AND actor2_country IN ({ctry})) r
              ON r.event_id = u.event_id {on_source}
            QUALIFY row_number() OVER (PARTITION BY u.partner, u.direction, u.event_id ORDER BY r.source_url NULLS LAST) = 1
        """)
        self.con.execute("DROP TABLE unique_events")

    def close(self) -> None:
        self.con.close()

    # -- questions ---------------------------------------------------------------------------------

    def _where(self, partner: str | None, track: str | None, theatre: str | None, months: tuple | None,
               direction: str | None, quads: tuple[int, ...] | None, day: dt.date | None,
               regional_only: list[str] | None = None) -> tuple[str, list]:
        where, params = ["partner = ?"], [partner or self.b]
        if track and track != "all":
            if track not in self.tracks:
                raise ValueError(f"unknown track {track!r}")
            where.append(f'"track:{track}"')
        if theatre and theatre != "all":
            if theatre not in self.theatres:
                raise ValueError(f"unknown theatre {theatre!r}")
            where.append(f'"theatre:{theatre}"')
        if months:
            lo, hi = months
            where.append("month BETWEEN ? AND ?")
            params += [lo, hi]
        if day is not None:
            where.append("event_date = ?")
            params.append(day)
        if direction and direction != "both":
            where.append("direction = ?")
            params.append(direction)
        if quads:
            where.append(f"quad_class IN ({', '.join(str(int(q)) for q in quads)})")
        return " AND ".join(where), params

    def top(self, n: int = 3, *, partner: str | None = None, track: str | None = None, theatre: str | None = None,
            months: tuple[dt.date, dt.date] | None = None, direction: str | None = None,
            quads: tuple[int, ...] | None = None, day: dt.date | None = None) -> list[EventRef]:
        where, params = self._where(partner, track, theatre, months, direction, quads, day)
        rows = self.con.execute(
            f"""SELECT event_id, coalesce(row_source, source) AS source, coalesce(row_date, event_date) AS event_date,
                       row_url AS source_url, actor1_name, actor1_country, actor2_name, actor2_country, event_code,
                       place, articles, quad_class
                FROM brief_events WHERE {where}
                ORDER BY articles DESC, event_id LIMIT {int(n)}""", params).fetchall()
        return [_ref(r) for r in rows]

    def count(self, **kw) -> int:
        where, params = self._where(kw.get("partner"), kw.get("track"), kw.get("theatre"), kw.get("months"),
                                    kw.get("direction"), kw.get("quads"), kw.get("day"))
        return int(self.con.execute(f"SELECT count(*) FROM brief_events WHERE {where}", params).fetchone()[0])

    def daily(self, track: str | None = None) -> list[tuple[dt.date, int]]:
        """Unique events of the dyad per day (for a range too short for monthly points)."""
        where, params = self._where(None, track, None, None, None, None, None)
        return [(d, int(n)) for d, n in self.con.execute(
            f"SELECT event_date, count(*) FROM brief_events WHERE {where} GROUP BY 1 ORDER BY 1", params).fetchall()]

    def lookup(self, ids: list[int]) -> dict[int, EventRef]:
        """The cited row of each event id: from the frame when the id is a unique event's, else the store."""
        ids = [int(i) for i in dict.fromkeys(ids) if i is not None]
        if not ids:
            return {}
        found: dict[int, EventRef] = {}
        id_list = ", ".join(str(i) for i in ids)
        for r in self.con.execute(
                f"""SELECT event_id, coalesce(row_source, source), coalesce(row_date, event_date), row_url,
                           actor1_name, actor1_country, actor2_name, actor2_country, event_code, place, articles,
                           quad_class
                    FROM brief_events WHERE event_id IN ({id_list})
                    QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY partner) = 1""").fetchall():
            found[int(r[0])] = _ref(r)
        missing = [i for i in ids if i not in found]
        if missing:
            for r in self.con.execute(
                    f"""SELECT event_id, source, event_date, source_url, actor1_name, actor1_country, actor2_name,
                               actor2_country, event_code, action_geo_fullname, num_articles, quad_class
                        FROM events WHERE event_id IN ({', '.join(str(i) for i in missing)})
                        QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY source) = 1""").fetchall():
                found[int(r[0])] = _ref(r)
        return found


def _ref(r) -> EventRef:
    return EventRef(event_id=int(r[0]), source=r[1], date=r[2], url=r[3], actor1=r[4], actor1_country=r[5],
                    actor2=r[6], actor2_country=r[7], event_code=r[8], place=r[9],
                    articles=None if r[10] is None else int(r[10]), quad_class=None if r[11] is None else int(r[11]))


# -- coverage --------------------------------------------------------------------------------------


def _month(d: dt.date) -> dt.date:
    return dt.date(d.year, d.month, 1)


def _months(lo: dt.date, hi: dt.date) -> list[dt.date]:
    out, m = [], _month(lo)
    while m <= hi:
        out.append(m)
        m = dt.date(m.year + m.month // 12, m.month % 12 + 1, 1)
    return out


def gather_coverage(store: Store, start: dt.date | None, end: dt.date | None, taxonomy: Taxonomy) -> Coverage:
    status = store.status()
    manifest = store.manifest().to_pylist()
    quarantine = store.quarantine().select(["source_file", "source_line", "reason"]).to_pylist()
    totals = store.daily_totals().to_pylist()
    days: dict[dt.date, int] = {}
    for t in totals:
        if (start is None or t["day"] >= start) and (end is None or t["day"] <= end):
            days[t["day"]] = days.get(t["day"], 0) + int(t["events"])
    lo = start or (min(days) if days else None)
    hi = end or (max(days) if days else None)
    months = _months(lo, hi) if lo and hi and lo <= hi else []
    have = {_month(d) for d in days}
    months_without = [m for m in months if m not in have]
    days_without: list[dt.date] = []
    if days:
        d = min(days)
        while d <= max(days):
            if d not in days:
                days_without.append(d)
            d += dt.timedelta(days=1)
    slots: dict[dt.date, int] = {}
    for f in manifest:
        m = SLOT_FILE.match(f.get("name") or "")
        if m and f.get("source", "").startswith("gdelt2"):
            day = dt.date(int(m.group(1)[:4]), int(m.group(1)[4:6]), int(m.group(1)[6:]))
            if (start is None or day >= start) and (end is None or day <= end):
                slots[day] = slots.get(day, 0) + 1
    incomplete = sorted((d, n) for d, n in slots.items() if n < SLOTS_PER_DAY)
    return Coverage(
        sources=status["sources"], files=manifest, quarantine=quarantine, filters=status["filters"], days=days,
        months=months, months_without_data=months_without, days_without_data=days_without,
        incomplete_days=incomplete, taxonomy_path=taxonomy.path,
    )


# -- claims and scenarios --------------------------------------------------------------------------


def _as_dict(obj: Any) -> dict:
    if isinstance(obj, dict):
        return dict(obj)
    if dataclasses.is_dataclass(obj):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    return {k: v for k, v in vars(obj).items() if not k.startswith("_")} if hasattr(obj, "__dict__") else {"value": obj}


def _optional(module: str, load: str, run: str, store: Store, dyad: str, start, end, path) -> ModuleResult:
    """Run dyadwatch.judgements.<module> if it exists: load(path) then run(store, items, dyad=..., start=, end=)."""
    try:
        mod = importlib.import_module(f"dyadwatch.judgements.{module}")
    except ModuleNotFoundError as exc:
        if exc.name in (f"dyadwatch.judgements.{module}", "dyadwatch.judgements", "dyadwatch"):
            return ModuleResult(False, error=f"this installation has no dyadwatch.judgements.{module} module")
        raise
    try:
        items = getattr(mod, load)(path)
        results = getattr(mod, run)(store, items, dyad=dyad, start=start, end=end)
    except Exception as exc:  # the brief still renders; the section says what went wrong
        return ModuleResult(False, error=f"dyadwatch.judgements.{module} failed: {type(exc).__name__}: {exc}")
    return ModuleResult(True, [_as_dict(r) for r in results])


# -- all of it -------------------------------------------------------------------------------------


def default_partners(a: str, b: str) -> list[str]:
    return [b, *(p for p in DEFAULT_PARTNERS if p not in (a, b))]


def gather(store: Store | str | None, a: str, b: str, *, start: dt.date | None = None, end: dt.date | None = None,
           partners: list[str] | None = None, taxonomy=None, claims_path=None, scenarios_path=None) -> BriefData:
    """Call the measures for the dyad a-b over [start, end] and open the event index. Close the result's
    `events` when done (`build_brief` does)."""
    st = store if isinstance(store, Store) else open_store(store)
    if not st.exists():
        raise StoreError(f"{st.root}: no dyadwatch store here (run `dyadwatch ingest` first)")
    if start is not None and end is not None and end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    tax = default_taxonomy(taxonomy)
    dyad = f"{a}-{b}"
    partners = [p for p in dict.fromkeys([b, *(partners or default_partners(a, b)[1:])]) if p != a]
    coverage = gather_coverage(st, start, end, tax)
    lo = start or (min(coverage.days) if coverage.days else None)
    hi = end or (max(coverage.days) if coverage.days else None)

    monthly = api.indicators(st, (a, b), by="month", tracks="all,each", theatres="all,each", start=start, end=end,
                             taxonomy=tax).to_pylist()
    shifts = {"all": api.shifts(st, (a, b), start=start, end=end, taxonomy=tax).to_pylist()}
    # per track only when the detectors can find anything (PELT needs two stretches of 3 months)
    for track in (c.name for c in tax.tracks if len({r["period"] for r in monthly}) >= 6):
        shifts[track] = api.shifts(st, (a, b), indicators_=("events",), track=track, start=start, end=end,
                                   taxonomy=tax).to_pylist()
    contact_table = api.contacts(st, (a, b), start=start, end=end)
    years = range(lo.year, hi.year + 1) if lo and hi else None
    per_year = contacts_per_year(contact_table, years=years).to_pylist()  # = api.contacts_per_year, every year
    contacts = contact_table.to_pylist()
    comparison = api.compare(st, a, partners, start=start, end=end, taxonomy=tax).to_pylist()
    claims = _optional("claims", "load_claims", "check", st, dyad, start, end, claims_path)
    scenarios = _optional("scenarios", "load_scenarios", "evaluate", st, dyad, start, end, scenarios_path)
    index = EventIndex(st, tax, a, b, partners, start, end)
    return BriefData(
        a=a, b=b, names=(country_name(a), country_name(b)), start=lo, end=hi, requested=(start, end), taxonomy=tax,
        monthly=monthly, shifts=shifts, contacts=contacts, contacts_per_year=per_year, focal=a, partners=partners,
        compare=comparison, coverage=coverage, claims=claims, scenarios=scenarios, events=index,
    )


__all__ = ["BriefData", "Coverage", "EventIndex", "EventRef", "ModuleResult", "country_name", "event_description",
           "gather", "default_partners"]
