"""Build a large synthetic dyadwatch store for the measures benchmark, directly in the store's layout.

    python bench/make_store.py --events 50000000 --years 10 --out /tmp/bench-store-50m --seed 0

The store is what `dyadwatch fetch gdelt` + `ingest` (no country filter) would leave after ten years of
GDELT 2.0 15-minute exports, without the exports: Parquet parts under
`events/source=gdelt2/year=Y/month=M/part-<batch>_0.parquet` (zstd, EVENT_SCHEMA minus the hive column
`source`, written with DuckDB's COPY like `Store._write_parts`), and a catalog `catalog.duckdb` (the
store's own DDL) holding one `files` row per export, one `parts` row per part and the `daily_totals` of
every (export, day). `Store(DIR).connect()`, `.status()` and `.daily_totals()` read it as any store.

How the rows are made (vectorised numpy + Arrow, one event month at a time, months in parallel):

- volume: `--events` rows in all, per month proportional to its days, growing `--growth` a year (8 %),
  with 5 % noise; exports every 15 minutes; an ingest batch is 256 exports (store.BATCH_FILES), so a
  month holds ~12 "main" parts plus small parts of later batches that carried late-dated events;
- report lag (date_added - event_date), as bench/make_gdelt_input.py: 7 % one day late, 2 % 2-30
  days, 1 % a year; the rest the same day;
- near-duplicates: a real-world event is reported by 1 + Geometric(0.7) - 1 records (mean 1.43, so ~30 %
  of the rows repeat another row's source, day, actor codes, event code and place); the repeats come
  in later exports (up to 36 h), with their own id, article count, tone, URL and sometimes actor name;
- actors: actor 1 has a country 62 % of the time, actor 2 48 % (the others are bare roles such as
  `COP`, or no actor); countries drawn from a skewed distribution over ~150 CAMEO states and a few
  regions (USA 20 %, CHN 5.5 %, GBR 4.5 %, RUS 4 % ...); 35 % of two-country rows are domestic;
  salient dyads are injected on top at fixed shares of all rows with month-to-month variation and
  episodes (RUS-TUR 0.11 %: the 2015-11 jet shoot-down, Karabakh 2020, the 2022 grain deal; RUS-CHN,
  RUS-IND, RUS-IRN, RUS-PRK, RUS-UKR from 2022, USA-CHN ...);
- roles (type1): none 52 %, GOV 20 %, MIL, BUS, MED, ...; 3 % carry a type2; a GOV actor of a country
  in data/leaders.yaml is named after a leader in office that month 30 % of the time;
- event codes from data/lookups/CAMEO.eventcodes.txt with root shares as in GDELT (consult 30 %,
  statements 11 %, ...), quad class from the root (cameo_root_quad_goldstein_DERIVED.csv), Goldstein
  from CAMEO.goldsteinscale.txt; tone depends on the quad class;
- place: the home country (FIPS) of actor 1 (50 %) or actor 2, else elsewhere, with 8 % of international
  rows in a conflict theatre (SY, UP, IZ, AF, LY, AJ, AM, GG ...); 1 % have no place; place names are the
  country, its capital or (2 % near the Black Sea) "Black Sea ...";
- num_articles ~ 1 + floor(lognormal) (median 2, p90 ~8), URLs unique per record.

Deterministic for a given seed and arguments.

After building, `dyadwatch compact --store DIR` rewrites it as one sorted part per month (the layout
the measures benchmark reports as "compacted").
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from importlib import resources
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from dyadwatch.knowledge.schema import EVENT_COLUMNS, EVENT_SCHEMA  # noqa: E402
from dyadwatch.store import CATALOG_DDL  # noqa: E402

SOURCE = "gdelt2"
FIRST_ID = 1_000_000_000
FILE_SECONDS = 900  # one GDELT 2.0 export per 15 minutes
BATCH_FILES = 256  # store.BATCH_FILES: exports per ingest commit
LINES_PER_SLOT = 512  # source_line = 1 + rank + 512 * months of lag (unique per export)
FILE_COLUMNS = [c for c in EVENT_COLUMNS if c != "source"]  # `source` lives in the hive path

# ------------------------------------------------------------------------------- distributions

# share (per mille) among country-coded actors; the rest of the mass goes to a Zipf tail of states
TOP_COUNTRIES = {
    "USA": 200, "CHN": 55, "GBR": 45, "RUS": 40, "IND": 25, "ISR": 25, "AUS": 24, "FRA": 24, "JPN": 20,
    "DEU": 20, "CAN": 18, "IRN": 18, "TUR": 16, "PAK": 15, "UKR": 14, "KOR": 14, "SYR": 12, "AFG": 12,
    "IRQ": 12, "EGY": 10, "SAU": 10, "NGA": 10, "ITA": 10, "PHL": 9, "PSE": 8, "ZAF": 8, "MEX": 8,
    "BRA": 8, "PRK": 7, "ESP": 8, "IDN": 7, "MYS": 6, "KEN": 6, "LBN": 6, "YEM": 6, "LBY": 5, "VNM": 5,
    "THA": 5, "NZL": 5, "IRL": 5, "GRC": 5, "ARE": 5, "QAT": 4, "BGD": 4, "SDN": 4, "ETH": 4, "VEN": 4,
    "POL": 4, "NLD": 4, "SWE": 4, "BEL": 3, "CHE": 3, "AUT": 3, "NOR": 3, "DNK": 3, "FIN": 3,
    "JOR": 3, "KWT": 3, "AZE": 3, "ARM": 3, "GEO": 3, "BLR": 3, "KAZ": 3, "CUB": 3, "COL": 3, "ARG": 3,
    "CHL": 2, "PER": 2, "SGP": 2, "TWN": 3, "MMR": 3, "LKA": 2, "NPL": 2, "SOM": 3, "MLI": 2, "UGA": 2,
}
REGIONS = {"EUR": 6, "AFR": 4, "MEA": 3, "SEA": 2, "WST": 2, "ASA": 2, "CAU": 1, "LAM": 1}
TAIL_STATES = 70  # Zipf tail: ~150 states in all
TAIL_MASS = 0.17

# salient dyads: share of ALL rows (either direction), on top of the independent draws
SALIENT = {
    ("RUS", "TUR"): 0.0009, ("RUS", "CHN"): 0.0018, ("RUS", "IND"): 0.0006, ("RUS", "IRN"): 0.0008,
    ("RUS", "PRK"): 0.00025, ("RUS", "UKR"): 0.003, ("RUS", "SYR"): 0.0012, ("USA", "RUS"): 0.006,
    ("USA", "CHN"): 0.006, ("USA", "IRN"): 0.003, ("USA", "PRK"): 0.0015, ("TUR", "SYR"): 0.0015,
    ("ISR", "PSE"): 0.004, ("IND", "PAK"): 0.002, ("CHN", "TWN"): 0.0008, ("RUS", "AZE"): 0.0003,
    ("RUS", "ARM"): 0.0003, ("TUR", "AZE"): 0.0003, ("USA", "AFG"): 0.002, ("SAU", "YEM"): 0.0008,
}
# (dyad, first month, last month, factor): episodes that multiply a dyad's share
EPISODES = [
    (("RUS", "TUR"), "2015-11", "2016-06", 2.5), (("RUS", "TUR"), "2016-07", "2016-12", 1.6),
    (("RUS", "TUR"), "2020-10", "2020-11", 1.8), (("RUS", "TUR"), "2022-03", "2022-08", 1.5),
    (("RUS", "UKR"), "2022-02", "2024-12", 4.0), (("RUS", "UKR"), "2015-01", "2015-03", 2.0),
    (("RUS", "CHN"), "2022-03", "2024-12", 1.3), (("RUS", "IND"), "2022-03", "2024-12", 1.4),
    (("RUS", "IRN"), "2022-06", "2024-12", 1.5), (("RUS", "PRK"), "2023-08", "2024-12", 2.5),
    (("USA", "PRK"), "2017-07", "2018-06", 2.5), (("USA", "IRN"), "2020-01", "2020-01", 3.0),
    (("RUS", "SYR"), "2015-09", "2017-12", 2.0), (("USA", "AFG"), "2021-07", "2021-09", 4.0),
    (("ISR", "PSE"), "2023-10", "2024-12", 3.0),
]
ACTOR1_HAS_COUNTRY, ACTOR2_HAS_COUNTRY, DOMESTIC = 0.62, 0.48, 0.35
ACTOR1_ROLE_ONLY, ACTOR2_ROLE_ONLY = 0.85, 0.70  # no country: a bare role (else no actor at all)

ROLES = {  # type1 of a country-coded actor ('' = the bare country)
    "": 52, "GOV": 20, "MIL": 4.5, "BUS": 3.5, "MED": 3, "CVL": 2.5, "ELI": 2, "COP": 2, "OPP": 1.5,
    "JUD": 1.5, "LEG": 1.5, "EDU": 1, "HLH": 1, "MNC": 1, "CRM": 1, "NGO": 0.8, "REB": 0.5, "SPY": 0.5,
    "REF": 0.5, "LAB": 0.5, "INS": 0.4, "AGR": 0.3, "ENV": 0.2, "HRI": 0.2, "SEP": 0.2,
}
KNOWN_GROUPS = ["UNO", "NAT", "EEC", "OPC", "IMF", "WBK", "ASN", "AFU"]

# event root -> share of rows (GDELT 2.0 around 2020), within a root: the x0 code 4x, 3-digit 1x, 4-digit 0.25x
ROOT_SHARES = {
    "01": 11.0, "02": 5.0, "03": 8.5, "04": 29.0, "05": 12.5, "06": 3.5, "07": 3.0, "08": 3.5,
    "09": 0.8, "10": 0.8, "11": 4.5, "12": 1.4, "13": 1.3, "14": 0.6, "15": 0.4, "16": 2.0, "17": 2.9,
    "18": 0.8, "19": 7.0, "20": 0.1,
}
CODE_BOOST = {"042": 6, "043": 6, "036": 5, "046": 4, "051": 4, "057": 3, "190": 5, "173": 3,
              "112": 3, "061": 3, "010": 2, "013": 1.5, "012": 1.5, "020": 2, "0874": 3, "163": 2}
CONFLICT_PLACES = {"SY": 20, "UP": 20, "IZ": 12, "AF": 10, "LY": 6, "AJ": 4, "AM": 4, "GG": 3, "YM": 5,
                   "KZ": 2, "UZ": 1, "KG": 1, "TI": 1, "TX": 0.5, "SU": 3, "SO": 3, "ML": 2}
BLACK_SEA = {"RS", "TU", "UP", "RO", "BU", "GG"}
LATE = [(1, 0.07), ("2-30", 0.02), (365, 0.01)]  # as bench/make_gdelt_input.py
DOMAINS = 400


def _lookup(name: str) -> list[dict[str, str]]:
    text = resources.files("dyadwatch").joinpath("data", "lookups", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines(), delimiter="\t"))


class Vocab:
    """Every lookup the generator draws from, built once per process (independent of the seed)."""

    def __init__(self) -> None:
        from dyadwatch.knowledge.codebook import countries
        from dyadwatch.knowledge.taxonomy import fips_of

        names = countries()
        info = {r["fips"]: r for r in _lookup("countryInfo.txt") if r.get("fips")}
        states = [c for c in names if len(c) == 3 and fips_of(c) and c not in TOP_COUNTRIES]
        rng = np.random.default_rng(12345)
        tail = [states[i] for i in rng.permutation(len(states))[:TAIL_STATES]]
        w_tail = 1.0 / (np.arange(len(tail)) + 8.0) ** 1.1
        w_top = np.array(list(TOP_COUNTRIES.values()) + list(REGIONS.values()), float)
        w_top = w_top / w_top.sum() * (1 - TAIL_MASS)
        self.countries = list(TOP_COUNTRIES) + list(REGIONS) + tail
        self.country_p = np.concatenate([w_top, w_tail / w_tail.sum() * TAIL_MASS])
        self.cidx = {c: i for i, c in enumerate(self.countries)}
        self.roles = list(ROLES)
        rp = np.array(list(ROLES.values()), float)
        self.role_p = rp / rp.sum()
        bare = rp.copy()
        bare[0] = 0
        self.bare_role_p = bare / bare.sum()  # roles of actors without a country
        nr = len(self.roles)
        # actor code vocab: (country or none) x role; index = c * nr + r, c == nc: no country
        self.code_vocab = pa.array([(c + r) or None for c in [*self.countries, ""] for r in self.roles])
        self.nr = nr
        self.country_vocab = pa.array([*self.countries, None])
        self.role_vocab = pa.array([r or None for r in self.roles])
        type_label = {r["CODE"]: r["LABEL"].upper() for r in _lookup("cameoType.txt")}
        # name vocab: per (country, role) code the generic name; then leaders appended
        generic = []
        for c in [*self.countries, ""]:
            cname = names.get(c, "").upper()
            for r in self.roles:
                if not c and not r:
                    generic.append(None)
                elif not r:
                    generic.append(cname)
                elif r == "GOV" and c:
                    generic.append(cname)
                else:
                    generic.append((cname + " " if c else "") + type_label.get(r, r))
        self.names = generic
        self.leader_terms: dict[str, list[tuple[int, dt.date, dt.date | None]]] = {}
        doc = yaml.safe_load(resources.files("dyadwatch").joinpath("data", "leaders.yaml").read_text("utf-8"))
        for country, people in (doc.get("countries") or {}).items():
            if country not in self.cidx:
                continue
            for person in people:
                self.names.append(person["name"])
                k = len(self.names) - 1
                for term in person.get("terms", []):
                    self.leader_terms.setdefault(country, []).append((k, _d(term["from"]), _d(term.get("to"))))
        self.name_vocab = pa.array(self.names)
        # FIPS of each country (None for regions) and the place vocab
        fips = [fips_of(c) for c in self.countries]
        places = sorted({f for f in fips if f} | set(CONFLICT_PLACES) | {r["fips"] for r in info.values()})
        self.places = places
        self.pidx = {p: i for i, p in enumerate(places)}
        self.home_place = np.array([self.pidx[f] if f else -1 for f in fips], np.int32)
        # elsewhere: the country marginal mapped to places, regions dropped
        p_else = np.zeros(len(places))
        for i, f in enumerate(fips):
            if f:
                p_else[self.pidx[f]] += self.country_p[i]
        self.else_p = p_else / p_else.sum()
        cp = np.zeros(len(places))
        for f, w in CONFLICT_PLACES.items():
            cp[self.pidx[f]] = w
        self.conflict_p = cp / cp.sum()
        self.place_vocab = pa.array([*places, None])
        full, capital, black = [], [], []
        for f in places:
            r = info.get(f, {})
            country = r.get("Country", f)
            full.append(country)
            capital.append(f"{r.get('Capital') or country}, {country}")
            black.append(f"Black Sea, {country}" if f in BLACK_SEA else country)
        self.fullname_vocab = pa.array([*full, *capital, *black, None])  # kind * (P+1) ...
        self.np_ = len(places)
        h = np.frombuffer(hashlib.sha256("places".encode()).digest() * 200, np.uint8)[: 2 * len(places)]
        self.lat = (h[: len(places)] / 255.0 * 120 - 50).astype(float)
        self.lon = (h[len(places) :] / 255.0 * 340 - 170).astype(float)
        self.black_sea = np.array([p in BLACK_SEA for p in places])
        # event codes
        codes = [r["CAMEOEVENTCODE"] for r in _lookup("CAMEO.eventcodes.txt")]
        codes = [c for c in codes if len(c) >= 3]  # roots ("04") are not event codes in the data
        gold = {r["CAMEOEVENTCODE"]: float(r["GOLDSTEINSCALE"]) for r in _lookup("CAMEO.goldsteinscale.txt")}
        quad_text = resources.files("dyadwatch").joinpath("data", "lookups", "cameo_root_quad_goldstein_DERIVED.csv")
        quad = {r["CAMEOEVENTCODE"]: int(r["GDELT_QuadClass"]) for r in csv.DictReader(quad_text.read_text().splitlines())}
        w = []
        for c in codes:
            share_in_root = 4.0 if len(c) == 3 and c.endswith("0") else (1.0 if len(c) == 3 else 0.25)
            w.append(share_in_root * CODE_BOOST.get(c, 1.0))
        w = np.array(w)
        roots = np.array([c[:2] for c in codes])
        for r, s in ROOT_SHARES.items():
            m = roots == r
            w[m] = w[m] / w[m].sum() * s
        self.codes = codes
        self.code_p = w / w.sum()
        self.event_code_vocab = pa.array(codes)
        self.base_vocab = pa.array([c[:3] for c in codes])
        self.root_vocab = pa.array([c[:2] for c in codes])
        self.quad = np.array([quad[c[:2]] for c in codes], np.int8)
        self.goldstein = np.array([gold.get(c, gold.get(c[:3], 0.0)) for c in codes])
        slugs = {"01": ["says", "statement", "comments"], "02": ["urges", "calls-for", "appeal"],
                 "03": ["pledges", "plans", "agreement-talks"], "04": ["talks", "visit", "phone-call"],
                 "05": ["praises", "deal", "cooperation"], "06": ["trade", "energy", "joint-exercise"],
                 "07": ["aid", "assistance", "relief"], "08": ["eases", "release", "retreat"]}
        self.slug_vocab = pa.array(
            [f"{s}-" for r in sorted(ROOT_SHARES) for s in slugs.get(r, ["news", "report", "crisis"])])
        self.code_slug0 = np.array([sorted(ROOT_SHARES).index(c[:2]) * 3 for c in codes], np.int32)
        words = ["news", "daily", "times", "post", "herald", "tribune", "wire", "journal"]
        tlds = ["com", "net", "org", "co.uk", "ru", "com.tr", "in", "cn"]
        dom = [f"https://www.{words[k % 8]}{k}.example.{tlds[k // 8 % 8]}" for k in range(DOMAINS)]
        self.domain_vocab = pa.array(dom)
        dp = 1.0 / (np.arange(DOMAINS) + 5.0)
        self.domain_p = dp / dp.sum()

    def leaders_in_office(self, country: str, first: dt.date, last: dt.date) -> list[int]:
        return sorted({k for k, a, b in self.leader_terms.get(country, []) if a <= last and (b is None or b >= first)})


def _d(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


_V: Vocab | None = None


def _vocab() -> Vocab:
    global _V
    if _V is None:
        _V = Vocab()
    return _V


# ------------------------------------------------------------------------------- the plan


def month_list(start: dt.date, years: int) -> list[tuple[int, int]]:
    out = []
    y, m = start.year, start.month
    for _ in range(12 * years):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def month_rows(months: list[tuple[int, int]], total: int, growth: float, seed: int) -> list[int]:
    rng = np.random.default_rng([seed, 99])
    days = np.array([_days_in(y, m) for y, m in months], float)
    t = np.arange(len(months)) / 12.0
    w = days * growth**t * np.exp(rng.normal(0, 0.05, len(months)))
    exact = w / w.sum() * total
    n = np.floor(exact).astype(np.int64)
    n[np.argsort(-(exact - n))[: total - n.sum()]] += 1  # largest remainders
    return n.tolist()


def _days_in(y: int, m: int) -> int:
    return ((dt.date(y + (m == 12), m % 12 + 1, 1)) - dt.date(y, m, 1)).days


def dyad_factors(months: list[tuple[int, int]], seed: int) -> dict[tuple[str, str], np.ndarray]:
    """Per salient dyad and month: AR(1) log-normal variation (sd 0.25) times its episodes."""
    rng = np.random.default_rng([seed, 7])
    keys = [f"{y:04d}-{m:02d}" for y, m in months]
    out = {}
    for d in SALIENT:
        e = rng.normal(0, 0.25 * np.sqrt(1 - 0.7**2), len(months))
        x = np.zeros(len(months))
        for i in range(len(months)):
            x[i] = (0.7 * x[i - 1] if i else 0) + e[i]
        f = np.exp(x - 0.25**2 / 2)
        for dd, a, b, k in EPISODES:
            if dd == d:
                f[[a <= key <= b for key in keys]] *= k
        out[d] = f
    return out


def batch_id(batch: int, t0: int, seed: int) -> str:
    """Like Store's: the commit time (after the batch's last export) and 8 hex digits."""
    ts = dt.datetime.fromtimestamp(t0 + ((batch + 1) * BATCH_FILES) * FILE_SECONDS + 600, dt.timezone.utc)
    return f"{ts:%Y%m%dT%H%M%S}-" + hashlib.md5(f"{seed}:{batch}".encode()).hexdigest()[:8]


# ------------------------------------------------------------------------------- one month


def make_month(job: dict) -> dict:
    """Generate one event month, write its parts, and return what the catalog records."""
    V = _vocab()
    y, m, n, seed = job["year"], job["month"], job["rows"], job["seed"]
    t0, n_files = job["t0"], job["n_files"]
    rng = np.random.default_rng([seed, y, m])
    first = dt.date(y, m, 1)
    ndays = _days_in(y, m)
    day0 = (first - dt.date(1970, 1, 1)).days

    # -- real-world events, each reported by `reps` records
    nb = int(n / 1.43 * 1.03) + 100
    reps = rng.geometric(0.7, nb)
    cum = np.cumsum(reps)
    nb = int(np.searchsorted(cum, n)) + 1
    reps = reps[:nb]
    reps[-1] -= int(cum[nb - 1] - n)
    # day: weekends quieter
    dow = (np.arange(ndays) + first.weekday()) % 7
    pday = np.where(dow >= 5, 0.8, 1.0)
    day = rng.choice(ndays, nb, p=pday / pday.sum()).astype(np.int32)

    nc = len(V.countries)
    c1 = rng.choice(nc, nb, p=V.country_p).astype(np.int32)
    c2 = rng.choice(nc, nb, p=V.country_p).astype(np.int32)
    has1 = rng.random(nb) < ACTOR1_HAS_COUNTRY
    has2 = rng.random(nb) < ACTOR2_HAS_COUNTRY
    both = has1 & has2
    dom = both & (rng.random(nb) < DOMESTIC)
    c2 = np.where(dom, c1, c2)
    # inject the salient dyads at their share of all rows this month
    u = rng.random(nb)
    edge = 0.0
    for (a, b), share in SALIENT.items():
        s = share * job["factors"][f"{a}-{b}"]
        hit = (u >= edge) & (u < edge + s)
        edge += s
        k = int(hit.sum())
        if k:
            flip = rng.random(k) < 0.5
            c1[hit] = np.where(flip, V.cidx[b], V.cidx[a])
            c2[hit] = np.where(flip, V.cidx[a], V.cidx[b])
            has1[hit] = True
            has2[hit] = True
    both = has1 & has2
    intl = both & (c1 != c2)
    nr = V.nr
    r1 = np.where(has1, rng.choice(nr, nb, p=V.role_p), rng.choice(nr, nb, p=V.bare_role_p)).astype(np.int32)
    r2 = np.where(has2, rng.choice(nr, nb, p=V.role_p), rng.choice(nr, nb, p=V.bare_role_p)).astype(np.int32)
    none1 = ~has1 & (rng.random(nb) >= ACTOR1_ROLE_ONLY)
    none2 = ~has2 & (rng.random(nb) >= ACTOR2_ROLE_ONLY)
    r1[none1] = 0
    r2[none2] = 0
    code1 = np.where(has1, c1, nc) * nr + r1
    code2 = np.where(has2, c2, nc) * nr + r2

    ev = rng.choice(len(V.codes), nb, p=V.code_p).astype(np.int32)
    quad = V.quad[ev]
    # place
    up = rng.random(nb)
    h1 = np.where(has1, V.home_place[c1], -1)
    h2 = np.where(has2, V.home_place[c2], -1)
    place = rng.choice(V.np_, nb, p=V.else_p).astype(np.int32)
    place = np.where(intl & (rng.random(nb) < 0.08), rng.choice(V.np_, nb, p=V.conflict_p), place)
    place = np.where((up < 0.75) & (h2 >= 0), h2, place)
    place = np.where((up < 0.5) & (h1 >= 0), h1, place)
    place[rng.random(nb) < 0.01] = V.np_  # no location
    nop = place == V.np_
    geo_kind = rng.choice(3, nb, p=[0.4, 0.58, 0.02])  # country, capital, "Black Sea"
    geo_kind = np.where((geo_kind == 2) & ~V.black_sea[np.minimum(place, V.np_ - 1)], 0, geo_kind)
    geo_type = np.where(geo_kind == 0, 1, np.where(rng.random(nb) < 0.9, 4, 5)).astype(np.int8)
    base_tone = rng.normal(np.where(quad <= 2, 0.5, -3.5), 2.5)
    lag = np.zeros(nb, np.int64)
    ul = rng.random(nb)
    lo = 0.0
    for d, share in LATE:
        hit = (ul >= lo) & (ul < lo + share)
        lag[hit] = rng.integers(2, 31, int(hit.sum())) if d == "2-30" else d
        lo += share
    base_t = (day0 + day.astype(np.int64) + lag) * 86400 + rng.integers(0, 86400, nb)
    root_ev = rng.random(nb) < 0.55
    known1 = np.where(rng.random(nb) < 0.01, rng.integers(0, len(KNOWN_GROUPS), nb), -1)
    known2 = np.where(rng.random(nb) < 0.01, rng.integers(0, len(KNOWN_GROUPS), nb), -1)
    t2_1 = np.where(rng.random(nb) < 0.03, rng.choice(nr, nb, p=V.bare_role_p), 0)
    t2_2 = np.where(rng.random(nb) < 0.03, rng.choice(nr, nb, p=V.bare_role_p), 0)

    # -- records
    b = np.repeat(np.arange(nb), reps)
    first_rec = np.ones(n, bool)
    first_rec[1:] = b[1:] != b[:-1]
    t = base_t[b] + np.where(first_rec, 0, rng.integers(0, 36 * 3600, n))
    fidx = (t - t0) // FILE_SECONDS + 1
    over = fidx >= n_files  # reported after the store's last export: reported later that day instead
    if over.any():
        day_first = ((day0 + day[b][over].astype(np.int64)) * 86400 - t0) // FILE_SECONDS + 1
        fidx[over] = rng.integers(np.minimum(day_first, n_files - 1), n_files)
    # names: generic by code; GOV actors of a country with leaders in office: a leader 30 % of the time
    name1 = code1[b].astype(np.int64)
    name2 = code2[b].astype(np.int64)
    last = dt.date(y, m, ndays)
    gov = V.roles.index("GOV")
    for name, c, r, has in ((name1, c1, r1, has1), (name2, c2, r2, has2)):
        cand = has[b] & (r[b] == gov) & (rng.random(n) < 0.3)
        cc = c[b]
        for country in V.leader_terms:
            ks = V.leaders_in_office(country, first, last)
            sel = cand & (cc == V.cidx[country])
            if ks and sel.any():
                name[sel] = np.array(ks)[rng.integers(0, len(ks), int(sel.sum()))]
    articles = (1 + np.floor(rng.lognormal(0.35, 1.0, n))).clip(1, 500).astype(np.int32)
    mentions = (articles + rng.geometric(0.6, n) - 1).astype(np.int32)
    sources = np.minimum(articles, 1 + rng.binomial(2, 0.2, n)).astype(np.int32)
    tone = np.round(base_tone[b] + rng.normal(0, 1.5, n), 4)

    # source_line: rank within (export, this month) + months of lag * 512; event id from both
    order = np.lexsort((rng.random(n), fidx))
    fs = fidx[order]
    starts = np.r_[0, np.flatnonzero(fs[1:] != fs[:-1]) + 1]
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    fmonth = ((t0 + fidx * FILE_SECONDS).astype("datetime64[s]").astype("datetime64[M]").astype(np.int64))
    lagm = fmonth - ((y - 1970) * 12 + m - 1)
    assert rank.max() < LINES_PER_SLOT and lagm.min() >= 0, (rank.max(), lagm.min())
    line = 1 + rank + LINES_PER_SLOT * np.minimum(lagm, 15)
    event_id = FIRST_ID + fidx * (LINES_PER_SLOT * 16) + line

    # -- assemble (sorted by event id: the order exports arrive)
    o = np.argsort(event_id, kind="stable")
    b, fidx, event_id, line = b[o], fidx[o], event_id[o], line[o]
    name1, name2, articles, mentions, sources, tone = name1[o], name2[o], articles[o], mentions[o], sources[o], tone[o]
    files_here, finv = np.unique(fidx, return_inverse=True)
    ts = (t0 + files_here * FILE_SECONDS).astype("datetime64[s]")
    file_names = pa.array([s.replace("-", "").replace(":", "").replace("T", "") + ".export.CSV"
                           for s in np.datetime_as_string(ts, unit="s")])
    pl = place[b]
    take = lambda vocab, idx: vocab.take(pa.array(idx))  # noqa: E731
    dom_i = rng.choice(DOMAINS, n, p=V.domain_p)
    added_day = (t0 + fidx * FILE_SECONDS) // 86400
    day_str = pa.array(np.datetime_as_string(np.unique(added_day).astype("datetime64[D]")))
    slug = pc.binary_join_element_wise(take(V.slug_vocab, V.code_slug0[ev[b]] + rng.integers(0, 3, n)),
                                       pa.array(event_id).cast(pa.string()), "")
    url = pc.binary_join_element_wise(
        take(V.domain_vocab, dom_i),
        pc.replace_substring(day_str.take(pa.array(np.searchsorted(np.unique(added_day), added_day))), "-", "/"),
        slug, "/")
    gk = geo_kind[b]
    full_idx = np.where(nop[b], 3 * V.np_, gk * V.np_ + np.minimum(pl, V.np_ - 1))
    adm1 = pc.binary_join_element_wise(
        take(V.place_vocab, pl),
        pa.array(np.where(geo_type[b] == 1, "", np.char.add("0", (event_id % 9 + 1).astype(str)))), "")
    cols = {
        "event_id": pa.array(event_id),
        "event_date": pa.array((day0 + day[b]).astype(np.int32)).cast(pa.date32()),
        "date_added": pa.array(t0 + fidx * FILE_SECONDS).cast(pa.timestamp("s")),
        "actor1_code": take(V.code_vocab, code1[b]),
        "actor1_name": take(V.name_vocab, name1),
        "actor1_country": take(V.country_vocab, np.where(has1, c1, nc)[b]),
        "actor1_known_group": pa.array(np.array(KNOWN_GROUPS + [None], object)[known1[b]]),
        "actor1_type1": take(V.role_vocab, r1[b]),
        "actor1_type2": take(V.role_vocab, t2_1[b]),
        "actor1_type3": pa.nulls(n, pa.string()),
        "actor2_code": take(V.code_vocab, code2[b]),
        "actor2_name": take(V.name_vocab, name2),
        "actor2_country": take(V.country_vocab, np.where(has2, c2, nc)[b]),
        "actor2_known_group": pa.array(np.array(KNOWN_GROUPS + [None], object)[known2[b]]),
        "actor2_type1": take(V.role_vocab, r2[b]),
        "actor2_type2": take(V.role_vocab, t2_2[b]),
        "actor2_type3": pa.nulls(n, pa.string()),
        "is_root_event": pa.array(root_ev[b]),
        "event_code": take(V.event_code_vocab, ev[b]),
        "event_base_code": take(V.base_vocab, ev[b]),
        "event_root_code": take(V.root_vocab, ev[b]),
        "quad_class": pa.array(quad[b]),
        "goldstein": pa.array(V.goldstein[ev[b]]),
        "num_mentions": pa.array(mentions),
        "num_sources": pa.array(sources),
        "num_articles": pa.array(articles),
        "avg_tone": pa.array(tone),
        "action_geo_type": pa.array(np.where(nop[b], 0, geo_type[b]).astype(np.int8)),
        "action_geo_fullname": take(V.fullname_vocab, full_idx),
        "action_geo_country": take(V.place_vocab, pl),
        "action_geo_adm1": adm1,
        "action_geo_lat": pa.array(np.where(nop[b], np.nan, V.lat[np.minimum(pl, V.np_ - 1)] + rng.normal(0, 0.5, n)),
                                   from_pandas=True),
        "action_geo_lon": pa.array(np.where(nop[b], np.nan, V.lon[np.minimum(pl, V.np_ - 1)] + rng.normal(0, 0.5, n)),
                                   from_pandas=True),
        "source_url": url,
        "source_file": file_names.take(pa.array(finv)),
        "source_line": pa.array(line),
    }
    schema = pa.schema([EVENT_SCHEMA.field(c) for c in FILE_COLUMNS])
    table = pa.table(cols).select(FILE_COLUMNS).cast(schema)

    # -- parts: one per ingest batch that carried rows of this month
    batch = fidx // BATCH_FILES
    cuts = np.r_[0, np.flatnonzero(batch[1:] != batch[:-1]) + 1, n]
    out_dir = Path(job["out"]) / "events" / f"source={SOURCE}" / f"year={y}" / f"month={m}"
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET threads=1")
    parts = []
    for i in range(len(cuts) - 1):
        lo_, hi_ = int(cuts[i]), int(cuts[i + 1])
        bid = batch_id(int(batch[lo_]), t0, seed)
        path = out_dir / f"part-{bid}_0.parquet"
        con.register("chunk", table.slice(lo_, hi_ - lo_))
        con.execute(f"COPY (SELECT * FROM chunk) TO '{path.as_posix()}' (FORMAT parquet, COMPRESSION zstd)")
        con.unregister("chunk")
        parts.append((path.relative_to(job["out"]).as_posix(), SOURCE, y, m, bid, hi_ - lo_))
    con.close()
    # totals per (export, day): every row read, as ingest records them
    key = fidx.astype(np.int64) * 64 + day[b]
    uk, cnt = np.unique(key, return_counts=True)
    return {"parts": parts, "tot_file": uk // 64, "tot_day": day0 + uk % 64, "tot_n": cnt,
            "bytes": sum((Path(job["out"]) / p[0]).stat().st_size for p in parts)}


# ------------------------------------------------------------------------------- the catalog


def write_catalog(out: Path, results: list[dict], t0: int, seed: int) -> None:
    tf = np.concatenate([r["tot_file"] for r in results])
    td = np.concatenate([r["tot_day"] for r in results])
    tn = np.concatenate([r["tot_n"] for r in results])
    files = np.unique(tf)
    rows_per_file = np.bincount(np.searchsorted(files, tf), weights=tn).astype(np.int64)
    ts = (t0 + files * FILE_SECONDS).astype("datetime64[s]")
    names = np.char.add(np.char.replace(np.char.replace(np.char.replace(
        np.datetime_as_string(ts, unit="s"), "-", ""), ":", ""), "T", ""), ".export.CSV")
    md5 = np.array([hashlib.md5(f"{seed}:{int(f)}".encode()).hexdigest() for f in files])
    fb = files // BATCH_FILES
    batches = np.array([batch_id(int(x), t0, seed) for x in np.unique(fb)])[np.searchsorted(np.unique(fb), fb)]
    ingested = (t0 + (fb + 1) * BATCH_FILES * FILE_SECONDS + 600).astype("datetime64[s]")
    files_t = pa.table({
        "md5": md5, "name": np.char.add(names, ".zip"),
        "path": np.char.add(np.char.add(f"{out}/downloads/gdelt2/", names), ".zip"),
        "size": rows_per_file * 120, "source": np.full(len(files), SOURCE), "rows_read": rows_per_file,
        "rows_kept": rows_per_file, "rows_stored": rows_per_file, "rows_rejected": np.zeros(len(files), np.int64),
        "rows_filtered": np.zeros(len(files), np.int64), "countries": pa.nulls(len(files), pa.string()),
        "batch": batches, "ingested_at": pa.array(ingested), "seconds": np.round(rows_per_file * 2e-5, 4),
    })
    tot_t = pa.table({"md5": md5[np.searchsorted(files, tf)], "source": np.full(len(tf), SOURCE),
                      "day": pa.array(td.astype(np.int32)).cast(pa.date32()), "events": tn.astype(np.int64)})
    parts_t = pa.Table.from_pylist(
        [dict(zip(("path", "source", "year", "month", "batch", "rows"), p)) for r in results for p in r["parts"]])
    cat = out / "catalog.duckdb"
    if cat.exists():
        cat.unlink()
    con = duckdb.connect(str(cat))
    con.execute(CATALOG_DDL)
    con.execute("BEGIN")
    con.register("p", parts_t)
    con.execute("INSERT INTO parts SELECT path, source, year, month, batch, rows FROM p ORDER BY path")
    con.register("f", files_t)
    con.execute("INSERT INTO files SELECT * FROM f ORDER BY name")
    con.register("t", tot_t)
    con.execute("INSERT INTO daily_totals SELECT md5, source, day, events FROM t")
    con.execute("COMMIT")
    con.close()


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=50_000_000, help="rows in all [50000000]")
    ap.add_argument("--years", type=int, default=10, help="years of event dates [10]")
    ap.add_argument("--start", default="2015-01", help="first month, YYYY-MM [2015-01]")
    ap.add_argument("--growth", type=float, default=1.08, help="volume factor per year [1.08]")
    ap.add_argument("--out", required=True, help="store folder to create (must not exist, or be empty)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel month writers [cores]")
    a = ap.parse_args(argv)
    out = Path(a.out).resolve()
    if out.exists() and any(out.iterdir()):
        ap.error(f"{out} exists and is not empty")
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    start = dt.date.fromisoformat(a.start + "-01")
    months = month_list(start, a.years)
    rows = month_rows(months, a.events, a.growth, a.seed)
    factors = dyad_factors(months, a.seed)
    t0 = int(dt.datetime.combine(start, dt.time(), dt.timezone.utc).timestamp())
    y_end, m_end = months[-1]
    n_files = (_days_in(y_end, m_end) + (dt.date(y_end, m_end, 1) - start).days) * 86400 // FILE_SECONDS
    jobs = [
        {"year": y, "month": m, "rows": n, "seed": a.seed, "t0": t0, "n_files": n_files, "out": str(out),
         "factors": {f"{d[0]}-{d[1]}": float(f[i]) for d, f in factors.items()}}
        for i, ((y, m), n) in enumerate(zip(months, rows))
    ]
    results = []
    with ProcessPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        for k, r in enumerate(pool.map(make_month, jobs), 1):
            results.append(r)
            if k % 12 == 0:
                print(f"  {k}/{len(jobs)} months, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    write_catalog(out, results, t0, a.seed)
    from dyadwatch.store import Store

    st = Store(out)
    with st.catalog.open() as c:
        n_rows, n_parts = c.execute("SELECT sum(rows), count(*) FROM parts").fetchall()[0]
        n_files, n_tot = c.execute("SELECT count(*), (SELECT count(*) FROM daily_totals) FROM files").fetchall()[0]
    events_bytes = dir_size(out / "events")
    print(
        f"{out}: {n_rows:,} events in {n_parts:,} parts ({events_bytes / 1e9:.2f} GB of Parquet, "
        f"{dir_size(out) / 1e9:.2f} GB in all), {n_files:,} files and {n_tot:,} daily_totals rows in the "
        f"catalog; {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
