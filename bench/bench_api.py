"""Load test of the dashboard's JSON API: `dyadwatch serve` on loopback over a large store, hit by a fixed,
seeded sequence of requests (a mix of endpoints and dyads), bounded by a request count and a duration.

    python bench/make_store.py --events 10000000 --years 10 --out /tmp/bench-store-10m --seed 0
    dyadwatch compact --store /tmp/bench-store-10m
    python bench/bench_api.py --store /tmp/bench-store-10m --requests 3000 --max-seconds 180 --concurrency 8 \
        --configs cache,cache-warm,no-cache,cache-2w

    python bench/bench_api.py --store /tmp/bench-store-10m --per-endpoint 3   # what each miss costs

Each configuration runs in its own fresh server process, one after the other, on the same request
sequence (same seed):

- `cache`      `dyadwatch serve` as shipped: results cached by query and store state (web/cache.py);
- `no-cache`   `dyadwatch serve --no-cache`: every request computes its answer (DuckDB over the Parquet
               parts, the measures' Python API), i.e. what the cache saves;
- `cache-warm` the same server after an untimed pass over every distinct URL: steady state, all hits;
- `cache-2w`   `--workers 2`: two server processes, each with its own cache.

The client is one asyncio process (httpx, keep-alive, `--concurrency` requests in flight) on the same
2-core machine as the server, so it competes for CPU; its CPU time is reported. A configuration stops
issuing requests when it has sent `--requests` or after `--max-seconds`, whichever comes first, and
waits for those in flight. Reported per configuration: requests done, errors (any status but 200 or a
transport error; must be 0), throughput, latency p50 / p90 / p99 / max, and for `cache` the first
request of each distinct URL (a miss) apart from the repeats. Every distinct URL's answer must be
byte-identical across configurations (the cache never changes an answer; /api/status, which reports
the cache, is left out of that check).

The mix (weights): events 30 % (pages at several offsets, filters), indicators 22 %, status 10 %,
contacts 10 %, shifts 10 %, compare 10 %, claims 4 %, scenarios 4 % (these two on RUS-TUR only: the
shipped claims are about it); dyads drawn with a skew (RUS-TUR most, then RUS-CHN, RUS-IND, USA-CHN,
RUS-IRN, RUS-UKR); 80 distinct URLs in the pool.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import math
import os
import platform
import random
import socket
import subprocess
import sys
import time

import httpx

DYADS = [("RUS-TUR", 8), ("RUS-CHN", 4), ("RUS-IND", 3), ("USA-CHN", 3), ("RUS-IRN", 2), ("RUS-UKR", 2)]
MIX = [("events", 30), ("indicators", 22), ("status", 10), ("contacts", 10), ("shifts", 10), ("compare", 10),
       ("claims", 4), ("scenarios", 4)]


def url_pool(seed: int, size: int = 80) -> list[tuple[str, int]]:
    """Distinct request paths with their weights (popularity)."""
    rnd = random.Random(seed)
    pool: dict[str, int] = {}
    kinds = [k for k, w in MIX for _ in range(w)]
    dyads = [d for d, w in DYADS for _ in range(w)]
    while len(pool) < size:
        kind, dyad = rnd.choice(kinds), rnd.choice(dyads)
        if kind == "status":
            path = "/api/status"
        elif kind == "events":
            extra = rnd.choice(["", "&quad=3,4", "&direction=" + dyad.replace("-", ">"), "&q=gov", "&from=2020-01-01"])
            path = f"/api/events?dyad={dyad}&limit=100&offset={rnd.choice([0, 0, 0, 100, 200, 1000])}{extra}"
        elif kind == "indicators":
            path = f"/api/indicators?dyad={dyad}&direction=both&by={rnd.choice(['month', 'month', 'quarter', 'year'])}" \
                   + rnd.choice(["", "&limit=1000", "&theatre=all,each&track=all&limit=1000"])
        elif kind == "contacts":
            path = f"/api/contacts?dyad={dyad}" + rnd.choice(["", "&per_year=true"])
        elif kind == "shifts":
            path = f"/api/shifts?dyad={dyad}&indicator=" + rnd.choice(["events", "net_cooperation", "events,share_of_all"])
        elif kind == "compare":
            path = "/api/compare?focal=RUS" + rnd.choice(["", "&partners=TUR,CHN", "&from=2020-01-01"])
        else:  # the shipped claims and scenarios are about Russia and Turkey (other dyads: a 400 saying so)
            path = f"/api/{kind}?dyad=RUS-TUR" + rnd.choice(["", "&from=2018-01-01", "&to=2023-12-31"])
        pool.setdefault(path, 0)
        pool[path] += 1
    return list(pool.items())


def sequence(seed: int, n: int) -> list[str]:
    pool = url_pool(seed)
    rnd = random.Random(seed + 1)
    paths, weights = zip(*pool)
    return rnd.choices(paths, weights=weights, k=n)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its live descendants (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            fields = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(d)] = int(fields[1])
        times[int(d)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += times.get(p, 0.0)
        todo += [c for c, pp in parents.items() if pp == p]
    return total


def start_server(store: str, args: list[str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [sys.executable, "-m", "dyadwatch", "serve", "--store", store, "--port", str(port), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/api/status", timeout=60).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read()[-2000:]}")
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start in 120 s")


async def run_load(base: str, paths: list[str], concurrency: int, max_seconds: float) -> dict:
    latencies: list[tuple[int, float]] = []  # (index in the sequence, seconds)
    errors: list[str] = []
    bodies: dict[str, str] = {}
    next_i = 0
    started = time.perf_counter()
    stop_at = started + max_seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(300.0)) as client:
        async def worker():
            nonlocal next_i
            while next_i < len(paths) and time.perf_counter() < stop_at:
                i = next_i
                next_i += 1
                t0 = time.perf_counter()
                try:
                    r = await client.get(paths[i])
                    body = r.content
                    dt = time.perf_counter() - t0
                    if r.status_code != 200:
                        errors.append(f"{r.status_code} {paths[i]}: {body[:200]!r}")
                    elif not paths[i].startswith("/api/status"):
                        bodies.setdefault(paths[i], hashlib.sha256(body).hexdigest())
                except httpx.HTTPError as exc:
                    dt = time.perf_counter() - t0
                    errors.append(f"{type(exc).__name__} {paths[i]}")
                latencies.append((i, dt))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    return {"latencies": latencies, "errors": errors, "bodies": bodies, "wall": wall,
            "capped": next_i < len(paths)}


SINGLE = ["/api/status", "/api/events?dyad=RUS-TUR&limit=100", "/api/events?dyad=RUS-TUR&limit=100&offset=5000",
          "/api/events?dyad=USA-CHN&limit=100&q=gov", "/api/indicators?dyad=RUS-TUR&direction=both",
          "/api/indicators?dyad=RUS-TUR&track=all&theatre=all,each&direction=both&limit=1000",
          "/api/contacts?dyad=RUS-TUR", "/api/compare?focal=RUS", "/api/shifts?dyad=RUS-TUR",
          "/api/claims?dyad=RUS-TUR", "/api/scenarios?dyad=RUS-TUR"]


def per_endpoint(store: str, repeat: int) -> None:
    """One request at a time against `--no-cache`: what each answer costs to compute (a cache miss)."""
    proc, base = start_server(store, ["--no-cache"])
    try:
        print("\n| request (no cache, one at a time) | rows | bytes | best ms | median ms |")
        print("| --- | ---: | ---: | ---: | ---: |")
        with httpx.Client(base_url=base, timeout=300) as client:
            for path in SINGLE:
                times = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    r = client.get(path)
                    times.append(time.perf_counter() - t0)
                    if r.status_code != 200:
                        raise SystemExit(f"{path}: {r.status_code} {r.text[:200]}")
                total = r.json().get("total", "")
                print(f"| `{path}` | {total if total == '' else f'{total:,}'} | {len(r.content):,} | "
                      f"{min(times) * 1000:.0f} | {sorted(times)[len(times) // 2] * 1000:.0f} |")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))] if s else float("nan")


CONFIGS = {"cache": [], "cache-warm": [], "no-cache": ["--no-cache"], "cache-2w": ["--workers", "2"],
           "no-cache-2w": ["--no-cache", "--workers", "2"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", required=True)
    ap.add_argument("--requests", type=int, default=3000, help="requests per configuration [3000]")
    ap.add_argument("--max-seconds", type=float, default=180, help="stop issuing after this long [180]")
    ap.add_argument("--concurrency", type=int, default=8, help="requests in flight [8]")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--configs", default="cache,no-cache", help=f"comma-separated, of {', '.join(CONFIGS)}")
    ap.add_argument("--per-endpoint", type=int, default=0, metavar="N",
                    help="instead: each endpoint N times, one request at a time, without the cache")
    args = ap.parse_args()
    if args.per_endpoint:
        per_endpoint(args.store, args.per_endpoint)
        return
    paths = sequence(args.seed, args.requests)
    first_seen: dict[str, int] = {}
    for i, p in enumerate(paths):
        first_seen.setdefault(p, i)
    cold = set(first_seen.values())
    status = httpx.Client()  # only to read the store's size from the first server
    print(f"# {platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"# {len(paths)} requests per configuration ({len(first_seen)} distinct URLs), concurrency "
          f"{args.concurrency}, at most {args.max_seconds:.0f} s each, seed {args.seed}")
    results = {}
    for name in args.configs.split(","):
        proc, base = start_server(args.store, CONFIGS[name])
        try:
            if not results:
                s = status.get(base + "/api/status", timeout=120).json()
                print(f"# store {args.store}: {s['events']:,} events, {s['files']:,} files")
            if name == "cache-warm":  # every distinct URL once, untimed: the timed run is all cache hits
                asyncio.run(run_load(base, list(first_seen), args.concurrency, 3600))
            cpu0, client0 = tree_cpu(proc.pid), time.process_time()
            r = asyncio.run(run_load(base, paths, args.concurrency, args.max_seconds))
            r["server_cpu"] = tree_cpu(proc.pid) - cpu0
            r["client_cpu"] = time.process_time() - client0
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        results[name] = r
        lat = [d for _, d in r["latencies"]]
        miss = [d for i, d in r["latencies"] if i in cold]
        hit = [d for i, d in r["latencies"] if i not in cold]
        n = len(lat)
        print(f"\n## {name}: {n:,} requests in {r['wall']:.1f} s{' (stopped at the time cap)' if r['capped'] else ''}, "
              f"{len(r['errors'])} errors, {n / r['wall']:.1f} req/s; server CPU {r['server_cpu']:.1f} s, "
              f"client CPU {r['client_cpu']:.1f} s")
        print(f"   latency ms: p50 {pct(lat, 50) * 1000:.1f}  p90 {pct(lat, 90) * 1000:.1f}  "
              f"p99 {pct(lat, 99) * 1000:.1f}  max {max(lat) * 1000:.1f}  mean {sum(lat) / n * 1000:.1f}")
        if miss and hit:
            print(f"   first request of each URL ({len(miss)}): p50 {pct(miss, 50) * 1000:.1f}  "
                  f"p99 {pct(miss, 99) * 1000:.1f};  repeats ({len(hit)}): p50 {pct(hit, 50) * 1000:.1f}  "
                  f"p99 {pct(hit, 99) * 1000:.1f}")
        for e in r["errors"][:5]:
            print("   error:", e)
    names = list(results)
    differ = 0
    for a in names[1:]:
        for url, digest in results[a]["bodies"].items():
            other = results[names[0]]["bodies"].get(url)
            if other is not None and other != digest:
                differ += 1
                print(f"   answer differs between {names[0]} and {a}: {url}")
    compared = sum(len(set(results[a]["bodies"]) & set(results[names[0]]["bodies"])) for a in names[1:])
    print(f"\n# answers compared across configurations: {compared} URL(s), {differ} differ")
    total_errors = sum(len(r["errors"]) for r in results.values())
    print("\n| configuration | requests | seconds | req/s | errors | p50 ms | p90 ms | p99 ms | max ms | server CPU s | client CPU s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        lat = [d for _, d in r["latencies"]]
        print(f"| {name} | {len(lat):,} | {r['wall']:.1f} | {len(lat) / r['wall']:.1f} | {len(r['errors'])} | "
              f"{pct(lat, 50) * 1000:.1f} | {pct(lat, 90) * 1000:.1f} | {pct(lat, 99) * 1000:.1f} | "
              f"{max(lat) * 1000:.0f} | {r['server_cpu']:.1f} | {r['client_cpu']:.1f} |")
    sys.exit(1 if total_errors or differ else 0)


if __name__ == "__main__":
    main()
