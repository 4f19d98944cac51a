"""Build a large GDELT 2.0 input for the ingest benchmark: `--files` zipped exports over `--days` days.

    python bench/make_gdelt_input.py --rows 5000000 --files 50 --out /tmp/bench-input/5m --seed 0
    python bench/make_gdelt_input.py --rows 3000000 --rows-per-file 1000 --start 2016-01-01 \
        --end 2025-03-31 --out /tmp/bench-input/real-3m   # the shape GDELT publishes

A thin front to the generator in the package, `dyadwatch.acquire.synth` (also `dyadwatch synth`), which holds
the one copy of the logic: files named and zipped like GDELT's own (`20201101000000.export.CSV.zip`
holding `20201101000000.export.CSV`), rows resampled from the real exports in `--sample` (default: the
Karabakh sample shipped in the package, the same three days as ../shared/data/gdelt/v2-2020-11-karabakh),
consecutive GLOBALEVENTIDs, DATEADDED the file's slot and some SQLDATEs earlier (late reports), so an
ingest writes several year/month partitions. See dyadwatch/synth.py for how the rows are made.

`--files` evenly spaced 15-minute slots of the `--days` days from `--start` get a file each (rows per
file follow synth's daily and weekly cycle). Deterministic for a given seed and arguments.

Since issue #6 this script delegates to dyadwatch.acquire.synth, which draws the actors, the event and the
reporting of a row from three different real rows (the earlier version copied whole rows); inputs
built before then differ in their rows, not in their shape or size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from dyadwatch.acquire.synth import SynthError, synth  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=5_000_000, help="rows in all [5000000]")
    ap.add_argument("--files", type=int, default=50, help="number of zipped exports [50]")
    ap.add_argument("--rows-per-file", type=int, help="instead of --files: rows per file on average (GDELT's "
                    "15-minute exports hold ~1,000; synth sizes them by year around that mean)")
    ap.add_argument("--out", required=True, help="output folder (created; existing *.export.CSV.zip removed)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--days", type=int, default=30, help="days the files' timestamps span [30]")
    ap.add_argument("--start", default="2020-11-01", help="first file's day [2020-11-01]")
    ap.add_argument("--end", help="last file's day, instead of --days")
    ap.add_argument("--sample", action="append", help="real zipped GDELT 2.0 exports (file or folder; repeatable) "
                    "[the sample shipped in the package]")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel writer processes [cores]")
    a = ap.parse_args(argv)
    if a.days < 1:
        ap.error("need days >= 1")
    start = dt.date.fromisoformat(a.start)
    end = dt.date.fromisoformat(a.end) if a.end else start + dt.timedelta(days=a.days - 1)
    files = -(-a.rows // a.rows_per_file) if a.rows_per_file else a.files
    try:
        r = synth(a.rows, start, end, a.out, seed=a.seed, files=files,
                  sample=a.sample, jobs=a.jobs)
    except SynthError as exc:
        ap.error(str(exc))
    print(f"wrote {r.files} files, {r.rows:,} rows, {r.text_bytes / 1e6:,.0f} MB of text "
          f"({r.zip_bytes / 1e6:,.0f} MB zipped) to {r.out} in {r.seconds:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
