"""DuckDB and Spark on the same input and the same measures: ingest, then a dyad's indicators and a
partner comparison, with the results checked equal between the engines.

    dyadwatch synth --rows 100000000 --start 2015-02-18 --end 2025-12-31 --files 38000 --out /tmp/dw6-synth-100m --seed 0
    python bench/bench_engines.py ingest --engine duckdb --input /tmp/dw6-synth-100m --store /tmp/dw6-duckdb --json /tmp/dw6.json
    python bench/bench_engines.py ingest --engine spark  --input /tmp/dw6-synth-100m --store /tmp/dw6-spark  --json /tmp/dw6.json
    python bench/bench_engines.py verify --store /tmp/dw6-duckdb --store /tmp/dw6-spark --json /tmp/dw6.json
    python bench/bench_engines.py query --engine duckdb --store /tmp/dw6-duckdb --json /tmp/dw6.json
    python bench/bench_engines.py query --engine spark  --store /tmp/dw6-duckdb --json /tmp/dw6.json
    python bench/bench_engines.py report --json /tmp/dw6.json

Steps (each its own command, so a long run can be done a step at a time under `flock -x`):

- `ingest`: `dyadwatch ingest INPUT --store STORE --engine E` (every row, no country filter) in a child
  process into a fresh store; wall seconds from process start to exit, CPU seconds of the whole process
  tree (the Python workers and Spark's JVM, polled from /proc every 0.5 s), peak summed RSS of the tree,
  and the machine's other load (busy CPU outside the tree, in cores) so a disturbed run shows;
- `verify`: the stores hold the same events (count, and an order-independent hash of every column of
  every row), the same manifest counts per file and the same daily totals;
- `query`: in a child process, the engine is started (Spark: the session, timed apart), then each
  measure runs once untimed and `--repeat` times timed, end to end through `dyadwatch.measures.api`:
  `indicators` = `api.indicators(store, "RUS-TUR", by="month")` (every track plus all, both directions
  and each) and `compare` = `api.compare(store, "RUS", ["TUR", "CHN", "IND", "IRN", "PRK"])` (with
  leader contacts); the results are kept as Parquet under --dump and checked equal across engines;
- `report`: the markdown tables of docs/benchmarks.md from the JSON file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")
MEASURES = ("indicators", "compare")
PARTNERS = ["TUR", "CHN", "IND", "IRN", "PRK"]


# -- watching a process tree -----------------------------------------------------------------------


def busy_cpu_seconds() -> float:
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / TICK  # all but idle and iowait


class Watch:
    """Polls /proc: the tree under `pid`, its peak summed RSS and each process's last CPU ticks."""

    def __init__(self, pid: int, interval: float = 0.5):
        self.pid, self.interval = pid, interval
        self.cpu: dict[int, float] = {}
        self.names: dict[int, str] = {}
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        parent: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    with open(f"/proc/{entry.name}/stat", "rb") as f:
                        stat = f.read()
                    parent[int(entry.name)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
                except (OSError, ValueError, IndexError):
                    pass
        tree, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            tree.append(p)
            todo += [c for c, pp in parent.items() if pp == p]
        return tree

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = 0
            for p in self._tree():
                try:
                    with open(f"/proc/{p}/stat", "rb") as f:
                        fields = f.read().rsplit(b")", 1)[1].split()
                    self.cpu[p] = (int(fields[11]) + int(fields[12])) / TICK
                    rss += int(fields[21]) * PAGE
                    if p not in self.names:
                        with open(f"/proc/{p}/cmdline", "rb") as f:
                            args = f.read().split(b"\0")
                        self.names[p] = Path(args[0].decode(errors="replace")).name if args else "?"
                except (OSError, ValueError, IndexError):
                    pass
            self.peak_rss = max(self.peak_rss, rss)
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_child(cmd: list[str], env=None) -> dict:
    busy0, t0 = busy_cpu_seconds(), time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watch = Watch(proc.pid)
    out, err = proc.communicate()
    seconds = time.perf_counter() - t0
    watch.stop()
    busy = busy_cpu_seconds() - busy0
    cpu = sum(watch.cpu.values())
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-3000:]}")
    main = watch.cpu.get(proc.pid, 0.0)
    by_kind: dict[str, float] = {}
    for p, c in watch.cpu.items():
        kind = "main" if p == proc.pid else watch.names.get(p, "?")
        by_kind[kind] = by_kind.get(kind, 0.0) + c
    return {"seconds": seconds, "cpu_seconds": cpu, "cpu_main_process": main, "cpu_by_program": by_kind,
            "peak_rss_mb": watch.peak_rss / 1e6,
            "other_load_cores": max(0.0, (busy - cpu) / seconds), "stdout": out, "stderr": err}


def load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {"machine": machine(), "runs": {}}


def save(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=1, default=str) + "\n")


def machine() -> dict:
    import duckdb
    import pyarrow
    import sqlglot

    try:
        import pyspark
        spark = pyspark.__version__
    except ImportError:
        spark = None
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[:1]
    return {"cores": os.cpu_count(), "python": platform.python_version(), "duckdb": duckdb.__version__,
            "pyarrow": pyarrow.__version__, "pyspark": spark, "sqlglot": sqlglot.__version__,
            "java": java[0] if java else None, "kernel": platform.release()}


# -- steps -----------------------------------------------------------------------------------------


def step_ingest(a) -> dict:
    store = Path(a.store[0])
    if store.exists():
        shutil.rmtree(store)
    files = sorted(Path(a.input).glob("*.zip"))
    cmd = [sys.executable, "-m", "dyadwatch", "ingest", str(a.input), "--store", str(store), "--engine", a.engine]
    if a.master:
        cmd += ["--master", a.master]
    timings = Path(f"/tmp/dw6-timings-{os.getpid()}.json")
    r = run_child(cmd, env={**os.environ, "DYADWATCH_SPARK_TIMINGS": str(timings)})
    if timings.exists():  # the Spark ingest's steps: hashing, reading, the driver's plan, writing, recording
        r["steps"] = json.loads(timings.read_text())
        timings.unlink()
    from dyadwatch.store import Store

    status = Store(store).status()
    r.update({"engine": a.engine, "store": str(store), "input": str(a.input), "files": len(files),
              "input_bytes": sum(f.stat().st_size for f in files), "events": status["events"],
              "parts": sum(s["parts"] for s in status["sources"]), "rows_read": sum(s["rows_read"] for s in status["sources"]),
              "store_bytes": sum(p.stat().st_size for p in (store / "events").rglob("*.parquet"))})
    r["rows_per_second"] = r["rows_read"] / r["seconds"]
    r["summary"] = r.pop("stdout").strip().splitlines()[-1:]
    r.pop("stderr")
    print(json.dumps({k: v for k, v in r.items()}, indent=1, default=str))
    return r


def fingerprint(store_dir: str) -> dict:
    """Order-independent digest of the events, the manifest's counts and the totals of a store."""
    from dyadwatch.knowledge.schema import EVENT_COLUMNS
    from dyadwatch.store import Store

    st = Store(store_dir)
    con = st.connect()
    try:
        cols = ", ".join(EVENT_COLUMNS)
        n, h = con.execute(f"SELECT count(*), bit_xor(hash(struct_pack({cols}))) FROM events").fetchall()[0]
        per_month = con.execute("SELECT year(event_date) * 100 + month(event_date) AS m, count(*) FROM events "
                                "GROUP BY 1 ORDER BY 1").fetchall()
    finally:
        con.close()
    man = st.manifest()
    counts = sorted(zip(*[man[c].to_pylist() for c in ("md5", "rows_read", "rows_kept", "rows_stored", "rows_rejected")]))
    totals = st.daily_totals()
    return {"events": n, "hash": int(h), "per_month": per_month,
            "manifest": hashlib.md5(json.dumps(counts).encode()).hexdigest(),
            "totals": hashlib.md5(json.dumps([(str(d), int(e)) for d, e in zip(totals["day"].to_pylist(),
                                                                                totals["events"].to_pylist())]).encode()).hexdigest()}


def step_verify(a) -> dict:
    prints = {s: fingerprint(s) for s in a.store}
    first = next(iter(prints.values()))
    same = all(p == first for p in prints.values())
    out = {"stores": a.store, "same": same, "events": first["events"],
           "fingerprints": {s: {k: v for k, v in p.items() if k != "per_month"} for s, p in prints.items()}}
    print(json.dumps(out, indent=1, default=str))
    if not same:
        raise SystemExit("the stores differ")
    return out


def query_child(a) -> int:
    """In the child: start the engine, then warm-up + timed runs of each measure."""
    import pyarrow.parquet as pq

    out = {"engine": a.engine, "store": a.store[0], "runs": {}}
    t0 = time.perf_counter()
    if a.engine == "spark":
        from dyadwatch.engines.spark_engine import session

        session(a.master)
    out["start_seconds"] = time.perf_counter() - t0
    from dyadwatch.measures import api
    from dyadwatch.store import Store

    st = Store(a.store[0])
    calls = {
        "indicators": lambda: api.indicators(st, "RUS-TUR", by="month", engine=a.engine),
        "compare": lambda: api.compare(st, "RUS", PARTNERS, engine=a.engine),
    }
    for name in a.measures.split(","):
        table = calls[name]()  # warm-up (Spark: the JIT, DuckDB: the page cache)
        times = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            table = calls[name]()
            times.append(time.perf_counter() - t)
        if a.dump:
            Path(a.dump).mkdir(parents=True, exist_ok=True)
            pq.write_table(table, Path(a.dump) / f"{name}-{a.engine}-{Path(a.store[0]).name}.parquet")
        out["runs"][name] = {"best": min(times), "median": statistics.median(times), "times": times,
                             "rows": table.num_rows}
    print("RESULT " + json.dumps(out))
    return 0


def step_query(a) -> dict:
    cmd = [sys.executable, __file__, "query-child", "--engine", a.engine, "--store", a.store[0],
           "--repeat", str(a.repeat), "--measures", a.measures, "--dump", a.dump]
    if a.master:
        cmd += ["--master", a.master]
    r = run_child(cmd)
    line = next(x for x in r["stdout"].splitlines() if x.startswith("RESULT "))
    got = json.loads(line[len("RESULT "):])
    got.update({k: r[k] for k in ("seconds", "cpu_seconds", "peak_rss_mb", "other_load_cores")})
    # the same table from every engine that ran this measure on this store
    import pyarrow.parquet as pq

    for name in got["runs"]:
        mine = pq.read_table(Path(a.dump) / f"{name}-{a.engine}-{Path(a.store[0]).name}.parquet")
        others = {}
        for p in Path(a.dump).glob(f"{name}-*.parquet"):
            if p.name != f"{name}-{a.engine}-{Path(a.store[0]).name}.parquet":
                others[p.stem] = pq.read_table(p).equals(mine)
        got["runs"][name]["equal_to"] = others
    print(json.dumps(got, indent=1))
    return got


def step_report(a) -> None:
    data = load(Path(a.json))
    m = data["machine"]
    print(f"machine: {m['cores']} cores, Python {m['python']}, DuckDB {m['duckdb']}, pyarrow {m['pyarrow']}, "
          f"PySpark {m['pyspark']}, sqlglot {m['sqlglot']}, {m['java']}\n")
    runs = data["runs"]
    ing = [r for k, r in runs.items() if k.startswith("ingest-")]
    if ing:
        print("| engine | files | rows | seconds | rows/s | rows/s per core | CPU s | peak tree RSS MB | other load (cores) | parts | store GB |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in ing:
            cores = m["cores"]
            print(f"| {r['engine']} | {r['files']:,} | {r['rows_read']:,} | {r['seconds']:,.0f} | {r['rows_per_second']:,.0f} | "
                  f"{r['rows_per_second'] / cores:,.0f} | {r['cpu_seconds']:,.0f} | {r['peak_rss_mb']:,.0f} | "
                  f"{r['other_load_cores']:.2f} | {r['parts']:,} | {r['store_bytes'] / 1e9:.2f} |")
        print()
    qs = [r for k, r in runs.items() if k.startswith("query-")]
    if qs:
        print("| engine | store | engine start s | indicators best s | median s | compare best s | median s | same result as |")
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
        for r in qs:
            i, c = r["runs"].get("indicators", {}), r["runs"].get("compare", {})
            eq = sorted({k for x in (i, c) for k, v in x.get("equal_to", {}).items() if v})
            ne = sorted({k for x in (i, c) for k, v in x.get("equal_to", {}).items() if not v})
            print(f"| {r['engine']} | {Path(r['store']).name} | {r['start_seconds']:.1f} | {i.get('best', float('nan')):.2f} | "
                  f"{i.get('median', float('nan')):.2f} | {c.get('best', float('nan')):.2f} | {c.get('median', float('nan')):.2f} | "
                  f"{', '.join(eq) or '-'}{' (DIFFERENT: ' + ', '.join(ne) + ')' if ne else ''} |")
    for k, r in runs.items():
        if k.startswith("verify"):
            print(f"\n{k}: {'identical' if r['same'] else 'DIFFERENT'} ({r['events']:,} events): {', '.join(r['stores'])}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("step", choices=["ingest", "verify", "query", "query-child", "report"])
    ap.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"])
    ap.add_argument("--master", default=None)
    ap.add_argument("--input")
    ap.add_argument("--store", action="append", default=[])
    ap.add_argument("--json", default="/tmp/dw6-bench.json")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--measures", default=",".join(MEASURES))
    ap.add_argument("--dump", default="/tmp/dw6-bench-results")
    ap.add_argument("--label", default=None, help="name of the run in the JSON [step-engine-store]")
    a = ap.parse_args(argv)
    if a.step == "query-child":
        return query_child(a)
    if a.step == "report":
        step_report(a)
        return 0
    path = Path(a.json)
    data = load(path)
    result = {"ingest": step_ingest, "verify": step_verify, "query": step_query}[a.step](a)
    label = a.label or "-".join([a.step, a.engine if a.step != "verify" else "stores",
                                 *[Path(s).name for s in a.store[:1]]])
    result["when"] = time.strftime("%Y-%m-%d %H:%M")
    data["runs"][label] = result
    save(path, data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
