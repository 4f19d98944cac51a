"""Build a large GDELT 2.0 input for the ingest benchmark by resampling real rows.

    python bench/make_gdelt_input.py --rows 5000000 --files 50 --out /tmp/bench-input/5m --seed 0

Reads the real rows of the zipped GDELT 2.0 exports in `--sample` (default: the 2020 Karabakh sample in
../shared/data) and writes `--files` zipped exports named like GDELT's own
(`20201101000000.export.CSV.zip`, holding `20201101000000.export.CSV`), `--rows` rows in all. Each row is
a real row drawn at random (with replacement), so the mix of actors, the RUS/TUR share and the line
lengths are the sample's; what changes per row:

- GLOBALEVENTID (column 1) is unique: consecutive ids across files, as GDELT assigns them;
- the files' timestamps are spread evenly over `--days` days from `--start`; DATEADDED (column 60) is
  the file's timestamp, and SQLDATE / MonthYear / Year / FractionDate (columns 2-5) are the file's day
  for most rows and earlier for some (7 % one day, 2 % 2-30 days, 1 % a year earlier), like GDELT's own
  late reports, so an ingest writes several year/month partitions.

Deterministic for a given seed and arguments (the zip entries carry the file's timestamp, not now).
Rows are assembled with pyarrow, files compressed (zlib level 6, as GDELT's) in parallel processes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import os
import sys
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SAMPLE = REPO.parent / "shared" / "data" / "gdelt" / "v2-2020-11-karabakh"
FIRST_ID = 1_000_000_000

# days before the file's day an event is dated, and how often (the rest: the file's day)
LATE = [(1, 0.07), ("2-30", 0.02), (365, 0.01)]


def load_sample(folder: Path) -> tuple[pa.Array, pa.Array]:
    """The sample's rows as (middle, url): columns 6-59 joined by tabs, and SOURCEURL."""
    middles, urls = [], []
    for path in sorted(glob.glob(str(folder / "*.export.CSV.zip"))):
        with zipfile.ZipFile(path) as zf:
            data = zf.read(zf.infolist()[0])
        for line in data.split(b"\n"):
            line = line.rstrip(b"\r")
            if not line:
                continue
            fields = line.split(b"\t")
            if len(fields) != 61:
                raise SystemExit(f"{path}: a row with {len(fields)} columns; expected GDELT 2.0 (61)")
            middles.append(b"\t".join(fields[5:59]))
            urls.append(fields[60])
    if not middles:
        raise SystemExit(f"{folder}: no *.export.CSV.zip rows found")
    return pa.array(middles, pa.binary()), pa.array(urls, pa.binary())


def date_fields(day: dt.date) -> bytes:
    """SQLDATE, MonthYear, Year, FractionDate of a day, tab-separated, as GDELT writes them."""
    frac = day.year + ((day.month - 1) * 30 + day.day) / 365
    frac_text = f"{frac:.4f}".rstrip("0").rstrip(".")
    return f"{day:%Y%m%d}\t{day:%Y%m}\t{day.year}\t{frac_text}".encode()


def plan(rows: int, files: int, days: int, start: dt.datetime) -> list[tuple[str, dt.datetime, int, int]]:
    """(name, timestamp, first row, row count) per file."""
    step = days * 86400 / files
    per, extra = divmod(rows, files)
    out, first = [], 0
    for k in range(files):
        ts = start + dt.timedelta(seconds=int(k * step))
        n = per + (1 if k < extra else 0)
        out.append((f"{ts:%Y%m%d%H%M%S}.export.CSV", ts, first, n))
        first += n
    return out


_SAMPLE: tuple[pa.Array, pa.Array] | None = None


def _init(sample_dir: str) -> None:
    global _SAMPLE
    _SAMPLE = load_sample(Path(sample_dir))


def write_file(args) -> tuple[str, int, int]:
    name, ts, first, n, seed, k, out_dir = args
    middles, urls = _SAMPLE
    rng = np.random.default_rng([seed, k])
    pick = pa.array(rng.integers(0, len(middles), n))
    # how many days before the file's day each row's event is dated
    u = rng.random(n)
    back = np.zeros(n, dtype=np.int64)
    edge = 0.0
    for days, share in LATE:
        hit = (u >= edge) & (u < edge + share)
        back[hit] = rng.integers(2, 31, int(hit.sum())) if days == "2-30" else days
        edge += share
    day0 = ts.date()
    offsets = np.unique(back)
    prefix_of = pa.array([date_fields(day0 - dt.timedelta(days=int(b))) for b in offsets], pa.binary())
    prefix = prefix_of.take(pa.array(np.searchsorted(offsets, back)))
    ids = pa.array(np.arange(FIRST_ID + first, FIRST_ID + first + n, dtype=np.int64)).cast(pa.string()).cast(pa.binary())
    added = pa.scalar(f"{ts:%Y%m%d%H%M%S}".encode(), pa.binary())
    empty, newline, tab = (pa.scalar(b, pa.binary()) for b in (b"", b"\n", b"\t"))
    url_nl = pc.binary_join_element_wise(urls.take(pick), newline, empty)
    joined = pc.binary_join_element_wise(ids, prefix, middles.take(pick), added, url_nl, tab)
    _, offs, data = joined.buffers()
    o = np.frombuffer(offs, dtype=np.int32 if joined.type == pa.binary() else np.int64)
    text = memoryview(data)[int(o[0]) : int(o[n])]
    info = zipfile.ZipInfo(name, date_time=ts.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    path = Path(out_dir) / f"{name}.zip"
    tmp = path.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w") as zf:
        zf.writestr(info, text, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    tmp.replace(path)
    return path.name, n, len(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=5_000_000, help="rows in all [5000000]")
    ap.add_argument("--files", type=int, default=50, help="number of zipped exports [50]")
    ap.add_argument("--out", required=True, help="output folder (created; existing *.export.CSV.zip removed)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--days", type=int, default=30, help="days the files' timestamps span [30]")
    ap.add_argument("--start", default="2020-11-01", help="first file's day [2020-11-01]")
    ap.add_argument("--sample", default=str(DEFAULT_SAMPLE), help="folder of real zipped GDELT 2.0 exports")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel writer processes [cores]")
    a = ap.parse_args(argv)
    if a.rows < 1 or a.files < 1 or a.files > a.rows or a.days < 1:
        ap.error("need rows >= files >= 1 and days >= 1")
    if a.files > a.days * 86400:
        ap.error("more files than seconds in --days: names would collide")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.export.CSV.zip"):
        old.unlink()
    start = dt.datetime.combine(dt.date.fromisoformat(a.start), dt.time())
    jobs = [(name, ts, first, n, a.seed, k, str(out)) for k, (name, ts, first, n) in enumerate(plan(a.rows, a.files, a.days, start))]
    t0 = time.perf_counter()
    rows = raw = 0
    with ProcessPoolExecutor(max_workers=max(1, min(a.jobs, a.files)), initializer=_init, initargs=(a.sample,)) as pool:
        for _, n, size in pool.map(write_file, jobs):
            rows += n
            raw += size
    zipped = sum(p.stat().st_size for p in out.glob("*.export.CSV.zip"))
    print(
        f"wrote {a.files} files, {rows:,} rows, {raw / 1e6:,.0f} MB of text ({zipped / 1e6:,.0f} MB zipped) "
        f"to {out} in {time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
