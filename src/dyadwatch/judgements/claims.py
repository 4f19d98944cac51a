"""Claims: an analyst's checkable statements about a dyad, each with the quote it comes from, checked
against the measures. A verdict is supported, contradicted or not enough data, with the numbers behind
it and the most-reported events of the windows involved. The format and the verdict rules are in
docs/claims.md; the condition language is shared with scenarios (dyadwatch.conditions).

    from dyadwatch import claims
    verdicts = claims.check(store, claims.load_claims(), dyad="RUS-TUR")
    claims.verdicts_table(verdicts)
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from .conditions import (
    Condition, ConditionError, Rules, default_path, entry_id, entry_text, evaluate as _evaluate, parse_condition,
    parse_rules, read_document, taxonomy_for,
)

VERDICTS = ("supported", "contradicted", "not enough data")
ClaimsError = ConditionError


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    quote: str
    kind: str
    condition: Condition
    source: str = ""
    note: str = ""


@dataclass
class Verdict:
    id: str
    text: str
    quote: str
    kind: str
    verdict: str  # supported / contradicted / not enough data
    numbers: dict
    detail: str  # one line: the numbers and the reason
    evidence: list[dict] = field(default_factory=list)  # event_id, date, url, window, articles, ...
    measure: str = ""
    dyad: str = ""
    source: str = ""


def default_claims_path() -> Path:
    return default_path("claims")


def load_claims(path: str | Path | None = None, *, taxonomy=None) -> list[Claim]:
    """Read and validate a claims file (default: the seed paper's, shipped in the package). A malformed
    file raises ClaimsError (a ValueError) with one line naming the file and the claim."""
    doc, where = read_document(path or default_claims_path(), "claims")
    tax = taxonomy_for(taxonomy)
    source = entry_text(doc, "source", where, required=False)
    rules = parse_rules(doc.get("rules"), f"{where}: rules", Rules())
    seen: set[str] = set()
    out = []
    for i, body in enumerate(doc["claims"], 1):
        ident, at = entry_id(body, f"{where}: claims[{i}]", seen)
        text = entry_text(body, "text", at)
        quote = entry_text(body, "quote", at)
        note = entry_text(body, "note", at, required=False)
        cond = parse_condition(body, at, tax, rules, ignore={"id", "text", "quote", "note"})
        out.append(Claim(ident, text, quote, cond.kind, cond, source, note))
    return out


def check(store, claims=None, dyad="RUS-TUR", start=None, end=None, *, source: str | None = None,
          taxonomy=None, engine: str = "duckdb") -> list[Verdict]:
    """Check claims (a list from load_claims, a path, or None for the shipped file) on a dyad's data
    between start and end (dates, inclusive; default: everything the store holds)."""
    if claims is None or isinstance(claims, (str, Path)):
        claims = load_claims(claims, taxonomy=taxonomy)
    outcomes = _evaluate(store, [c.condition for c in claims], dyad, start, end, source=source, taxonomy=taxonomy,
                         engine=engine)
    label = dyad if isinstance(dyad, str) else "-".join(dyad)
    return [
        Verdict(c.id, c.text, c.quote, c.kind, {None: VERDICTS[2], True: VERDICTS[0], False: VERDICTS[1]}[o.holds],
                o.numbers, o.detail, o.evidence, o.measure, label, c.source)
        for c, o in zip(claims, outcomes)
    ]


EVIDENCE_COLUMNS = [("evidence_event_ids", pa.list_(pa.int64())), ("evidence_dates", pa.list_(pa.date32())),
                    ("evidence_urls", pa.list_(pa.string()))]
VERDICTS_SCHEMA = pa.schema([
    ("id", pa.string()), ("kind", pa.string()), ("verdict", pa.string()), ("text", pa.string()),
    ("quote", pa.string()), ("measure", pa.string()), ("detail", pa.string()), ("numbers", pa.string()),
    *EVIDENCE_COLUMNS,
])


def numbers_json(numbers: dict) -> str:
    return json.dumps(numbers, default=str, ensure_ascii=False, sort_keys=True)


def evidence_columns(evidence: list[dict]) -> dict:
    return {"evidence_event_ids": [e["event_id"] for e in evidence],
            "evidence_dates": [e["date"] for e in evidence],
            "evidence_urls": [e.get("url") for e in evidence]}


def verdicts_table(verdicts: list[Verdict]) -> pa.Table:
    """One row per verdict; numbers as a JSON text, evidence as lists (ids, dates, URLs)."""
    rows = [{"id": v.id, "kind": v.kind, "verdict": v.verdict, "text": v.text, "quote": v.quote,
             "measure": v.measure, "detail": v.detail, "numbers": numbers_json(v.numbers),
             **evidence_columns(v.evidence)} for v in verdicts]
    return pa.Table.from_pylist(rows, schema=VERDICTS_SCHEMA)


def as_dict(obj) -> dict:
    """A verdict (or signpost result) as plain JSON-ready data."""
    from dataclasses import asdict

    def clean(x):
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        if isinstance(x, dt.date):
            return x.isoformat()
        return x

    return clean(asdict(obj))


__all__ = ["Claim", "Verdict", "ClaimsError", "VERDICTS", "load_claims", "check", "verdicts_table",
           "default_claims_path", "as_dict"]
