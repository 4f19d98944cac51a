"""CLI: `dyadwatch brief`, the policy brief written from the store (HTML, PDF or Markdown)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .options import StoreOption, as_date, console, fail, guard, store_at
from ..knowledge.codebook import CodeError, country_code, parse_dyad


def write_brief_files(store, dyad: tuple[str, str], out_paths: list[Path], *, start=None, end=None, partners=None,
                      taxonomy=None, claims=None, scenarios=None) -> list[Path]:
    """Build the brief once and write it to each path (format by suffix; a PDF reuses the HTML)."""
    from ..brief import build_brief, render_html, render_pdf, write_brief

    brief = build_brief(store, dyad, start, end, partners, taxonomy=taxonomy, claims_path=claims,
                        scenarios_path=scenarios)
    html = None
    written: list[Path] = []
    for out in out_paths:
        if out.suffix.lower() == ".pdf":
            html = html if html is not None else render_html(brief)
            written.append(render_pdf(brief, out, html=html))
        else:
            written += write_brief(brief, out)
    return written


def brief(
    dyad: str = typer.Option("RUS-TUR", "--dyad", help="Two CAMEO country codes, e.g. RUS-TUR"),
    out: Path = typer.Option(..., "--out", help="FILE.html, FILE.pdf or FILE.md (Markdown charts go to FILE_charts/)"),
    start: Optional[str] = typer.Option(None, "--from", help="First day, YYYY-MM-DD [default: the store's first]"),
    end: Optional[str] = typer.Option(None, "--to", help="Last day, YYYY-MM-DD (inclusive) [default: the store's last]"),
    partners: Optional[str] = typer.Option(None, "--partners",
                                           help="Partners of the first country to compare, e.g. TUR,CHN,IND,IRN,PRK"),
    taxonomy: Optional[Path] = typer.Option(None, "--taxonomy", help="Your own taxonomy YAML [default: the shipped one]"),
    claims: Optional[Path] = typer.Option(None, "--claims", help="Your own claims YAML [default: the seed paper's]"),
    scenarios: Optional[Path] = typer.Option(None, "--scenarios", help="Your own scenarios YAML [default: the shipped one]"),
    store: Optional[Path] = StoreOption,
):
    """The policy brief for a dyad: key shifts, tracks, theatres, partners, leader contacts, claims,
    scenarios and data coverage, every statement footnoted to the events and articles behind it."""
    from ..brief import BriefError

    if out.suffix.lower() not in (".html", ".htm", ".pdf", ".md"):
        fail(f"--out {out}: the file name must end in .html, .pdf or .md")
    try:
        pair = parse_dyad(dyad)
        plist = [country_code(p) for p in partners.split(",") if p.strip()] if partners else None
    except CodeError as exc:
        fail(str(exc))
    if partners is not None and not plist:
        fail("--partners needs at least one country code")
    d0, d1 = as_date(start, "--from"), as_date(end, "--to")
    if d0 and d1 and d1 < d0:
        fail(f"--to {end} is before --from {start}")

    def run():
        try:
            return write_brief_files(store_at(store), pair, [out], start=d0, end=d1, partners=plist, taxonomy=taxonomy,
                                     claims=claims, scenarios=scenarios)
        except BriefError as exc:
            fail(str(exc))

    written = guard(run)
    for path in written:
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)
