"""The ingest pipeline: input files in, new events out as recorded parts, in atomic batches.

A thread hashes the inputs (`acquire.inputs`); files already in the manifest (by MD5) are skipped; the
reader processes (`sources.reading`, one per core, forked first) read the others and stage their kept
events as Arrow IPC; this process takes the staged files in ranking order (file name, then content),
keeps the first row of each event id, drops ids already stored and hands the rest to the part writer
(`parts`) while the readers read. A batch (up to BATCH_FILES files and BATCH_BYTES of input) is then
recorded in one catalog transaction (`catalog.Catalog.record`). docs/store.md tells the whole story.
"""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing
import os
import shutil
import sys
import time
import uuid
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from ..acquire.inputs import Inputs
from ..sources import gdelt_fast
from ..sources.reading import FileResult, RunResult, file_size, read_files, reader_init
from .catalog import Catalog
from .parts import _ROW_GROUP, PartWriter, count_by, id_range, part_writer

BATCH_FILES = 4096  # files per atomic commit (~0.25 s of catalog work each): a killed ingest loses at most this much work
BATCH_BYTES = 1 << 30  # ... and at most this much input: bounds the event ids a batch remembers
_AHEAD = 2  # runs read ahead per worker of the one being written: bounds the staged data waiting
# A reader task reads a run of small files (a 15-minute export is ~1,000-3,500 rows, ~100-400 KB zipped)
# into one staging file: the fixed cost of a task, a result and a staging file is then paid per run.
RUN_FILES = 64  # files in a run at most
RUN_BYTES = 8 << 20  # input bytes in a run at most; a file this big or bigger is a run of its own


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)  # newly ingested
    skipped: list[str] = field(default_factory=list)  # already in the manifest (by MD5)
    failed: list[FileResult] = field(default_factory=list)  # could not be read at all
    problems: list[str] = field(default_factory=list)  # paths that matched nothing
    rows_stored: int = 0  # kept rows minus event ids already stored
    seconds: float = 0.0

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_kept(self) -> int:
        return sum(f.rows_kept for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)



def ingest(
    catalog: Catalog,
    paths: list[str | os.PathLike] | Inputs,
    countries: frozenset[str] | None = None,
    source: str | None = None,
    workers: int | None = None,
    on_file: Callable[[FileResult | str, int], None] | None = None,
) -> IngestReport:
    """Ingest files, folders or globs (or `Inputs` of them, maybe hashing already). `on_file(
    result_or_skipped_name, bytes)` reports progress.

    The work is a pipeline, so that both cores are busy from the start: the readers are forked
    first; a thread hashes the files (eight at a time) while the catalog says which are known;
    each new file goes to a reader as soon as its MD5 is in."""
    started = time.perf_counter()
    report = IngestReport()
    inputs = paths if isinstance(paths, Inputs) else Inputs(paths)
    files, report.problems = inputs.files, list(inputs.problems)
    workers = workers or min(os.cpu_count() or 1, 8)
    sizes = _sizes(files)  # one stat a file: batches, runs and results all need the sizes
    with catalog.writer_lock():
        _warm_up(sum(sizes.values()))  # before the fork: the readers share it
        with _readers(min(workers, len(files))) as pool, inputs.hashing() as digests:
            meanwhile = None
            if catalog.exists():
                with catalog.open(write=True) as con:
                    catalog.clean_orphans(con)
                    known = {r[0] for r in con.execute("SELECT md5 FROM files").fetchall()}
            else:
                # a new store knows no file and has recorded nothing: the readers get their first
                # files at once, and the catalog (DuckDB's import, ~0.35 s, and its tables) is made
                # while they read them
                catalog.clean_orphans(None)
                known = set()
                meanwhile = catalog.create
            todo = _Peekable(_new_files_as_hashed(files, digests, known, report, on_file))

            def after_reading() -> None:
                if pool is not None and not todo.more():
                    pool.shutdown(wait=False)  # the readers exit while the last batch is written

            stored = _StoredParts(catalog, nothing_stored=meanwhile is not None)
            while todo.more():
                batch = _batch_of(todo, BATCH_FILES, BATCH_BYTES, sizes)
                _ingest_batch(catalog, batch, countries, source, pool, workers, report, on_file, meanwhile,
                              after_reading, stored, sizes)
                meanwhile = None
    report.seconds = time.perf_counter() - started
    return report


def _ingest_batch(catalog: Catalog, batch: Iterator[tuple[Path, str]], countries, source, pool, workers: int,
                  report: IngestReport, on_file, meanwhile: Callable[[], None] | None = None,
                  after_reading: Callable[[], None] | None = None, stored: "_StoredParts | None" = None,
                  sizes: dict[Path, int] | None = None) -> None:
    """Read a batch of files (name order) in parallel and write their new events as parts while they
    are read.

    The workers stage each file's kept events as Arrow IPC; this process takes the staged files in
    the order that decides which row of a repeated event id is kept (file name, then content), drops
    ids already seen in the batch and hands the rest to the part writer, so that encoding Parquet
    overlaps reading. Ids already stored are dropped at the end (`_NewEvents.close`).
    `meanwhile()` runs once the first files are handed out, `after_reading()` once all are read.
    `stored`: the store's recorded parts, kept by the ingest from batch to batch."""
    batch_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    staging = catalog.root / "staging" / batch_id
    staging.mkdir(parents=True, exist_ok=True)
    results: list[FileResult] = []
    events_dir = (catalog.root / "events").resolve()
    events_dir.mkdir(parents=True, exist_ok=True)
    stored = stored if stored is not None else _StoredParts(catalog)
    new = _NewEvents(catalog, events_dir, batch_id, stored)
    try:
        runs = ((r, str(staging), countries, source) for r in _runs_of(batch, sizes))
        for run in _read_in_order(runs, pool, workers, meanwhile, handed_out=new.writer.drain):
            for r in run.files:
                (report.failed if r.error else results).append(r)
                if on_file:
                    on_file(r, r.size)
            if run.staged:
                new.add(run.staged)
                Path(run.staged).unlink(missing_ok=True)
        if after_reading is not None:
            after_reading()
        new_parts, stored_by_file = new.close()
    finally:
        new.abort()
    results.sort(key=lambda r: r.path)
    report.files.extend(results)
    catalog.record(batch_id, results, countries, new_parts, stored_by_file)
    stored.recorded(new_parts)
    report.rows_stored += sum(p[5] for p in new_parts)
    shutil.rmtree(staging, ignore_errors=True)


def _warm_up(input_bytes: int) -> None:
    """pyarrow imports its optional companions (pandas when installed, ~0.3 s) on first use, and the
    compiled GDELT reader's kernel is loaded: do both once in this process, before the readers are forked, instead of once in each of them (the kernel only for
    inputs big enough to use it). Likewise numpy.ma, which pyarrow imports the first time it is handed
    a numpy array (to check for a masked one; ~50 ms a process)."""
    pa.array([0])
    pa.array(np.zeros(1))
    if input_bytes >= gdelt_fast.MIN_BLOCK:
        gdelt_fast.warm_up()


@contextmanager
def _readers(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    """The reader processes, forked now (before this process starts threads), or None when one reader
    is enough (it then reads in this process)."""
    if workers <= 1:
        yield None
        return
    # forked readers share this process's imports; but polars' threads do not survive a fork, so once
    # polars is loaded here (a one-file ingest read it in this process) the readers start afresh
    context = multiprocessing.get_context("spawn" if "polars" in sys.modules else None)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=reader_init) as pool:
        pool.submit(int)  # starts the processes
        yield pool


def _read_in_order(args: Iterator[tuple], pool: ProcessPoolExecutor | None, workers: int,
                   meanwhile: Callable[[], None] | None = None,
                   handed_out: Callable[[], None] | None = None) -> Iterator[RunResult]:
    """`read_files(*a)` for each of `args`, in the reader processes of `pool` (a few runs ahead of the
    one yielded), yielded in the order of `args`. `meanwhile()` runs once the first runs are handed
    out (before any is read when there is no pool); `handed_out()` once the last one is (with a pool)."""
    if pool is None:
        if meanwhile is not None:
            meanwhile()
        for a in args:
            yield read_files(*a)
        return
    todo = iter(args)
    running = deque(pool.submit(read_files, *a) for a in itertools.islice(todo, workers * (_AHEAD + 1)))
    if meanwhile is not None:
        meanwhile()
    while running:
        result = running.popleft().result()
        following = next(todo, None)
        if following is not None:
            running.append(pool.submit(read_files, *following))
        elif handed_out is not None:
            handed_out()
            handed_out = None
        yield result


class _Peekable:
    def __init__(self, items: Iterator):
        self.items, self.head = iter(items), []

    def more(self) -> bool:
        if not self.head:
            self.head = list(itertools.islice(self.items, 1))
        return bool(self.head)

    def peek(self):
        return self.head[0] if self.more() else None

    def __next__(self):
        if not self.more():
            raise StopIteration
        return self.head.pop()

    def __iter__(self):
        return self


def _runs_of(batch: Iterator[tuple[Path, str]], sizes: dict[Path, int] | None = None) -> Iterator[list[tuple[str, str]]]:
    """The (path, MD5) pairs of a batch (name order) as runs for the readers: consecutive small files,
    at most RUN_FILES and RUN_BYTES of input, each file of RUN_BYTES or more alone, and files of the
    same name always in one run, ranked by content MD5 (their rows rank by line across them)."""
    run: list[tuple[str, str]] = []
    size = 0
    run_month = None
    for group in _same_name(batch):
        group.sort(key=lambda pm: pm[1])
        nbytes = [_size_of(p, sizes) for p, _ in group]
        big = len(group) == 1 and nbytes[0] >= RUN_BYTES
        month = _name_month(group[0][0].name)
        if run and (big or len(run) + len(group) > RUN_FILES or size + sum(nbytes) > RUN_BYTES
                    or month != run_month):
            yield run
            run, size = [], 0
        run += [(str(p), m) for p, m in group]
        size += sum(nbytes)
        run_month = month
        if big:
            yield run
            run, size = [], 0
    if run:
        yield run


def _same_name(pairs: Iterator[tuple[Path, str]]) -> Iterator[list[tuple[Path, str]]]:
    """Consecutive (path, MD5) pairs of the same file name, together."""
    group: list[tuple[Path, str]] = []
    for pm in pairs:
        if group and pm[0].name != group[0][0].name:
            yield group
            group = []
        group.append(pm)
    if group:
        yield group


def _name_month(name: str) -> str | None:
    """The month a GDELT file name gives (`20201101000000.export.CSV.zip`: 202011): a run ends where it
    changes, so that most of a run's rows fall in one partition, which the part writer takes without a
    copy. None for other names."""
    head = name[:6]
    return head if len(name) >= 8 and name[:8].isdigit() else None


def _sizes(files: list[Path]) -> dict[Path, int]:
    return {f: file_size(f) for f in files}


def _size_of(path: Path, sizes: dict[Path, int] | None) -> int:
    """`path`'s size, from `sizes` (the ingest's one stat a file) when it is there."""
    got = sizes.get(path) if sizes else None
    return file_size(path) if got is None else got


def _staged_table(path: str) -> pa.Table | None:
    """The events a reader staged for a run (None when it kept none), memory-mapped."""
    with pa.memory_map(path) as source:
        table = ipc.open_file(source).read_all()
    return table if table.num_rows else None


class _IdRuns:
    """The event ids seen so far in a batch, for one source, each checked only when its range overlaps
    the ids asked about. GDELT ids grow with time, so files read in name order usually overlap no
    earlier ids: the check then costs nothing.

    A file's ids span ~9 times their number (GDELT numbers every event of every language), so most are
    kept as a bitmap over their range (~1 byte an id instead of 8: an unfiltered batch of 10 M rows
    held 80 MB of ids, and twice that while merging); ids too sparse for that (a filtered file's) are
    kept as sorted runs, merged as they grow, so there are few."""

    def __init__(self) -> None:
        self.runs: list[np.ndarray] = []
        self.bitmaps: list[tuple[int, int, np.ndarray]] = []  # (first id, last id, bits from the first)

    def seen(self, ids: np.ndarray) -> np.ndarray:
        """Mask of `ids` (sorted, unique) already seen."""
        out = np.zeros(len(ids), dtype=bool)
        if not len(ids):
            return out
        lo, hi = ids[0], ids[-1]
        for run in self.runs:
            if run[-1] < lo or run[0] > hi:
                continue
            at = np.minimum(np.searchsorted(run, ids), len(run) - 1)
            out |= run[at] == ids
        for first, last, bits in self.bitmaps:
            if last < lo or first > hi:
                continue
            a, b = np.searchsorted(ids, first), np.searchsorted(ids, last, side="right")
            offset = ids[a:b] - first
            out[a:b] |= ((bits[offset >> 3] >> (offset & 7)) & 1).astype(bool)
        return out

    def add(self, ids: np.ndarray) -> None:
        """Remember `ids` (sorted, unique, none seen before)."""
        if not len(ids):
            return
        span = int(ids[-1] - ids[0]) + 1
        if span <= 64 * len(ids):  # a bitmap is at most the 8 bytes an id of a run takes
            present = np.zeros(span, dtype=bool)
            present[ids - ids[0]] = True
            self.bitmaps.append((int(ids[0]), int(ids[-1]), np.packbits(present, bitorder="little")))
            return
        self.runs.append(ids)
        while len(self.runs) > 1 and len(self.runs[-2]) <= 2 * len(self.runs[-1]):
            last = self.runs.pop()
            self.runs[-1] = np.sort(np.concatenate([self.runs[-1], last]), kind="stable")


class _StoredParts:
    """The store's recorded parts by (source, year, month), read from the catalog once per ingest (when
    the first batch needs them) and kept up to date as batches are recorded, with each part's row
    groups' event-id ranges read from its footer once: a batch's work on the stored parts then does
    not grow with the number of files (and catalog rows) already stored."""

    def __init__(self, catalog: Catalog, nothing_stored: bool = False):
        self.catalog = catalog
        self.parts: dict[tuple, list[str]] | None = {} if nothing_stored else None
        self.ranges: dict[str, list[tuple[float, float]]] = {}

    def by_partition(self) -> dict[tuple, list[str]]:
        if self.parts is None:
            self.parts = self.catalog.parts_by_partition()
        return self.parts

    def recorded(self, new_parts: list[tuple]) -> None:
        """Add a recorded batch's parts ((path relative to the store, source, year, month, ...) rows)."""
        if self.parts is None:
            return  # not read yet: reading the catalog will find them
        root = self.catalog.root.resolve()
        for rel, source, y, m, *_ in new_parts:
            self.parts.setdefault((source, int(y), int(m)), []).append(str(root / rel))

    def id_ranges(self, path: str) -> list[tuple[float, float]]:
        """(min, max) event id of each row group of the part at `path`."""
        got = self.ranges.get(path)
        if got is None:
            meta = pq.read_metadata(path)
            got = self.ranges[path] = [id_range(meta, i) for i in range(meta.num_row_groups)]
        return got


class _NewEvents:
    """The events of one batch that are new to the store, written as parts (invisible until recorded).

    `add` takes the staged events in ranking order and keeps the first row of each event id not seen
    before in the batch; `close` then drops the ids already stored. The stored ids are looked for only
    in the row groups of the same partition whose id range (Parquet statistics) overlaps the new ids:
    an event id belongs to its event date's partition, and new GDELT ids are above every stored one, so
    usually no stored id is read at all. A part that held stored ids is rewritten without them."""

    def __init__(self, catalog: Catalog, events_dir: Path, batch_id: str, stored: "_StoredParts"):
        self.catalog = catalog
        self.writer = PartWriter(events_dir, batch_id)
        self.seen: dict[str, _IdRuns] = {}
        self.stored_by_file: dict[str, int] = {}
        self.stored = stored

    def _stored_parts(self) -> dict[tuple, list[str]]:
        return self.stored.by_partition()

    def add(self, staged: str) -> None:
        """Take the events a reader staged for a run of files (in ranking order)."""
        self._stored_parts()
        table = _staged_table(staged)
        if table is None:
            return
        keep = np.ones(table.num_rows, dtype=bool)
        sources = table["source"].unique().to_pylist()
        for source in sources:
            rows = np.arange(table.num_rows) if len(sources) == 1 else np.flatnonzero(
                pc.equal(table["source"], source).to_numpy(zero_copy_only=False)
            )
            ids = table["event_id"].to_numpy()[rows]
            uniq, inverse = np.unique(ids, return_inverse=True)
            runs = self.seen.setdefault(source, _IdRuns())
            old = runs.seen(uniq)
            keep[rows] = _first_by_line(table, rows, inverse, len(uniq)) & ~old[inverse]
            runs.add(uniq[~old])
        if not keep.all():
            table = table.filter(pa.array(keep))
        if table.num_rows:
            for name, n in count_by(table["source_file"]).items():
                self.stored_by_file[name] = self.stored_by_file.get(name, 0) + n
            self.writer.add(table, source=sources[0] if len(sources) == 1 else None)

    def close(self) -> tuple[list[tuple], dict[str, int]]:
        """Finish the parts; (part rows for the catalog, new events per file name)."""
        root = self.catalog.root.resolve()
        stored = self._stored_parts()
        new_parts = []
        for path, source, y, m, n in self.writer.close():
            path, n = self._drop_stored(Path(path), stored.get((source, y, m), []), n)
            if n:
                rel = path.resolve().relative_to(root).as_posix()
                new_parts.append((rel, source, y, m, self.writer.batch_id, n))
        return new_parts, {k: v for k, v in self.stored_by_file.items() if v}

    def abort(self) -> None:
        self.writer.abort()

    def _drop_stored(self, path: Path, stored_parts: list[str], n: int) -> tuple[Path, int]:
        """Rewrite the part at `path` without the ids already in `stored_parts`; (path, rows)."""
        if not stored_parts:
            return path, n
        new = pq.ParquetFile(path)
        ranges = [id_range(new.metadata, i) for i in range(new.metadata.num_row_groups)]
        lo = min(r[0] for r in ranges)
        hi = max(r[1] for r in ranges)
        stored_ids = []
        for other in stored_parts:
            groups = [i for i, (first, last) in enumerate(self.stored.id_ranges(other))
                      if first <= hi and last >= lo]  # ids of these row groups may be among the new ones
            if groups:
                with pq.ParquetFile(other) as f:
                    stored_ids.append(f.read_row_groups(groups, columns=["event_id"])["event_id"].to_numpy())
        if not stored_ids:
            new.close()
            return path, n
        stored_ids = np.unique(np.concatenate(stored_ids))
        target = path.with_name(path.name.replace("_0.parquet", "_1.parquet"))
        writer = None
        kept = 0
        try:
            for i in range(new.metadata.num_row_groups):
                group = new.read_row_group(i)
                ids = group["event_id"].to_numpy()
                dup = np.isin(ids, stored_ids)
                if dup.any():
                    for name, k in count_by(group["source_file"].filter(pa.array(dup))).items():
                        self.stored_by_file[name] -= k
                    group = group.filter(pa.array(~dup))
                if group.num_rows:
                    if writer is None:
                        writer = part_writer(target)
                    writer.write_table(group, row_group_size=_ROW_GROUP)
                    kept += group.num_rows
        finally:
            new.close()
            if writer is not None:
                writer.close()
        if kept == n:  # nothing was stored already: keep the part as written
            target.unlink(missing_ok=True)
            return path, n
        path.unlink()
        return target, kept


def _first_by_line(table: pa.Table, rows: np.ndarray, inverse: np.ndarray, n_ids: int) -> np.ndarray:
    """Mask of `rows` of `table` that are the first of their event id (`inverse`: each row's id number)
    by file name, then source line, then position. A run's rows come file by file in ranking order
    (name, then content MD5 among files of the same name), but a reader's rows of one file are not in
    line order (the lane puts each file's rows of its main month first)."""
    if n_ids == len(rows):  # no id repeats (the usual case)
        return np.ones(len(rows), dtype=bool)
    lines = table["source_line"].to_numpy()[rows]
    # each row's file name, as its rank among the names (a run's files come in name order)
    encoded = pc.dictionary_encode(table["source_file"].take(pa.array(rows))).combine_chunks()
    rank = np.empty(len(encoded.dictionary), dtype=np.int64)
    rank[pc.array_sort_indices(encoded.dictionary).to_numpy()] = np.arange(len(encoded.dictionary))
    names = rank[encoded.indices.to_numpy(zero_copy_only=False)]
    order = np.lexsort((np.arange(len(rows)), lines, names, inverse))  # by id, name, line, position
    ids = inverse[order]
    first = np.zeros(len(rows), dtype=bool)
    first[order[np.flatnonzero(np.diff(ids, prepend=-1))]] = True  # the first row of each id in that order
    return first



def new_files(files: list[Path], md5s: list[str], known: set[str], report: IngestReport,
               on_file=None) -> list[tuple[Path, str]]:
    """The (file, MD5) pairs not yet in the manifest; the others are reported as skipped. The same
    content twice in one run is read once."""
    return list(_new_files_as_hashed(files, md5s, known, report, on_file))


def _new_files_as_hashed(files, md5s, known: set[str], report: IngestReport, on_file=None) -> Iterator[tuple[Path, str]]:
    """`new_files`, one pair at a time as the MD5s (an iterable) come in. A file that could not be
    hashed (an OSError instead of its MD5) is reported as failed, with a one-line error."""
    for f, m in zip(files, md5s):
        if isinstance(m, OSError):
            failed = FileResult(path=str(f), name=f.name, size=0, md5="",
                                error=f"{f}: cannot be read ({m.strerror or m})")
            report.failed.append(failed)
            if on_file:
                on_file(failed, 0)
        elif m in known:
            report.skipped.append(str(f))
            if on_file:
                on_file(str(f), f.stat().st_size)
        else:
            known.add(m)
            yield f, m


def _batch_of(todo: _Peekable, size: int, max_bytes: int, sizes: dict[Path, int] | None = None) -> Iterator[tuple[Path, str]]:
    """The next run of `todo` ((path, md5) pairs in name order): at most `size` files and `max_bytes` of
    input, at least one file, and never split between files of the same name (they rank together)."""
    n = total = 0
    last = None
    while todo.more():
        path = todo.peek()[0]
        nbytes = _size_of(path, sizes)
        if n and path.name != last and (n >= size or total + nbytes > max_bytes):
            return
        yield next(todo)
        n, total, last = n + 1, total + nbytes, path.name


def batches(items: list[tuple[Path, str]], size: int) -> Iterator[list]:
    """`items` ((path, md5) pairs) in runs of at most `size` files (the Spark engine's batches)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]

