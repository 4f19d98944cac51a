"""Measures benchmark: a dyad's monthly indicators and a 5-partner comparison on a large store, against
naive pandas (and polars) on the same Parquet parts.

    python bench/make_store.py --events 50000000 --years 10 --out /tmp/bench-store-50m --seed 0
    python bench/bench_measures.py --store /tmp/bench-store-50m --repeat 5

Every contestant runs in its own process, one after the other (warm page cache, DuckDB's default
threads = cores), does one untimed warm-up and then `--repeat` timed runs; the table gives the best and
the median. Peak RSS is the process's `ru_maxrss` (from `wait4`), imports included.

- `dyadwatch indicators`   `dyadwatch.measures.api.indicators(store, "RUS-TUR", by="month")`: every track
                           plus all, both directions and each; end to end: catalog, connection, totals,
                           the unique-event frame, the indicator query, Arrow out.
- `dyadwatch compare`      `api.compare(store, "RUS", ["TUR", "CHN", "IND", "IRN", "PRK"])` end to end
                           (it also counts leader contacts per partner); `compare core` is
                           `frame.connect` + `compare.compare` without the contacts.
  Both also report the split: `connect` (Store.connect + daily_totals + leaders), `frame`
  (materialise_unique_events: the scan), `query` (the SQL over the materialised frame).
- `dyadwatch contacts`     `api.contacts(store, "RUS-TUR")` end to end (leader contacts of one dyad: the
                           pair's rows, the leader match, the encounter rule), no pandas counterpart.
- `pandas`                 the naive way: the parts' needed columns read with pyarrow into one pandas
                           DataFrame (load timed separately, once per process: 21 columns x all rows),
                           then per run: boolean masks for the dyad, the five track rules compiled from
                           the same taxonomy to pandas masks, the unique-event groupby (dropna=False:
                           NULL keys are groups in SQL too), and the monthly groupby per track and
                           direction (compare: per partner, monthly shares and the trend slope).
- `pandas pushdown`        per run: pyarrow.dataset with the dyad filter pushed into the scan, then the
                           same pandas code on the few rows that come back (load included in the run).
- `polars`                 per run: `pl.scan_parquet(parts).filter(dyad).collect()` (lazy, all cores),
                           then the same pandas code on the dyad rows.

The pandas and polars outputs are checked against dyadwatch's (events, records, articles, quad counts,
Goldstein, tone per period/track/direction; per partner events, records, shares, trend). They compute
neither `max_by(source_url)` of each unique event nor leader contacts, which flatters them.

`--variant NAME=DIR` adds stores with another physical layout (bench/make_store.py --from-store) for the
dyadwatch contestants; `--explain` prints EXPLAIN ANALYZE of the frame and of the indicator query.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

FOCAL, PARTNER = "RUS", "TUR"
PARTNERS = ["TUR", "CHN", "IND", "IRN", "PRK"]
TARGETS = {"indicators": 0.5, "compare": 2.0, "contacts": 0.5}
COLUMNS = [
    "event_id", "event_date", "actor1_code", "actor2_code", "actor1_country", "actor2_country", "actor1_name",
    "actor2_name", "actor1_type1", "actor1_type2", "actor1_type3", "actor2_type1", "actor2_type2", "actor2_type3",
    "event_code", "quad_class", "goldstein", "num_articles", "avg_tone", "action_geo_country", "action_geo_fullname",
]
CONTESTANTS = [
    "dyadwatch-indicators", "dyadwatch-compare", "dyadwatch-contacts", "pandas-indicators", "pandas-compare",
    "pandas-pushdown-indicators", "pandas-pushdown-compare", "polars-indicators", "polars-compare",
]


# ------------------------------------------------------------------------------ dyadwatch


def duck_connect(store_dir: str):
    from dyadwatch.measures.frame import connect
    from dyadwatch.store import Store

    return connect(Store(store_dir))


def run_dyadwatch(kind: str, store_dir: str, repeat: int, dump: str | None) -> dict:
    from dyadwatch.measures import compare as cmp
    from dyadwatch.measures import indicators as ind
    from dyadwatch.measures.frame import default_taxonomy, has_dyad_index, materialise_unique_events

    from dyadwatch.measures import api

    tax = default_taxonomy(None)

    def core():
        con = duck_connect(store_dir)
        try:
            return cmp.compare(con, FOCAL, PARTNERS, taxonomy=tax, keep_rows=not has_dyad_index(con))
        finally:
            con.close()

    if kind == "indicators":
        call = lambda: api.indicators(store_dir, f"{FOCAL}-{PARTNER}", by="month")  # noqa: E731
    elif kind == "contacts":
        call = lambda: api.contacts(store_dir, f"{FOCAL}-{PARTNER}")  # noqa: E731
    else:
        call = lambda: api.compare(store_dir, FOCAL, PARTNERS)  # noqa: E731

    out = {}
    table = call()  # warm-up
    out["end_to_end"] = _times(call, repeat)
    if kind == "contacts":  # end to end only: connect, the pair's rows, the encounter rule
        out["rows_out"] = table.num_rows
        out["split"] = {}
        return out
    if kind == "compare":
        out["core"] = _times(core, repeat)
    # the split: connect, frame (the scan), query; the frame keeps rows only where api's measure does
    split = {"connect": [], "frame": [], "query": []}
    for _ in range(repeat + 1):
        t0 = time.perf_counter()
        con = duck_connect(store_dir)
        t1 = time.perf_counter()
        if kind == "indicators":
            materialise_unique_events(con, tax, FOCAL, [PARTNER], keep_rows=False)
            t2 = time.perf_counter()
            names = ["all", *(c.name for c in tax.tracks)]
            sql, params = ind.indicators_sql(tax, FOCAL, PARTNER, "month", names, ["all"], None, None, None)
            con.sql(sql, params=params).to_arrow_table()  # timed: the result itself is not needed
        else:
            materialise_unique_events(con, tax, FOCAL, PARTNERS, keep_rows=not has_dyad_index(con))
            t2 = time.perf_counter()
            sql, params = cmp.compare_sql(tax, None, None, None)
            con.sql(sql, params=params).to_arrow_table()  # timed: the result itself is not needed
        t3 = time.perf_counter()
        out["frame_rows"] = con.execute("SELECT count(*) FROM unique_events").fetchall()[0][0]
        out["dyad_records"] = con.execute("SELECT sum(records) FROM unique_events").fetchall()[0][0]
        con.close()
        for k, v in zip(split, (t1 - t0, t2 - t1, t3 - t2)):
            split[k].append(v)
    out["split"] = {k: _summary(v[1:]) for k, v in split.items()}
    out["rows_out"] = table.num_rows
    if dump:
        import pyarrow.parquet as pq

        if kind == "compare":
            table = core()
        pq.write_table(table, dump)
    return out


def explain(store_dir: str) -> None:
    from dyadwatch.measures import indicators as ind
    from dyadwatch.measures.frame import default_taxonomy, materialise_unique_events, unique_events_sql

    tax = default_taxonomy(None)
    con = duck_connect(store_dir)
    con.execute("SET enable_progress_bar=false")
    print("threads:", con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    sql, params = unique_events_sql(tax, FOCAL, [PARTNER])
    con.execute("CREATE OR REPLACE TEMP TABLE warm AS " + sql, params)
    print("== EXPLAIN ANALYZE: the frame (unique events of RUS-TUR) ==")
    for _, plan in con.execute("EXPLAIN ANALYZE " + sql, params).fetchall():
        print(plan)
    materialise_unique_events(con, tax, FOCAL, [PARTNER])
    names = ["all", *(c.name for c in tax.tracks)]
    sql, params = ind.indicators_sql(tax, FOCAL, PARTNER, "month", names, ["all"], None, None, None)
    print("== EXPLAIN ANALYZE: the indicator query over the frame ==")
    for _, plan in con.execute("EXPLAIN ANALYZE " + sql, params).fetchall():
        print(plan)
    con.close()


# ------------------------------------------------------------------------------ pandas / polars


def part_paths(store_dir: str) -> list[str]:
    from dyadwatch.store import Store

    return Store(store_dir).part_paths()


def _dataset(store_dir: str):
    import pyarrow as pa
    import pyarrow.dataset as ds

    # the folder names' types given, not inferred: parts written by bench/make_store.py also hold
    # year and month as BIGINT columns, which an inferred int32 would conflict with
    hive = ds.partitioning(pa.schema([("source", pa.string()), ("year", pa.int64()), ("month", pa.int64())]),
                           flavor="hive")
    return ds.dataset(part_paths(store_dir), format="parquet", partitioning=hive,
                      partition_base_dir=str(Path(store_dir).resolve() / "events"))


def _to_pandas(table):
    # dates as datetime64 (pandas' default would make 50 M Python date objects)
    return table.to_pandas(date_as_object=False)


def load_pandas(store_dir: str, filt=None):
    """The columns the measures need (+ source from the hive path) as one pandas DataFrame."""
    table = _dataset(store_dir).to_table(columns=["source", *COLUMNS], filter=filt)
    return _to_pandas(table)


def dyad_expr(focal: str, partners: list[str]):
    import pyarrow.dataset as ds

    a1, a2 = ds.field("actor1_country"), ds.field("actor2_country")
    return ((a1 == focal) & a2.isin(partners)) | ((a2 == focal) & a1.isin(partners))


def monthly_totals(store_dir: str):
    """All events per month (DatetimeIndex of month starts), from the catalog's daily totals."""
    from dyadwatch.store import Store

    t = Store(store_dir).daily_totals().to_pandas(date_as_object=False)
    t["month"] = t["day"].dt.to_period("M").dt.to_timestamp()
    return t.groupby("month")[["events"]].sum().rename(columns={"events": "all_events"}).astype("int64")


def _b(s):
    """A pandas boolean mask with missing values as False (the SQL's coalesce(..., FALSE))."""
    return s.fillna(False).astype(bool)


def _has_type(df, actor: str, types: list[str]):
    import numpy as np

    cols = [df[f"{actor}_type{i}"] for i in (1, 2, 3)]
    real = [t for t in types if t != "STATE"]
    m = np.zeros(len(df), bool)
    for c in cols:
        if real:
            m |= _b(c.isin(real)).to_numpy()
    if "STATE" in types:
        m |= (cols[0].isna() & cols[1].isna() & cols[2].isna()).to_numpy()
    return m


def _condition(df, cond: str, value):
    import numpy as np

    from dyadwatch.knowledge.taxonomy import continent_fips

    if cond == "event_code":
        return _b(df["event_code"].str.startswith(tuple(value))).to_numpy()
    if cond == "quad_class":
        return _b(df["quad_class"].isin([int(v) for v in value])).to_numpy()
    if cond == "either_actor_type":
        return _has_type(df, "actor1", value) | _has_type(df, "actor2", value)
    if cond == "both_actors_type":
        return _has_type(df, "actor1", value) & _has_type(df, "actor2", value)
    if cond == "both_leaders":
        return df["actor1_leader"].to_numpy() & df["actor2_leader"].to_numpy()
    if cond == "place_country":
        return _b(df["action_geo_country"].isin(value)).to_numpy()
    if cond == "place_continent":
        return _b(df["action_geo_country"].isin(sorted({c for v in value for c in continent_fips()[v]}))).to_numpy()
    if cond == "place_name_contains":
        m = np.zeros(len(df), bool)
        for v in value:
            m |= _b(df["action_geo_fullname"].str.contains(v, regex=False)).to_numpy()
        return m
    if cond == "place_home":
        g = df["action_geo_country"]
        return (_b(g == df["home_fips_1"]) | _b(g == df["home_fips_2"])).to_numpy()
    if cond == "not":
        return ~_alternative(df, value)
    raise ValueError(cond)


def _alternative(df, alt: dict):
    import numpy as np

    m = np.ones(len(df), bool)
    for k, v in alt.items():
        m &= _condition(df, k, v)
    return m


def _rule(df, category):
    import numpy as np

    m = np.zeros(len(df), bool)
    for alt in category.rule:
        m |= _alternative(df, alt)
    return m


def _leader_flag(d, actor: str, leaders):
    import numpy as np

    x = d[[f"{actor}_country", f"{actor}_name", "event_date"]].reset_index(drop=True)
    x["_row"] = np.arange(len(x))
    j = x.merge(leaders, left_on=[f"{actor}_country", f"{actor}_name"], right_on=["country", "spelling"])
    inside = (j["event_date"] >= j["term_start"]) & (j["term_end"].isna() | (j["event_date"] <= j["term_end"]))
    flag = np.zeros(len(x), bool)
    flag[j.loc[inside.to_numpy(), "_row"].to_numpy()] = True
    return flag


def pandas_unique_events(df, tax, focal: str, partners: list[str], leaders):
    """The frame (frame.unique_events_sql) in pandas: dyad rows, tracks, theatres, one row per unique event."""
    import numpy as np

    from dyadwatch.knowledge.taxonomy import fips_of

    a1, a2 = df["actor1_country"], df["actor2_country"]
    m = _b((a1 == focal) & a2.isin(partners)) | _b((a2 == focal) & a1.isin(partners))
    d = df.loc[m.to_numpy()].reset_index(drop=True)
    d["partner"] = np.where(d["actor1_country"] == focal, d["actor2_country"], d["actor1_country"])
    d["direction"] = d["actor1_country"] + ">" + d["actor2_country"]
    d["home_fips_1"] = fips_of(focal) or ""
    d["home_fips_2"] = d["partner"].map({p: fips_of(p) or "" for p in partners})
    if tax.uses_leaders:
        d["actor1_leader"] = _leader_flag(d, "actor1", leaders)
        d["actor2_leader"] = _leader_flag(d, "actor2", leaders)
    flags = {}
    for kind, cats in (("track", tax.tracks), ("theatre", tax.theatres)):
        for c in cats:
            flags[f"{kind}:{c.name}"] = _rule(d, c)
    for k, v in flags.items():
        d[k] = v
    d["articles"] = d["num_articles"].fillna(0).astype("int64")
    key = ["partner", "direction", *tax.unique_event_key]
    agg = {"event_id": ("event_id", "min"), "quad_class": ("quad_class", "min"), "goldstein": ("goldstein", "min"),
           "tone": ("avg_tone", "mean"), "records": ("event_id", "size"), "articles": ("articles", "sum"),
           **{k: (k, "max") for k in flags}}
    return d.groupby(key, dropna=False, sort=False).agg(**agg).reset_index()


def pandas_indicators(ue, totals, tax, a: str, b: str):
    """indicators.indicators_sql in pandas: per month x track (all + each) x direction (both, a>b, b>a)."""
    import numpy as np
    import pandas as pd

    ue = ue.copy()
    ue["period"] = ue["event_date"].dt.to_period("M").dt.to_timestamp()
    for q in (1, 2, 3, 4):
        ue[f"quad{q}"] = (ue["quad_class"] == q).astype("int64")
    periods = pd.DatetimeIndex(sorted(set(totals.index) | set(pd.DatetimeIndex(ue["period"].unique()))), name="period")
    frames = []
    for tr in ["all", *(c.name for c in tax.tracks)]:
        sub = ue if tr == "all" else ue[ue[f"track:{tr}"].to_numpy()]
        for direction in ("both", f"{a}>{b}", f"{b}>{a}"):
            s = sub if direction == "both" else sub[(sub["direction"] == direction).to_numpy()]
            g = s.groupby("period").agg(
                events=("event_id", "size"), records=("records", "sum"), articles=("articles", "sum"),
                quad1=("quad1", "sum"), quad2=("quad2", "sum"), quad3=("quad3", "sum"), quad4=("quad4", "sum"),
                goldstein_sum=("goldstein", "sum"), goldstein_mean=("goldstein", "mean"), mean_tone=("tone", "mean"))
            g = g.reindex(periods)
            n = g["events"]
            f = pd.DataFrame(index=periods)
            for c in ("events", "records", "articles", "quad1", "quad2", "quad3", "quad4"):
                f[c] = g[c].fillna(0).astype("int64")
            f["all_events"] = totals["all_events"].reindex(periods)
            f["share_of_all"] = np.where(f["all_events"] > 0, f["records"] / f["all_events"], np.nan)
            for q in (1, 2, 3, 4):
                f[f"quad{q}_share"] = g[f"quad{q}"] / n
            f["goldstein_sum"] = g["goldstein_sum"].fillna(0.0)
            f["goldstein_mean"] = g["goldstein_mean"]
            f["net_cooperation"] = (g["quad1"] + g["quad2"] - g["quad3"] - g["quad4"]) / n
            f["mean_tone"] = g["mean_tone"]
            f.insert(0, "direction", direction)
            f.insert(0, "theatre", "all")
            f.insert(0, "track", tr)
            frames.append(f.reset_index())
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "dyad", f"{a}-{b}")
    return out.sort_values(["period", "track", "theatre", "direction"], ignore_index=True)


def pandas_compare(ue, totals, tax, focal: str, partners: list[str]):
    """compare.compare_sql (without leader contacts) in pandas: one row per partner, with ranks."""
    import numpy as np
    import pandas as pd

    ue = ue.copy()
    ue["coop"] = ue["quad_class"].isin([1, 2]).astype("int64") - ue["quad_class"].isin([3, 4]).astype("int64")
    g = ue.groupby("partner")
    prof = pd.DataFrame({"events": g.size(), "records": g["records"].sum(),
                         "net_cooperation": g["coop"].sum() / g.size(), "goldstein_mean": g["goldstein"].mean(),
                         "mean_tone": g["tone"].mean()})
    for c in tax.tracks:
        prof[f"{c.name}_share"] = g[f"track:{c.name}"].mean()
    tot = totals[totals["all_events"] > 0]["all_events"]
    ue["month"] = ue["event_date"].dt.to_period("M").dt.to_timestamp()
    pm = ue.groupby(["partner", "month"])["records"].sum()
    x = (tot.index.year * 12 + tot.index.month).to_numpy(float)
    trend = {}
    for p in prof.index:
        share = (pm.loc[p].reindex(tot.index).fillna(0) / tot).to_numpy() if p in pm.index.levels[0] else np.zeros(len(tot))
        mean = share.mean()
        if len(share) >= 3 and mean > 0:
            slope = np.cov(x, share, bias=True)[0, 1] / np.var(x)
            trend[p] = 12 * slope / mean
        else:
            trend[p] = np.nan
    prof["all_events"] = int(totals["all_events"].sum())
    prof["share_of_all"] = prof["records"] / prof["all_events"]
    prof["trend"] = pd.Series(trend)
    out = prof.reindex(partners)
    out.index.name = "partner"
    out = out.reset_index()
    out.insert(0, "focal", focal)
    for metric in ("share_of_all", "net_cooperation", "trend"):
        out[f"rank_{metric}"] = out[metric].rank(ascending=False, method="min")
    return out


def _leaders_pandas():
    from dyadwatch.measures.frame import leaders_table

    return leaders_table().to_pandas(date_as_object=False)


def run_pandas(kind: str, how: str, store_dir: str, repeat: int, dump: str | None) -> dict:
    from dyadwatch.measures.frame import default_taxonomy

    tax = default_taxonomy(None)
    partners = [PARTNER] if kind == "indicators" else PARTNERS
    out: dict = {}

    def compute(df, totals, leaders):
        ue = pandas_unique_events(df, tax, FOCAL, partners, leaders)
        if kind == "indicators":
            return pandas_indicators(ue, totals, tax, FOCAL, PARTNER)
        return pandas_compare(ue, totals, tax, FOCAL, partners)

    if how == "naive":
        t0 = time.perf_counter()
        df = load_pandas(store_dir)
        totals = monthly_totals(store_dir)
        leaders = _leaders_pandas()
        out["load"] = time.perf_counter() - t0
        out["rows_loaded"] = len(df)
        out["frame_bytes"] = int(df.memory_usage(deep=False).sum())
        call = lambda: compute(df, totals, leaders)  # noqa: E731
    elif how == "pushdown":
        def call():
            df = load_pandas(store_dir, dyad_expr(FOCAL, partners))
            return compute(df, monthly_totals(store_dir), _leaders_pandas())
    else:  # polars
        import polars as pl

        def call():
            lf = pl.scan_parquet(part_paths(store_dir), hive_partitioning=True)
            a1, a2 = pl.col("actor1_country"), pl.col("actor2_country")
            lf = lf.filter(((a1 == FOCAL) & a2.is_in(partners)) | ((a2 == FOCAL) & a1.is_in(partners)))
            df = _to_pandas(lf.select(["source", *COLUMNS]).collect().to_arrow())
            return compute(df, monthly_totals(store_dir), _leaders_pandas())
    res = call()  # warm-up
    out["run"] = _times(call, repeat)
    out["rows_out"] = len(res)
    if dump:
        res.to_parquet(dump)
    return out


# ------------------------------------------------------------------------------ checks


def check(kind: str, duck_path: str, other_path: str) -> str:
    """Compare a pandas/polars output with dyadwatch's; '' when they agree, else the first difference."""
    import numpy as np
    import pandas as pd

    d = pd.read_parquet(duck_path)
    o = pd.read_parquet(other_path)
    if kind == "indicators":
        key = ["period", "track", "theatre", "direction"]
        d["period"] = pd.to_datetime(d["period"]).values.astype("datetime64[D]")
        o["period"] = pd.to_datetime(o["period"]).values.astype("datetime64[D]")
        exact = ["events", "records", "articles", "all_events", "quad1", "quad2", "quad3", "quad4"]
        close = ["share_of_all", "goldstein_sum", "goldstein_mean", "net_cooperation", "mean_tone", "quad1_share"]
    else:
        key = ["partner"]
        exact = ["events", "records", "rank_share_of_all", "rank_net_cooperation", "rank_trend"]
        close = ["share_of_all", "net_cooperation", "goldstein_mean", "mean_tone", "trend", "diplomacy_share",
                 "leaders_share"]
    m = d.merge(o, on=key, how="outer", suffixes=("_d", "_o"), indicator=True)
    if (m["_merge"] != "both").any():
        return f"{int((m['_merge'] != 'both').sum())} rows only on one side"
    for c in exact:
        a, b = m[f"{c}_d"].astype(float).fillna(-1), m[f"{c}_o"].astype(float).fillna(-1)
        if not (a == b).all():
            i = int(np.flatnonzero((a != b).to_numpy())[0])
            return f"{c} differs at {m.loc[i, key].to_dict()}: {a[i]} vs {b[i]}"
    for c in close:
        a, b = m[f"{c}_d"].astype(float).to_numpy(), m[f"{c}_o"].astype(float).to_numpy()
        # dyadwatch rounds each unique event's tone to a millionth (frame.TONE_SCALE, for exactness
        # across engines), so a mean of tones may differ from the unrounded one by up to 5e-7
        atol = 1e-6 if c == "mean_tone" else 1e-12
        if not np.allclose(a, b, rtol=1e-9, atol=atol, equal_nan=True):
            i = int(np.flatnonzero(~np.isclose(a, b, rtol=1e-9, atol=atol, equal_nan=True))[0])
            return f"{c} differs at {m.loc[i, key].to_dict()}: {a[i]} vs {b[i]}"
    return ""


# ------------------------------------------------------------------------------ driver


def _summary(xs: list[float]) -> dict:
    return {"best": min(xs), "median": statistics.median(xs), "runs": len(xs)}


def _times(fn, repeat: int) -> dict:
    xs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        xs.append(time.perf_counter() - t0)
    return _summary(xs)


def worker(a) -> int:
    family, _, kind = a.worker.rpartition("-")
    if family == "dyadwatch":
        res = run_dyadwatch(kind, a.store, a.repeat, a.dump)
    else:
        how = {"pandas": "naive", "pandas-pushdown": "pushdown", "polars": "polars"}[family]
        res = run_pandas(kind, how, a.store, a.repeat, a.dump)
    print("RESULT " + json.dumps(res))
    return 0


def run_child(name: str, store: str, repeat: int, dump: str | None) -> dict:
    cmd = [sys.executable, __file__, "--worker", name, "--store", store, "--repeat", str(repeat)]
    if dump:
        cmd += ["--dump", dump]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    lines = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        return {"error": (err.strip().splitlines() or ["exit %d" % proc.returncode])[-1], "wall": wall}
    res = json.loads(lines[-1][7:])
    res["peak_rss_gb"] = usage.ru_maxrss / 1024**2
    res["wall"] = wall
    notes = [ln for ln in err.splitlines() if ln.startswith("note:")]
    if notes:
        res["notes"] = notes
    return res


def machine() -> str:
    import duckdb
    import pandas
    import polars
    import pyarrow

    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, duckdb {duckdb.__version__}, pyarrow {pyarrow.__version__}, "
            f"pandas {pandas.__version__}, polars {polars.__version__}")


def fmt(x: float | None) -> str:
    return "—" if x is None else (f"{x:.3f}" if x < 10 else f"{x:.1f}")


def store_facts(store: str) -> str:
    from dyadwatch.store import Store

    st = Store(store)
    with st.catalog.open() as c:
        rows, parts, y0, y1 = c.execute("SELECT sum(rows), count(*), min(year), max(year) FROM parts").fetchall()[0]
    size = sum(p.stat().st_size for p in (Path(store) / "events").rglob("*.parquet"))
    return f"{rows:,} events, {y0}-{y1}, {parts:,} parts, {size / 1e9:.2f} GB of Parquet"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", required=True, help="store folder (bench/make_store.py)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per contestant after a warm-up [5]")
    ap.add_argument("--only", help="comma-separated contestants (default: all): " + ", ".join(CONTESTANTS))
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=DIR",
                    help="another layout of the same store: dyadwatch contestants only")
    ap.add_argument("--no-check", action="store_true", help="skip the pandas/polars vs dyadwatch output check")
    ap.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the frame and the query")
    ap.add_argument("--json", help="write all results here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--dump", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        return worker(a)
    if a.explain:
        explain(a.store)
        return 0
    names = a.only.split(",") if a.only else CONTESTANTS
    print(f"machine: {machine()}")
    print(f"store:   {a.store}: {store_facts(a.store)}")
    tmp = tempfile.mkdtemp(prefix="bench-measures-")
    results = []
    runs = [("store", a.store, n) for n in names]
    for v in a.variant:
        vname, vdir = v.split("=", 1)
        print(f"variant: {vname}: {vdir}: {store_facts(vdir)}")
        runs += [(vname, vdir, n) for n in names if n.startswith("dyadwatch")]
    for layout, store, name in runs:
        kind = name.rpartition("-")[2]
        dump = str(Path(tmp) / f"{layout}-{name}.parquet") if not a.no_check else None
        print(f"... {layout:<24} {name}", file=sys.stderr, flush=True)
        r = run_child(name, store, a.repeat, dump)
        r.update(layout=layout, contestant=name, kind=kind)
        if dump and not name.startswith("dyadwatch") and "error" not in r:
            ref = Path(tmp) / f"store-dyadwatch-{kind}.parquet"
            r["agrees"] = check(kind, str(ref), dump) if ref.exists() else "no reference"
        results.append(r)
        print(f"    {json.dumps(r)}", file=sys.stderr, flush=True)

    print()
    print("| layout | contestant | best s | median s | target | split (median s) | peak RSS GB | agrees |")
    print("|---|---|---:|---:|---|---|---:|---|")
    for r in results:
        if "error" in r:
            print(f"| {r['layout']} | {r['contestant']} | error: {r['error']} | | | | | |")
            continue
        tgt = TARGETS[r["kind"]]
        if r["contestant"].startswith("dyadwatch"):
            t = r["end_to_end"]
            split = ", ".join(f"{k} {fmt(v['median'])}" for k, v in r["split"].items())
            if "core" in r:
                split += f"; without contacts {fmt(r['core']['median'])}"
            ok = "met" if t["median"] < tgt else "missed"
        else:
            t = r["run"]
            split = f"load {fmt(r['load'])} (once, not in best/median)" if "load" in r else "load included"
            ok = "met" if t["median"] + r.get("load", 0) < tgt else "missed"
        agree = {"": "yes", None: ""}.get(r.get("agrees"), r.get("agrees"))
        print(f"| {r['layout']} | {r['contestant']} | {fmt(t['best'])} | {fmt(t['median'])} | < {tgt} s: {ok} | "
              f"{split} | {r['peak_rss_gb']:.2f} | {agree} |")
    if a.json:
        Path(a.json).write_text(json.dumps({"machine": machine(), "store": a.store, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
