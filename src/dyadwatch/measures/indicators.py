"""Indicators per dyad, period, track, theatre and direction, in one SQL query over the frame.

Counting unit: a unique event (the taxonomy's unique_event_key). `records` are the raw rows behind them;
`share_of_all` compares like with like: the dyad's records over every record the store saw in the
period (the per-day totals kept at ingest, before any country filter).
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from ..engines import as_engine
from ..knowledge.taxonomy import Taxonomy
from .frame import (GOLDSTEIN_SCALE, TONE_SCALE, column, default_taxonomy, exact_mean, exact_sum, materialise_unique_events,
                    period_expr, totals_where)

INDICATOR_SCHEMA = pa.schema([
    ("dyad", pa.string()), ("period", pa.date32()), ("track", pa.string()), ("theatre", pa.string()),
    ("direction", pa.string()), ("events", pa.int64()), ("records", pa.int64()), ("articles", pa.int64()),
    ("all_events", pa.int64()), ("share_of_all", pa.float64()),
    ("quad1", pa.int64()), ("quad2", pa.int64()), ("quad3", pa.int64()), ("quad4", pa.int64()),
    ("quad1_share", pa.float64()), ("quad2_share", pa.float64()), ("quad3_share", pa.float64()),
    ("quad4_share", pa.float64()), ("goldstein_sum", pa.float64()), ("goldstein_mean", pa.float64()),
    ("net_cooperation", pa.float64()), ("mean_tone", pa.float64()),
])
INDICATORS = tuple(f.name for f in INDICATOR_SCHEMA)[5:]


def _names(requested, available: tuple[str, ...], kind: str, default: list[str]) -> list[str]:
    if requested is None:
        return default
    if isinstance(requested, str):
        requested = [r.strip() for r in requested.split(",") if r.strip()]
    out = []
    for r in requested:
        if r == "each":
            out += list(available)
        elif r == "all" or r in available:
            out.append(r)
        else:
            raise ValueError(f"unknown {kind} {r!r}: choose from all, each, {', '.join(available)}")
    return list(dict.fromkeys(out))


def indicators_sql(taxonomy: Taxonomy, a: str, b: str, by: str, tracks: list[str], theatres: list[str],
                   source: str | None, start: dt.date | None, end: dt.date | None) -> tuple[str, list]:
    """The query over the `unique_events` table (see frame.materialise_unique_events)."""
    period = period_expr(by)
    # each unique event once per (track, theatre) it belongs to: one join with the small table of the
    # pairs asked for (not a UNION ALL branch per pair, which Spark plans as that many scans)
    pairs = ", ".join(f"('{tr}', '{th}')" for tr in tracks for th in theatres)

    def belongs(kind: str, names: list[str]) -> str:
        whens = " ".join(f"WHEN '{n}' THEN {column(kind, n)}" for n in names if n != "all")
        return f"CASE k.{kind} WHEN 'all' THEN TRUE {whens} END"

    exploded = (f"SELECT k.track, k.theatre, ue.* FROM ue CROSS JOIN (VALUES {pairs}) AS k(track, theatre) "
                f"WHERE {belongs('track', tracks)} AND {belongs('theatre', theatres)}")
    keys = ", ".join(f"('{tr}', '{th}', '{d}')" for tr in tracks for th in theatres
                     for d in ("both", f"{a}>{b}", f"{b}>{a}"))
    tot_filter, params = totals_where(source, start, end)
    sql = f"""
WITH ue AS (SELECT *, {period} AS period FROM unique_events),
exploded AS ({exploded}),
agg AS (
  SELECT period, track, theatre,
    CASE WHEN GROUPING(direction) = 1 THEN 'both' ELSE direction END AS direction,
    count(*) AS events, sum(records) AS records, sum(articles) AS articles,
    sum(CASE WHEN quad_class = 1 THEN 1 ELSE 0 END) AS quad1,
    sum(CASE WHEN quad_class = 2 THEN 1 ELSE 0 END) AS quad2,
    sum(CASE WHEN quad_class = 3 THEN 1 ELSE 0 END) AS quad3,
    sum(CASE WHEN quad_class = 4 THEN 1 ELSE 0 END) AS quad4,
    {exact_sum('goldstein', GOLDSTEIN_SCALE)} AS goldstein_sum,
    {exact_mean('goldstein', GOLDSTEIN_SCALE)} AS goldstein_mean,
    {exact_mean('tone', TONE_SCALE)} AS mean_tone
  FROM exploded
  GROUP BY GROUPING SETS ((period, track, theatre, direction), (period, track, theatre))
),
totals AS (
  SELECT {period_expr(by, 'day')} AS period, sum(events) AS all_events FROM daily_totals{tot_filter} GROUP BY 1
),
periods AS (SELECT period FROM totals UNION SELECT period FROM agg),
spine AS (
  SELECT p.period, k.track, k.theatre, k.direction
  FROM periods p CROSS JOIN (VALUES {keys}) AS k(track, theatre, direction)
)
SELECT '{a}-{b}' AS dyad, s.period, s.track, s.theatre, s.direction,
  coalesce(g.events, 0) AS events, coalesce(g.records, 0) AS records, coalesce(g.articles, 0) AS articles,
  t.all_events,
  CASE WHEN t.all_events > 0 THEN coalesce(g.records, 0) / t.all_events END AS share_of_all,
  coalesce(g.quad1, 0) AS quad1, coalesce(g.quad2, 0) AS quad2,
  coalesce(g.quad3, 0) AS quad3, coalesce(g.quad4, 0) AS quad4,
  g.quad1 / g.events AS quad1_share, g.quad2 / g.events AS quad2_share,
  g.quad3 / g.events AS quad3_share, g.quad4 / g.events AS quad4_share,
  coalesce(g.goldstein_sum, 0) AS goldstein_sum, g.goldstein_mean,
  (g.quad1 + g.quad2 - g.quad3 - g.quad4) / g.events AS net_cooperation,
  g.mean_tone
FROM spine s
LEFT JOIN agg g ON g.period = s.period AND g.track = s.track AND g.theatre = s.theatre AND g.direction = s.direction
LEFT JOIN totals t ON t.period = s.period
ORDER BY s.period, s.track, s.theatre, s.direction
"""
    return sql, params


def indicators(con, a: str, b: str, *, by: str = "month", tracks=None, theatres=None,
               start: dt.date | None = None, end: dt.date | None = None, source: str | None = None,
               taxonomy: Taxonomy | str | None = None) -> pa.Table:
    """Indicators for the dyad a-b. tracks / theatres: names, 'all' (no restriction) or 'each' (every one);
    default: every track plus all, over all theatres. `con`: an Engine or a DuckDB connection."""
    tax = default_taxonomy(taxonomy)
    track_names = _names(tracks, tuple(c.name for c in tax.tracks), "track", ["all", *(c.name for c in tax.tracks)])
    theatre_names = _names(theatres, tuple(c.name for c in tax.theatres), "theatre", ["all"])
    materialise_unique_events(con, tax, a, [b], keep_rows=False, start=start, end=end, source=source)
    sql, params = indicators_sql(tax, a, b, by, track_names, theatre_names, source, start, end)
    return as_engine(con).sql(sql, params).cast(INDICATOR_SCHEMA)
