"""Partner comparison: one focal state against its partners on the same indicators, with ranks.

The seed paper opens by placing Turkey among Russia's partners (China, India, Iran, North Korea); this
is that comparison from data: how much of all coverage each relationship takes, what it is made of,
how cooperative it is, how often leaders meet or call, and where its volume is heading.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa

from ..taxonomy import Taxonomy
from .frame import default_taxonomy, materialise_unique_events, totals_where

DEFAULT_FOCAL = "RUS"
DEFAULT_PARTNERS = ("TUR", "CHN", "IND", "IRN", "PRK")
RANKED = ("share_of_all", "net_cooperation", "leader_contacts_per_year", "trend")


def monthly_totals_sql(source: str | None, start: dt.date | None, end: dt.date | None) -> tuple[str, list]:
    """All events the store saw per month (the denominator of every share)."""
    filt, params = totals_where(source, start, end)
    return (f"SELECT CAST(date_trunc('month', day) AS DATE) AS month, sum(events) AS all_events "
            f"FROM daily_totals{filt} GROUP BY 1", params)


def compare_sql(taxonomy: Taxonomy, source: str | None, start: dt.date | None, end: dt.date | None) -> tuple[str, list]:
    mix = ", ".join(
        f'avg(CASE WHEN "track:{c.name}" THEN 1.0 ELSE 0.0 END) AS "{c.name}_share"' for c in taxonomy.tracks
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
    avg(goldstein) AS goldstein_mean, avg(tone) AS mean_tone, {mix}
  FROM unique_events GROUP BY partner
),
partner_months AS (
  SELECT partner, CAST(date_trunc('month', event_date) AS DATE) AS month, sum(records) AS records
  FROM unique_events GROUP BY 1, 2
),
partners AS (SELECT DISTINCT partner FROM partner_months),
monthly_share AS (
  SELECT p.partner, m.month,
    (year(m.month) * 12 + month(m.month)) AS month_index,
    coalesce(pm.records, 0) / m.all_events AS share
  FROM partners p CROSS JOIN monthly_totals m
  LEFT JOIN partner_months pm ON pm.partner = p.partner AND pm.month = m.month
  WHERE m.all_events > 0
),
trend AS (
  SELECT partner,
    CASE WHEN count(*) >= 3 AND avg(share) > 0 THEN 12 * regr_slope(share, month_index) / avg(share) END AS trend
  FROM monthly_share GROUP BY partner
)
SELECT p.*, r.all_events, p.records / r.all_events AS share_of_all, t.trend, r.months, r.first_month, r.last_month
FROM profile p CROSS JOIN range_totals r LEFT JOIN trend t ON t.partner = p.partner
"""
    return sql, params


def compare(con: duckdb.DuckDBPyConnection, focal: str = DEFAULT_FOCAL, partners=DEFAULT_PARTNERS, *,
            start: dt.date | None = None, end: dt.date | None = None, source: str | None = None,
            taxonomy: Taxonomy | str | None = None, contacts: dict[str, int] | None = None) -> pa.Table:
    """One row per partner: volume share, track mix, cooperation balance, leader contacts per year,
    trend (relative change of the monthly share per year, from a least-squares slope), and a rank for
    each of those (1 = highest). Partners without any event are listed with zeros, not dropped.

    contacts: leader contacts per partner over the range (computed by the caller from the contacts
    measure, so this query stays one pass over the frame)."""
    tax = default_taxonomy(taxonomy)
    partners = list(dict.fromkeys(partners))
    if focal in partners:
        raise ValueError(f"{focal} cannot be its own partner")
    materialise_unique_events(con, tax, focal, partners, start=start, end=end, source=source)
    sql, params = compare_sql(tax, source, start, end)
    rows = {r["partner"]: r for r in con.sql(sql, params=params).to_arrow_table().to_pylist()}
    tot_sql, tot_params = monthly_totals_sql(source, start, end)
    months = con.execute(f"SELECT count(*) FROM ({tot_sql}) WHERE all_events > 0", tot_params).fetchall()[0][0]
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
