"""Reading one input file into staging: runs in a worker process, knows nothing of the catalog.

The worker streams a file through its source, writes the kept events to one staging Arrow IPC file
(uncompressed: written at memory speed, and the store reads it back memory-mapped, without decoding) and
returns the counts, quarantined rows and per-day totals. The store then commits a batch of these at once.
"""

from __future__ import annotations

import ctypes
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.ipc as ipc

from ..knowledge.schema import DAILY_TOTALS_SCHEMA, EVENT_SCHEMA, QUARANTINE_SCHEMA
from . import InputError, InputFile, by_name, detect
from .base import daily_totals, rejects_table
from .base import Source
from .gdelt import WHOLE_LIMIT, GdeltSource


_NO_QUARANTINE = QUARANTINE_SCHEMA.empty_table()
_NO_TOTALS = DAILY_TOTALS_SCHEMA.empty_table()


@dataclass
class FileResult:
    path: str
    name: str
    size: int
    md5: str
    source: str = ""
    rows_read: int = 0
    rows_kept: int = 0
    rows_rejected: int = 0
    seconds: float = 0.0
    staged: str | None = None  # staging Arrow IPC file, None when nothing was kept
    # (one empty table shared by all results: Arrow tables are immutable, and making two per file cost
    # ~0.1 ms of a small file's reading)
    quarantine: pa.Table = field(default_factory=lambda: _NO_QUARANTINE)
    totals: pa.Table = field(default_factory=lambda: _NO_TOTALS)
    error: str | None = None  # the one-line reason a file could not be read at all

    @property
    def rows_filtered(self) -> int:
        return self.rows_read - self.rows_kept - self.rows_rejected


def reader_init() -> None:
    """Set up a reader process: keep large allocations on the malloc heap and reuse them.

    glibc serves allocations above 32 MB (an inflated 15-minute export, a block's masks) with a fresh
    mmap each time, and every page of it is then faulted in and zeroed: a third of the time of inflating
    a member went to page faults. A reader allocates the same sizes file after file, so a heap that keeps
    them is reused instead. Only the reader processes do this (it holds on to the memory: ~the peak of
    one file); nothing happens where the C library is not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        limit = WHOLE_LIMIT + (16 << 20)  # above the largest member read whole
        libc.mallopt(-3, limit)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 2 * limit)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass


def read_file(path: str, md5: str, staging_dir: str, countries: frozenset[str] | None, source: str | None) -> FileResult:
    """Stream one file to a staging Arrow IPC file. Never raises for bad input: errors go in the result."""
    run = read_files([(path, md5)], staging_dir, countries, source)
    result = run.files[0]
    result.staged = run.staged
    return result


@dataclass
class RunResult:
    """A run of files read by one reader task: each file's result (counts, quarantine, totals; its
    `staged` None) and the one staging file holding the kept events of them all, in file order."""

    files: list[FileResult]
    staged: str | None = None

    # Sent from a reader process: the files' quarantine and totals go as one table each (pickling a
    # table costs ~0.1 ms, two per file were most of a small file's result), sliced back apart here.
    def __getstate__(self) -> dict:
        bare = [dataclasses.replace(r, quarantine=None, totals=None) for r in self.files]
        return {"files": bare, "staged": self.staged,
                "quarantine": _stacked([r.quarantine for r in self.files], QUARANTINE_SCHEMA),
                "totals": _stacked([r.totals for r in self.files], DAILY_TOTALS_SCHEMA)}

    def __setstate__(self, state: dict) -> None:
        self.files, self.staged = state["files"], state["staged"]
        for name in ("quarantine", "totals"):
            table, rows = state[name]
            at = 0
            for r, n in zip(self.files, rows):
                setattr(r, name, table.slice(at, n))
                at += n


def _stacked(tables: list[pa.Table], schema: pa.Schema) -> tuple[pa.Table, list[int]]:
    """`tables` as one (and each one's rows)."""
    rows = [t.num_rows for t in tables]
    kept = [t for t in tables if t.num_rows]
    return (pa.concat_tables(kept).combine_chunks() if kept else schema.empty_table()), rows


def read_files(files: list[tuple[str, str]], staging_dir: str, countries: frozenset[str] | None,
               source: str | None) -> RunResult:
    """Read a run of (path, MD5) files into one staging Arrow IPC file: a 15-minute export is a few
    thousand rows, and the fixed cost of a staging file, a task and a result per file was most of its
    reading. A run of several files is for small ones (the store makes the runs): their events are held
    until the run is read, and a file that cannot be read adds none. One file is streamed to staging
    chunk by chunk (it may be gigabytes) and adds nothing when it fails.
    Never raises for bad input: errors go in the results."""
    staged = Path(staging_dir) / f"{files[0][1]}.arrow"
    if len(files) == 1:
        writer: list[ipc.RecordBatchFileWriter] = []

        def stream(events: pa.Table) -> None:
            if not writer:
                writer.append(ipc.new_file(staged, EVENT_SCHEMA))
            writer[0].write_table(events)

        try:
            result = _read_one(*files[0], countries, source, stream)
        finally:
            if writer:
                writer[0].close()
        if result.error:
            staged.unlink(missing_ok=True)
        return RunResult([result], str(staged) if writer and not result.error else None)
    kept: list[pa.Table] = []
    results: list[FileResult | None] = [None] * len(files)

    def read_alone(k: int) -> None:
        events: list[pa.Table] = []
        results[k] = _read_one(*files[k], countries, source, events.append)
        if not results[k].error:
            kept.extend(events)

    lane: dict[Source, list[int]] = {}  # GDELT files of one format, read together
    inputs = [InputFile(Path(p)) for p, _ in files]  # one Path a file (a Path costs ~25 us to make)
    distinct = len({f.name for f in inputs}) == len(files)
    started = time.perf_counter()
    for k, (_, md5) in enumerate(files):
        if distinct:  # files of one name rank their rows by line across them: those go file by file
            src = _gdelt_source(inputs[k], md5, source, results, k)
            if src is not None:
                lane.setdefault(src, []).append(k)
            if results[k] is not None or src is not None:
                continue
        read_alone(k)
    for src, ks in lane.items():
        reads = src.read_run([inputs[k] for k in ks], countries)
        if reads is None:  # the lane cannot take them together
            for k in ks:
                read_alone(k)
            continue
        seconds = (time.perf_counter() - started) / len(files)
        for k, r in zip(ks, reads):
            p = inputs[k].path
            res = results[k] = FileResult(path=str(p), name=p.name, size=file_size(p), md5=files[k][1], source=src.name,
                                          rows_read=r.rows_read, rows_kept=r.rows_kept,
                                          rows_rejected=len(r.rejects), seconds=seconds, error=r.error)
            if r.rejects:
                res.quarantine = rejects_table(p.name, r.rejects)
            if r.totals is not None and r.totals.num_rows:
                res.totals = r.totals
            if r.events is not None and r.events.num_rows:
                kept.append(r.events)
    if not kept:
        return RunResult(results)
    table = pa.concat_tables(kept).combine_chunks() if len(kept) > 1 else kept[0]
    # one contiguous record batch: the store then partitions and encodes it in few, long runs
    with ipc.new_file(staged, EVENT_SCHEMA) as writer:
        writer.write_table(table, max_chunksize=max(table.num_rows, 1))
    return RunResult(results, str(staged))


def _gdelt_source(file: InputFile, md5: str, source: str | None, results: list, k: int) -> GdeltSource | None:
    """The GDELT format of a file to read in a run, or None (another format; or it cannot be read:
    then its result, with the error, is put in `results[k]`)."""
    p = file.path
    try:
        src = by_name(source) if source else detect(file)
    except InputError as exc:
        results[k] = FileResult(path=str(p), name=p.name, size=file_size(p), md5=md5, error=str(exc))
        return None
    return src if isinstance(src, GdeltSource) else None


def file_size(p: Path) -> int:
    """The size of a file; 0 when it cannot be stat-ed (its reading then says why)."""
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _read_one(path: str, md5: str, countries: frozenset[str] | None, source: str | None,
              keep: Callable[[pa.Table], None]) -> FileResult:
    """One file's result; its kept events go to `keep` as they are read (those of a file that then
    fails are to be dropped by the caller)."""
    started = time.perf_counter()
    p = Path(path)
    result = FileResult(path=str(p), name=p.name, size=file_size(p), md5=md5)
    quarantine: list[pa.Table] = []
    totals: list[pa.Table] = []
    try:
        file = InputFile(p)
        src = by_name(source) if source else detect(file)
        result.source = src.name
        for chunk in src.read(file, countries):
            result.rows_read += chunk.rows_read
            result.rows_rejected += len(chunk.rejects)
            if chunk.rejects:
                quarantine.append(rejects_table(p.name, chunk.rejects))
            if chunk.totals is not None and chunk.totals.num_rows:
                totals.append(chunk.totals)
            if chunk.events.num_rows:
                keep(chunk.events)
                result.rows_kept += chunk.events.num_rows
    except InputError as exc:
        result.error = str(exc)
    except MemoryError:
        result.error = f"{p}: out of memory while reading"
    if result.error:
        return result
    if quarantine:
        result.quarantine = pa.concat_tables(quarantine)
    if len(totals) == 1:  # one chunk's days (a small file's): already one row a day
        result.totals = totals[0]
    elif totals:  # one source's days, counted chunk by chunk: added up per day
        result.totals = daily_totals(result.source, pa.array([], pa.date32()), [(t["day"], t["events"]) for t in totals])
    result.seconds = time.perf_counter() - started
    return result
