"""`dyadwatch synth`: realistic synthetic GDELT 2.0 exports for benchmarks (dyadwatch.synth)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from .options import as_date, console, err, guard


def synth(
    rows: int = typer.Option(..., "--rows", help="Rows (events) in all"),
    start: str = typer.Option("2015-02-18", "--start", help="First day, YYYY-MM-DD (GDELT 2.0 starts 2015-02-18)"),
    end: str = typer.Option("2025-12-31", "--end", help="Last day, YYYY-MM-DD (inclusive)"),
    out: Path = typer.Option(..., "--out", help="Folder to write (its *.export.CSV.zip files are replaced)"),
    seed: int = typer.Option(0, "--seed", help="Same seed and arguments, same bytes"),
    files: Optional[int] = typer.Option(None, "--files", help="Write this many evenly spaced 15-minute slots "
                                        "[default: every slot]"),
    sample: Optional[list[Path]] = typer.Option(None, "--sample", help="Real GDELT 2.0 exports to resample "
                                                "(file or folder; repeatable) [default: the shipped sample]"),
    jobs: Optional[int] = typer.Option(None, "--jobs", help="Writer processes [default: cores]"),
):
    """Write realistic zipped GDELT 2.0 exports (15-minute files, GDELT's names, volume rising and falling
    over the years, rows resampled from real exports) for benchmarks; `dyadwatch ingest` reads them."""
    from ..acquire.synth import synth as make

    d0, d1 = as_date(start, "--start"), as_date(end, "--end")
    with Progress(
        TextColumn("[bold]synth"), BarColumn(), MofNCompleteColumn(), TextColumn("rows"), TimeRemainingColumn(),
        console=err, disable=not err.is_terminal, transient=True,
    ) as progress:
        task = progress.add_task("synth", total=rows)

        def on_progress(n_files: int, n_rows: int) -> None:
            progress.update(task, completed=n_rows)

        r = guard(lambda: make(rows, d0, d1, out, seed=seed, files=files, sample=sample, jobs=jobs,
                                progress=on_progress))
    console.print(
        f"wrote {r.files:,} files ({r.first} .. {r.last}), {r.rows:,} rows, {r.text_bytes / 1e6:,.0f} MB of text "
        f"({r.zip_bytes / 1e6:,.0f} MB zipped) to {r.out} in {r.seconds:.1f} s", highlight=False)
