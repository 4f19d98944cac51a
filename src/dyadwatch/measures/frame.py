"""The frame every measure starts from: a dyad's (or a focal state's partners') events, classified into
tracks and theatres and counted once each (the taxonomy's unique-event rule).

A measure gets an engine (`dyadwatch.engines`: DuckDB, or Spark) or a plain DuckDB connection holding
three relations: `events` (canonical schema), `daily_totals` (source, day, events) and `leaders`
(country, spelling, term_start, term_end). It knows nothing of where they came from: `connect(store)`
(`engines.duckdb_engine.connect_store`) builds a DuckDB connection from a store,
`engines.open_engine(store, "spark")` a Spark one, tests build one from small tables. The SQL is written once, in DuckDB's dialect, and kept plain (CASE, EXISTS,
GROUP BY, UNION ALL, GROUPING SETS) so that sqlglot translates it to Spark SQL.

Exactness across engines: adding floating-point numbers in another order can change the last bit, and
DuckDB and Spark add rows in whatever order their threads or partitions deliver them. So every sum or
mean of a fractional column goes through integers (`exact_sum`, `exact_mean`: Goldstein in thousandths,
tone in millionths, which holds every digit Goldstein has and tone to 1e-6), and every tie is broken
(`max_by` on articles, then the lowest event id): the same store gives the same bits on either engine.
"""

from __future__ import annotations

import datetime as dt
import re


from ..engines import as_engine
from ..engines.duckdb_engine import connect_store as connect  # noqa: F401  (measures' callers open one here)
from ..knowledge.leaders import LEADER_TERMS_SCHEMA as LEADERS_SCHEMA, leaders_table  # noqa: F401
from ..knowledge.taxonomy import Taxonomy, fips_of, load_taxonomy, rule_sql

PERIODS = ("month", "quarter", "year")
GOLDSTEIN_SCALE = 1000  # Goldstein values have one decimal (CAMEO) or two at most: thousandths are exact
TONE_SCALE = 1_000_000  # tone to a millionth: far below its meaning, and its sums fit in a BIGINT
DYAD_EVENTS = "dyad_events"  # the temp table of the frame's event rows
DYAD_ROWS = "dyad_rows"  # a store's two-country rows by pair (dyadwatch.dyad_index), when defined
DYAD_INDEX = "dyad_index"  # defined (path, rows) when those rows come from a dyad index
PAIR_EVENTS = "pair_events"  # the view of one pair's rows in DYAD_ROWS (pair_events())
_COUNTRY = re.compile(r"^[A-Z]{3}$")

# the event columns the frame reads (plus the taxonomy's unique-event key): a scan reads no others
FRAME_COLUMNS = (
    "source", "event_id", "event_date", "actor1_code", "actor1_name", "actor1_country", "actor1_type1",
    "actor1_type2", "actor1_type3", "actor2_code", "actor2_name", "actor2_country", "actor2_type1",
    "actor2_type2", "actor2_type3", "event_code", "quad_class", "goldstein", "num_articles", "avg_tone",
    "action_geo_country", "action_geo_fullname", "source_url",
    "num_sources", "action_geo_type",  # leader contacts' support and place (measures.contacts)
)


def fixed(expr: str, scale: int) -> str:
    """A fractional value as an integer count of 1/scale (rounded half away from zero in both engines)."""
    return f"CAST(round({expr} * {int(scale)}) AS BIGINT)"


def _integer_total(expr: str, scale: int) -> str:
    # the exact integer sum, as a DOUBLE: BIGINT -> DOUBLE is one correctly rounded conversion everywhere
    return f"CAST(CAST(sum({fixed(expr, scale)}) AS BIGINT) AS DOUBLE)"


def exact_sum(expr: str, scale: int) -> str:
    """SQL for sum(expr), the same bits in any engine and any row order (summed as integers of 1/scale)."""
    return f"{_integer_total(expr, scale)} / {int(scale)}"


def exact_mean(expr: str, scale: int) -> str:
    """SQL for avg(expr) (nulls skipped, NULL when none), the same bits in any engine and row order."""
    return f"{_integer_total(expr, scale)} / nullif(count({expr}), 0) / {int(scale)}"


def column(category_kind: str, name: str) -> str:
    return f'"{category_kind}:{name}"'


def _lit(code: str) -> str:
    if not _COUNTRY.match(code):
        raise ValueError(f"not a CAMEO country code: {code!r}")
    return f"'{code}'"


def has_dyad_rows(con) -> bool:
    """Whether the engine reads a store's `dyad_rows` (the frame then reads those, one branch a pair)."""
    return as_engine(con).has_relation(DYAD_ROWS)


def has_dyad_index(con) -> bool:
    """Whether `dyad_rows` comes from a dyad index, so that reading one pair costs a few row groups
    (without one, each pair's read scans the parts)."""
    return as_engine(con).has_relation(DYAD_INDEX)


def pair_events(con, a: str, b: str) -> str:
    """The relation to read the a-b pair's event rows from (canonical columns, either direction; still
    filter on the countries): a view of the pair in `dyad_rows` where a dyad index holds it, else
    `events`."""
    if not has_dyad_index(con):
        return "events"
    lo, hi = sorted((a, b))
    as_engine(con).create_temp_view(
        PAIR_EVENTS, f"SELECT * FROM {DYAD_ROWS} WHERE pair_lo = {_lit(lo)} AND pair_hi = {_lit(hi)}")
    return PAIR_EVENTS


def dyad_rows_sql(taxonomy: Taxonomy, focal: str, partners: list[str], *, start: dt.date | None = None,
                  end: dt.date | None = None, source: str | None = None, relation: str = "events") -> tuple[str, list]:
    """SQL for the event rows (FRAME_COLUMNS) between `focal` and any of `partners`, either direction.
    `relation` is `events`, or the store's `dyad_rows` (the same rows with pair_lo / pair_hi, sorted by
    pair in the dyad index): then one branch per pair, each an equality on both pair columns, which the
    Parquet scan turns into a skip of every row group but the pair's few."""
    plist = ", ".join(_lit(p) for p in partners)
    f = _lit(focal)
    both = ", ".join(_lit(c) for c in [focal, *partners])
    # the two IN lists are implied by the OR below, but unlike it each reads one column, so the Parquet
    # scan can skip row groups by their statistics and filter before reading the other columns
    where = [f"actor1_country IN ({both}) AND actor2_country IN ({both})",
             f"((actor1_country = {f} AND actor2_country IN ({plist})) OR "
             f"(actor2_country = {f} AND actor1_country IN ({plist})))"]
    params: list = []
    if start is not None:
        where.append("event_date >= ?")
        params.append(start)
    if end is not None:
        where.append("event_date <= ?")
        params.append(end)
    if source is not None:
        where.append("source = ?")
        params.append(source)
    cols = ", ".join(dict.fromkeys([*FRAME_COLUMNS, *taxonomy.unique_event_key]))
    if relation != DYAD_ROWS:
        return f"SELECT {cols} FROM {relation} WHERE {' AND '.join(where)}", params
    branches, all_params = [], []
    for p in dict.fromkeys(partners):
        if p == focal:
            continue
        lo, hi = sorted((focal, p))
        pair = f"pair_lo = {_lit(lo)} AND pair_hi = {_lit(hi)}"
        branches.append(f"SELECT {cols} FROM {DYAD_ROWS} WHERE {pair} AND {' AND '.join(where)}")
        all_params += params
    if not branches:  # no partner but the focal state itself: no rows, with the right columns
        return f"SELECT {cols} FROM events WHERE false", []
    return " UNION ALL ".join(branches), all_params


def unique_events_sql(taxonomy: Taxonomy, focal: str, partners: list[str], *, start: dt.date | None = None,
                      end: dt.date | None = None, source: str | None = None,
                      relation: str = "events") -> tuple[str, list]:
    """SQL for one row per unique event between `focal` and any of `partners`, either direction, with
    partner, direction (e.g. RUS>TUR), quad class, Goldstein, mean tone (to a millionth), how many
    records and articles reported it, the URL of its most-reported record (ties: the lowest event id),
    and one boolean column per track ("track:<name>") and theatre ("theatre:<name>")."""
    rows_sql, params = dyad_rows_sql(taxonomy, focal, partners, start=start, end=end, source=source,
                                     relation=relation)
    f = _lit(focal)
    fips_cases = " ".join(f"WHEN {_lit(p)} THEN '{fips_of(p) or ''}'" for p in partners)
    leader = (
        "EXISTS (SELECT 1 FROM leaders l WHERE l.spelling = upper(trim(r.{a}_name)) AND l.country = r.{a}_country "
        "AND r.event_date >= l.term_start AND (l.term_end IS NULL OR r.event_date <= l.term_end))"
    )
    leader_cols = (f", {leader.format(a='actor1')} AS actor1_leader, {leader.format(a='actor2')} AS actor2_leader"
                   if taxonomy.uses_leaders else "")
    flags = [f"{rule_sql(c)} AS {column('track', c.name)}" for c in taxonomy.tracks]
    flags += [f"{rule_sql(c)} AS {column('theatre', c.name)}" for c in taxonomy.theatres]
    key = ", ".join(taxonomy.unique_event_key)
    agg_flags = ", ".join(
        f"max(CASE WHEN {column(k, c.name)} THEN 1 ELSE 0 END) = 1 AS {column(k, c.name)}"
        for k, cats in (("track", taxonomy.tracks), ("theatre", taxonomy.theatres)) for c in cats
    )
    # nested subqueries, not CTEs: DuckDB materialises a CTE, which cost ~15 % of the frame's time
    pair_rows = f"""
  SELECT *,
    CASE WHEN actor1_country = {f} THEN actor2_country ELSE actor1_country END AS partner,
    actor1_country || '>' || actor2_country AS direction,
    '{fips_of(focal) or ''}' AS home_fips_1,
    CASE CASE WHEN actor1_country = {f} THEN actor2_country ELSE actor1_country END {fips_cases} END AS home_fips_2
  FROM ({rows_sql})"""
    led = f"SELECT r.*{leader_cols} FROM ({pair_rows}) r"
    flagged = f"SELECT *, {', '.join(flags)} FROM ({led})"
    sql = f"""
SELECT partner, direction, {key},
  min(event_id) AS event_id,
  max_by(source_url, [coalesce(num_articles, 0), -event_id]) AS source_url,
  min(quad_class) AS quad_class,
  min(goldstein) AS goldstein,
  round({_integer_total('avg_tone', TONE_SCALE)} / nullif(count(avg_tone), 0)) / {TONE_SCALE} AS tone,
  count(*) AS records,
  sum(coalesce(num_articles, 0)) AS articles,
  {agg_flags}
FROM ({flagged})
GROUP BY partner, direction, {key}
"""
    return sql, params


def totals_where(source: str | None, start: dt.date | None, end: dt.date | None) -> tuple[str, list]:
    """WHERE clause (or '') and parameters restricting `daily_totals` like the events."""
    where, params = [], []
    for clause, value in (("source = ?", source), ("day >= ?", start), ("day <= ?", end)):
        if value is not None:
            where.append(clause)
            params.append(value)
    return (f" WHERE {' AND '.join(where)}" if where else ""), params


def period_expr(by: str, column: str = "event_date") -> str:
    if by not in PERIODS:
        raise ValueError(f"--by must be one of {', '.join(PERIODS)}, not {by!r}")
    return f"CAST(date_trunc('{by}', {column}) AS DATE)"


def materialise_unique_events(con, taxonomy: Taxonomy, focal: str, partners: list[str], *, keep_rows: bool = True,
                              **filters) -> str:
    """Run the frame once into a temp table (several measures read it) and return its name. With
    `keep_rows` the one scan of the store also leaves the dyads' event rows in DYAD_EVENTS, for
    measures that need rows (leader contacts) rather than unique events; without, they are not kept
    (a measure of unique events only saves writing them). `con`: an Engine or a DuckDB connection."""
    eng = as_engine(con)
    relation = DYAD_ROWS if has_dyad_rows(eng) else "events"
    if keep_rows:
        sql, params = dyad_rows_sql(taxonomy, focal, partners, relation=relation, **filters)
        eng.create_temp_table(DYAD_EVENTS, sql, params)
        relation = DYAD_EVENTS
    sql, params = unique_events_sql(taxonomy, focal, partners, relation=relation, **filters)
    eng.create_temp_table("unique_events", sql, params)
    return "unique_events"


def default_taxonomy(taxonomy: Taxonomy | str | None) -> Taxonomy:
    if isinstance(taxonomy, Taxonomy):
        return taxonomy
    return load_taxonomy(taxonomy)
