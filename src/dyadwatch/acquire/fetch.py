"""Download GDELT event files for a date range: plan the slots, read the publisher's index, fetch in
parallel with size + MD5 checks, retries and resume, and account for every slot in a coverage report.

Nothing is dropped silently: every planned slot ends as downloaded, cached, missing (the publisher
has no such file) or failed (it has one but we could not get a verified copy), with the reason.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable, Iterator

import httpx

GDELT2_BASE = "http://data.gdeltproject.org/gdeltv2/"
GDELT1_BASE = "http://data.gdeltproject.org/events/"
GDELT2_FIRST_SLOT = "20150218230000"  # first 15-minute export GDELT 2.0 published
GDELT1_FIRST_DAILY = date(2013, 4, 1)  # before this, GDELT 1.0 ships monthly files...
GDELT1_FIRST_MONTHLY = date(2006, 1, 1)  # ...and before this, yearly ones
GDELT1_FIRST_YEAR = 1979
SLOT_MINUTES = 15


class FetchError(Exception):
    """The download cannot proceed at all (index unreadable, bad arguments). One line, for the user."""


@dataclass(frozen=True)
class Slot:
    """One file the publisher should have for the range: its key (timestamp, day, month or year)."""

    key: str
    filename: str


@dataclass(frozen=True)
class IndexEntry:
    size: int | None
    md5: str | None


@dataclass
class SlotResult:
    slot: Slot
    status: str  # downloaded | cached | missing | failed
    reason: str = ""
    attempts: int = 0
    path: Path | None = None
    bytes: int = 0

    @property
    def ok(self) -> bool:
        return self.status in ("downloaded", "cached")


@dataclass
class FetchReport:
    version: int
    start: date
    end: date
    index_url: str
    results: list[SlotResult] = field(default_factory=list)
    index_problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def _with(self, *statuses: str) -> list[SlotResult]:
        return [r for r in self.results if r.status in statuses]

    @property
    def ok_paths(self) -> list[str]:
        return [str(r.path) for r in self._with("downloaded", "cached")]

    @property
    def downloaded(self) -> list[SlotResult]:
        return self._with("downloaded")

    @property
    def cached(self) -> list[SlotResult]:
        return self._with("cached")

    @property
    def missing(self) -> list[SlotResult]:
        return self._with("missing")

    @property
    def failed(self) -> list[SlotResult]:
        return self._with("failed")

    @property
    def complete(self) -> bool:
        return all(r.ok for r in self.results)


# ---------------------------------------------------------------- planning


def plan_slots(version: int, start: date, end: date) -> list[Slot]:
    """Every file GDELT publishes for the days start..end (inclusive), in time order."""
    if end < start:
        raise FetchError(f"end {end} is before start {start}")
    if version == 2:
        return list(_v2_slots(start, end))
    if version == 1:
        return list(_v1_slots(start, end))
    raise FetchError(f"GDELT version must be 1 or 2, not {version}")


def _days(start: date, end: date) -> Iterator[date]:
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


def _v2_slots(start: date, end: date) -> Iterator[Slot]:
    step = timedelta(minutes=SLOT_MINUTES)
    for day in _days(start, end):
        t = datetime(day.year, day.month, day.day)
        for _ in range(24 * 60 // SLOT_MINUTES):
            key = t.strftime("%Y%m%d%H%M%S")
            if key >= GDELT2_FIRST_SLOT:
                yield Slot(key, f"{key}.export.CSV.zip")
            t += step


def _v1_slots(start: date, end: date) -> Iterator[Slot]:
    seen: set[str] = set()
    for day in _days(max(start, date(GDELT1_FIRST_YEAR, 1, 1)), end):
        if day >= GDELT1_FIRST_DAILY:
            key, name = day.strftime("%Y%m%d"), day.strftime("%Y%m%d") + ".export.CSV.zip"
        elif day >= GDELT1_FIRST_MONTHLY:
            key = day.strftime("%Y%m")
            name = key + ".zip"
        else:
            key = str(day.year)
            name = key + ".zip"
        if key not in seen:
            seen.add(key)
            yield Slot(key, name)


# ---------------------------------------------------------------- the publisher's index

_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")


def _index_urls(version: int, base: str) -> list[str]:
    if version == 2:
        return [base + "masterfilelist.txt"]
    return [base + "md5sums", base + "filesizes"]


def parse_masterfilelist(lines: Iterable[str], wanted: set[str]) -> tuple[dict[str, IndexEntry], list[str]]:
    """GDELT 2.0 `masterfilelist.txt`: `size md5 url` per line. Keeps the wanted file names only;
    malformed lines are returned as problems (with their line number) instead of being skipped."""
    entries: dict[str, IndexEntry] = {}
    problems: list[str] = []
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        parts = line.split()
        name = parts[-1].rsplit("/", 1)[-1] if parts else ""
        if name not in wanted:
            continue
        if len(parts) != 3 or not parts[0].isdigit() or not _MD5.match(parts[1]):
            problems.append(f"masterfilelist.txt line {n}: malformed entry {line[:120]!r}")
            entries[name] = IndexEntry(None, None)
            continue
        entries[name] = IndexEntry(int(parts[0]), parts[1].lower())
    return entries, problems


def parse_v1_index(md5_lines: Iterable[str], size_lines: Iterable[str], wanted: set[str]) -> tuple[dict[str, IndexEntry], list[str]]:
    """GDELT 1.0 `md5sums` (`md5  name`) and `filesizes` (`size name`)."""
    md5s: dict[str, str] = {}
    sizes: dict[str, int] = {}
    problems: list[str] = []
    for n, line in enumerate(md5_lines, 1):
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") in wanted:
            if _MD5.match(parts[0]):
                md5s[parts[1].lstrip("*")] = parts[0].lower()
            else:
                problems.append(f"md5sums line {n}: malformed entry {line.strip()[:120]!r}")
    for n, line in enumerate(size_lines, 1):
        parts = line.split()
        if len(parts) == 2 and parts[1] in wanted:
            if parts[0].isdigit():
                sizes[parts[1]] = int(parts[0])
            else:
                problems.append(f"filesizes line {n}: malformed entry {line.strip()[:120]!r}")
    names = set(md5s) | set(sizes)
    return {n: IndexEntry(sizes.get(n), md5s.get(n)) for n in names}, problems


def _get_text_lines(client: httpx.Client, url: str, retries: int, backoff: float) -> list[str]:
    last = ""
    for attempt in range(1, retries + 1):
        try:
            with client.stream("GET", url) as resp:
                if resp.status_code == 404:
                    raise FetchError(f"cannot read index {url}: HTTP 404 (is --base-url right?)")
                if resp.status_code >= 400:
                    last = f"HTTP {resp.status_code}"
                else:
                    return list(resp.iter_lines())
        except FetchError:
            raise
        except httpx.HTTPError as exc:
            last = _describe(exc)
        if attempt < retries:
            time.sleep(backoff * 2 ** (attempt - 1))
    raise FetchError(f"cannot read index {url}: {last} (after {retries} attempt{'s' if retries != 1 else ''})")


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "cannot connect" + (f" ({exc})" if str(exc) else "")
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


# ---------------------------------------------------------------- downloading one file


class _Retryable(Exception):
    pass


class _Missing(Exception):
    pass


def md5_file(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _verify(path: Path, entry: IndexEntry) -> str:
    """Empty string if the file matches the index, else what is wrong."""
    size = path.stat().st_size
    if entry.size is not None and size != entry.size:
        return f"size {size:,} bytes, index says {entry.size:,}"
    if entry.md5 is not None:
        got = md5_file(path)
        if got != entry.md5:
            return f"MD5 {got}, index says {entry.md5}"
    return ""


def _download(client: httpx.Client, url: str, dest: Path, entry: IndexEntry) -> None:
    """One attempt. Resumes a `.part` file left by an interrupted attempt with an HTTP Range request."""
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    if entry.size is not None and have >= entry.size:
        part.unlink()  # complete-looking but unverified leftovers are not trusted: start over
        have = 0
    # identity encoding: Range offsets count the bytes on the wire, which must be the file's bytes
    headers = {"Accept-Encoding": "identity"} | ({"Range": f"bytes={have}-"} if have else {})
    with client.stream("GET", url, headers=headers) as resp:
        if resp.status_code == 404:
            raise _Missing("HTTP 404 on the server")
        if resp.status_code == 416:  # our partial copy is useless to the server: restart
            part.unlink(missing_ok=True)
            raise _Retryable("HTTP 416 on resume")
        if resp.status_code >= 400:
            raise _Retryable(f"HTTP {resp.status_code}")
        mode = "ab" if have and resp.status_code == 206 else "wb"
        with open(part, mode) as f:
            for chunk in resp.iter_raw():  # unbuffered, so a dropped connection keeps what arrived
                f.write(chunk)
    problem = _verify(part, entry)
    if problem:
        part.unlink()
        raise _Retryable(problem)
    os.replace(part, dest)


def fetch_slot(client: httpx.Client, base: str, slot: Slot, entry: IndexEntry | None, dest_dir: Path,
               retries: int, backoff: float, index_name: str) -> SlotResult:
    dest = dest_dir / slot.filename
    if entry is None:
        return SlotResult(slot, "missing", f"not in {index_name}")
    if entry.size is None and entry.md5 is None:
        return SlotResult(slot, "failed", f"{index_name} entry is malformed, cannot verify")
    if dest.exists():
        problem = _verify(dest, entry)
        if not problem:
            return SlotResult(slot, "cached", path=dest, bytes=dest.stat().st_size)
        dest.unlink()  # a stale or damaged copy: fetch it again
    url = base + slot.filename
    reason = ""
    for attempt in range(1, retries + 1):
        try:
            _download(client, url, dest, entry)
            return SlotResult(slot, "downloaded", attempts=attempt, path=dest, bytes=dest.stat().st_size)
        except _Missing as exc:
            return SlotResult(slot, "missing", str(exc), attempts=attempt)
        except _Retryable as exc:
            reason = str(exc)
        except httpx.HTTPError as exc:
            reason = _describe(exc)
        except OSError as exc:  # the disk, not the network: retrying will not help
            return SlotResult(slot, "failed", f"cannot write {dest}: {exc.strerror or exc}", attempts=attempt)
        if attempt < retries:
            time.sleep(backoff * 2 ** (attempt - 1))
    return SlotResult(slot, "failed", f"{reason} (after {retries} attempt{'s' if retries != 1 else ''})",
                      attempts=retries)


# ---------------------------------------------------------------- the whole range


def fetch_gdelt(start: date, end: date, dest: Path, *, version: int = 2, base_url: str | None = None,
                workers: int = 4, retries: int = 3, timeout: float = 60.0, backoff: float = 1.0,
                progress: Callable[[SlotResult], None] | None = None,
                on_plan: Callable[[int], None] | None = None) -> FetchReport:
    """Download every GDELT `version` event file for start..end into `dest` and report on each slot."""
    if workers < 1 or retries < 1 or timeout <= 0:
        raise FetchError("--parallel and --retries must be at least 1 and --timeout positive")
    base = (base_url or (GDELT2_BASE if version == 2 else GDELT1_BASE))
    if not base.endswith("/"):
        base += "/"
    slots = plan_slots(version, start, end)
    urls = _index_urls(version, base)
    report = FetchReport(version, start, end, urls[0])
    started = time.perf_counter()
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if on_plan:
        on_plan(len(slots))
    wanted = {s.filename for s in slots}
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    with httpx.Client(timeout=httpx.Timeout(timeout), limits=limits, follow_redirects=True) as client:
        if version == 2:
            index, problems = parse_masterfilelist(_get_text_lines(client, urls[0], retries, backoff), wanted)
            index_name = "masterfilelist.txt"
        else:
            md5_lines = _get_text_lines(client, urls[0], retries, backoff)
            size_lines = _get_text_lines(client, urls[1], retries, backoff)
            index, problems = parse_v1_index(md5_lines, size_lines, wanted)
            index_name = "the md5sums/filesizes index"
        report.index_problems = problems
        by_key: dict[str, SlotResult] = {}
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {
                pool.submit(fetch_slot, client, base, s, index.get(s.filename), dest, retries, backoff, index_name): s
                for s in slots
            }
            for fut in as_completed(futures):
                result = fut.result()
                by_key[result.slot.key] = result
                if progress:
                    progress(result)
    report.results = [by_key[s.key] for s in slots]
    report.seconds = time.perf_counter() - started
    return report


def format_coverage(report: FetchReport) -> list[str]:
    """One line per slot that is not in hand, naming it and why, then the summary (last, so it stays
    on screen after a long list)."""
    lines = [f"index problem: {p}" for p in report.index_problems]
    for r in report.results:
        if not r.ok:
            lines.append(f"{r.status} {r.slot.key} {r.slot.filename}: {r.reason}")
    n = len(report.results)
    ok = len(report.downloaded) + len(report.cached)
    mb = sum(r.bytes for r in report.downloaded) / 1e6
    lines.append(
        f"coverage GDELT {report.version} {report.start}..{report.end}: {ok:,} of {n:,} files in hand "
        f"({len(report.downloaded):,} downloaded, {mb:,.1f} MB; {len(report.cached):,} already here), "
        f"{len(report.missing):,} missing, {len(report.failed):,} failed ({report.seconds:.1f} s)"
    )
    return lines
