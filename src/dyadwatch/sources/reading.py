"""Reading one input file into staging: runs in a worker process, knows nothing of the catalog.

The worker streams a file through its source, writes the kept events to one staging Arrow IPC file
(uncompressed: written at memory speed, and the store reads it back memory-mapped, without decoding) and
returns the counts, quarantined rows and per-day totals. The store then commits a batch of these at once.
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

from ..knowledge.schema import DAILY_TOTALS_SCHEMA, EVENT_SCHEMA, QUARANTINE_SCHEMA
from . import InputError, InputFile, by_name, detect
from .base import daily_totals, rejects_table
from .gdelt import WHOLE_LIMIT


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
    quarantine: pa.Table = field(default_factory=QUARANTINE_SCHEMA.empty_table)
    totals: pa.Table = field(default_factory=DAILY_TOTALS_SCHEMA.empty_table)
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
    started = time.perf_counter()
    p = Path(path)
    result = FileResult(path=str(p), name=p.name, size=p.stat().st_size if p.exists() else 0, md5=md5)
    staged = Path(staging_dir) / f"{md5}.arrow"
    writer: ipc.RecordBatchFileWriter | None = None
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
                if writer is None:
                    writer = ipc.new_file(staged, EVENT_SCHEMA)
                writer.write_table(chunk.events)
                result.rows_kept += chunk.events.num_rows
    except InputError as exc:
        result.error = str(exc)
    except MemoryError:
        result.error = f"{p}: out of memory while reading"
    finally:
        if writer is not None:
            writer.close()
    if result.error:
        staged.unlink(missing_ok=True)
        return result
    result.staged = str(staged) if writer is not None else None
    if quarantine:
        result.quarantine = pa.concat_tables(quarantine)
    if totals:  # one source's days, counted chunk by chunk: added up per day
        result.totals = daily_totals(result.source, pa.array([], pa.date32()), [(t["day"], t["events"]) for t in totals])
    result.seconds = time.perf_counter() - started
    return result
