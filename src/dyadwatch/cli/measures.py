"""CLI commands for the measures: indicators, contacts, compare, shifts."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .options import (
    EngineOption, FormatOption, FromOption, MasterOption, OutOption, SourceOption, StoreOption,
    TaxonomyOption, ToOption, as_date, as_pair, check_format, fail, guard, store_at, use_engine, write_table,
)
from ..knowledge.codebook import CodeError, country_code

def _api():
    from ..measures import api

    return api


def indicators(
    dyad: str = typer.Option("RUS-TUR", "--dyad", help="Two CAMEO country codes, e.g. RUS-TUR"),
    by: str = typer.Option("month", "--by", help="month, quarter or year"),
    track: Optional[str] = typer.Option(None, "--track", help="Track(s), comma-separated; 'each' or 'all' [default: all and each]"),
    theatre: Optional[str] = typer.Option(None, "--theatre", help="Theatre(s), comma-separated; 'each' or 'all' [default: all]"),
    start: Optional[str] = FromOption,
    end: Optional[str] = ToOption,
    source: Optional[str] = SourceOption,
    taxonomy: Optional[Path] = TaxonomyOption,
    fmt: str = FormatOption,
    out: Optional[Path] = OutOption,
    store: Optional[Path] = StoreOption,
    engine: str = EngineOption,
    master: Optional[str] = MasterOption,
):
    """A dyad's indicators per period, track, theatre and direction (unique events, share of all events,
    quad classes, Goldstein, net cooperation, tone)."""
    check_format(fmt, out)
    pair = as_pair(dyad)
    d0, d1 = as_date(start, "--from"), as_date(end, "--to")
    eng = use_engine(engine, master)
    table = guard(lambda: _api().indicators(store_at(store), pair, by=by, tracks=track, theatres=theatre, start=d0,
                                           end=d1, source=source, taxonomy=taxonomy, engine=eng))
    shown = ["period", "track", "theatre", "direction", "events", "records", "share_of_all", "quad1", "quad2",
             "quad3", "quad4", "goldstein_mean", "net_cooperation", "mean_tone"]
    write_table(table, fmt, out, shown, what="indicator rows")


def contacts(
    dyad: str = typer.Option("RUS-TUR", "--dyad", help="Two CAMEO country codes, e.g. RUS-TUR"),
    per_year: bool = typer.Option(False, "--per-year", help="Counts per year and kind instead of each contact"),
    start: Optional[str] = FromOption,
    end: Optional[str] = ToOption,
    fmt: str = FormatOption,
    out: Optional[Path] = OutOption,
    store: Optional[Path] = StoreOption,
    engine: str = EngineOption,
    master: Optional[str] = MasterOption,
):
    """Leader-level contacts (calls, visits, meetings): one per encounter, with the evidence and confidence."""
    check_format(fmt, out)
    pair = as_pair(dyad)
    d0, d1 = as_date(start, "--from"), as_date(end, "--to")
    api = _api()
    fn = api.contacts_per_year if per_year else api.contacts
    eng = use_engine(engine, master)
    table = guard(lambda: fn(store_at(store), pair, start=d0, end=d1, engine=eng))
    write_table(table, fmt, out, what="contact rows" if not per_year else "years")


def compare(
    focal: str = typer.Argument("RUS", help="The focal state (CAMEO code)"),
    partners: str = typer.Option("TUR,CHN,IND,IRN,PRK", "--partners", help="Its partners, comma-separated"),
    start: Optional[str] = FromOption,
    end: Optional[str] = ToOption,
    source: Optional[str] = SourceOption,
    taxonomy: Optional[Path] = TaxonomyOption,
    fmt: str = FormatOption,
    out: Optional[Path] = OutOption,
    store: Optional[Path] = StoreOption,
    engine: str = EngineOption,
    master: Optional[str] = MasterOption,
):
    """Compare a state's partners: volume share, track mix, cooperation balance, leader contacts, trend, ranks."""
    check_format(fmt, out)
    try:
        f = country_code(focal)
        ps = [country_code(p) for p in partners.split(",") if p.strip()]
    except CodeError as exc:
        fail(str(exc))
    if not ps:
        fail("--partners needs at least one country code")
    d0, d1 = as_date(start, "--from"), as_date(end, "--to")
    eng = use_engine(engine, master)
    table = guard(lambda: _api().compare(store_at(store), f, ps, start=d0, end=d1, source=source, taxonomy=taxonomy,
                                          engine=eng))
    shown = ["partner", "events", "share_of_all", "diplomacy_share", "economy_energy_share", "security_arms_share",
             "friction_share", "net_cooperation", "leader_contacts_per_year", "trend", "rank_share_of_all",
             "rank_net_cooperation", "rank_leader_contacts_per_year", "rank_trend"]
    write_table(table, fmt, out, shown, what="partners")


def shifts(
    dyad: Optional[str] = typer.Option(None, "--dyad", help="Detect shifts in this dyad's monthly indicators"),
    indicator: str = typer.Option("events,share_of_all,net_cooperation,goldstein_mean", "--indicator",
                                  help="Indicator(s) of the dyad, comma-separated"),
    track: str = typer.Option("all", "--track", help="One track, or all"),
    theatre: str = typer.Option("all", "--theatre", help="One theatre, or all"),
    series: Optional[Path] = typer.Option(None, "--series", help="Or: your own monthly series, a CSV file"),
    column: Optional[str] = typer.Option(None, "--column", help="Column(s) of --series to test [default: every numeric one]"),
    window: int = typer.Option(12, "--window", help="Trailing months the z-score compares against"),
    threshold: float = typer.Option(3.0, "--threshold", help="|z| at or above this is flagged"),
    penalty: Optional[float] = typer.Option(None, "--penalty", help="PELT penalty [default: the stated rule]"),
    start: Optional[str] = FromOption,
    end: Optional[str] = ToOption,
    source: Optional[str] = SourceOption,
    taxonomy: Optional[Path] = TaxonomyOption,
    fmt: str = FormatOption,
    out: Optional[Path] = OutOption,
    store: Optional[Path] = StoreOption,
    engine: str = EngineOption,
    master: Optional[str] = MasterOption,
):
    """Shifts ("recalibrations"): z-score flags and changepoints in monthly indicators, with evidence."""
    check_format(fmt, out)
    if (dyad is None) == (series is None):
        fail("give either --dyad RUS-TUR or --series FILE.csv")
    options = dict(window=window, threshold=threshold, penalty=penalty)
    api = _api()
    if series is not None:
        cols = [c.strip() for c in column.split(",")] if column else None
        table = guard(lambda: api.shifts_in_series(series, cols, **options))
    else:
        pair = as_pair(dyad)
        d0, d1 = as_date(start, "--from"), as_date(end, "--to")
        names = tuple(i.strip() for i in indicator.split(",") if i.strip())
        eng = use_engine(engine, master)
        table = guard(lambda: api.shifts(store_at(store), pair, indicators_=names, track=track, theatre=theatre,
                                        start=d0, end=d1, source=source, taxonomy=taxonomy, engine=eng, **options))
    shown = ["period", "indicator", "method", "direction", "magnitude", "before", "after", "detail"]
    if "evidence_event_ids" in table.column_names:
        shown.append("evidence_event_ids")
    write_table(table, fmt, out, shown, what="shifts")
