"""The JSON API: the CLI's queries over HTTP, read-only. Every endpoint validates its query (codes against
the codebook, dates strictly as YYYY-MM-DD, names against the taxonomy), calls the measures' Python API
(`dyadwatch.measures.api`, `claims`, `scenarios`, `brief`) and serves a page of the rows.

Paging: `limit` (default 100, at most MAX_PAGE) and `offset`; a page says `total`, `limit`, `offset` and
`next_offset` (null on the last page). A `limit` above the cap is refused (422 with an `error` naming the
cap), never silently clamped. Results are cached (web.cache) by the query and the store's state.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import tempfile
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Literal, Optional

import pyarrow as pa
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from ..version import __version__
from ..knowledge.codebook import CodeError, country_code, parse_dyad
from ..measures import api as measures
from ..measures.compare import DEFAULT_PARTNERS
from ..measures.indicators import INDICATORS
from ..knowledge.schema import EVENT_COLUMNS
from ..knowledge.formats import SOURCE_NAMES
from ..store import Store
from . import models
from .cache import ResultCache, store_signature

MAX_PAGE = 1000  # rows per page, hard cap
DEFAULT_PAGE = 100
MAX_IDS = 100  # event ids in one /api/events?ids= query
MAX_PARTNERS = 20
MAX_TEXT = 100  # characters of the events text filter
DEFAULT_SHIFT_INDICATORS = ("events", "share_of_all", "net_cooperation", "goldstein_mean")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DYAD_PATTERN = r"^[A-Za-z]{3}[-_][A-Za-z]{3}$"
CODE_PATTERN = r"^[A-Za-z]{3}$"


class ApiError(Exception):
    """A request the API refuses: status and one line for the `error` field."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def bad(message: str) -> ApiError:
    return ApiError(400, message)


# -- validation ---------------------------------------------------------------------------------------


def parse_date(text: Optional[str], name: str) -> Optional[dt.date]:
    """YYYY-MM-DD and nothing else (no times, no week dates, no numbers)."""
    if text is None or text == "":
        return None
    if not _DATE.match(text):
        raise bad(f"{name} {text!r} is not a date: use YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise bad(f"{name} {text!r} is not a date: use YYYY-MM-DD") from None


def parse_period(start: Optional[str], end: Optional[str]) -> tuple[Optional[dt.date], Optional[dt.date]]:
    d0, d1 = parse_date(start, "from"), parse_date(end, "to")
    if d0 and d1 and d1 < d0:
        raise bad(f"to {d1} is before from {d0}")
    return d0, d1


def dyad_of(text: str) -> tuple[str, str]:
    try:
        return parse_dyad(text.strip())
    except CodeError as exc:
        raise bad(str(exc)) from None


def dyad_period(dyad: str, start: Optional[str], end: Optional[str]):
    """The dyad's two codes, the period's dates, and the query's key fields for them (dyad, from, to)."""
    a, b = dyad_of(dyad)
    d0, d1 = parse_period(start, end)
    return a, b, d0, d1, {"dyad": f"{a}-{b}", "from": _iso(d0), "to": _iso(d1)}


def code_of(text: str, name: str) -> str:
    try:
        return country_code(text)
    except CodeError as exc:
        raise bad(f"{name}: {exc}") from None


def codes_of(text: Optional[str], name: str, default: tuple[str, ...], cap: int) -> list[str]:
    items = [p.strip() for p in text.split(",") if p.strip()] if text is not None else list(default)
    if not items:
        raise bad(f"{name} needs at least one CAMEO country code")
    if len(items) > cap:
        raise bad(f"{name}: at most {cap} codes")
    return list(dict.fromkeys(code_of(p, name) for p in items))


def names_of(text: Optional[str], allowed: tuple[str, ...], kind: str, *, extra: tuple[str, ...] = ()) -> list[str]:
    """A comma-separated list of names, each in `allowed` or `extra` (e.g. all, each)."""
    items = [p.strip() for p in (text or "").split(",") if p.strip()]
    if not items:
        raise bad(f"{kind} needs at least one name: choose from {', '.join(extra + allowed)}")
    for p in items:
        if p not in allowed and p not in extra:
            raise bad(f"unknown {kind} {p!r}: choose from {', '.join(extra + allowed)}")
    return list(dict.fromkeys(items))


def direction_of(text: Optional[str], a: str, b: str) -> Optional[str]:
    """None for both directions, else 'A>B' of the dyad."""
    if text is None or text == "" or text == "both":
        return None
    t = text.strip().upper().replace("-", ">")
    if t not in (f"{a}>{b}", f"{b}>{a}"):
        raise bad(f"direction {text!r}: use both, {a}>{b} or {b}>{a}")
    return t


def ints_of(text: Optional[str], name: str, cap: int, lo: int, hi: int) -> list[int]:
    if text is None or text.strip() == "":
        return []
    out = []
    for p in text.split(","):
        p = p.strip()
        if not re.fullmatch(r"\d{1,19}", p) or not lo <= int(p) <= hi:
            raise bad(f"{name}: {p!r} is not a whole number from {lo} to {hi}")
        out.append(int(p))
    if len(out) > cap:
        raise bad(f"{name}: at most {cap} values")
    return list(dict.fromkeys(out))


# -- JSON ---------------------------------------------------------------------------------------------


def _clean(x):
    """JSON-ready: dates ISO, NaN/inf as null, nested."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, (dt.datetime, dt.date)):
        return x.isoformat()
    if isinstance(x, Decimal):  # DuckDB's exact sums in the claims' numbers
        f = float(x)
        return f if math.isfinite(f) else None
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def rows_of(table: pa.Table) -> list[dict]:
    """Arrow rows as JSON-ready dicts, column by column (dates ISO, non-finite floats null)."""
    cols = {}
    for name in table.column_names:
        col = table.column(name)
        values = col.to_pylist()
        t = col.type
        if pa.types.is_floating(t):
            values = [v if v is None or math.isfinite(v) else None for v in values]
        elif pa.types.is_date(t) or pa.types.is_timestamp(t):
            values = [None if v is None else v.isoformat() for v in values]
        elif pa.types.is_list(t):
            values = [_clean(v) for v in values]
        cols[name] = values
    names = list(cols)
    return [dict(zip(names, vals)) for vals in zip(*cols.values())] if names else []


def encode(content: Any) -> bytes:
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def json_response(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json")


def page(items: list, limit: int, offset: int, query: dict, total: int | None = None, **extra) -> dict:
    """One page of `items` (all rows) or, with `total`, `items` is already the page."""
    if total is None:
        total = len(items)
        items = items[offset:offset + limit]
    nxt = offset + limit if offset + limit < total else None
    return {"query": query, "total": total, "limit": limit, "offset": offset, "next_offset": nxt, "items": items,
            **extra}


# -- the service --------------------------------------------------------------------------------------


class Service:
    """The store and the cache the endpoints share. Every computation opens its own DuckDB connections
    (the measures' API does), so requests on uvicorn's threads never share one."""

    def __init__(self, store: Store, cache: ResultCache, admin: bool = False):
        self.store = store
        self.cache = cache
        self.admin = admin
        self._taxonomy = None
        self._pdf_gate = threading.Semaphore(1)  # one Chromium at a time on a small machine

    @property
    def taxonomy(self):
        if self._taxonomy is None:
            from ..knowledge.taxonomy import load_taxonomy

            self._taxonomy = load_taxonomy()
        return self._taxonomy

    def tracks(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.taxonomy.tracks)

    def theatres(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.taxonomy.theatres)

    def cached(self, name: str, params: dict, compute: Callable[[], Any]) -> Any:
        key = (name, tuple(sorted((k, _hashable(v)) for k, v in params.items())), store_signature(self.store.root))
        return self.cache.get(key, compute)

    def respond(self, name: str, params: dict, build: Callable[[], dict]) -> Response:
        """The encoded page for these parameters (paging included), from the cache when it is there."""
        return json_response(self.cached("response:" + name, params, lambda: encode(build())))


def _hashable(v):
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _hashable(x)) for k, x in v.items()))
    return v


def _iso(d: Optional[dt.date]) -> Optional[str]:
    return d.isoformat() if d else None


# -- the router ---------------------------------------------------------------------------------------

ERRORS = {400: {"model": models.Error, "description": "A bad value: unknown code or name, bad date, ..."},
          422: {"model": models.Error, "description": "A parameter of the wrong type or out of range "
                                                      "(e.g. limit above the page-size cap)"},
          503: {"model": models.Error, "description": "The store is missing, locked or changed under the query"}}


def Limit():  # noqa: N802 - reads like a type in the signatures
    return Query(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description=f"Rows per page (at most {MAX_PAGE}: more is a 422)")


def Offset():  # noqa: N802
    return Query(0, ge=0, le=1_000_000_000, description="Rows to skip")


def From():  # noqa: N802
    return Query(None, alias="from", description="First day, YYYY-MM-DD", max_length=10)


def To():  # noqa: N802
    return Query(None, alias="to", description="Last day, YYYY-MM-DD (inclusive)", max_length=10)


def Dyad():  # noqa: N802
    return Query(..., description="Two CAMEO country codes, e.g. RUS-TUR (either direction)", pattern=DYAD_PATTERN)


SourceName = Optional[Literal[tuple(SOURCE_NAMES)]]  # type: ignore[valid-type]


def build_router(service: Service) -> APIRouter:
    router = APIRouter(prefix="/api", responses=ERRORS)
    svc = service

    @router.get("/status", response_model=models.Status, summary="What the store holds",
                description="As `dyadwatch status --json`, plus this server's settings.")
    def status() -> Response:
        def build():
            info = svc.store.status()
            info["store"] = svc.store.root.name  # the folder's name, not the server's file system
            return {**info, "dyadwatch": __version__, "admin": svc.admin, "page_size_cap": MAX_PAGE}

        from ..brief import find_chromium

        info = dict(svc.cached("status", {}, build))
        info["pdf"] = find_chromium() is not None
        info["cache"] = svc.cache.info()
        return json_response(encode(info))

    @router.get("/indicators", response_model=models.IndicatorPage, summary="A dyad's indicators",
                description="As `dyadwatch indicators`: per period, track, theatre and direction.")
    def indicators(
        dyad: str = Dyad(),
        by: Literal["month", "quarter", "year"] = Query("month"),
        track: Optional[str] = Query(None, max_length=200, description="Tracks, comma-separated; all, each "
                                     "[default: all and each]"),
        theatre: Optional[str] = Query(None, max_length=200, description="Theatres, comma-separated; all, each "
                                       "[default: all]"),
        direction: Optional[str] = Query(None, max_length=7, description="Only this direction: both, A>B or B>A"),
        start: Optional[str] = From(), end: Optional[str] = To(), source: SourceName = Query(None),
        limit: int = Limit(), offset: int = Offset(),
    ) -> Response:
        a, b = dyad_of(dyad)
        d0, d1 = parse_period(start, end)
        tracks = names_of(track, svc.tracks(), "track", extra=("all", "each")) if track is not None else None
        theatres = names_of(theatre, svc.theatres(), "theatre", extra=("all", "each")) if theatre is not None else None
        if direction is None or direction.strip() == "":
            want = None  # every direction
        elif direction.strip().lower() == "both":
            want = "both"
        else:
            want = direction_of(direction, a, b)
        q = {"dyad": f"{a}-{b}", "by": by, "track": tracks, "theatre": theatres, "direction": want, "from": _iso(d0),
             "to": _iso(d1), "source": source}

        def rows():
            table = measures.indicators(svc.store, (a, b), by=by, tracks=tracks, theatres=theatres, start=d0,
                                        end=d1, source=source)
            return rows_of(table)

        def build():
            # the rows are cached without the direction: one computation serves every direction's page
            items = svc.cached("indicators", {k: v for k, v in q.items() if k != "direction"}, rows)
            if want:
                items = [r for r in items if r["direction"] == want]
            return page(items, limit, offset, q)

        return svc.respond("indicators", {**q, "limit": limit, "offset": offset}, build)

    @router.get("/events", response_model=models.EventPage, summary="A dyad's event rows",
                description="As `dyadwatch events`, with filters; ordered by date, source and id.")
    def events(
        dyad: str = Dyad(),
        start: Optional[str] = From(), end: Optional[str] = To(),
        direction: Optional[str] = Query(None, max_length=7, description="both, A>B or B>A"),
        quad: Optional[str] = Query(None, max_length=20, description="Quad classes, e.g. 3,4"),
        q: Optional[str] = Query(None, max_length=MAX_TEXT, description="Text the actor names or codes, event "
                                 "code, place or source URL contain (case-insensitive)"),
        ids: Optional[str] = Query(None, max_length=MAX_IDS * 21, description=f"Only these event ids (at most "
                                   f"{MAX_IDS}), comma-separated"),
        source: SourceName = Query(None),
        limit: int = Limit(), offset: int = Offset(),
    ) -> Response:
        a, b, d0, d1, period = dyad_period(dyad, start, end)
        way = direction_of(direction, a, b)
        quads = ints_of(quad, "quad", 4, 1, 4)
        id_list = ints_of(ids, "ids", MAX_IDS, 0, 2**63 - 1)
        text = (q or "").strip().lower() or None
        query = {**period, "direction": way or "both", "quad": sorted(quads) or None, "q": text,
                 "ids": id_list or None, "source": source}

        def where() -> tuple[str, list]:
            clauses = ["actor1_country IN (?, ?)", "actor2_country IN (?, ?)"]
            params: list = [a, b, a, b]
            if way:
                x, y = way.split(">")
                clauses.append("actor1_country = ? AND actor2_country = ?")
                params += [x, y]
            else:
                clauses.append("actor1_country <> actor2_country")
            for clause, value in (("event_date >= ?", d0), ("event_date <= ?", d1), ("source = ?", source)):
                if value is not None:
                    clauses.append(clause)
                    params.append(value)
            if quads:
                clauses.append(f"quad_class IN ({', '.join('?' for _ in quads)})")
                params += quads
            if id_list:
                clauses.append(f"event_id IN ({', '.join('?' for _ in id_list)})")
                params += id_list
            if text:
                clauses.append("contains(lower(concat_ws(chr(31), actor1_name, actor1_code, actor2_name, actor2_code, "
                               "event_code, action_geo_fullname, source_url)), ?)")
                params.append(text)
            return " AND ".join(clauses), params

        def count() -> int:
            sql, params = where()
            con = svc.store.connect()
            try:
                return int(con.execute(f"SELECT count(*) FROM events WHERE {sql}", params).fetchone()[0])
            finally:
                con.close()

        def build():
            total = svc.cached("events-count", query, count)
            items: list = []
            if offset < total:
                sql, params = where()
                con = svc.store.connect()
                try:
                    table = con.sql(
                        f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE {sql} "
                        "ORDER BY event_date, source, event_id LIMIT ? OFFSET ?", params=[*params, limit, offset],
                    ).to_arrow_table()
                finally:
                    con.close()
                items = rows_of(table)
            return page(items, limit, offset, query, total=total)

        _require_store(svc)
        return svc.respond("events", {**query, "limit": limit, "offset": offset}, build)

    @router.get("/contacts", response_model=models.ContactPage | models.ContactYearPage, summary="Leader contacts",
                description="As `dyadwatch contacts`: one row per encounter (echo reports folded), with its "
                            "support and confidence; `per_year` counts per year, all and corroborated.")
    def contacts(
        dyad: str = Dyad(), start: Optional[str] = From(), end: Optional[str] = To(),
        per_year: bool = Query(False, description="Counts per year and kind instead of each contact"),
        limit: int = Limit(), offset: int = Offset(),
    ) -> Response:
        a, b, d0, d1, period = dyad_period(dyad, start, end)
        q = {**period, "per_year": per_year}

        def rows():
            fn = measures.contacts_per_year if per_year else measures.contacts
            return rows_of(fn(svc.store, (a, b), start=d0, end=d1))

        return svc.respond("contacts", {**q, "limit": limit, "offset": offset},
                           lambda: page(svc.cached("contacts", q, rows), limit, offset, q))

    @router.get("/compare", response_model=models.ComparePage, summary="A state's partners compared",
                description="As `dyadwatch compare`: share of all events, track mix, net cooperation, leader "
                            "contacts per year, trend, ranks.")
    def compare(
        focal: str = Query("RUS", pattern=CODE_PATTERN, description="The focal state (CAMEO code)"),
        partners: Optional[str] = Query(None, max_length=200, description="Its partners, "
                                        f"comma-separated [default: {','.join(DEFAULT_PARTNERS)}]"),
        start: Optional[str] = From(), end: Optional[str] = To(), source: SourceName = Query(None),
        limit: int = Limit(), offset: int = Offset(),
    ) -> Response:
        f = code_of(focal, "focal")
        ps = codes_of(partners, "partners", tuple(DEFAULT_PARTNERS), MAX_PARTNERS)
        if f in ps:
            raise bad(f"partners include the focal state {f}")
        d0, d1 = parse_period(start, end)
        q = {"focal": f, "partners": ps, "from": _iso(d0), "to": _iso(d1), "source": source}

        def rows():
            return rows_of(measures.compare(svc.store, f, ps, start=d0, end=d1, source=source))

        return svc.respond("compare", {**q, "limit": limit, "offset": offset},
                           lambda: page(svc.cached("compare", q, rows), limit, offset, q))

    @router.get("/shifts", response_model=models.ShiftPage, summary="Shifts in a dyad's monthly indicators",
                description="As `dyadwatch shifts --dyad`: z-score flags and changepoints, each with evidence.")
    def shifts(
        dyad: str = Dyad(),
        indicator: Optional[str] = Query(None, max_length=300, description="Indicators, comma-separated "
                                         f"[default: {','.join(DEFAULT_SHIFT_INDICATORS)}]"),
        track: str = Query("all", max_length=40, description="One track, or all"),
        theatre: str = Query("all", max_length=40, description="One theatre, or all"),
        window: int = Query(12, ge=6, le=120, description="Trailing months the z-score compares against"),
        threshold: float = Query(3.0, gt=0, le=100, allow_inf_nan=False, description="|z| flagged at or above"),
        penalty: Optional[float] = Query(None, gt=0, le=1e6, allow_inf_nan=False,
                                         description="PELT penalty [default: the stated rule]"),
        evidence: int = Query(5, ge=0, le=20, description="Most-reported events kept per shift"),
        start: Optional[str] = From(), end: Optional[str] = To(), source: SourceName = Query(None),
        limit: int = Limit(), offset: int = Offset(),
    ) -> Response:
        a, b = dyad_of(dyad)
        d0, d1 = parse_period(start, end)
        names = (names_of(indicator, INDICATORS, "indicator") if indicator is not None
                 else list(DEFAULT_SHIFT_INDICATORS))
        tr = names_of(track, svc.tracks(), "track", extra=("all",))
        th = names_of(theatre, svc.theatres(), "theatre", extra=("all",))
        if len(tr) != 1 or len(th) != 1:
            raise bad("shifts take one track and one theatre")
        q = {"dyad": f"{a}-{b}", "indicator": names, "track": tr[0], "theatre": th[0], "window": window,
             "threshold": threshold, "penalty": penalty, "evidence": evidence, "from": _iso(d0), "to": _iso(d1),
             "source": source}

        def rows():
            table = measures.shifts(svc.store, (a, b), indicators_=tuple(names), track=tr[0], theatre=th[0],
                                    start=d0, end=d1, source=source, evidence=evidence, window=window,
                                    threshold=threshold, penalty=penalty)
            return rows_of(table)

        return svc.respond("shifts", {**q, "limit": limit, "offset": offset},
                           lambda: page(svc.cached("shifts", q, rows), limit, offset, q))

    @router.get("/claims", response_model=models.ClaimPage, summary="The seed paper's claims checked",
                description="As `dyadwatch claims --format json`, with the shipped claims file.")
    def claims_(
        dyad: str = Dyad(), start: Optional[str] = From(), end: Optional[str] = To(),
        source: SourceName = Query(None), limit: int = Limit(), offset: int = Offset(),
    ) -> Response:
        from ..judgements import claims

        a, b, d0, d1, period = dyad_period(dyad, start, end)
        q = {**period, "source": source}

        def rows():
            verdicts = claims.check(svc.store, None, (a, b), d0, d1, source=source)
            return [_clean(claims.as_dict(v)) for v in verdicts]

        def build():
            items = svc.cached("claims", q, rows)
            counts = {v: sum(1 for i in items if i["verdict"] == v) for v in claims.VERDICTS}
            return page(items, limit, offset, q, counts=counts)

        return svc.respond("claims", {**q, "limit": limit, "offset": offset}, build)

    @router.get("/scenarios", response_model=models.ScenarioPage, summary="Scenarios and their signposts",
                description="As `dyadwatch scenarios --format json`, with the shipped scenarios file.")
    def scenarios_(
        dyad: str = Dyad(), start: Optional[str] = From(), end: Optional[str] = To(),
        source: SourceName = Query(None), limit: int = Limit(), offset: int = Offset(),
    ) -> Response:
        from ..judgements import claims, scenarios

        a, b, d0, d1, period = dyad_period(dyad, start, end)
        q = {**period, "source": source}

        def rows():
            results = scenarios.evaluate(svc.store, None, (a, b), d0, d1, source=source)
            return {"items": [_clean(claims.as_dict(r)) for r in results], "summary": scenarios.summary(results)}

        def build():
            got = svc.cached("scenarios", q, rows)
            return page(got["items"], limit, offset, q, scenarios=got["summary"])

        return svc.respond("scenarios", {**q, "limit": limit, "offset": offset}, build)

    @router.get("/brief", summary="The policy brief, as HTML or PDF",
                description="As `dyadwatch brief`: a download. PDF needs Chromium on the server: without it the "
                            "answer is a 503 saying so.",
                responses={200: {"content": {"text/html": {}, "application/pdf": {}},
                                 "description": "The brief, as an attachment"}},
                response_class=Response)
    def brief(
        request: Request,
        dyad: str = Dyad(), start: Optional[str] = From(), end: Optional[str] = To(),
        partners: Optional[str] = Query(None, max_length=200,
                                        description="Partners of the first country to compare"),
        format: Literal["html", "pdf"] = Query("html"),
    ) -> Response:
        from ..brief import BriefError, build_brief, find_chromium, html_to_pdf, render_html

        a, b, d0, d1, period = dyad_period(dyad, start, end)
        plist = codes_of(partners, "partners", (), MAX_PARTNERS) if partners is not None else None
        if plist is not None and a in plist:
            raise bad(f"partners include {a}, the dyad's first country")
        q = {**period, "partners": plist}
        name = f"brief-{a}-{b}"
        if format == "pdf" and find_chromium() is None:
            return _unavailable(request, "PDF output needs Chromium on the server, which is not installed "
                                "(apt-get install chromium). The HTML brief works without it.")
        _require_store(svc)

        def html() -> str:
            return render_html(build_brief(svc.store, (a, b), d0, d1, plist))

        text = svc.cached("brief-html", q, html)
        if format == "html":
            return Response(text.encode("utf-8"), media_type="text/html; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}.html"'})

        def pdf() -> bytes:
            with svc._pdf_gate, tempfile.TemporaryDirectory(prefix="dyadwatch-web-") as tmp:
                out = html_to_pdf(text, Path(tmp) / "brief.pdf")
                return out.read_bytes()

        try:
            data = svc.cached("brief-pdf", q, pdf)
        except BriefError as exc:
            return _unavailable(request, str(exc))
        return Response(data, media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})

    return router


def _require_store(svc: Service) -> None:
    from ..store import StoreError

    if not svc.store.exists():
        raise StoreError(f"{svc.store.root.name}: no dyadwatch store here (run `dyadwatch ingest` first)")


def _unavailable(request: Request, message: str) -> Response:
    """503 with the reason: an HTML page for a browser that followed a link, JSON for everyone else."""
    if "text/html" in request.headers.get("accept", ""):
        from html import escape

        body = ("<!doctype html><html lang=en><meta charset=utf-8><title>Not available · dyadwatch</title>"
                f"<body><h1>Not available</h1><p>{escape(message)}</p></body></html>")
        return HTMLResponse(body, status_code=503)
    return json_response(encode({"error": message}), 503)


__all__ = ["ApiError", "MAX_PAGE", "Service", "build_router", "parse_date", "rows_of"]
