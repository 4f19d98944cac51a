"""Shared by the web tests (no tests here): a hand-made GDELT 2.0 fixture with a planted level shift,
written as export files and ingested with the real ingest, and a helper that runs `dyadwatch serve`.

The fixture, 24 months of 2019-2020 (one export file per month):
- RUS-TUR events: 2019 months hold BASE[m] events, 2020 months AFTER[m] (the planted jump is January
  2020); each event on its own day (1 + i), directions alternating, so every row is its own unique event;
  event i of a month has 1 + i articles, so a month's most-reported events are its last ones;
- January 2020 also holds HOSTILE: a RUS>TUR row whose actor name is markup and whose source URL is a
  `javascript:` URL (the pages must show both as text, and make no link);
- a Putin-Erdogan phone call in both directions on 2020-03-10 (one contact), and a visit on 2020-06-15;
- per month 3 RUS-CHN events, and 20 USA-FRA filler rows (the store's totals of all events).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from dyadwatch.sources.gdelt import V2_COLUMNS
from dyadwatch.store import Store

COL = {c: i for i, c in enumerate(V2_COLUMNS)}
BASE = [4, 6, 5, 3, 6, 4, 5, 6, 4, 5, 3, 5]  # RUS-TUR events per month of 2019
AFTER = [20, 22, 18, 21, 19, 23, 20, 22, 19, 21, 20, 22]  # ... of 2020
HOSTILE_NAME = '<img src=x onerror="window.__pwned=1">'
HOSTILE_URL = "javascript:window.__pwned=2"
CALL_URL = "https://news.example/2020/03/10/putin-erdogan-call"
NAMES = {"RUS": "RUSSIA", "TUR": "TURKEY", "CHN": "CHINA", "USA": "UNITED STATES", "FRA": "FRANCE"}
GEO = {"RS": "Moscow, Moskva, Russia", "TU": "Ankara, Ankara, Turkey", "SY": "Idlib, Idlib, Syria",
       "CH": "Beijing, Beijing, China", "FR": "Paris, Ile-de-France, France"}


def gdelt_line(eid: int, day: dt.date, a1: str, a2: str, code: str, quad: int, goldstein: float, articles: int,
               geo: str, url: str, *, a1name: str | None = None, a2name: str | None = None, a1type: str = "",
               a2type: str = "", tone: float = 1.0) -> str:
    """One GDELT 2.0 export line (61 tab-separated columns)."""
    c = [""] * len(V2_COLUMNS)
    c[COL["GLOBALEVENTID"]] = str(eid)
    c[COL["SQLDATE"]], c[COL["MonthYear"]], c[COL["Year"]] = day.strftime("%Y%m%d"), day.strftime("%Y%m"), str(day.year)
    c[COL["FractionDate"]] = f"{day.year + (day.timetuple().tm_yday - 1) / 365:.4f}"
    for n, cc, name, typ in ((1, a1, a1name, a1type), (2, a2, a2name, a2type)):
        c[COL[f"Actor{n}Code"]] = cc + typ
        c[COL[f"Actor{n}Name"]] = name or NAMES[cc]
        c[COL[f"Actor{n}CountryCode"]] = cc
        c[COL[f"Actor{n}Type1Code"]] = typ
    c[COL["IsRootEvent"]] = "1"
    c[COL["EventCode"]], c[COL["EventBaseCode"]], c[COL["EventRootCode"]] = code, code[:3], code[:2]
    c[COL["QuadClass"]], c[COL["GoldsteinScale"]] = str(quad), str(goldstein)
    c[COL["NumMentions"]], c[COL["NumSources"]], c[COL["NumArticles"]] = str(articles), "1", str(articles)
    c[COL["AvgTone"]] = str(tone)
    c[COL["ActionGeo_Type"]], c[COL["ActionGeo_FullName"]], c[COL["ActionGeo_CountryCode"]] = "4", GEO[geo], geo
    c[COL["ActionGeo_Lat"]], c[COL["ActionGeo_Long"]] = "1.0", "2.0"
    c[COL["DATEADDED"]] = day.strftime("%Y%m%d") + "120000"
    c[COL["SOURCEURL"]] = url
    return "\t".join(c)


@dataclass
class ShiftFixture:
    lines: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    next_id: int = 5000
    rus_tur: dict[tuple[int, int], list[int]] = field(default_factory=dict)  # (year, month) -> ids, in order
    articles: dict[int, int] = field(default_factory=dict)
    urls: dict[int, str] = field(default_factory=dict)
    hostile_id: int = 0
    call_ids: list[int] = field(default_factory=list)

    def add(self, day: dt.date, a1, a2, code, quad, goldstein, articles, geo, url=None, **kw) -> int:
        eid = self.next_id
        self.next_id += 1
        url = url or f"https://news.example/{day.isoformat()}/{a1.lower()}-{a2.lower()}-{eid}"
        self.lines.setdefault((day.year, day.month), []).append(
            gdelt_line(eid, day, a1, a2, code, quad, goldstein, articles, geo, url, **kw))
        self.articles[eid] = articles
        self.urls[eid] = url
        return eid

    def build(self) -> "ShiftFixture":
        for year, counts in ((2019, BASE), (2020, AFTER)):
            for m, n in enumerate(counts, 1):
                ids = []
                for i in range(n):
                    a1, a2 = ("RUS", "TUR") if i % 2 == 0 else ("TUR", "RUS")
                    code, quad, gold = ("042", 1, 1.9) if i % 4 else ("111", 3, -2.0)
                    geo = "SY" if i % 5 == 4 else ("RS" if i % 2 == 0 else "TU")
                    ids.append(self.add(dt.date(year, m, 1 + i), a1, a2, code, quad, gold, 1 + i, geo))
                self.rus_tur[(year, m)] = ids
                for i in range(3):
                    self.add(dt.date(year, m, 2 + i), "RUS", "CHN", "042", 1, 1.9, 2, "CH")
                for i in range(20):
                    self.add(dt.date(year, m, 1 + i), "USA", "FRA", "010", 1, 0.0, 1, "FR")
        # hostile text in January 2020: one article, so it is never among the month's most reported
        self.hostile_id = self.add(dt.date(2020, 1, 28), "RUS", "TUR", "043", 1, 2.8, 1, "RS", HOSTILE_URL,
                                   a1name=HOSTILE_NAME)
        self.rus_tur[(2020, 1)].append(self.hostile_id)
        self.call_ids = [
            self.add(dt.date(2020, 3, 10), "RUS", "TUR", "041", 1, 1.0, 3, "RS", CALL_URL, a1type="GOV",
                     a2type="GOV", a1name="VLADIMIR PUTIN", a2name="RECEP TAYYIP ERDOGAN"),
            self.add(dt.date(2020, 3, 10), "TUR", "RUS", "041", 1, 1.0, 2, "RS", CALL_URL, a1type="GOV",
                     a2type="GOV", a1name="RECEP TAYYIP ERDOGAN", a2name="VLADIMIR PUTIN"),
        ]
        self.add(dt.date(2020, 6, 25), "TUR", "RUS", "042", 1, 1.9, 4, "RS", "https://news.example/erdogan-visit",
                 a1type="GOV", a2type="GOV", a1name="RECEP TAYYIP ERDOGAN", a2name="VLADIMIR PUTIN")
        return self

    def write(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for (y, m), lines in sorted(self.lines.items()):
            p = folder / f"{y}{m:02d}01000000.export.CSV"
            p.write_text("\n".join(lines) + "\n", encoding="utf-8")
            paths.append(p)
        return paths

    def top(self, year: int, month: int, n: int = 5) -> list[int]:
        """The month's n most-reported RUS-TUR events (articles, then id), as the shift evidence ranks them."""
        ids = self.rus_tur[(year, month)]
        return sorted(ids, key=lambda i: (-self.articles[i], i))[:n]


def build_shift_store(root: Path) -> tuple[Store, ShiftFixture]:
    fx = ShiftFixture().build()
    files = fx.write(root / "files")
    store = Store(root / "store")
    report = store.ingest([str(p) for p in files], workers=1)
    assert not report.failed and report.rows_rejected == 0
    return store, fx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`dyadwatch serve` in a subprocess on a free loopback port, as a user would start it."""

    def __init__(self, store: Path, *args: str, env: dict | None = None, ready: tuple[int, ...] = (200,)):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "dyadwatch", "serve", "--store", str(store), "--port", str(self.port), *args]
        self.log = Path(str(store) + f"-serve-{self.port}.log")
        self._log = open(self.log, "w")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dyadwatch serve exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.base + "/api/status", timeout=2).status_code in ready:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"dyadwatch serve did not answer in 60 s: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.log.read_text()
