"""Synthetic GDELT 2.0 event exports for benchmarks: realistic files, never shipped as data.

    dyadwatch synth --rows 100000000 --start 2015-02-18 --end 2025-12-31 --out /tmp/gdelt-synth --seed 0

writes zipped exports named and laid out like GDELT's own (`20150218230000.export.CSV.zip` holding
`20150218230000.export.CSV`: 61 tab-separated columns, no header, deflate at zlib's level 6), one per
15-minute slot, `rows` rows in all. `dyadwatch ingest` reads them like the real thing.

How the rows are made:

- **volume over time**: the rows are shared out over the slots by a weight per slot: a long-run level
  that rises from GDELT 2.0's start in February 2015 to a peak in 2016, falls through 2019, jumps with
  the news of March 2020 and February 2022 and declines after (`VOLUME_LEVELS`, linear between the
  knots: the shape of GDELT's volume as its users describe it, not measured here), times a weekly
  cycle (weekends lower), a daily cycle in UTC, 20 % log-normal noise per slot, and outages: a few
  stretches of hours a year, and single slots, with no file at all (GDELT's index has such holes).
  `files=K` writes K evenly spaced slots instead of every one (each bigger, the same curve);
- **what a row says**: resampled from real exports (default: the three real days shipped in the package,
  `dyadwatch/data/sample/`) in two blocks drawn independently: the actors with their places (columns
  6-25 and 36-59), and the event (IsRootEvent, the CAMEO codes, QuadClass, Goldstein) with its
  reporting (NumMentions, NumSources, NumArticles, AvgTone and SOURCEURL), so that tone follows the kind
  of event. Each block comes in runs of `SEGMENT_ROWS` consecutive real rows (a run's start drawn
  anew), because a real export lists its events article by article: half its rows share the previous
  row's URL, tone and mostly actors. Its zip is then 7.5x smaller than its text, and so is the
  synthetic one (7.5x; rows drawn one by one compress 3.9x and take twice as long to inflate). The
  country, event-code, Goldstein, tone and URL distributions are the sample's, without its rows
  repeating verbatim;
- **repeats**: 30 % of rows re-report a recent original row of their file (same actors, place, event and
  date, new id): the original is 1, 2, 3... originals back with odds 1/2, 1/4, 1/8..., and 75 % of
  repeats keep its article (the sample: 72-82 % of rows repeating an earlier event's key share its URL,
  most of them the next row), the others get the reporting of a real row of the same quad class;
- **dates**: DATEADDED is the slot; SQLDATE is the slot's day for 90 % of rows, a day earlier for 7 %,
  2-30 days for 2 % and a year for 1 % (late reports, so an ingest writes several month partitions);
- **ids**: GLOBALEVENTID counts up from GDELT 2.0's first id (410412347) in slot order.

Reproducible: the same arguments and seed give the same bytes (each slot draws from its own random
stream, so the number of worker processes does not matter). Streamed: a worker holds one chunk of
`CHUNK_ROWS` rows at a time, whatever the total; the plan (a count per slot) is ~10 bytes a slot.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SLOT_SECONDS = 900  # one export every 15 minutes
FIRST_ID = 410_412_347  # GDELT 2.0's first GLOBALEVENTID (20150218230000.export.CSV)
CHUNK_ROWS = 200_000  # rows assembled at once: bounds a worker's memory
JOB_SLOTS = 256  # slots per unit of work handed to a worker process
COMPRESS_LEVEL = 6  # zlib level of GDELT's own zips (their size ratio on the sample: 0.133)
REPEAT_SHARE = 0.30
REPEAT_NEAR = 0.5  # a repeat copies the original 1, 2, 3... originals back with odds 1/2, 1/4, 1/8...
SAME_ARTICLE = 0.75  # repeats reported by the same article as their original (the sample: 72-82 %)
SEGMENT_ROWS = 256  # consecutive real rows a block is drawn from (see the module's docstring)
LATE = ((1, 0.07), ((2, 30), 0.02), (365, 0.01))  # days before the slot's day, and how often
NOISE_SIGMA = 0.2
OUTAGES_PER_YEAR = 3  # stretches of 2-48 hours without a file
MISSING_SLOT_SHARE = 0.003

# the long-run level of GDELT 2.0's volume (relative), linear between knots
VOLUME_LEVELS = (
    ("2015-02-01", 0.90), ("2015-06-01", 1.00), ("2016-01-01", 1.15), ("2016-09-01", 1.20),
    ("2017-06-01", 1.05), ("2018-06-01", 0.90), ("2019-06-01", 0.80), ("2020-02-01", 0.80),
    ("2020-03-15", 0.98), ("2020-09-01", 0.80), ("2021-06-01", 0.75), ("2022-02-15", 0.76),
    ("2022-03-15", 0.92), ("2022-12-01", 0.76), ("2023-10-15", 0.78), ("2024-06-01", 0.68),
    ("2025-12-31", 0.62),
)
WEEKDAY = (1.0, 1.02, 1.02, 1.0, 0.97, 0.78, 0.74)  # Monday .. Sunday
HOURLY = (0.66, 0.64, 0.63, 0.65, 0.70, 0.78, 0.88, 0.98, 1.06, 1.12, 1.17, 1.21,  # UTC 00..11
          1.24, 1.26, 1.27, 1.25, 1.21, 1.15, 1.08, 1.02, 0.96, 0.88, 0.80, 0.72)  # UTC 12..23

# column blocks of a GDELT 2.0 row (0-based): actors (5-24), event (25-30), reporting (31-34),
# places (35-58), DATEADDED (59), SOURCEURL (60)
ACTORS, EVENT, REPORT, PLACES, URL = slice(5, 25), slice(25, 31), slice(31, 35), slice(35, 59), 60
QUAD = 29


class SynthError(ValueError):
    """Bad arguments or an unusable sample: one line."""


@dataclass
class Sample:
    """The real rows, cut into blocks (each a binary array of tab-joined fields)."""

    actors: pa.Array
    places: pa.Array  # same row as actors
    event: pa.Array
    quad: np.ndarray  # quad class of each event row (0 when blank)
    report: pa.Array  # reporting block (same row as event)
    url: pa.Array  # the same rows' SOURCEURL
    by_quad: np.ndarray  # the rows sorted by quad class (stable)
    report_start: np.ndarray  # first position in by_quad of each quad class 0..4 (all rows for a class absent)
    report_count: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.actors)


def default_sample_dir() -> Path:
    return Path(str(resources.files("dyadwatch").joinpath("data", "sample")))


def _sample_files(where: Path) -> list[Path]:
    if where.is_file():
        return [where]
    if not where.is_dir():
        raise SynthError(f"{where}: no such file or folder")
    files = sorted({Path(p) for pat in ("*.export.CSV.zip", "*.export.CSV") for p in glob.glob(str(where / pat))})
    if not files:
        raise SynthError(f"{where}: no GDELT 2.0 exports (*.export.CSV.zip) to resample")
    return files


def load_sample(where=None) -> Sample:
    """The real GDELT 2.0 rows of exports (plain or zipped): a file, a folder of *.export.CSV[.zip], or a
    list of those; default: the sample shipped in the package."""
    if where is None:
        where = [default_sample_dir()]
    elif isinstance(where, (str, os.PathLike)):
        where = [where]
    actors, places, event, quad, report = [], [], [], [], []
    for path in [f for w in where for f in _sample_files(Path(w))]:
        if path.suffix.lower() == ".zip":
            with zipfile.ZipFile(path) as zf:
                data = zf.read(zf.infolist()[0])
        else:
            data = path.read_bytes()
        for n, line in enumerate(data.split(b"\n"), 1):
            line = line.rstrip(b"\r")
            if not line:
                continue
            f = line.split(b"\t")
            if len(f) != 61:
                raise SynthError(f"{path} line {n}: {len(f)} columns; a sample must be GDELT 2.0 exports (61)")
            actors.append(b"\t".join(f[ACTORS]))
            places.append(b"\t".join(f[PLACES]))
            event.append(b"\t".join(f[EVENT]))
            quad.append(int(f[QUAD]) if f[QUAD].isdigit() and int(f[QUAD]) <= 4 else 0)
            report.append((int(quad[-1]), b"\t".join(f[REPORT]), f[URL]))
    if not actors:
        raise SynthError(f"{where}: the sample holds no rows")
    quads = np.array(quad, dtype=np.int64)
    order = np.argsort(quads, kind="stable")  # by quad, then file order
    rq = quads[order]
    start = np.searchsorted(rq, np.arange(5), side="left")
    count = np.searchsorted(rq, np.arange(5), side="right") - start
    start, count = np.where(count > 0, start, 0), np.where(count > 0, count, len(rq))
    return Sample(pa.array(actors, pa.binary()), pa.array(places, pa.binary()), pa.array(event, pa.binary()),
                  quads, pa.array([r[1] for r in report], pa.binary()), pa.array([r[2] for r in report], pa.binary()),
                  order.astype(np.int64), start.astype(np.int64), count.astype(np.int64))


# -- the plan: how many rows each 15-minute slot holds ---------------------------------------------


@dataclass
class Plan:
    start: dt.datetime  # the first slot
    slots: np.ndarray  # slot numbers (from start) that get a file, increasing
    rows: np.ndarray  # rows of each of those files
    first_ids: np.ndarray  # GLOBALEVENTID of each file's first row

    def name(self, i: int) -> str:
        ts = self.start + dt.timedelta(seconds=int(self.slots[i]) * SLOT_SECONDS)
        return f"{ts:%Y%m%d%H%M%S}.export.CSV"

    def timestamp(self, i: int) -> dt.datetime:
        return self.start + dt.timedelta(seconds=int(self.slots[i]) * SLOT_SECONDS)


def slot_weights(start: dt.datetime, n_slots: int, seed: int) -> np.ndarray:
    """Relative volume of each slot (0 = no file: an outage)."""
    rng = np.random.default_rng([seed, 0x5107])
    t = np.datetime64(start, "s") + np.arange(n_slots, dtype=np.int64) * np.timedelta64(SLOT_SECONDS, "s")
    days = t.astype("datetime64[D]")
    knot_days = np.array([np.datetime64(d, "D") for d, _ in VOLUME_LEVELS]).astype(np.int64)
    level = np.interp(days.astype(np.int64), knot_days, [v for _, v in VOLUME_LEVELS])
    weekday = np.asarray(WEEKDAY)[(days.astype(np.int64) + 3) % 7]  # 1970-01-01 was a Thursday
    hour = np.asarray(HOURLY)[(t.astype(np.int64) // 3600) % 24]
    w = level * weekday * hour * rng.lognormal(0.0, NOISE_SIGMA, n_slots)
    years = max(1.0, n_slots * SLOT_SECONDS / (365.25 * 86400))
    for _ in range(rng.poisson(OUTAGES_PER_YEAR * years) if n_slots > 96 * 30 else 0):
        at = int(rng.integers(0, n_slots))
        w[at : at + int(rng.integers(8, 193))] = 0.0  # 2 to 48 hours
    w[rng.random(n_slots) < MISSING_SLOT_SHARE] = 0.0
    return w


def _share(total: int, weights: np.ndarray) -> np.ndarray:
    """`total` split in proportion to `weights` (largest remainder): exact and deterministic."""
    if total == 0 or weights.sum() == 0:
        return np.zeros(len(weights), dtype=np.int64)
    exact = weights / weights.sum() * total
    out = np.floor(exact).astype(np.int64)
    left = total - int(out.sum())
    if left:
        out[np.argsort(-(exact - out), kind="stable")[:left]] += 1
    return out


def plan(rows: int, start: dt.date, end: dt.date, seed: int = 0, files: int | None = None) -> Plan:
    """Rows per file from 00:00 of `start` to 23:45 of `end`: every slot with a file (`files=None`), or
    `files` evenly spaced slots, each with at least one row."""
    if rows < 1:
        raise SynthError("--rows must be at least 1")
    if end < start:
        raise SynthError(f"--end {end} is before --start {start}")
    first = dt.datetime.combine(start, dt.time())
    n_slots = ((end - start).days + 1) * 86400 // SLOT_SECONDS
    w = slot_weights(first, n_slots, seed)
    live = np.flatnonzero(w > 0)
    if not len(live):
        raise SynthError(f"{start}..{end}: every slot fell in an outage; widen the range")
    if files is not None:
        if files < 1:
            raise SynthError("--files must be at least 1")
        if files > len(live):
            raise SynthError(f"--files {files:,}: the range has only {len(live):,} slots with a file")
        if files > rows:
            raise SynthError(f"--files {files:,} is more than --rows {rows:,}: a file holds at least one row")
        live = live[((np.arange(files) + 0.5) * len(live) / files).astype(np.int64)]
        counts = 1 + _share(rows - files, w[live])
    else:
        counts = _share(rows, w[live])
        keep = counts > 0
        live, counts = live[keep], counts[keep]
    first_ids = FIRST_ID + np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return Plan(first, live.astype(np.int64), counts.astype(np.int64), first_ids)


# -- one file ----------------------------------------------------------------------------------------


def date_fields(day: dt.date) -> bytes:
    """SQLDATE, MonthYear, Year, FractionDate of a day, tab-separated, as GDELT writes them."""
    frac = day.year + ((day.month - 1) * 30 + day.day) / 365
    return f"{day:%Y%m%d}\t{day:%Y%m}\t{day.year}\t{frac:.4f}".encode()


def _lags(rng: np.random.Generator, n: int) -> np.ndarray:
    u = rng.random(n)
    lag = np.zeros(n, dtype=np.int64)
    edge = 0.0
    for days, share in LATE:
        hit = (u >= edge) & (u < edge + share)
        lag[hit] = rng.integers(days[0], days[1] + 1, int(hit.sum())) if isinstance(days, tuple) else days
        edge += share
    return lag


def _chunk(sample: Sample, rng: np.random.Generator, n: int, first_id: int, stamp: dt.datetime) -> memoryview:
    """n rows of text (newline-terminated)."""
    # each SEGMENT_ROWS rows take their actors (with places) from as many consecutive real rows, and their
    # events (with the reporting) from as many other consecutive ones, wrapping round the sample
    row = np.arange(n, dtype=np.int64)
    segment, within = row // SEGMENT_ROWS, row % SEGMENT_ROWS
    n_segments = int(segment[-1]) + 1
    actor = (rng.integers(0, sample.rows, n_segments)[segment] + within) % sample.rows
    event = (rng.integers(0, sample.rows, n_segments)[segment] + within) % sample.rows
    lag = _lags(rng, n)
    # repeats: a row copies the actors, place, event, date and (mostly) the article of a recent original
    repeat = rng.random(n) < REPEAT_SHARE
    repeat[0] = False
    originals = np.flatnonzero(~repeat)
    before = np.searchsorted(originals, row, side="left")  # originals earlier than each row
    back = np.minimum(rng.geometric(REPEAT_NEAR, n), np.maximum(before, 1))  # this many originals back
    src = originals[np.maximum(before - back, 0)]
    report = event.copy()
    for a in (actor, event, report, lag):
        a[repeat] = a[src[repeat]]
    # a repeat from another article gets the reporting of a real row of the same quad class (tone follows
    # the kind of event)
    other = np.flatnonzero(repeat & (rng.random(n) >= SAME_ARTICLE))
    quad = sample.quad[event[other]]
    report[other] = sample.by_quad[sample.report_start[quad]
                                   + (rng.random(len(other)) * sample.report_count[quad]).astype(np.int64)]
    report = pa.array(report)
    lags = np.unique(lag)
    day = stamp.date()
    dates = pa.array([date_fields(day - dt.timedelta(days=int(d))) for d in lags], pa.binary())
    dates = dates.take(pa.array(np.searchsorted(lags, lag)))
    ids = pa.array(np.arange(first_id, first_id + n, dtype=np.int64)).cast(pa.string()).cast(pa.binary())
    added = pa.scalar(f"{stamp:%Y%m%d%H%M%S}".encode(), pa.binary())
    tab, newline = pa.scalar(b"\t", pa.binary()), pa.scalar(b"\n", pa.binary())
    a = pa.array(actor)
    # GLOBALEVENTID, the dates, actors, event, reporting, places, DATEADDED, SOURCEURL
    line = pc.binary_join_element_wise(ids, dates, sample.actors.take(a), sample.event.take(pa.array(event)),
                                       sample.report.take(report), sample.places.take(a), added,
                                       sample.url.take(report), tab)
    line = pc.binary_join_element_wise(line, pa.scalar(b"", pa.binary()), newline)
    _, offsets, data = line.buffers()
    o = np.frombuffer(offsets, dtype=np.int32)
    return memoryview(data)[int(o[line.offset]) : int(o[line.offset + n])]


def write_file(sample: Sample, out: Path, name: str, stamp: dt.datetime, rows: int, first_id: int,
               seed: int, slot: int) -> tuple[int, int]:
    """One zipped export (written beside, then renamed: never half a file). Returns (text bytes, zip bytes)."""
    info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    # the member's level (ZipFile.open ignores the archive's for a ZipInfo); renamed in Python 3.13
    setattr(info, "compress_level" if hasattr(info, "compress_level") else "_compresslevel", COMPRESS_LEVEL)
    path = out / f"{name}.zip"
    tmp = out / f".{name}.zip.part"
    text = 0
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as zf:
        with zf.open(info, "w", force_zip64=rows > 4_000_000) as f:  # ~1.7 GB of text: zip64 past 2 GB
            for k, lo in enumerate(range(0, rows, CHUNK_ROWS)):
                n = min(CHUNK_ROWS, rows - lo)
                chunk = _chunk(sample, np.random.default_rng([seed, slot, k]), n, first_id + lo, stamp)
                f.write(chunk)
                text += len(chunk)
    tmp.replace(path)
    return text, path.stat().st_size


_SAMPLE: Sample | None = None


def _init(sample: list[str] | None) -> None:
    global _SAMPLE
    _SAMPLE = load_sample(sample)


def _job(args) -> tuple[int, int, int, int]:
    out, seed, start, items = args
    rows = text = zipped = 0
    for slot, n, first_id in items:
        stamp = start + dt.timedelta(seconds=slot * SLOT_SECONDS)
        t, z = write_file(_SAMPLE, Path(out), f"{stamp:%Y%m%d%H%M%S}.export.CSV", stamp, n, first_id, seed, slot)
        rows, text, zipped = rows + n, text + t, zipped + z
    return len(items), rows, text, zipped


@dataclass
class SynthReport:
    files: int = 0
    rows: int = 0
    text_bytes: int = 0
    zip_bytes: int = 0
    seconds: float = 0.0
    first: str = ""
    last: str = ""
    out: str = ""
    removed: int = 0  # earlier *.export.CSV.zip files deleted from the folder


def synth(rows: int, start: dt.date, end: dt.date, out: str | os.PathLike, *, seed: int = 0,
          files: int | None = None, sample=None, jobs: int | None = None,
          progress: Callable[[int, int], None] | None = None) -> SynthReport:
    """Write the exports to `out` (created; *.export.CSV.zip files already there are replaced).
    `sample`: real exports to resample (see load_sample). `progress(files_done, rows_done)` is called
    as work completes."""
    started = time.perf_counter()
    if isinstance(sample, (str, os.PathLike)):
        sample = [sample]
    sample = [str(s) for s in sample] if sample else None
    load_sample(sample)  # fail here, in one line, rather than in every worker
    p = plan(rows, start, end, seed, files)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    report = SynthReport(out=str(folder))
    for old in folder.glob("*.export.CSV.zip"):
        old.unlink()
        report.removed += 1
    for old in folder.glob(".*.export.CSV.zip.part"):
        old.unlink()
    work = [
        (str(folder), seed, p.start, list(zip(p.slots[i : i + JOB_SLOTS].tolist(), p.rows[i : i + JOB_SLOTS].tolist(),
                                                 p.first_ids[i : i + JOB_SLOTS].tolist())))
        for i in range(0, len(p.slots), JOB_SLOTS)
    ]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(work)))
    if jobs == 1:
        _init(sample)
        results = map(_job, work)
        pool = None
    else:
        pool = ProcessPoolExecutor(max_workers=jobs, initializer=_init, initargs=(sample,))
        results = pool.map(_job, work)
    try:
        for n_files, n_rows, text, zipped in results:
            report.files += n_files
            report.rows += n_rows
            report.text_bytes += text
            report.zip_bytes += zipped
            if progress:
                progress(report.files, report.rows)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    report.first, report.last = p.name(0) + ".zip", p.name(len(p.slots) - 1) + ".zip"
    report.seconds = time.perf_counter() - started
    return report


__all__ = ["Plan", "Sample", "SynthError", "SynthReport", "load_sample", "plan", "synth", "write_file"]
