"""`dyadwatch demo`: the shipped GDELT sample ingested, shown, and its Russia-Turkey brief written."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Optional

import typer

from .ingest import EVENT_COLUMNS_SHOWN, print_ingest, run_ingest, status
from .options import console, err, guard, store_at, write_table


def demo(
    store: Optional[Path] = typer.Option(None, "--store", help="Store folder [default: ./demo/store]"),
):
    """Ingest the real GDELT sample shipped in the package (Karabakh ceasefire, Nov 2020), show it, and write
    the RUS-TUR brief (brief.html, brief.pdf) beside the store."""
    root = store or Path("demo") / "store"
    sample = resources.files("dyadwatch").joinpath("data", "sample")
    with resources.as_file(sample) as sample_dir:
        files = sorted(str(p) for p in Path(sample_dir).glob("*.zip"))
        st = store_at(root)
        report = guard(lambda: run_ingest(st, files, None, None, None))
    print_ingest(report)
    status(store=root, as_json=False)
    table = st.events(dyad=("RUS", "TUR"))
    console.print(f"\nRUS-TUR (either direction): {table.num_rows:,} events; the first ten:", highlight=False)
    write_table(table.slice(0, 10), "table", None, EVENT_COLUMNS_SHOWN)
    console.print(f"store: {root}  (try: dyadwatch events --store {root} --dyad RUS-TUR --format csv)", highlight=False)
    from ..brief import BriefError, build_brief, render_html, render_pdf

    folder = root.parent
    html_path, pdf_path = folder / "brief.html", folder / "brief.pdf"
    brief_ = guard(lambda: build_brief(st, ("RUS", "TUR")))
    html = render_html(brief_)
    html_path.write_text(html, encoding="utf-8")
    console.print(f"brief: {html_path}", highlight=False)
    try:
        render_pdf(brief_, pdf_path, html=html)
        console.print(f"brief: {pdf_path}", highlight=False)
    except BriefError as exc:  # the demo's data and HTML brief stand; say what the PDF needs
        err.print(f"[yellow]brief.pdf not written:[/yellow] {exc}", highlight=False, soft_wrap=True)
