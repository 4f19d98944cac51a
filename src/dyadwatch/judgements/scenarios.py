"""Scenarios: futures an analyst watches for, each with signposts written in the claims' condition
language (dyadwatch.conditions), usually over the latest months of data. A signpost is lit, not lit, or
not enough data, with the numbers and evidence behind it. See docs/claims.md.

    from dyadwatch import scenarios
    results = scenarios.evaluate(store, scenarios.load_scenarios(), dyad="RUS-TUR")
    scenarios.signposts_table(results)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from .claims import evidence_columns, numbers_json
from .conditions import (
    Condition, ConditionError, Rules, default_path, entry_id, entry_text, evaluate as _evaluate, parse_condition,
    parse_rules, read_document, taxonomy_for,
)

STATUSES = ("lit", "not lit", "not enough data")
ScenariosError = ConditionError


@dataclass(frozen=True)
class Signpost:
    id: str
    text: str
    kind: str
    condition: Condition


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    quote: str
    signposts: tuple[Signpost, ...]
    text: str = ""
    source: str = ""


@dataclass
class SignpostResult:
    scenario_id: str
    scenario_title: str
    signpost_id: str
    signpost_text: str
    kind: str
    status: str  # lit / not lit / not enough data
    numbers: dict
    detail: str
    evidence: list[dict] = field(default_factory=list)
    measure: str = ""
    quote: str = ""  # the scenario's quote
    dyad: str = ""


def default_scenarios_path() -> Path:
    return default_path("scenarios")


def load_scenarios(path: str | Path | None = None, *, taxonomy=None) -> list[Scenario]:
    """Read and validate a scenarios file (default: the seed paper's). A malformed file raises
    ScenariosError (a ValueError) with one line naming the file, the scenario and the signpost."""
    doc, where = read_document(path or default_scenarios_path(), "scenarios")
    tax = taxonomy_for(taxonomy)
    source = entry_text(doc, "source", where, required=False)
    rules = parse_rules(doc.get("rules"), f"{where}: rules", Rules())
    seen: set[str] = set()
    out = []
    for i, body in enumerate(doc["scenarios"], 1):
        ident, at = entry_id(body, f"{where}: scenarios[{i}]", seen)
        extra = sorted(str(k) for k in set(body) - {"id", "title", "quote", "text", "rules", "signposts"})
        if extra:
            raise ConditionError(f"{at}: unknown key {extra[0]!r} (expected id, title, quote, text, rules, signposts)")
        title = entry_text(body, "title", at)
        quote = entry_text(body, "quote", at)
        text = entry_text(body, "text", at, required=False)
        local = parse_rules(body.get("rules"), at, rules)
        posts = body.get("signposts")
        if not isinstance(posts, list) or not posts:
            raise ConditionError(f"{at}: signposts must be a non-empty list")
        seen_posts: set[str] = set()
        signposts = []
        for j, post in enumerate(posts, 1):
            pid, pat = entry_id(post, f"{at}.signposts[{j}]", seen_posts)
            ptext = entry_text(post, "text", pat)
            cond = parse_condition(post, pat, tax, local, ignore={"id", "text", "note"})
            signposts.append(Signpost(pid, ptext, cond.kind, cond))
        out.append(Scenario(ident, title, quote, tuple(signposts), text, source))
    return out


def evaluate(store, scenarios=None, dyad="RUS-TUR", start=None, end=None, *, source: str | None = None,
             taxonomy=None, engine: str = "duckdb") -> list[SignpostResult]:
    """Evaluate every signpost of the scenarios (a list from load_scenarios, a path, or None for the
    shipped file) on a dyad's data between start and end; one result per signpost, in file order."""
    if scenarios is None or isinstance(scenarios, (str, Path)):
        scenarios = load_scenarios(scenarios, taxonomy=taxonomy)
    posts = [(s, p) for s in scenarios for p in s.signposts]
    outcomes = _evaluate(store, [p.condition for _, p in posts], dyad, start, end, source=source, taxonomy=taxonomy,
                         engine=engine)
    label = dyad if isinstance(dyad, str) else "-".join(dyad)
    return [
        SignpostResult(s.id, s.title, p.id, p.text, p.kind,
                       {None: STATUSES[2], True: STATUSES[0], False: STATUSES[1]}[o.holds], o.numbers, o.detail,
                       o.evidence, o.measure, s.quote, label)
        for (s, p), o in zip(posts, outcomes)
    ]


def summary(results: list[SignpostResult]) -> list[dict]:
    """Per scenario: how many signposts are lit, not lit, or lack data."""
    out: dict[str, dict] = {}
    for r in results:
        row = out.setdefault(r.scenario_id, {"scenario_id": r.scenario_id, "scenario_title": r.scenario_title,
                                             "signposts": 0, **{s: 0 for s in STATUSES}})
        row["signposts"] += 1
        row[r.status] += 1
    return list(out.values())


SIGNPOSTS_SCHEMA = pa.schema([
    ("scenario_id", pa.string()), ("scenario_title", pa.string()), ("signpost_id", pa.string()),
    ("signpost_text", pa.string()), ("kind", pa.string()), ("status", pa.string()), ("measure", pa.string()),
    ("detail", pa.string()), ("numbers", pa.string()),
    ("evidence_event_ids", pa.list_(pa.int64())), ("evidence_dates", pa.list_(pa.date32())),
    ("evidence_urls", pa.list_(pa.string())),
])


def signposts_table(results: list[SignpostResult]) -> pa.Table:
    """One row per signpost; numbers as a JSON text, evidence as lists (ids, dates, URLs)."""
    rows = [{"scenario_id": r.scenario_id, "scenario_title": r.scenario_title, "signpost_id": r.signpost_id,
             "signpost_text": r.signpost_text, "kind": r.kind, "status": r.status, "measure": r.measure,
             "detail": r.detail, "numbers": numbers_json(r.numbers), **evidence_columns(r.evidence)}
            for r in results]
    return pa.Table.from_pylist(rows, schema=SIGNPOSTS_SCHEMA)


__all__ = ["Scenario", "Signpost", "SignpostResult", "ScenariosError", "STATUSES", "load_scenarios", "evaluate",
           "signposts_table", "summary", "default_scenarios_path"]
