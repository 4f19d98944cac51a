"""Leader contacts: calls, visits and meetings between two states' named leaders, one per encounter.

Who counts as a leader is data (`data/leaders.yaml`, see docs/leaders.md): heads of state, heads of
government and foreign ministers, each with the spellings event coders use and the dates in office.

A leader-level contact is an event whose two actors are BOTH leaders in office on the event date, one
of each country of the dyad (either direction): the actor name, upper-cased and trimmed, equals a
listed spelling; the actor's country equals the leader's country; the event date lies in the term.
An actor whose country is blank does not count even when the name matches: every measure defines the
dyad by actor country, and GDELT takes a named person's country from the same dictionary entry as the
name, so a leader's name without the country is a coding slip, not evidence.

Kinds (CONTACT_KINDS): 041 (discuss by telephone) is a call; 042 (make a visit) and 043 (host a visit)
are visits; 044 (meet at a third location) and 040 (consult; leader level by construction here) are
meetings. Event data has no text, so the phone rule is a heuristic on the article address: any of those
five events whose source URL mentions a phone (PHONE_PATTERN) or a call (CALL_PATTERN, unless the word is
an appeal such as "calls for", APPEAL_PATTERN) is a call instead. Coders often code one phone call as
both 041 and 040, so a 040 between two leaders on a day they have a call counts toward that call, not
as a meeting (column kind_on_call_day). Announcements never count: 036 (intent to meet) is not a contact
code, and an event whose address announces the encounter (FUTURE_PATTERN: "to-visit", "will-meet",
"ahead-of-summit") is dropped.

A contact is an encounter, not a report (`encounters`, the one place the rule is written; docs/leaders.md
"Encounters"): on one day the dyad's leaders have at most one call and at most one in-person encounter,
whose kind is the most specific seen (a visit before a meeting); reports of the same pair and class on
the next ECHO_WINDOW_DAYS days fold into it unless they have coverage of their own (CORROBORATED distinct
reports, at least half the first day's) and, in person, a place none of its reports named. Each contact
carries its support: event records, articles and sources (GDELT NumArticles / NumSources), distinct
reports (article addresses; without addresses the busier direction of one pair), the days its reports
are dated, the codes seen and a confidence (single report or corroborated).

The SQL (which rows are leader contacts, and of which kind) is plain enough for Spark SQL as well as
DuckDB (concat_ws, regexp_extract, a window max); the engines return the same report rows, and the
encounter rule folds them in Python, so both engines give identical contacts.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ..knowledge.codebook import country_code
from ..engines import as_engine
from ..knowledge.leaders import LEADERS_SCHEMA, ROLES, default_leaders_path, load_leaders  # noqa: F401  (the measure's API)
from ..knowledge.taxonomy import TaxonomyError  # noqa: F401  (raised by load_leaders)

KINDS = ("call", "visit", "meeting")

# CAMEO code -> kind; the kind when the article address mentions a phone call; and the kind on a day
# when the same two leaders also have a call (a bare "consult" then is most likely that call).
CONTACT_KINDS = pa.table(
    {
        "event_code": ["041", "042", "043", "044", "040"],
        "kind": ["call", "visit", "visit", "meeting", "meeting"],
        "kind_if_phone": ["call", "call", "call", "call", "call"],
        "kind_on_call_day": ["call", "visit", "visit", "meeting", "call"],
    }
)
# Applied to the lower-cased source URL. "phon" after a non-letter: phone, phoned, phonecall, telephone,
# telephonic (not smartphone, iphone, microphone); "telefon": Turkish, Russian, German transliterations.
PHONE_PATTERN = r"(^|[^a-z])(tele)?phon|telefon"
# "call" as a word (call, calls, called, video-call) ...
CALL_PATTERN = r"(^|[^a-z])(call|calls|called)([^a-z]|$)"
# ... unless it is an appeal or a summons: calls-for, called-on, call-to, calls-off, called-up, ...
APPEAL_PATTERN = r"(^|[^a-z])(call|calls|called)[^a-z]+(for|on|to|off|up|out)([^a-z]|$)"

CONTACTS_SCHEMA = pa.schema(
    [
        pa.field("day", pa.date32()),
        pa.field("year", pa.int32()),
        pa.field("kind", pa.string()),
        pa.field("leaders", pa.string()),
        pa.field("event_ids", pa.list_(pa.int64())),
        pa.field("urls", pa.list_(pa.string())),
        pa.field("events", pa.int64()),
        pa.field("articles", pa.int64()),
        pa.field("sources", pa.int64()),
        pa.field("reports", pa.int64()),
        pa.field("codes", pa.list_(pa.string())),
        pa.field("days_reported", pa.list_(pa.date32())),
        pa.field("corroborated", pa.bool_()),
        pa.field("confidence", pa.string()),
    ]
)

PER_YEAR_SCHEMA = pa.schema(
    [
        pa.field("year", pa.int32()),
        pa.field("calls", pa.int64()),
        pa.field("visits", pa.int64()),
        pa.field("meetings", pa.int64()),
        pa.field("total", pa.int64()),
        pa.field("corroborated", pa.int64()),
    ]
)



# -- contacts --------------------------------------------------------------------------------------


def _as_date(value, what: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"bad {what} date {value!r}: use YYYY-MM-DD") from None


def _leaders_arg(leaders) -> pa.Table:
    if leaders is None:
        return load_leaders()
    if isinstance(leaders, (str, Path)):
        return load_leaders(leaders)
    if isinstance(leaders, pa.Table):
        missing = [c for c in ("country", "name", "spelling", "start", "end") if c not in leaders.column_names]
        if missing:
            raise ValueError(f"leaders table lacks column {missing[0]!r} (use load_leaders())")
        return leaders
    raise TypeError("leaders must be None, a path to a leaders YAML file or a table from load_leaders()")


CONTACTS_SQL = """
WITH ev AS (
  SELECT e.source, e.event_id, e.event_date, e.event_code, e.source_url, e.num_articles, e.num_sources,
         CASE WHEN e.action_geo_type IS NULL OR e.action_geo_type = 1 THEN NULL
              ELSE e.action_geo_fullname END AS place,
         upper(trim(e.actor1_name)) AS name1, e.actor1_country AS country1,
         upper(trim(e.actor2_name)) AS name2, e.actor2_country AS country2,
         lower(coalesce(e.source_url, '')) AS url
  FROM {events} e
  WHERE ((e.actor1_country = ? AND e.actor2_country = ?) OR (e.actor1_country = ? AND e.actor2_country = ?))
    AND e.event_code IN (SELECT event_code FROM {kinds})
    {filters}
), matched AS (
  SELECT DISTINCT ev.source, ev.event_id, ev.event_date, ev.event_code, ev.source_url, ev.num_articles,
         ev.num_sources, ev.place, ev.url,
         CASE WHEN ev.country1 = ? THEN 1 ELSE 0 END AS forward,
         CASE WHEN ev.country1 = ? THEN concat_ws('–', l1.name, l2.name)
              ELSE concat_ws('–', l2.name, l1.name) END AS pair
  FROM ev
  JOIN {leaders} l1
    ON l1.spelling = ev.name1 AND l1.country = ev.country1
   AND ev.event_date >= l1.term_start AND (l1.term_end IS NULL OR ev.event_date <= l1.term_end)
  JOIN {leaders} l2
    ON l2.spelling = ev.name2 AND l2.country = ev.country2
   AND ev.event_date >= l2.term_start AND (l2.term_end IS NULL OR ev.event_date <= l2.term_end)
), phoned AS (
  SELECT m.*, k.kind_on_call_day,
         CASE WHEN regexp_extract(m.url, ?, 0) <> ''
                OR (regexp_extract(m.url, ?, 0) <> '' AND regexp_extract(m.url, ?, 0) = '')
              THEN k.kind_if_phone ELSE k.kind END AS first_kind
  FROM matched m JOIN {kinds} k ON k.event_code = m.event_code
  WHERE regexp_extract(m.url, ?, 0) = ''
), classified AS (
  SELECT p.*,
         CASE WHEN p.first_kind <> 'call'
                   AND max(CASE WHEN p.first_kind = 'call' THEN 1 ELSE 0 END)
                       OVER (PARTITION BY p.event_date, p.pair) = 1
              THEN p.kind_on_call_day ELSE p.first_kind END AS kind
  FROM phoned p
)
SELECT event_date AS day, kind, event_code, pair, forward, event_id, source_url, num_articles, num_sources,
       place
FROM classified
ORDER BY day, event_id
"""


# -- the encounter rule ----------------------------------------------------------------------------
#
# A report is one event record; an encounter is what the reports are about. Rules (docs/leaders.md,
# "Encounters"): on one day the dyad's leaders have at most one call and at most one in-person encounter
# (visit, hosting, meeting: one encounter whose kind is the most specific seen, visit before meeting);
# reports of the same class and a shared pair on the next ECHO_WINDOW_DAYS days fold into it unless they
# are evidence of a new one: coverage of their own (at least CORROBORATED reports, and at least half as
# many as the encounter's first day had) and, for an in-person encounter, a place none of its reports named.

ECHO_WINDOW_DAYS = 7  # reports of the same pair and class up to a week after the first day may be echoes
CORROBORATED = 2  # distinct reports that make a contact (or a later day) corroborated
SPECIFIC = {"visit": 2, "meeting": 1, "call": 0}  # most specific in-person kind wins
CONFIDENCE = {True: "corroborated", False: "single report"}
# Applied to the lower-cased source URL: an address announcing a future encounter ("putin-to-visit-
# turkey", "erdogan-will-meet-putin", "ahead-of-sochi-meeting", "plans-to-call"). Its events never count.
FUTURE_PATTERN = (r"(^|[^a-z])((to|will|set[^a-z]+to|plans?[^a-z]+to|expected[^a-z]+to)"
                  r"|((ahead[^a-z]+of|upcoming)([^a-z]+[a-z]+)?))"
                  r"[^a-z]+(meet|meeting|meetings|visit|visits|host|hosts|summit|hold|call)([^a-z]|$)")


def _reports(rows: list[dict]) -> int:
    """Distinct reports among event records: distinct article addresses, plus, for records without one
    (ICEWS, the GDELT 1.0 backfile), the most records any one pair has in one direction (each story codes
    a symmetric meeting once each way, so this is a lower bound on its stories)."""
    urls = {r["source_url"] for r in rows if r["source_url"] is not None}
    bare: dict[tuple, int] = {}
    for r in rows:
        if r["source_url"] is None:
            key = (r["pair"], r["forward"])
            bare[key] = bare.get(key, 0) + 1
    return len(urls) + max(bare.values(), default=0)


def _klass(kind: str) -> str:
    return "call" if kind == "call" else "in person"


def encounters(rows: list[dict]) -> list[dict]:
    """Fold report rows (day, kind, event_code, pair, forward, event_id, source_url, num_articles,
    num_sources, place) into encounters, sorted by day and kind: the one place the encounter
    rule is written."""
    days: dict[tuple, list[dict]] = {}
    for r in rows:
        days.setdefault((_klass(r["kind"]), r["day"]), []).append(r)
    out: list[dict] = []
    for (klass, day), group in sorted(days.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        n = _reports(group)
        places = {r["place"] for r in group if r["place"]}
        pairs = {r["pair"] for r in group}
        # the latest encounter of the class within the window that shares a pair of leaders with this day
        # (encounters are opened in day order: stop at the first one older than the window)
        enc = None
        for e in reversed(out):
            if (day - e["day"]).days > ECHO_WINDOW_DAYS:
                break
            if e["klass"] == klass and e["pairs"] & pairs:
                enc = e
                break
        if enc is not None:
            fresh = n >= CORROBORATED and 2 * n >= enc["first_reports"]
            elsewhere = bool(places) and not (places & enc["places"])
            if not (fresh and (klass == "call" or elsewhere)):
                enc["rows"] += group
                enc["places"] |= places
                enc["pairs"] |= pairs
                continue
        out.append({"day": day, "klass": klass, "rows": list(group), "places": set(places), "pairs": set(pairs),
                    "first_reports": n})
    result = []
    for enc in out:
        rs = enc["rows"]
        kind = max((r["kind"] for r in rs), key=SPECIFIC.__getitem__)
        articles = [r["num_articles"] for r in rs if r["num_articles"] is not None]
        sources = [r["num_sources"] for r in rs if r["num_sources"] is not None]
        reports = _reports(rs)
        result.append({
            "day": enc["day"], "year": enc["day"].year, "kind": kind,
            "leaders": ", ".join(sorted({r["pair"] for r in rs})),
            "event_ids": sorted({r["event_id"] for r in rs}),
            "urls": sorted({r["source_url"] for r in rs if r["source_url"] is not None}),
            "events": len({r["event_id"] for r in rs}),
            "articles": sum(articles) if articles else None,
            "sources": sum(sources) if sources else None,
            "reports": reports,
            "codes": sorted({r["event_code"] for r in rs}),
            "days_reported": sorted({r["day"] for r in rs}),
            "corroborated": reports >= CORROBORATED,
            "confidence": CONFIDENCE[reports >= CORROBORATED],
        })
    result.sort(key=lambda c: (c["day"], c["kind"]))
    return result


def leader_contacts(
    con,
    a: str,
    b: str,
    *,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    leaders: pa.Table | str | Path | None = None,
    source: str | None = None,
    events: str | None = None,
) -> pa.Table:
    """Leader-level contacts between countries `a` and `b` (either direction): one row per encounter.

    `con` (an Engine or a DuckDB connection) holds an `events` view in the canonical schema. Columns: day
    (the encounter's first day), year, kind (call / visit / meeting), leaders ("A-leader–B-leader", a's
    leader first; several pairs joined by ", "), event_ids and urls (the evidence, sorted), events (event
    records), articles and sources (sums of num_articles / num_sources; null when the source has none),
    reports (distinct reports), codes (CAMEO codes seen), days_reported, corroborated (reports >= 2) and
    confidence ("corroborated" / "single report"). `start` / `end` are inclusive; `leaders` is a
    table from load_leaders() or a path to a leaders file (default: the packaged one); `source` keeps
    one source (gdelt2, icews, ...); `events` names the relation to read (e.g. the frame's `dyad_events`;
    default: the pair's rows of the store, `frame.pair_events`).
    """
    a, b = country_code(a), country_code(b)  # CodeError (a ValueError) for an unknown code
    if a == b:
        raise ValueError(f"a dyad needs two different countries, got {a} twice")
    start, end = _as_date(start, "start"), _as_date(end, "end")
    table = _leaders_arg(leaders)
    lead = pa.table(
        {
            "country": table.column("country"),
            "name": table.column("name"),
            "spelling": table.column("spelling"),
            "term_start": table.column("start"),
            "term_end": table.column("end"),
        }
    )
    filters, params = [], [a, b, b, a]
    if start is not None:
        filters.append("AND e.event_date >= ?")
        params.append(start)
    if end is not None:
        filters.append("AND e.event_date <= ?")
        params.append(end)
    if source is not None:
        filters.append("AND e.source = ?")
        params.append(source)
    params += [a, a, PHONE_PATTERN, CALL_PATTERN, APPEAL_PATTERN, FUTURE_PATTERN]
    tag = uuid.uuid4().hex[:12]
    leaders_name, kinds_name = f"_dw_leaders_{tag}", f"_dw_contact_kinds_{tag}"
    eng = as_engine(con)
    if events is None:
        from .frame import pair_events

        events = pair_events(eng, a, b)
    if not events.isidentifier():
        raise ValueError(f"not a relation name: {events!r}")
    sql = CONTACTS_SQL.format(leaders=leaders_name, kinds=kinds_name, events=events,
                              filters="\n    ".join(filters))
    eng.register(leaders_name, lead)
    eng.register(kinds_name, CONTACT_KINDS)
    try:
        result = eng.sql(sql, params)
    finally:
        eng.unregister(leaders_name)
        eng.unregister(kinds_name)
    return pa.Table.from_pylist(encounters(result.to_pylist()), schema=CONTACTS_SCHEMA)


def contacts_per_year(contacts: pa.Table, *, years: range | list[int] | None = None) -> pa.Table:
    """Contacts per year and kind: year, calls, visits, meetings, total, and corroborated (how many of the
    total have at least two distinct reports).

    Years run from the first to the last year with a contact, zeros included; pass `years` to report a
    fixed span (e.g. range(2020, 2025)) so that quiet years show as zero rows.
    """
    if years is None:
        if contacts.num_rows == 0:
            return PER_YEAR_SCHEMA.empty_table()
        lo, hi = pc.min_max(contacts.column("year")).values()
        years = range(lo.as_py(), hi.as_py() + 1)
    span = pa.table({"year": pa.array(list(years), pa.int32())})
    con = duckdb.connect()
    try:
        con.register("contacts", contacts.select(["year", "kind", "corroborated"]))
        con.register("span", span)
        out = con.sql(
            """
            SELECT s.year,
                   CAST(sum(CASE WHEN c.kind = 'call' THEN 1 ELSE 0 END) AS BIGINT) AS calls,
                   CAST(sum(CASE WHEN c.kind = 'visit' THEN 1 ELSE 0 END) AS BIGINT) AS visits,
                   CAST(sum(CASE WHEN c.kind = 'meeting' THEN 1 ELSE 0 END) AS BIGINT) AS meetings,
                   CAST(count(c.kind) AS BIGINT) AS total,
                   CAST(sum(CASE WHEN c.corroborated THEN 1 ELSE 0 END) AS BIGINT) AS corroborated
            FROM span s LEFT JOIN contacts c ON c.year = s.year
            GROUP BY s.year
            ORDER BY s.year
            """
        ).to_arrow_table()
    finally:
        con.close()
    return out.cast(PER_YEAR_SCHEMA)
