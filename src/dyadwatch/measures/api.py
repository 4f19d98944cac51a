"""The measures as the Python API and the CLI call them: a store (or its path) in, Arrow tables out.

Every function takes `engine="duckdb"` (in this process, the default) or `engine="spark"` (the active
SparkSession, else a local one; `dyadwatch.engines.spark_engine.session(master=URL)` starts one on a
cluster first). Both run the same SQL and give identical tables (see dyadwatch.engines)."""

from __future__ import annotations

import datetime as dt
import os

import pyarrow as pa
import pyarrow.compute as pc

from ..knowledge.codebook import parse_dyad
from ..engines import Engine, as_engine, open_engine
from ..store import Store, StoreError, open_store
from . import compare as _compare
from . import contacts as _contacts
from . import indicators as _indicators
from . import shifts as _shifts
from .frame import (DYAD_EVENTS, connect, default_taxonomy, has_dyad_index, materialise_unique_events,  # noqa: F401
                    period_expr)

DEFAULT_SHIFT_INDICATORS = ("events", "share_of_all", "net_cooperation", "goldstein_mean")


def _open(store: Store | str | os.PathLike | None) -> Store:
    st = store if isinstance(store, Store) else open_store(store)
    if not st.exists():
        raise StoreError(f"{st.root}: no dyadwatch store here (run `dyadwatch ingest` first)")
    return st


def _engine(store, engine: str) -> Engine:
    return open_engine(_open(store), engine)


def _dyad(dyad) -> tuple[str, str]:
    return parse_dyad(dyad) if isinstance(dyad, str) else tuple(dyad)


def indicators(store=None, dyad="RUS-TUR", *, by: str = "month", tracks=None, theatres=None,
               start: dt.date | None = None, end: dt.date | None = None, source: str | None = None,
               taxonomy=None, engine: str = "duckdb") -> pa.Table:
    """Indicators of a dyad per period, track, theatre and direction (see measures.indicators)."""
    a, b = _dyad(dyad)
    tax = default_taxonomy(taxonomy)
    with _engine(store, engine) as con:
        return _indicators.indicators(con, a, b, by=by, tracks=tracks, theatres=theatres, start=start, end=end,
                                      source=source, taxonomy=tax)


def contacts(store=None, dyad="RUS-TUR", *, start=None, end=None, engine: str = "duckdb") -> pa.Table:
    """Leader-level contacts of a dyad: one row per encounter, with evidence and confidence."""
    a, b = _dyad(dyad)
    with _engine(store, engine) as con:
        return _contacts.leader_contacts(con, a, b, start=start, end=end)


def contacts_per_year(store=None, dyad="RUS-TUR", *, start=None, end=None, engine: str = "duckdb") -> pa.Table:
    return _contacts.contacts_per_year(contacts(store, dyad, start=start, end=end, engine=engine))


def compare(store=None, focal: str = _compare.DEFAULT_FOCAL, partners=_compare.DEFAULT_PARTNERS, *,
            start=None, end=None, source=None, taxonomy=None, engine: str = "duckdb") -> pa.Table:
    """The focal state's partners side by side, ranked (see measures.compare)."""
    tax = default_taxonomy(taxonomy)
    with _engine(store, engine) as con:
        # contacts read each pair's rows from the dyad index where the store has one (a few row groups,
        # cheaper than keeping all the frame's rows); else the comparison's one scan keeps them in
        # `dyad_events` and contacts read those, not the store
        indexed = has_dyad_index(con)
        table = _compare.compare(con, focal, partners, start=start, end=end, source=source, taxonomy=tax,
                                 keep_rows=not indexed)
        counts = {p: _contacts.leader_contacts(con, focal, p, start=start, end=end, source=source,
                                               events=None if indexed else DYAD_EVENTS).num_rows for p in partners}
        return _compare.with_contacts(table, counts)


def _series(con, a: str, b: str, indicators_, track, theatre, start, end, source, tax) -> pa.Table:
    table = _indicators.indicators(con, a, b, by="month", tracks=[track], theatres=[theatre], start=start,
                                   end=end, source=source, taxonomy=tax)
    table = table.filter(pc.equal(table["direction"], "both"))
    unknown = [i for i in indicators_ if i not in _indicators.INDICATORS]
    if unknown:
        raise ValueError(f"unknown indicator {unknown[0]!r}: choose from {', '.join(_indicators.INDICATORS)}")
    return table.select(["period", *indicators_])


def monthly_series(store=None, dyad="RUS-TUR", *, indicators_=DEFAULT_SHIFT_INDICATORS, track: str = "all",
                   theatre: str = "all", start=None, end=None, source=None, taxonomy=None,
                   engine: str = "duckdb") -> pa.Table:
    """The monthly series `shifts` runs its detectors on: period and one column per indicator (both
    directions combined, the track and theatre given)."""
    a, b = _dyad(dyad)
    tax = default_taxonomy(taxonomy)
    with _engine(store, engine) as con:
        return _series(con, a, b, indicators_, track, theatre, start, end, source, tax)


def shifts(store=None, dyad="RUS-TUR", *, indicators_=DEFAULT_SHIFT_INDICATORS, track: str = "all",
           theatre: str = "all", start=None, end=None, source=None, taxonomy=None, evidence: int = 5,
           engine: str = "duckdb", **options) -> pa.Table:
    """Shifts in a dyad's monthly indicators (both directions combined), each with the most-reported
    events of its month as evidence. `options` go to the detector (window, threshold, penalty, ...)."""
    a, b = _dyad(dyad)
    tax = default_taxonomy(taxonomy)
    with _engine(store, engine) as con:
        series = _series(con, a, b, indicators_, track, theatre, start, end, source, tax)
        found = _shifts.detect(series, list(indicators_), **options)
        return add_evidence(con, found, track, theatre, evidence)


def add_evidence(con, found: pa.Table, track: str, theatre: str, n: int) -> pa.Table:
    """For each shift, the n most-reported unique events of its month (ids and URLs), read from the
    `unique_events` relation of `con` (an Engine or a DuckDB connection)."""
    months = sorted(set(found.column("period").to_pylist())) if found.num_rows else []
    where = [f'"track:{track}"' for _ in [0] if track != "all"] + [f'"theatre:{theatre}"' for _ in [0] if theatre != "all"]
    by_month: dict = {}
    if months:
        month = period_expr("month")
        rows = as_engine(con).rows(
            f"""SELECT month, event_id, source_url
                FROM (SELECT {month} AS month, event_id, source_url,
                             row_number() OVER (PARTITION BY {month} ORDER BY articles DESC, event_id) AS k
                      FROM unique_events {'WHERE ' + ' AND '.join(where) if where else ''}) AS ranked
                WHERE k <= {int(n)} ORDER BY month, k"""
        )
        for m, event_id, url in rows:
            got = by_month.setdefault(m, {"ids": [], "urls": []})
            got["ids"].append(event_id)
            got["urls"].append(url)
    ids = [by_month.get(p, {}).get("ids", []) for p in found.column("period").to_pylist()]
    urls = [by_month.get(p, {}).get("urls", []) for p in found.column("period").to_pylist()]
    return found.append_column("evidence_event_ids", pa.array(ids, pa.list_(pa.int64()))).append_column(
        "evidence_urls", pa.array(urls, pa.list_(pa.string())))


def shifts_in_series(path, columns=None, *, period_column=None, **options) -> pa.Table:
    """The shift detector on an analyst's own monthly series (CSV)."""
    series = _shifts.read_series_csv(path, columns, period_column=period_column)
    return _shifts.detect(series, None, **options)


__all__ = ["indicators", "contacts", "contacts_per_year", "compare", "shifts", "shifts_in_series",
           "monthly_series", "materialise_unique_events"]
