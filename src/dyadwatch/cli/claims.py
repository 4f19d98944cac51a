"""CLI commands for claims and scenarios: check an analyst's claims and a scenario's signposts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from .options import (
    EngineOption, FormatOption, FromOption, MasterOption, OutOption, SourceOption, StoreOption,
    TaxonomyOption, as_date, as_pair, check_format, guard, store_at, use_engine, write_table,
)

DyadOption = typer.Option("RUS-TUR", "--dyad", help="Two CAMEO country codes, e.g. RUS-TUR")


def _write(table, items, fmt: str, out: Optional[Path], shown: list[str], what: str) -> None:
    if fmt == "json":  # numbers and evidence as real JSON, not the table's text column
        from ..judgements.claims import as_dict

        text = json.dumps([as_dict(i) for i in items], ensure_ascii=False, indent=1, default=str) + "\n"
        if out:
            out.write_text(text)
        else:
            sys.stdout.write(text)
        return
    write_table(table, fmt, out, shown, what=what)


def claims_cmd(
    file: Optional[Path] = typer.Argument(None, help="Claims YAML (default: the seed paper's claims)"),
    dyad: str = DyadOption,
    start: Optional[str] = FromOption,
    end: Optional[str] = typer.Option(None, "--to", help="Last day, YYYY-MM-DD (inclusive)"),
    source: Optional[str] = SourceOption,
    taxonomy: Optional[Path] = TaxonomyOption,
    fmt: str = FormatOption,
    out: Optional[Path] = OutOption,
    store: Optional[Path] = StoreOption,
    engine: str = EngineOption,
    master: Optional[str] = MasterOption,
):
    """Check claims against the measures: supported, contradicted or not enough data, with the numbers and
    the most-reported events behind each verdict (docs/claims.md)."""
    from ..judgements import claims

    check_format(fmt, out)
    pair = as_pair(dyad)
    d0, d1 = as_date(start, "--from"), as_date(end, "--to")
    items = guard(lambda: claims.load_claims(file, taxonomy=taxonomy))
    eng = use_engine(engine, master)
    verdicts = guard(lambda: claims.check(store_at(store), items, pair, d0, d1, source=source, taxonomy=taxonomy,
                                           engine=eng))
    _write(claims.verdicts_table(verdicts), verdicts, fmt, out, ["id", "verdict", "detail", "evidence_event_ids"],
           "claims")


def scenarios_cmd(
    file: Optional[Path] = typer.Argument(None, help="Scenarios YAML (default: the seed paper's scenarios)"),
    dyad: str = DyadOption,
    start: Optional[str] = FromOption,
    end: Optional[str] = typer.Option(None, "--to", help="Last day, YYYY-MM-DD (inclusive): the signposts' 'now'"),
    source: Optional[str] = SourceOption,
    taxonomy: Optional[Path] = TaxonomyOption,
    fmt: str = FormatOption,
    out: Optional[Path] = OutOption,
    store: Optional[Path] = StoreOption,
    engine: str = EngineOption,
    master: Optional[str] = MasterOption,
):
    """Evaluate scenarios: each signpost lit, not lit or not enough data, with numbers and evidence."""
    from ..judgements import scenarios

    check_format(fmt, out)
    pair = as_pair(dyad)
    d0, d1 = as_date(start, "--from"), as_date(end, "--to")
    items = guard(lambda: scenarios.load_scenarios(file, taxonomy=taxonomy))
    eng = use_engine(engine, master)
    results = guard(lambda: scenarios.evaluate(store_at(store), items, pair, d0, d1, source=source, taxonomy=taxonomy,
                                                engine=eng))
    _write(scenarios.signposts_table(results), results, fmt, out,
           ["scenario_id", "signpost_id", "status", "detail", "evidence_event_ids"], "signposts")


__all__ = ["claims_cmd", "scenarios_cmd"]
