"""Does ingest keep its rate as the store fills? 30,000 GDELT-shaped files (30 M rows) in one ingest.

    python bench/bench_ingest_scale.py [--files 30000] [--slice 3000]

The input (2016-01-01 .. 2025-03-31, ~1,000 rows a file, sized by year as GDELT's) is built once with
make_gdelt_input.py under --inputs. The ingest (`dyadwatch ingest --countries RUS,TUR,CHN,IND,IRN,PRK`,
2 readers) runs in a child process whose memory is sampled (bench_ingest.measure); it reports when each
file was done, so the time of each slice of `--slice` files shows whether later files cost more than
the first ones (the store and its catalog grow meanwhile), and the time spent in each batch's catalog
commit and in looking at the parts already stored shows whether the catalog's work per batch grows.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from bench_ingest import PARTNERS, built_input, measure  # noqa: E402


def child(a: argparse.Namespace) -> int:
    """The ingest, timed file by file and catalog commit by catalog commit."""
    from dyadwatch.store import Store
    from dyadwatch.store import pipeline
    from dyadwatch.store.catalog import Catalog

    started = time.perf_counter()
    done: list[float] = []
    commits: list[tuple[float, float, int]] = []  # (when, seconds, files recorded so far)
    real_record = Catalog.record

    def record(self, batch_id, results, *rest):
        t = time.perf_counter()
        real_record(self, batch_id, results, *rest)
        commits.append((t - started, time.perf_counter() - t, len(done)))

    Catalog.record = record
    stored_reads = []
    real_parts = Catalog.parts_by_partition

    def parts_by_partition(self):
        t = time.perf_counter()
        got = real_parts(self)
        stored_reads.append(time.perf_counter() - t)
        return got

    Catalog.parts_by_partition = parts_by_partition
    report = Store(Path(a.store)).ingest([a.input], countries=frozenset(a.countries.split(",")), workers=a.workers,
                                         on_file=lambda r, size: done.append(time.perf_counter() - started))
    print(json.dumps({"done": done, "commits": commits, "stored_reads": stored_reads, "rows": report.rows_read,
                      "kept": report.rows_kept, "seconds": report.seconds, "batch_files": pipeline.BATCH_FILES}))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=30_000, help="files (of ~1,000 rows) [30000]")
    ap.add_argument("--slice", type=int, default=3_000, help="files per reported slice [3000]")
    ap.add_argument("--inputs", type=Path, default=Path("/tmp/bench-input"), help="where the input is built once")
    ap.add_argument("--countries", default=PARTNERS)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--input", help=argparse.SUPPRESS)
    ap.add_argument("--store", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        return child(a)
    folder = built_input(a.inputs / f"files-{a.files * 1000}-1000", a.files * 1000, "2016-01-01", "2025-03-31",
                         rows_per_file=1000)
    with tempfile.TemporaryDirectory(prefix="dyadwatch-scale-") as tmp:
        res = measure([sys.executable, __file__, "--child", "--input", str(folder), "--store", str(Path(tmp) / "store"),
                       "--countries", a.countries, "--workers", str(a.workers)])
    if res["exit"] != 0:
        raise SystemExit(res["stderr"][-3000:])
    got = json.loads(res["stdout"].strip().splitlines()[-1])
    done = got["done"]
    rows_per_file = got["rows"] / len(done)
    print(f"{len(done):,} files, {got['rows']:,} rows ({got['kept']:,} kept) in {res['seconds']:.1f} s "
          f"({got['rows'] / res['seconds']:,.0f} rows/s, process start to exit); peak tree PSS "
          f"{res['peak_tree_pss_mb']:,.0f} MB, RSS {res['peak_tree_rss_mb']:,.0f} MB; CPU {res['cpu_seconds']:.1f} s; "
          f"other load {res['other_cpu_seconds'] / res['seconds']:.2f} cores")
    print("\n| files | seconds | rows/s (~rows a file x files / s) | ms a file |\n| --- | ---: | ---: | ---: |")
    slices = []
    for lo in range(0, len(done), a.slice):
        hi = min(lo + a.slice, len(done))
        t0 = done[lo - 1] if lo else 0.0
        sec = done[hi - 1] - t0
        slices.append(sec)
        print(f"| {lo + 1:,}-{hi:,} | {sec:.2f} | {rows_per_file * (hi - lo) / sec:,.0f} | {sec / (hi - lo) * 1e3:.3f} |")
    commits = got["commits"]
    print(f"\ncatalog commits: {len(commits)} (batches of {got['batch_files']} files); first "
          f"{commits[0][1] * 1e3:.0f} ms, last {commits[-1][1] * 1e3:.0f} ms, mean "
          f"{sum(c[1] for c in commits) / len(commits) * 1e3:.0f} ms; the stored parts read from the catalog "
          f"{len(got['stored_reads'])} time(s)")
    print(f"last slice / first slice (the first includes start-up): {slices[-1] / slices[0]:.2f}; "
          f"last / second: {slices[-1] / slices[1]:.2f}" if len(slices) > 1 else "")
    if a.json:
        a.json.write_text(json.dumps({"measure": {k: v for k, v in res.items() if k not in ("stdout", "stderr")},
                                      "slices_seconds": slices, **{k: got[k] for k in ("commits", "stored_reads",
                                                                                       "rows", "kept")}}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
