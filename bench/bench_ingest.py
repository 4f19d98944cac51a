"""Ingest benchmark: zipped GDELT 2.0 exports -> filtered store, against pandas and polars `read_csv`.

    python bench/bench_ingest.py

runs two cases on the same 3,000,000 rows (2016-01-01 .. 2025-03-31, filtered to RUS and its five
partners), each input built once under --inputs (default /tmp/bench-input) with make_gdelt_input.py:

- `files` (the default case): the shape GDELT publishes, 15-minute exports of ~1,000 rows on average
  (`--rows-per-file`; synth sizes them by year, ~1,350 in 2016 to ~770 in 2025): 3,000 files;
- `big`: the same rows in 50 files of 60,000 (the shape of the earlier benchmark).

The per-file fixed cost is then (seconds of `files` - seconds of `big`) / (3,000 - 50), for
dyadwatch: what a file costs beyond its rows. One folder of your own instead:

    python bench/make_gdelt_input.py --rows 5000000 --files 50 --out /tmp/bench-input/5m --seed 0
    python bench/bench_ingest.py --input /tmp/bench-input/5m --workers 2

Every contestant runs in its own process, one after the other, on the same files (warm page cache):

- `dyadwatch`          `dyadwatch ingest DIR --countries RUS,TUR --workers W --store <fresh>`: the product
                       path (MD5 of every file, parallel readers staging Arrow IPC, de-duplication and
                       partitioned Parquet parts written while the readers run, catalog);
- `dyadwatch-all`      the same without `--countries` (every row parsed, typed and stored);
- `dyadwatch-plain`,   the same two with DYADWATCH_PLAIN_READER=1: without the compiled (C) lane, every
  `dyadwatch-all-plain` block read by the plain numpy + pyarrow reader (the obvious alternative);
- `pandas`             per file `pandas.read_csv(<the .zip>, sep="\\t", header=None, dtype=...)`, C engine,
                       then keep rows with Actor1/Actor2CountryCode in the countries and write them to
                       a Parquet file (zstd); sequential (pandas' C parser is single-threaded);
- `pandas-pyarrow`     the same with `engine="pyarrow"` (multi-threaded parser);
- `polars`             per file the zip member inflated in memory with `zipfile` (polars cannot read a
                       zip) and `polars.read_csv(bytes, separator="\\t", has_header=False, schema=...)`,
                       same filter, Parquet (zstd); polars uses every core.

pandas and polars get proper types: code and text columns as strings (CAMEO codes keep leading zeros),
the numbers as integers or floats. They do not validate dates, quarantine bad rows, count events per day,
deduplicate ids or keep a catalog; dyadwatch does all of that, so the comparison flatters them.

Measured per contestant: wall seconds (process start to exit, imports included), rows read (input rows),
rows kept, rows/s (rows read / seconds), and peak memory three ways: the peak of the summed RSS of the
whole process tree (polled every 50 ms from /proc; counts pages shared by forked workers more than once,
so an upper bound), the peak of the summed PSS of the tree (shared pages divided among the processes
sharing them: the tree's real footprint), and the largest single-process peak RSS (`ru_maxrss` from
`wait4`, exact but per process). Also the CPU seconds of the tree (user + system, from `wait4`) and the
"other load": CPU the rest of the machine used during the run, in cores (from /proc/stat), of which
this script's own memory sampler takes ~0.1. On a shared machine a run with more other load than that is
slowed by it; rerun it when the machine is quiet.

    python bench/bench_ingest.py --input /tmp/bench-input/5m --breakdown 10 [--plain]

prints instead where the CPU of a filtered ingest goes, per input row: the reader's stages (timed in
this process over the first N files, as a reader process runs them, best of 3) and the writer's (MD5,
and de-duplicating and writing the kept rows as parts).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONTESTANTS = ["dyadwatch", "dyadwatch-plain", "dyadwatch-all", "dyadwatch-all-plain", "pandas", "pandas-pyarrow",
               "polars"]
PAGE = os.sysconf("SC_PAGE_SIZE")

# GDELT 2.0 export columns, and those that are numbers (everything else is read as text)
V2_COLUMNS = (
    "GLOBALEVENTID SQLDATE MonthYear Year FractionDate Actor1Code Actor1Name Actor1CountryCode "
    "Actor1KnownGroupCode Actor1EthnicCode Actor1Religion1Code Actor1Religion2Code Actor1Type1Code "
    "Actor1Type2Code Actor1Type3Code Actor2Code Actor2Name Actor2CountryCode Actor2KnownGroupCode "
    "Actor2EthnicCode Actor2Religion1Code Actor2Religion2Code Actor2Type1Code Actor2Type2Code "
    "Actor2Type3Code IsRootEvent EventCode EventBaseCode EventRootCode QuadClass GoldsteinScale "
    "NumMentions NumSources NumArticles AvgTone Actor1Geo_Type Actor1Geo_FullName "
    "Actor1Geo_CountryCode Actor1Geo_ADM1Code Actor1Geo_ADM2Code Actor1Geo_Lat Actor1Geo_Long "
    "Actor1Geo_FeatureID Actor2Geo_Type Actor2Geo_FullName Actor2Geo_CountryCode Actor2Geo_ADM1Code "
    "Actor2Geo_ADM2Code Actor2Geo_Lat Actor2Geo_Long Actor2Geo_FeatureID ActionGeo_Type "
    "ActionGeo_FullName ActionGeo_CountryCode ActionGeo_ADM1Code ActionGeo_ADM2Code ActionGeo_Lat "
    "ActionGeo_Long ActionGeo_FeatureID DATEADDED SOURCEURL"
).split()
INTS = {"GLOBALEVENTID", "SQLDATE", "MonthYear", "Year", "IsRootEvent", "QuadClass", "NumMentions",
        "NumSources", "NumArticles", "Actor1Geo_Type", "Actor2Geo_Type", "ActionGeo_Type", "DATEADDED"}
FLOATS = {"FractionDate", "GoldsteinScale", "AvgTone", "Actor1Geo_Lat", "Actor1Geo_Long", "Actor2Geo_Lat",
          "Actor2Geo_Long", "ActionGeo_Lat", "ActionGeo_Long"}


def input_files(folder: Path) -> list[Path]:
    files = sorted(folder.glob("*.export.CSV.zip"))
    if not files:
        raise SystemExit(f"{folder}: no *.export.CSV.zip files (make them with bench/make_gdelt_input.py)")
    return files


# -- contestants (each runs in a child process: `bench_ingest.py --run NAME ...`) ---------------------


def run_pandas(files: list[Path], countries: list[str], out: Path, engine: str) -> dict:
    import pandas as pd

    dtype = {c: ("int64" if c in INTS else "float64" if c in FLOATS else "str") for c in V2_COLUMNS}
    rows = kept = 0
    for f in files:
        # GDELT does not quote; the pyarrow engine takes no `quoting` (its default quote char is harmless here)
        extra = {"quoting": 3} if engine == "c" else {}  # csv.QUOTE_NONE
        df = pd.read_csv(f, sep="\t", header=None, names=V2_COLUMNS, dtype=dtype, engine=engine,
                         compression="zip", **extra)
        rows += len(df)
        df = df[df["Actor1CountryCode"].isin(countries) | df["Actor2CountryCode"].isin(countries)]
        kept += len(df)
        df.to_parquet(out / f"{f.name}.parquet", compression="zstd", index=False)
        del df
    return {"rows": rows, "kept": kept}


def run_polars(files: list[Path], countries: list[str], out: Path) -> dict:
    import zipfile

    import polars as pl

    schema = {c: (pl.Int64 if c in INTS else pl.Float64 if c in FLOATS else pl.String) for c in V2_COLUMNS}
    rows = kept = 0
    for f in files:
        with zipfile.ZipFile(f) as zf:
            data = zf.read(zf.infolist()[0])  # polars reads no zip: inflate the member in memory
        df = pl.read_csv(data, separator="\t", has_header=False, schema=schema, quote_char=None)
        del data
        rows += df.height
        df = df.filter(pl.col("Actor1CountryCode").is_in(countries) | pl.col("Actor2CountryCode").is_in(countries))
        kept += df.height
        df.write_parquet(out / f"{f.name}.parquet", compression="zstd")
        del df
    return {"rows": rows, "kept": kept}


def child_main(a: argparse.Namespace) -> int:
    files = input_files(Path(a.input))
    countries = a.countries.split(",")
    out = Path(a.scratch)
    if a.run == "pandas":
        res = run_pandas(files, countries, out, "c")
    elif a.run == "pandas-pyarrow":
        res = run_pandas(files, countries, out, "pyarrow")
    elif a.run == "polars":
        res = run_polars(files, countries, out)
    else:
        raise SystemExit(f"unknown contestant {a.run}")
    print(json.dumps(res))
    return 0


# -- measuring ------------------------------------------------------------------------------------------


class TreeSampler(threading.Thread):
    """Polls /proc every `interval` s: peak summed RSS of a process and all its descendants, and with
    `pss` their peak summed PSS too (at every 10th poll and whenever RSS has grown 32 MB past the
    last PSS poll).

    The sampler shares the 2 cores with what it measures, so it is kept cheap: the tree is followed
    through /proc/PID/task/TID/children (a scan of all of /proc cost ~2 ms a poll), RSS is statm's.
    PSS is dear: smaps_rollup walks the page tables, 17-26 ms per reader process under load; at 20
    polls a second with PSS at every new RSS peak the sampler took 0.15-0.2 of a core, and still
    0.05-0.06 as above. So only one run of a contestant samples PSS (`main`): the others are timed
    with RSS alone (~0.002 of a core)."""

    def __init__(self, pid: int, interval: float = 0.1, pss: bool = True):
        super().__init__(daemon=True)
        self.pid, self.interval, self.pss = pid, interval, pss
        self.peak_rss = self.peak_pss = 0
        self.max_procs = self.samples = 0
        self._pss_rss = 0  # RSS at the last PSS poll
        self._done = threading.Event()

    def tree(self) -> list[int]:
        out, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            out.append(p)
            try:
                tasks = os.listdir(f"/proc/{p}/task")
            except OSError:
                continue
            for t in tasks:  # a child is listed under the thread that forked it
                try:
                    with open(f"/proc/{p}/task/{t}/children", "rb") as f:
                        todo.extend(int(c) for c in f.read().split())
                except (OSError, ValueError):
                    continue
        return out

    def sample(self) -> None:
        rss = 0
        procs = self.tree()
        for p in procs:
            try:
                with open(f"/proc/{p}/statm", "rb") as f:
                    rss += int(f.read().split()[1]) * PAGE
            except (OSError, ValueError, IndexError):
                continue
        self.samples += 1
        if self.pss and (rss > self._pss_rss + (32 << 20) or self.samples % 10 == 0):
            self._pss_rss = rss
            pss = 0
            for p in procs:
                try:
                    with open(f"/proc/{p}/smaps_rollup", "rb") as f:
                        for line in f:
                            if line.startswith(b"Pss:"):
                                pss += int(line.split()[1]) * 1024
                                break
                except (OSError, ValueError, IndexError):
                    continue
            self.peak_pss = max(self.peak_pss, pss)
        self.peak_rss = max(self.peak_rss, rss)
        self.max_procs = max(self.max_procs, len(procs))

    def run(self) -> None:
        while not self._done.is_set():
            self.sample()
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, from /proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def measure(cmd: list[str], env: dict | None = None, pss: bool = True) -> dict:
    """Run `cmd`; wall seconds, CPU seconds (its tree, and the rest of the machine meanwhile), peak tree
    RSS (and PSS, with `pss`: else 0), largest ru_maxrss, exit code, stdout, stderr."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        busy0 = busy_cpu_seconds()
        self0 = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        sampler = TreeSampler(proc.pid, pss=pss)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)  # rusage of the child and of every descendant it reaped
        seconds = time.perf_counter() - started
        busy = busy_cpu_seconds() - busy0
        sampler.stop()
        self1 = resource.getrusage(resource.RUSAGE_SELF)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        cpu = usage.ru_utime + usage.ru_stime  # the child and every descendant it waited for
        return {
            "seconds": seconds,
            "cpu_seconds": cpu,
            # CPU the rest of the machine used meanwhile (this script's sampler included): a busy
            # machine makes the figures worse than they are
            "other_cpu_seconds": max(0.0, busy - cpu),
            # of which this script (mostly the memory sampler)
            "sampler_cpu_seconds": (self1.ru_utime + self1.ru_stime) - (self0.ru_utime + self0.ru_stime),
            "peak_tree_rss_mb": sampler.peak_rss / 2**20,
            "peak_tree_pss_mb": sampler.peak_pss / 2**20,
            "max_ru_maxrss_mb": usage.ru_maxrss / 1024,  # KiB on Linux
            "processes": sampler.max_procs,
            "exit": proc.returncode,
            "stdout": out.read().decode(errors="replace"),
            "stderr": err.read().decode(errors="replace"),
        }


def run_contestant(name: str, a: argparse.Namespace, scratch: Path, pss: bool = True) -> dict:
    scratch.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if name.startswith("dyadwatch"):
        store = scratch / "store"
        cmd = [sys.executable, "-m", "dyadwatch", "ingest", str(a.input), "--store", str(store),
               "--workers", str(a.workers), "--source", "gdelt2"]
        if not name.startswith("dyadwatch-all"):
            cmd += ["--countries", a.countries]
        if name.endswith("-plain"):
            env["DYADWATCH_PLAIN_READER"] = "1"
        res = measure(cmd, env, pss)
        if res["exit"] == 0:
            import dyadwatch

            s = dyadwatch.open(store).status()
            res["rows"] = sum(x["rows_read"] for x in s["sources"])
            res["kept"] = s["events"]
            res["rejected"] = s["rows_rejected"]
    else:
        cmd = [sys.executable, __file__, "--run", name, "--input", str(a.input), "--countries", a.countries,
               "--scratch", str(scratch)]
        res = measure(cmd, env, pss)
        if res["exit"] == 0:
            res.update(json.loads(res["stdout"].strip().splitlines()[-1]))
    res["name"] = name
    if res["exit"] != 0:
        raise SystemExit(f"{name} failed (exit {res['exit']}):\n{res['stderr'][-3000:]}")
    res["rows_per_s"] = res["rows"] / res["seconds"]
    return res


def machine() -> dict:
    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = {}
    for pkg in ["dyadwatch", "pyarrow", "numpy", "duckdb", "isal", "deflate", "pandas", "polars"]:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "-"
    return {
        "cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cpu": model,
        "memory_gib": round(mem, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def markdown(results: list[dict]) -> str:
    lines = [
        "| contestant | rows read | rows kept | seconds | rows/s | CPU s | rows per CPU s | peak tree RSS MB "
        "| peak tree PSS MB | max process RSS MB | other load |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['name']} | {r['rows']:,} | {r['kept']:,} | {r['seconds']:.1f} | {r['rows_per_s']:,.0f} | "
            f"{r['cpu_seconds']:.1f} | {r['rows'] / r['cpu_seconds']:,.0f} | "
            f"{r['peak_tree_rss_mb']:,.0f} | {r['peak_tree_pss_mb']:,.0f} | {r['max_ru_maxrss_mb']:,.0f} | "
            f"{r['other_cpu_seconds'] / r['seconds']:.2f} cores |"
        )
    return "\n".join(lines)


def breakdown(folder: Path, n_files: int, countries: frozenset[str]) -> list[tuple[str, float]]:
    """CPU seconds per million input rows of each stage of a filtered ingest of the first `n_files`.

    Wraps the stages (private functions of dyadwatch.sources.gdelt / .base) with CPU timers; a stage's
    time includes the stages it calls, listed under it."""
    import collections
    import functools

    from dyadwatch.store import pipeline as dw_pipeline
    from dyadwatch.store.catalog import Catalog
    from dyadwatch.sources.reading import read_file, reader_init
    from dyadwatch.acquire.inputs import md5_many
    from dyadwatch.sources import base, gdelt

    spent: collections.Counter = collections.Counter()

    def timed(owner, name: str, label: str) -> None:
        fn = getattr(owner, name)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            t = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] += time.process_time() - t

        setattr(owner, name, wrapper)

    from dyadwatch.sources import gdelt_fast, whole

    class _Kernel:  # the C kernel (a ctypes function), where `timed` can wrap it
        read_block = gdelt_fast._kernel()

    gdelt_fast._kernel = lambda: _Kernel.read_block

    stages = [
        (whole, "inflate", "inflate the member whole (libdeflate, reused memory)"),
        (whole, "crc32", "CRC-32 of the member"),
        (base, "_inflate", "inflate (fallback, a fresh bytes)"),
        (gdelt_fast, "fast_block", "compiled lane, per block"),
        (_Kernel, "read_block", "  one pass (C): lines, codes, dates, the rows taken"),
        (gdelt_fast, "_columns", "  Arrow columns of the kept rows"),
        (gdelt, "_valid_utf8", "UTF-8 check of each block"),
        (gdelt.GdeltSource, "_scan_block", "plain reader: scan blocks"),
        (gdelt, "_candidates", "  candidate lines (memmem)"),
        (gdelt, "_count_event_dates", "  totals of the other lines"),
        (gdelt.GdeltSource, "_parse_lines", "plain reader: parse the candidates (lines the lane hands over)"),
        (gdelt, "_read_text", "  pyarrow CSV"),
        (gdelt.GdeltSource, "_to_canonical", "  types, checks, filter"),
        (gdelt, "daily_totals", "per-day totals tables"),
    ]
    for owner, name, label in stages:
        timed(owner, name, label)
    files = input_files(folder)[:n_files]
    reader_init()
    dw_pipeline._warm_up(1 << 40)
    with tempfile.TemporaryDirectory(prefix="dyadwatch-breakdown-") as tmp:
        read_file(str(files[0]), "warm", tmp, countries, "gdelt2")  # imports (polars) not counted
        best = None
        for _ in range(3):
            spent.clear()
            t = time.process_time()
            results = [read_file(str(f), f"f{i}", tmp, countries, "gdelt2") for i, f in enumerate(files)]
            total = time.process_time() - t
            if best is None or total < best[0]:
                best = (total, dict(spent), results)
        total, spent, results = best
        rows = sum(r.rows_read for r in results)
        # the writer: MD5 of the files, then de-duplicate and write the kept rows as parts
        t = time.process_time()
        md5_many(files)  # as the store hashes them (eight files at a time)
        md5 = time.process_time() - t
        events = Path(tmp) / "events"
        events.mkdir()
        catalog = Catalog(Path(tmp) / "store")
        writer = dw_pipeline._NewEvents(catalog, events, "breakdown", dw_pipeline._StoredParts(catalog, True))
        t = time.process_time()
        for r in results:
            if r.staged:
                writer.add(r.staged)
        writer.writer.close()
        write = time.process_time() - t
    per = 1e6 / rows
    out = [("reader, in all", total * per)]
    out += [(label, spent.get(label, 0.0) * per) for _, _, label in stages]
    covered = sum(spent.get(label, 0.0) for _, _, label in stages if not label.startswith(" "))
    out.append(("other reader work (staging IPC, chunks)", (total - covered) * per))
    out += [("writer: MD5 of the input files", md5 * per), ("writer: de-duplicate, write the parts", write * per)]
    return out


PARTNERS = "RUS,TUR,CHN,IND,IRN,PRK"  # Russia and its five partners of the reference paper


def built_input(folder: Path, rows: int, start: str, end: str, rows_per_file: int | None = None,
                files: int | None = None) -> Path:
    """A synthetic input made once by make_gdelt_input.py (a `.done` file marks a finished one)."""
    if not (folder / ".done").exists():
        cmd = [sys.executable, str(REPO / "bench" / "make_gdelt_input.py"), "--rows", str(rows), "--start", start,
               "--end", end, "--out", str(folder)]
        cmd += ["--rows-per-file", str(rows_per_file)] if rows_per_file else ["--files", str(files)]
        print("making", folder, file=sys.stderr)
        subprocess.run(cmd, check=True)
        (folder / ".done").write_text(" ".join(cmd))
    return folder


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", type=Path, help="one folder of *.export.CSV.zip (make_gdelt_input.py) instead of "
                    "the two built cases")
    ap.add_argument("--inputs", type=Path, default=Path("/tmp/bench-input"), help="where the two cases' inputs "
                    "are built once [/tmp/bench-input]")
    ap.add_argument("--rows", type=int, default=3_000_000, help="rows of each case [3000000]")
    ap.add_argument("--rows-per-file", type=int, default=1000, help="mean rows per file of the `files` case [1000]")
    ap.add_argument("--big-files", type=int, default=50, help="files of the `big` case [50]")
    ap.add_argument("--start", default="2016-01-01", help="first day of the built inputs [2016-01-01]")
    ap.add_argument("--end", default="2025-03-31", help="last day of the built inputs [2025-03-31]")
    ap.add_argument("--workers", type=int, default=2, help="dyadwatch reader processes [2]")
    ap.add_argument("--countries", default=None, help=f"country filter [{PARTNERS}; RUS,TUR with --input]")
    ap.add_argument("--only", default=None, help=f"comma list of contestants [dyadwatch,polars for the two "
                    f"cases; all with --input: {','.join(CONTESTANTS)}]")
    ap.add_argument("--repeat", type=int, default=1, help="runs per contestant; the fastest is reported [1]")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--breakdown", type=int, metavar="N",
                    help="instead: CPU per stage of a filtered ingest of the first N files")
    ap.add_argument("--plain", action="store_true", help="with --breakdown: without the compiled lane")
    ap.add_argument("--scratch", help=argparse.SUPPRESS)
    ap.add_argument("--run", help=argparse.SUPPRESS)  # internal: run one pandas/polars contestant
    a = ap.parse_args(argv)
    if a.run:
        return child_main(a)
    if a.countries is None:
        a.countries = "RUS,TUR" if a.input else PARTNERS
    if a.only is None:
        a.only = ",".join(CONTESTANTS) if a.input else "dyadwatch,polars"
    if a.input is None and not a.breakdown:
        return two_cases(a)
    if a.breakdown:
        if a.input is None:
            a.input = built_input(a.inputs / f"files-{a.rows}-{a.rows_per_file}", a.rows, a.start, a.end,
                                  rows_per_file=a.rows_per_file)
        if a.plain:
            os.environ["DYADWATCH_PLAIN_READER"] = "1"
        rows = breakdown(a.input, a.breakdown, frozenset(a.countries.split(",")))
        print("| stage | CPU s per million input rows |\n| --- | ---: |")
        for label, seconds in rows:
            print(f"| {label.replace('  ', '&nbsp;&nbsp;')} | {seconds:.3f} |")
        return 0

    names = [n for n in a.only.split(",") if n]
    unknown = set(names) - set(CONTESTANTS)
    if unknown:
        ap.error(f"unknown contestant(s) {', '.join(sorted(unknown))}; choose from {', '.join(CONTESTANTS)}")
    run_case(a, names)
    return 0


def two_cases(a: argparse.Namespace) -> int:
    """The `files` case (GDELT's shape) and the `big` case on the same rows, and the per-file cost."""
    names = [n for n in a.only.split(",") if n]
    unknown = set(names) - set(CONTESTANTS)
    if unknown:
        raise SystemExit(f"unknown contestant(s) {', '.join(sorted(unknown))}; choose from {', '.join(CONTESTANTS)}")
    small = built_input(a.inputs / f"files-{a.rows}-{a.rows_per_file}", a.rows, a.start, a.end,
                        rows_per_file=a.rows_per_file)
    big = built_input(a.inputs / f"big-{a.rows}-{a.big_files}", a.rows, a.start, a.end, files=a.big_files)
    out = {}
    a._two_cases = True
    for case, folder in (("files", small), ("big", big)):
        a.input = folder
        print(f"\n### case `{case}`: {folder}", flush=True)
        out[case] = run_case(a, names)
    n_small, n_big = len(input_files(small)), len(input_files(big))
    s, b = out["files"]["dyadwatch"], out["big"]["dyadwatch"]
    per_file = (s["seconds"] - b["seconds"]) / (n_small - n_big) * 1e3
    per_file_cpu = (s["cpu_seconds"] - b["cpu_seconds"]) / (n_small - n_big) * 1e3
    print(f"\nper-file fixed cost (dyadwatch): {per_file:.3f} ms a file of wall time, {per_file_cpu:.3f} ms of CPU "
          f"({n_small:,} files against {n_big:,}, the same {s['rows']:,} rows); `files` at "
          f"{s['rows_per_s']:,.0f} rows/s, `big` at {b['rows_per_s']:,.0f} rows/s")
    if a.json:
        a.json.write_text(json.dumps({case: {k: {x: y for x, y in r.items() if x not in ("stdout", "stderr")}
                                             for k, r in res.items()} for case, res in out.items()}, indent=2))
    return 0


def run_case(a: argparse.Namespace, names: list[str]) -> dict[str, dict]:
    """Each contestant on `a.input`; prints the table; the results by contestant."""
    files = input_files(a.input)
    info = machine()
    info["input"] = {
        "folder": str(a.input),
        "files": len(files),
        "zipped_mb": round(sum(f.stat().st_size for f in files) / 2**20, 1),
    }
    print(json.dumps(info, indent=2), file=sys.stderr)
    results = []
    with tempfile.TemporaryDirectory(prefix="dyadwatch-bench-") as tmp:
        for name in names:
            runs = []
            for i in range(a.repeat):
                scratch = Path(tmp) / f"{name}-{i}"
                res = run_contestant(name, a, scratch, pss=i == 0)  # PSS in the first run only
                shutil.rmtree(scratch, ignore_errors=True)
                print(
                    f"{name}: {res['rows']:,} rows, {res['kept']:,} kept, {res['seconds']:.1f} s, "
                    f"{res['rows_per_s']:,.0f} rows/s, peak tree RSS {res['peak_tree_rss_mb']:,.0f} MB, "
                    f"PSS {res['peak_tree_pss_mb']:,.0f} MB{'' if i == 0 else ' (not sampled)'}, max process RSS {res['max_ru_maxrss_mb']:,.0f} MB, "
                    f"CPU {res['cpu_seconds']:.1f} s, other load {res['other_cpu_seconds'] / res['seconds']:.2f} cores "
                    f"(sampler {res['sampler_cpu_seconds'] / res['seconds']:.2f})",
                    file=sys.stderr,
                )
                runs.append(res)
            best = dict(min(runs, key=lambda r: r["seconds"]))  # the fastest time, the worst peaks
            for k in ("peak_tree_rss_mb", "peak_tree_pss_mb", "max_ru_maxrss_mb"):
                best[k] = max(r[k] for r in runs)
            results.append(best)
    table = markdown(results)
    c = info["versions"]
    print(
        f"\n{sum(1 for _ in files)} files, {info['input']['zipped_mb']:,} MB zipped; {info['usable_cpus']} cpus "
        f"({info['cpu']}), {info['memory_gib']} GiB; Python {info['python']}, pyarrow {c['pyarrow']}, "
        f"duckdb {c['duckdb']}, isal {c['isal']}, deflate {c['deflate']}, pandas {c['pandas']}, polars {c['polars']}\n"
    )
    print(table, flush=True)
    if a.json and not getattr(a, "_two_cases", False):
        slim = [{k: v for k, v in r.items() if k not in ("stdout", "stderr")} for r in results]
        a.json.write_text(json.dumps({"machine": info, "results": slim}, indent=2))
    return {r["name"]: r for r in results}


if __name__ == "__main__":
    raise SystemExit(main())
