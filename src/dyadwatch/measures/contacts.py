"""Leader contacts: calls, visits and meetings between two states' named leaders, per day and kind.

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
as a meeting (column kind_on_call_day). Several events of one kind on one day are one contact, with all
their event ids and URLs as evidence.

The SQL is plain enough for Spark SQL as well as DuckDB (array_agg, array_distinct, array_sort,
concat_ws, regexp_extract, FILTER); Python only validates the YAML and registers small tables.
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
    ]
)

PER_YEAR_SCHEMA = pa.schema(
    [
        pa.field("year", pa.int32()),
        pa.field("calls", pa.int64()),
        pa.field("visits", pa.int64()),
        pa.field("meetings", pa.int64()),
        pa.field("total", pa.int64()),
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
  SELECT e.source, e.event_id, e.event_date, e.event_code, e.source_url, e.num_articles,
         upper(trim(e.actor1_name)) AS name1, e.actor1_country AS country1,
         upper(trim(e.actor2_name)) AS name2, e.actor2_country AS country2,
         lower(coalesce(e.source_url, '')) AS url
  FROM {events} e
  WHERE ((e.actor1_country = ? AND e.actor2_country = ?) OR (e.actor1_country = ? AND e.actor2_country = ?))
    AND e.event_code IN (SELECT event_code FROM {kinds})
    {filters}
), matched AS (
  SELECT DISTINCT ev.source, ev.event_id, ev.event_date, ev.event_code, ev.source_url, ev.num_articles, ev.url,
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
), classified AS (
  SELECT p.*,
         CASE WHEN p.first_kind <> 'call'
                   AND max(CASE WHEN p.first_kind = 'call' THEN 1 ELSE 0 END)
                       OVER (PARTITION BY p.event_date, p.pair) = 1
              THEN p.kind_on_call_day ELSE p.first_kind END AS kind
  FROM phoned p
)
SELECT event_date AS day,
       CAST(year(event_date) AS INTEGER) AS year,
       kind,
       concat_ws(', ', array_sort(array_distinct(array_agg(pair)))) AS leaders,
       array_sort(array_distinct(array_agg(event_id))) AS event_ids,
       array_sort(array_distinct(array_agg(source_url) FILTER (WHERE source_url IS NOT NULL))) AS urls,
       CAST(count(*) AS BIGINT) AS events,
       CAST(sum(num_articles) AS BIGINT) AS articles
FROM classified
GROUP BY event_date, kind
ORDER BY day, kind
"""


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
    """Leader-level contacts between countries `a` and `b` (either direction), one row per day and kind.

    `con` (an Engine or a DuckDB connection) holds an `events` view in the canonical schema. Columns: day, year, kind
    (call / visit / meeting), leaders ("A-leader–B-leader", a's leader first; several pairs joined by
    ", "), event_ids and urls (the evidence, sorted), events (how many event records), articles (sum of
    their num_articles; null when the source has none). `start` / `end` are inclusive; `leaders` is a
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
    params += [a, PHONE_PATTERN, CALL_PATTERN, APPEAL_PATTERN]
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
    result = result.cast(CONTACTS_SCHEMA)
    # DuckDB gives null, not [], when a day's events carry no URL at all (ICEWS, GDELT 1.0 backfile)
    urls = result.column("urls")
    if urls.null_count:
        filled = pc.if_else(pc.is_null(urls), pa.scalar([], pa.list_(pa.string())), urls)
        result = result.set_column(result.schema.get_field_index("urls"), CONTACTS_SCHEMA.field("urls"), filled)
    return result


def contacts_per_year(contacts: pa.Table, *, years: range | list[int] | None = None) -> pa.Table:
    """Contacts per year and kind: year, calls, visits, meetings, total.

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
        con.register("contacts", contacts.select(["year", "kind"]))
        con.register("span", span)
        out = con.sql(
            """
            SELECT s.year,
                   CAST(sum(CASE WHEN c.kind = 'call' THEN 1 ELSE 0 END) AS BIGINT) AS calls,
                   CAST(sum(CASE WHEN c.kind = 'visit' THEN 1 ELSE 0 END) AS BIGINT) AS visits,
                   CAST(sum(CASE WHEN c.kind = 'meeting' THEN 1 ELSE 0 END) AS BIGINT) AS meetings,
                   CAST(count(c.kind) AS BIGINT) AS total
            FROM span s LEFT JOIN contacts c ON c.year = s.year
            GROUP BY s.year
            ORDER BY s.year
            """
        ).to_arrow_table()
    finally:
        con.close()
    return out.cast(PER_YEAR_SCHEMA)
