"""Response models for the OpenAPI schema, made from the Arrow schemas the measures return, so the
documented fields are the fields served. They document and let schemathesis check the responses; the
endpoints return pre-encoded JSON (cached) and are not re-validated on the way out."""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, create_model

from ..judgements.claims import VERDICTS
from ..measures.compare import compare_schema
from ..measures.contacts import CONTACTS_SCHEMA, PER_YEAR_SCHEMA
from ..measures.indicators import INDICATOR_SCHEMA
from ..measures.shifts import SHIFT_SCHEMA
from ..judgements.scenarios import STATUSES
from ..knowledge.schema import EVENT_SCHEMA


def _py(t: pa.DataType):
    if pa.types.is_boolean(t):
        return bool
    if pa.types.is_integer(t):
        return int
    if pa.types.is_floating(t):
        return float
    if pa.types.is_date(t):
        return dt.date
    if pa.types.is_timestamp(t):
        return dt.datetime
    if pa.types.is_list(t):
        return list[Optional[_py(t.value_type)]]
    return str


def arrow_model(name: str, schema: pa.Schema, doc: str) -> type[BaseModel]:
    """A model with one optional field per Arrow column (nulls are served as JSON null)."""
    fields = {f.name: (Optional[_py(f.type)], None) for f in schema}
    model = create_model(name, __config__=ConfigDict(extra="forbid"), **fields)
    model.__doc__ = doc
    return model


class Error(BaseModel):
    """Every error, 4xx or 5xx: one line, never a stack trace."""

    error: str = Field(..., examples=["unknown CAMEO country code 'XXX' (e.g. RUS, TUR, CHN, IND, IRN, PRK)"])


def page_model(name: str, item: type[BaseModel], extra: dict | None = None) -> type[BaseModel]:
    fields: dict[str, Any] = {
        "query": (dict[str, Any], Field(..., description="The validated query (codes upper-cased, dates ISO)")),
        "total": (int, Field(..., description="Rows matching the query, over all pages")),
        "limit": (int, Field(..., description="Page size asked for (at most the cap)")),
        "offset": (int, Field(..., description="Rows skipped before this page")),
        "next_offset": (Optional[int], Field(None, description="`offset` of the next page; null on the last")),
        "items": (list[item], ...),
    }
    fields.update(extra or {})
    model = create_model(name, **fields)
    model.__doc__ = f"One page of {item.__name__} rows."
    return model


IndicatorRow = arrow_model("IndicatorRow", INDICATOR_SCHEMA, "A dyad's indicators for one period, track, theatre "
                           "and direction (docs/measures.md).")
EventRow = arrow_model("EventRow", EVENT_SCHEMA, "One event row in the canonical schema (docs/schema.md).")
ContactRow = arrow_model("ContactRow", CONTACTS_SCHEMA,
                         "One leader-level contact: an encounter, with its evidence and confidence.")
ContactYearRow = arrow_model("ContactYearRow", PER_YEAR_SCHEMA, "Leader contacts of one year by kind.")
ShiftRow = arrow_model(
    "ShiftRow",
    pa.schema(list(SHIFT_SCHEMA) + [pa.field("evidence_event_ids", pa.list_(pa.int64())),
                                    pa.field("evidence_urls", pa.list_(pa.string()))]),
    "A shift in a monthly indicator, with the ids and URLs of its month's most-reported events.")


def _compare_row() -> type[BaseModel]:
    from ..knowledge.taxonomy import load_taxonomy

    cols = [f"{c.name}_share" for c in load_taxonomy().tracks]
    return arrow_model("CompareRow", compare_schema(cols), "One partner of the focal state, with ranks.")


CompareRow = _compare_row()


class Evidence(BaseModel):
    model_config = ConfigDict(extra="allow")
    event_id: Optional[int] = None
    date: Optional[dt.date] = None
    url: Optional[str] = None


class ClaimVerdict(BaseModel):
    """A claim checked against the data (docs/claims.md)."""

    model_config = ConfigDict(extra="allow")
    id: str
    text: str
    quote: str
    kind: str
    verdict: str = Field(..., json_schema_extra={"enum": list(VERDICTS)})
    numbers: dict[str, Any]
    detail: str
    evidence: list[Evidence]
    measure: str
    dyad: str
    source: str


class SignpostResult(BaseModel):
    """A scenario's signpost evaluated on the data (docs/claims.md)."""

    model_config = ConfigDict(extra="allow")
    scenario_id: str
    scenario_title: str
    signpost_id: str
    signpost_text: str
    kind: str
    status: str = Field(..., json_schema_extra={"enum": list(STATUSES)})
    numbers: dict[str, Any]
    detail: str
    evidence: list[Evidence]
    measure: str
    quote: str
    dyad: str


class ScenarioSummary(BaseModel):
    model_config = ConfigDict(extra="allow")
    scenario_id: str
    scenario_title: str
    signposts: int


IndicatorPage = page_model("IndicatorPage", IndicatorRow)
EventPage = page_model("EventPage", EventRow)
ContactPage = page_model("ContactPage", ContactRow)
ContactYearPage = page_model("ContactYearPage", ContactYearRow)
ComparePage = page_model("ComparePage", CompareRow)
ShiftPage = page_model("ShiftPage", ShiftRow)
ClaimPage = page_model("ClaimPage", ClaimVerdict, {
    "counts": (dict[str, int], Field(..., description="Verdicts by kind over all claims"))})
ScenarioPage = page_model("ScenarioPage", SignpostResult, {
    "scenarios": (list[ScenarioSummary], Field(..., description="Per scenario: signposts lit, not lit, lacking data"))})


class SourceStatus(BaseModel):
    model_config = ConfigDict(extra="allow")
    source: str
    files: int
    events: int
    first_event: Optional[dt.date] = None
    last_event: Optional[dt.date] = None


class Status(BaseModel):
    """What the store holds (as `dyadwatch status --json`) and how this server is set up."""

    model_config = ConfigDict(extra="allow")
    store: str
    sources: list[SourceStatus]
    events: int
    files: int
    rows_rejected: int
    filters: list[str]
    dyadwatch: str
    admin: bool
    page_size_cap: int
    pdf: bool = Field(..., description="Whether the server can print the brief as PDF (it has Chromium)")
    cache: dict[str, int]
