"""Partner comparison: one focal state against its partners on the same indicators, with ranks.

The seed paper opens by placing Turkey among Russia's partners (China, India, Iran, North Korea); this
is that comparison from data: how much of all coverage each relationship takes, what it is made of,
how cooperative it is, how often leaders meet or call, and where its volume is heading.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pyarrow as pa

from ..engines import as_engine
from ..knowledge.taxonomy import Taxonomy
from .frame import GOLDSTEIN_SCALE, TONE_SCALE, default_taxonomy, exact_mean, materialise_unique_events, totals_where

DEFAULT_FOCAL = "RUS"
DEFAULT_PARTNERS = ("TUR", "CHN", "IND", "IRN", "PRK")
RANKED = ("share_of_all", "net_cooperation", "leader_contacts_per_year", "trend")


def monthly_totals_sql(source: str | None, start: dt.date | None, end: dt.date | None) -> tuple[str, list]:
    """All events the store saw per month (the denominator of every share)."""
    filt, params = totals_where(source, start, end)
    return (f"SELECT CAST(date_trunc('month', day) AS DATE) AS month, sum(events) AS all_events "
            f"FROM daily_totals{filt} GROUP BY 1", params)


def compare_sql(taxonomy: Taxonomy, source: str | None, start: dt.date | None, end: dt.date | None) -> tuple[str, list]:
    """One row per partner over the `unique_events` table: the profile, its share of all events and the
    range's months (the trend comes from `monthly_share_sql`)."""
    mix = ", ".join(
        f'CAST(sum(CASE WHEN "track:{c.name}" THEN 1 ELSE 0 END) AS DOUBLE) / count(*) AS "{c.name}_share"'
        for c in taxonomy.tracks
    )
    totals, params = monthly_totals_sql(source, start, end)
    sql = f"""
WITH monthly_totals AS ({totals}),
range_totals AS (
  SELECT sum(all_events) AS all_events, min(month) AS first_month, max(month) AS last_month,
    count(*) AS months FROM monthly_totals
),
profile AS (
  SELECT partner, count(*) AS events, sum(records) AS records,
    (sum(CASE WHEN quad_class IN (1, 2) THEN 1 ELSE 0 END) - sum(CASE WHEN quad_class IN (3, 4) THEN 1 ELSE 0 END))
      / count(*) AS net_cooperation,
    {exact_mean('goldstein', GOLDSTEIN_SCALE)} AS goldstein_mean, {exact_mean('tone', TONE_SCALE)} AS mean_tone, {mix}
  FROM unique_events GROUP BY partner
)
SELECT p.*, r.all_events, p.records / nullif(r.all_events, 0) AS share_of_all, r.months, r.first_month, r.last_month
FROM profile p CROSS JOIN range_totals r
"""
    return sql, params


def monthly_share_sql(source: str | None, start: dt.date | None, end: dt.date | None) -> tuple[str, list]:
    """Per partner and month with data: the partner's records and all events (zeros included)."""
    totals, params = monthly_totals_sql(source, start, end)
    sql = f"""
WITH monthly_totals AS ({totals}),
partner_months AS (
  SELECT partner, CAST(date_trunc('month', event_date) AS DATE) AS month, sum(records) AS records
  FROM unique_events GROUP BY 1, 2
),
partners AS (SELECT DISTINCT partner FROM partner_months)
SELECT p.partner, year(m.month) * 12 + month(m.month) AS month_index,
  coalesce(pm.records, 0) AS records, m.all_events
FROM partners p CROSS JOIN monthly_totals m
LEFT JOIN partner_months pm ON pm.partner = p.partner AND pm.month = m.month
WHERE m.all_events > 0
"""
    return sql, params


def trend(points: list[tuple[int, int, int]]) -> float | None:
    """12 x the least-squares slope of the monthly share over its mean: the relative change per year.

    points: (month index, records, all events). Computed in exact rational arithmetic, so the result is
    the correctly rounded value whatever engine produced the points and in whatever order; None with
    fewer than 3 months or a zero mean share."""
    if len(points) < 3:
        return None
    xs = [Fraction(x) for x, _, _ in points]
    ys = [Fraction(r, a) for _, r, a in points]
    n = len(points)
    sx, sy = sum(xs), sum(ys)
    sxy, sxx = sum(x * y for x, y in zip(xs, ys)), sum(x * x for x in xs)
    den = n * sxx - sx * sx
    if sy <= 0 or den == 0:
        return None
    slope = (n * sxy - sx * sy) / den
    return float(12 * slope * n / sy)


def compare(con, focal: str = DEFAULT_FOCAL, partners=DEFAULT_PARTNERS, *,
            start: dt.date | None = None, end: dt.date | None = None, source: str | None = None,
            taxonomy: Taxonomy | str | None = None, contacts: dict[str, int] | None = None,
            keep_rows: bool = True) -> pa.Table:
    """One row per partner: volume share, track mix, cooperation balance, leader contacts per year,
    trend (relative change of the monthly share per year, from a least-squares slope), and a rank for
    each of those (1 = highest). Partners without any event are listed with zeros, not dropped.

    contacts: leader contacts per partner over the range (computed by the caller from the contacts
    measure, so this query stays one pass over the frame). keep_rows: also keep the partners' event rows
    in `dyad_events` (frame.materialise_unique_events). `con`: an Engine or a DuckDB connection."""
    tax = default_taxonomy(taxonomy)
    partners = list(dict.fromkeys(partners))
    if focal in partners:
        raise ValueError(f"{focal} cannot be its own partner")
    eng = as_engine(con)
    materialise_unique_events(eng, tax, focal, partners, keep_rows=keep_rows, start=start, end=end, source=source)
    sql, params = compare_sql(tax, source, start, end)
    rows = {r["partner"]: r for r in eng.sql(sql, params).to_pylist()}
    sql, params = monthly_share_sql(source, start, end)
    points: dict[str, list] = {}
    for p, x, r, a in eng.rows(sql, params):
        points.setdefault(p, []).append((int(x), int(r), int(a)))
    for p, r in rows.items():
        r["trend"] = trend(points.get(p, []))
    tot_sql, tot_params = monthly_totals_sql(source, start, end)
    months = eng.rows(f"SELECT count(*) FROM ({tot_sql}) AS t WHERE all_events > 0", tot_params)[0][0]
    track_cols = [f"{c.name}_share" for c in tax.tracks]
    out = []
    for p in partners:
        r = rows.get(p, {})
        n_contacts = (contacts or {}).get(p)
        out.append({
            "focal": focal, "partner": p,
            "events": r.get("events", 0), "records": r.get("records", 0),
            "share_of_all": r.get("share_of_all", 0.0) if rows else None,
            **{c: r.get(c) for c in track_cols},
            "net_cooperation": r.get("net_cooperation"), "goldstein_mean": r.get("goldstein_mean"),
            "mean_tone": r.get("mean_tone"),
            "leader_contacts": n_contacts,
            "leader_contacts_per_year": (n_contacts * 12 / months) if n_contacts is not None and months else None,
            "trend": r.get("trend"),
        })
    for row in out:
        row["months"] = months  # months with data in the range: the denominator of contacts per year
    return _ranked(out, track_cols)


def _ranked(out: list[dict], track_cols: list[str]) -> pa.Table:
    for metric in RANKED:  # competition ranking: ties share the better rank, None is unranked
        values = [row[metric] for row in out if row[metric] is not None]
        for row in out:
            v = row[metric]
            row[f"rank_{metric}"] = None if v is None else 1 + sum(1 for x in values if x > v)
    return pa.Table.from_pylist(out, schema=compare_schema(track_cols))


def with_contacts(table: pa.Table, contacts: dict[str, int]) -> pa.Table:
    """The comparison with leader contacts per partner filled in (and ranked), from the contacts measure."""
    rows = table.to_pylist()
    for row in rows:
        n = contacts.get(row["partner"])
        row["leader_contacts"] = n
        row["leader_contacts_per_year"] = n * 12 / row["months"] if n is not None and row["months"] else None
    track_cols = [f.name for f in table.schema if f.name.endswith("_share") and f.name != "share_of_all"]
    return _ranked(rows, track_cols)


def compare_schema(track_cols: list[str]) -> pa.Schema:
    f64 = pa.float64()
    return pa.schema(
        [("focal", pa.string()), ("partner", pa.string()), ("events", pa.int64()), ("records", pa.int64()),
         ("share_of_all", f64), *[(c, f64) for c in track_cols], ("net_cooperation", f64),
         ("goldstein_mean", f64), ("mean_tone", f64), ("leader_contacts", pa.int64()),
         ("leader_contacts_per_year", f64), ("trend", f64), ("months", pa.int64())]
        + [(f"rank_{m}", pa.int64()) for m in RANKED]
    )
