"""The dashboard's pages: server-rendered HTML shells (Jinja2, `templates/`) whose data the browser fetches
from the JSON API (`/api/...`) and draws with the Vega-Lite build shipped under `static/vendor/`.

The app (`dyadwatch.web.app`) includes `router` and mounts `static/` at `/static`. Every page takes
`?dyad=RUS-TUR&from=YYYY-MM-DD&to=YYYY-MM-DD`; a bad value is reported on the page, never raised. Nothing
a page inserts comes from the store: the shells carry only the validated query, the taxonomy's labels and
the codebooks; the data arrive as JSON and `static/dashboard.js` puts them into the DOM as text.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ..version import __version__
from ..knowledge.codebook import CodeError, _lookup_rows, countries, country_code, parse_dyad

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

DEFAULT_DYAD = "RUS-TUR"
DEFAULT_PARTNERS = ("TUR", "CHN", "IND", "IRN", "PRK")  # as measures.compare.DEFAULT_PARTNERS

# Everything the pages load comes from this server: scripts and styles from /static, data from /api.
# Vega runs with its expression interpreter (vega-embed's `ast: true`), so no eval is needed; Vega and its
# tooltip set some inline style attributes, hence 'unsafe-inline' for styles only.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


@dataclass(frozen=True)
class Page:
    path: str
    name: str
    title: str
    template: str
    blurb: str


PAGES = (
    Page("/", "overview", "Overview", "overview.html.j2",
         "Indicators per track over time, with the shifts the detectors found; click a shift for its events."),
    Page("/theatres", "theatres", "Theatres", "theatres.html.j2",
         "The dyad's events per regional theatre over time, and each theatre's balance of cooperation and conflict."),
    Page("/compare", "compare", "Partners", "compare.html.j2",
         "The first state's partners side by side: share of all events, track mix, net cooperation, contacts."),
    Page("/contacts", "contacts", "Leader contacts", "contacts.html.j2",
         "Calls, visits and meetings between the two countries' leaders, per year and one by one."),
    Page("/claims", "claims", "Claims & scenarios", "claims.html.j2",
         "The seed paper's claims checked against the data, and the scenarios' signposts."),
    Page("/events", "events", "Events", "events.html.j2",
         "Every event row of the dyad, filtered by date, direction and quad class, with its source article."),
    Page("/brief", "brief", "Brief", "brief.html.j2",
         "Download the policy brief for the dyad and period, as HTML or PDF."),
)

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
QUADS = {1: "Verbal cooperation", 2: "Material cooperation", 3: "Verbal conflict", 4: "Material conflict"}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every template is HTML
        trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )


@lru_cache(maxsize=1)
def _labels() -> dict:
    """Track and theatre labels from the default taxonomy (the API's names as keys)."""
    try:
        from ..knowledge.taxonomy import load_taxonomy

        tax = load_taxonomy()
        return {"tracks": {c.name: c.label for c in tax.tracks},
                "theatres": {c.name: c.label for c in tax.theatres},
                "regional": [c.name for c in tax.theatres if c.regional]}
    except Exception:  # the pages still work, with the raw names
        return {"tracks": {}, "theatres": {}, "regional": []}


@lru_cache(maxsize=1)
def _event_codes() -> dict[str, str]:
    try:
        return {r["CAMEOEVENTCODE"].strip(): r["EVENTDESCRIPTION"].strip()
                for r in _lookup_rows("CAMEO.eventcodes.txt")}
    except Exception:
        return {}


def country_name(code: str) -> str:
    name = countries().get(code, code)
    return name.title() if name.isupper() else name


def _date(text: str | None, label: str, errors: list[str]) -> str:
    """YYYY-MM-DD only, as the API parses it (Python's fromisoformat also takes 20201113 and week dates)."""
    if not text:
        return ""
    if not _ISO_DATE.match(text.strip()):
        errors.append(f"{label} {text!r} is not a date: use YYYY-MM-DD.")
        return ""
    try:
        return dt.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        errors.append(f"{label} {text!r} is not a date: use YYYY-MM-DD.")
        return ""


def query_state(params, page: Page) -> dict:
    """The validated query: dyad, from, to (and partners on the comparison), with errors for the page."""
    errors: list[str] = []
    raw = (params.get("dyad") or "").strip() or DEFAULT_DYAD
    try:
        a, b = parse_dyad(raw)
        dyad = f"{a}-{b}"
    except CodeError as e:
        errors.append(str(e))
        a = b = ""
        dyad = ""
    start = _date(params.get("from"), "from", errors)
    end = _date(params.get("to"), "to", errors)
    if start and end and start > end:
        errors.append(f"from {start} is after to {end}.")
        start = end = ""
    partners: list[str] = []
    if page.name == "compare":
        text = (params.get("partners") or "").strip()
        wanted = [p for p in text.replace(" ", ",").split(",") if p] if text else list(DEFAULT_PARTNERS)
        for p in ([b] if b else []) + wanted:
            try:
                code = country_code(p)
            except CodeError as e:
                errors.append(str(e))
                continue
            if code != a and code not in partners:
                partners.append(code)
    return {"dyad": dyad, "a": a, "b": b, "from": start, "to": end, "partners": partners, "raw_dyad": raw,
            "errors": errors}


def render_page(request: Request, page: Page) -> HTMLResponse:
    state = query_state(request.query_params, page)
    root = request.scope.get("root_path", "").rstrip("/")
    context = {
        "dyad": state["dyad"], "a": state["a"], "b": state["b"], "from": state["from"], "to": state["to"],
        "partners": state["partners"], "page": page.name,
        "names": {c: country_name(c) for c in (state["a"], state["b"], *state["partners"]) if c},
        "labels": _labels(), "quads": {str(k): v for k, v in QUADS.items()},
        "event_codes": _event_codes() if page.name in ("overview", "events") else {},
    }
    query = {k: state[k] for k in ("dyad", "from", "to") if state[k]}
    html = environment().get_template(page.template).render(
        page=page, pages=PAGES, state=state, context=context, root=root, version=__version__,
        query=query, suggestions=[f"{state['a'] or 'RUS'}-{p}" for p in DEFAULT_PARTNERS if p != state["a"]],
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                                       "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"})


router = APIRouter()


def _route(page: Page):
    def endpoint(request: Request) -> HTMLResponse:
        return render_page(request, page)

    endpoint.__name__ = f"page_{page.name}"
    router.add_api_route(page.path, endpoint, methods=["GET"], response_class=HTMLResponse,
                         include_in_schema=False, name=f"page_{page.name}")


for _page in PAGES:
    _route(_page)

__all__ = ["router", "PAGES", "STATIC", "TEMPLATES", "render_page", "query_state"]
