"""The policy brief: the seed paper's structure, written from the store, every statement footnoted to the
events (and articles) behind it.

    from dyadwatch.brief import build_brief, render_html, render_markdown, render_pdf
    brief = build_brief(".dyadwatch", "RUS-TUR", start=None, end=None, partners=["TUR", "CHN", "IND"])
    open("brief.html", "w").write(render_html(brief)); render_pdf(brief, "brief.pdf")

Three steps, kept apart: `data.gather` calls the measures API and opens the event index; `build.build`
turns those numbers into sections and statements (`model.Brief`), numbering footnotes in reading
order; `render` writes HTML (Jinja2 templates in templates/, charts as inline SVG), Markdown, or PDF
(the same HTML printed by headless Chromium). docs/brief.md describes each section and its rules.

An output: the brief may import the measures, the judgements and everything before them, never the
dashboard or the command line.
"""

from __future__ import annotations

import datetime as dt
import os

from ..knowledge.codebook import country_code, parse_dyad
from ..store import Store
from .model import Brief, BriefError, Bullets, Cell, Chart, Footnote, Paragraph, Section, Statement, Table
from .render import find_chromium, html_to_pdf, render_html, render_markdown, render_pdf, write_brief


def _date(value, what: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"bad {what} date {value!r}: use YYYY-MM-DD") from None


def build_brief(store: Store | str | os.PathLike | None, dyad: str | tuple[str, str] = "RUS-TUR",
                start: dt.date | str | None = None, end: dt.date | str | None = None,
                partners: list[str] | str | None = None, *, taxonomy=None, claims_path=None,
                scenarios_path=None) -> Brief:
    """Gather the dyad's measures over [start, end] (default: all the store holds) and build the brief.

    partners: the first country's partners to compare with (default: the second country, then CHN, IND,
    IRN, PRK); the second country is always included. taxonomy, claims_path, scenarios_path: your own
    files (default: the shipped ones)."""
    from .build import build
    from .data import gather

    a, b = parse_dyad(dyad) if isinstance(dyad, str) else (country_code(dyad[0]), country_code(dyad[1]))
    if isinstance(partners, str):
        partners = [p for p in partners.split(",") if p.strip()]
    plist = [country_code(p) for p in partners] if partners else None
    data = gather(store, a, b, start=_date(start, "start"), end=_date(end, "end"), partners=plist,
                  taxonomy=taxonomy, claims_path=claims_path, scenarios_path=scenarios_path)
    try:
        return build(data)
    finally:
        data.events.close()


__all__ = [
    "Brief", "BriefError", "Bullets", "Cell", "Chart", "Footnote", "Paragraph", "Section", "Statement", "Table",
    "build_brief", "find_chromium", "html_to_pdf", "render_html", "render_markdown", "render_pdf", "write_brief",
]
