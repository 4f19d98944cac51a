"""Parts: the Parquet files that hold the events, one set per source / year / month partition
(`events/source=S/year=Y/month=M/part-<batch>_<n>.parquet`), and the writer that fills them.

A part holds the canonical event columns but `source` (in its folder name), zstd-compressed, with
min/max statistics on the columns something filters on. `PartWriter` takes a batch's new events as
they come, cuts them by partition and writes whole row groups, holding a bounded number of rows.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..knowledge.schema import EVENT_SCHEMA

_ROW_GROUP = 122_880  # rows per Parquet row group in a part (DuckDB's default)
_BUFFERED = 2 * _ROW_GROUP  # rows held across all partitions before the biggest is written out
_QUEUED = 4  # writes waiting for the encoding thread at most

# a part holds the event columns but `source` (in its folder name), as DuckDB's partitioned COPY wrote them
PART_SCHEMA = pa.schema(
    [
        pa.field(f.name, pa.timestamp("us") if f.name == "date_added" else f.type)
        for f in EVENT_SCHEMA
        if f.name != "source"
    ]
)

# How a part is encoded. Event ids and line numbers are unique, so a dictionary of them only costs
# (~0.2 us a row, a fifth of the encoding) and makes the file bigger. Min/max statistics are kept where
# something reads them: the de-duplication (event_id), queries by date, dyad (the countries) and track
# (root code, quad class); over the other columns they cost another fifth of the encoding.
_UNIQUE = ("event_id", "source_line")
_FILTERED = ("event_id", "event_date", "actor1_country", "actor2_country", "event_root_code", "quad_class")
PART_OPTIONS = dict(
    compression="zstd",
    use_dictionary=[name for name in PART_SCHEMA.names if name not in _UNIQUE],
    write_statistics=list(_FILTERED),
)


def part_writer(path: Path | str) -> pq.ParquetWriter:
    """A Parquet writer of a part (PART_SCHEMA, PART_OPTIONS)."""
    return pq.ParquetWriter(path, PART_SCHEMA, **PART_OPTIONS)



def id_range(meta, group: int) -> tuple[float, float]:
    """(min, max) event_id of a row group by its statistics; unbounded when it has none."""
    rg = meta.row_group(group)
    for j in range(rg.num_columns):
        col = rg.column(j)
        if col.path_in_schema == "event_id":
            st = col.statistics
            if st is not None and st.has_min_max:
                return st.min, st.max
            break
    return -np.inf, np.inf


def count_by(values: pa.ChunkedArray | pa.Array) -> dict:
    vc = pc.value_counts(values)
    return dict(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist()))


class PartWriter:
    """Writes batches of new events to one Parquet part per source/year/month (zstd), holding at most
    about `_BUFFERED` rows in memory. Parts are named part-<batch>_0.parquet in Hive-style folders.

    `add` takes events (EVENT_SCHEMA; `year` and `month` columns may be given, else they come from the
    event date; `source` when all are of that one, which saves encoding the column)."""

    def __init__(self, events_dir: Path, batch_id: str):
        self.events_dir, self.batch_id = events_dir, batch_id
        # Encoding (zstd, dictionaries: ~1-1.6 us a row) runs in one thread of its own, with the GIL
        # released, while this thread takes the next staged rows: it was half of the parent's time,
        # and the readers waited on it. A few writes may wait for it (_QUEUED), holding their rows.
        self.encoder: ThreadPoolExecutor | None = None
        self.queued: deque[Future] = deque()
        self.writers: dict[tuple, pq.ParquetWriter] = {}
        self.paths: dict[tuple, Path] = {}
        self.pending: dict[tuple, list[pa.Table]] = {}
        self.rows: dict[tuple, int] = {}
        self.buffered = 0
        self.draining = False

    def add(self, batch: pa.RecordBatch | pa.Table, source: str | None = None) -> None:
        if not batch.num_rows:
            return
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        # partition key per row: source (index in `names`) and year * 100 + month
        if "year" in table.column_names:
            year, month = table["year"].to_numpy(), table["month"].to_numpy()
        else:
            months = table["event_date"].to_numpy().astype("datetime64[M]").astype(np.int64)
            year, month = months // 12 + 1970, months % 12 + 1
        if source is not None:
            names, key = [source], year.astype(np.int64) * 100 + month
        else:
            sources = pc.dictionary_encode(table["source"]).combine_chunks()
            names = sources.dictionary.to_pylist()
            key = sources.indices.to_numpy(zero_copy_only=False).astype(np.int64) * 1_000_000 + year * 100 + month
        table = table.select([f.name for f in PART_SCHEMA]).cast(PART_SCHEMA)
        for u, part in _partitions(table, key):
            k = (names[u // 1_000_000], (u % 1_000_000) // 100, u % 100)
            self.pending.setdefault(k, []).append(part)
            self.rows[k] = self.rows.get(k, 0) + part.num_rows
            self.buffered += part.num_rows
            waiting = sum(t.num_rows for t in self.pending[k])
            if waiting >= _ROW_GROUP:
                self._flush(k, whole_groups=not self.draining)
            elif self.draining and waiting >= _ROW_GROUP // 16:  # a few stray rows wait for the close
                self._flush(k)
        while self.buffered > _BUFFERED:
            self._flush(max(self.pending, key=lambda k: sum(t.num_rows for t in self.pending[k])))

    def _flush(self, k: tuple, whole_groups: bool = False) -> None:
        """Write partition `k`'s buffered rows; with `whole_groups`, only whole row groups of them (the
        rest stays buffered, to start the next one)."""
        tables = self.pending.pop(k, [])
        if not tables:
            return
        table = pa.concat_tables(tables)
        if whole_groups and table.num_rows % _ROW_GROUP:
            cut = table.num_rows - table.num_rows % _ROW_GROUP
            self.pending[k] = [table.slice(cut)]
            table = table.slice(0, cut)
        self.buffered -= table.num_rows
        writer = self.writers.get(k)
        if writer is None:
            source, year, month = k
            folder = self.events_dir / f"source={source}" / f"year={year}" / f"month={month}"
            folder.mkdir(parents=True, exist_ok=True)
            self.paths[k] = folder / f"part-{self.batch_id}_0.parquet"
            writer = self.writers[k] = part_writer(self.paths[k])
        if self.encoder is None:
            self.encoder = ThreadPoolExecutor(1, thread_name_prefix="dyadwatch-parts")
        self.queued.append(self.encoder.submit(writer.write_table, table, row_group_size=_ROW_GROUP))
        while len(self.queued) > _QUEUED or (self.queued and self.queued[0].done()):
            self.queued.popleft().result()  # raises what the write raised

    def drain(self) -> None:
        """Write what is buffered, and from now on each partition's rows as they come (but for a few):
        the readers have their last files, so this is written while they read them, instead of after
        them while they idle (at the cost of a few short row groups)."""
        self.draining = True
        for k in list(self.pending):
            self._flush(k)

    def _written(self) -> None:
        """Wait for the queued writes; raise the first error one of them met."""
        while self.queued:
            self.queued.popleft().result()

    def close(self) -> list[tuple]:
        """Write what is buffered, close the parts; (path, source, year, month, rows) per part."""
        for k in list(self.pending):
            self._flush(k)
        self._written()
        self.abort()
        return [(str(self.paths[k]), *k, self.rows[k]) for k in sorted(self.paths)]

    def abort(self) -> None:
        """Close the parts as they are (after an error: they are never recorded, so later deleted)."""
        self.queued.clear()  # an error of theirs is the caller's to report (close), not here
        if self.encoder is not None:
            self.encoder.shutdown(wait=True)  # the queued writes end first
            self.encoder = None
        for w in self.writers.values():
            w.close()
        self.writers.clear()


_MAX_RUNS = 64  # a partition's rows in at most this many runs are sliced out, others copied


def _runs(mask: np.ndarray) -> np.ndarray:
    """(start, end) of each run of True in `mask`, as rows of a (n, 2) array."""
    return np.flatnonzero(np.diff(mask, prepend=False, append=False)).reshape(-1, 2)


def _slices(table: pa.Table, runs: np.ndarray) -> pa.Table:
    """The rows of `runs` ((start, end) rows) of `table`, in order, without a copy."""
    return pa.concat_tables([table.slice(a, b - a) for a, b in runs.tolist()])


def _partitions(table: pa.Table, key: np.ndarray) -> list[tuple[int, pa.Table]]:
    """(key, rows) for each distinct `key` of the rows of `table`. The biggest partition, when it is
    most of the table in a few runs (a file's rows of its main month: the lane puts them first in each
    block), is sliced out without a copy (~0.8 us a row saved). The other rows are copied, in one take
    (a third of the time of a filter per partition), so that a few rows never keep a whole staged file
    alive while they wait to be written."""
    keys, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    if len(keys) == 1:
        return [(int(keys[0]), table)]
    out = []
    rest = np.arange(len(key))
    main = int(np.argmax(counts))
    is_main = inverse == main
    runs = _runs(is_main)
    main_sliced = 2 * counts[main] >= len(key) and len(runs) <= _MAX_RUNS
    if main_sliced:
        out.append((int(keys[main]), _slices(table, runs)))
        rest = np.flatnonzero(~is_main)
    by_partition = np.argsort(inverse[rest], kind="stable")  # each partition in the table's order
    ids = inverse[rest][by_partition]
    rest_runs = _runs(~is_main) if main_sliced else None
    if rest_runs is not None and len(rest_runs) <= _MAX_RUNS:
        # the other rows gathered into one chunk first (they are a few runs: the ends of the lane's
        # blocks): a take from one chunk costs half of one across the staged file's chunks
        copied = _slices(table, rest_runs).combine_chunks().take(by_partition)
    else:
        copied = table.take(rest[by_partition])
    starts = np.flatnonzero(np.diff(ids, prepend=-1))
    for a, b in zip(starts.tolist(), [*starts[1:].tolist(), len(ids)]):
        out.append((int(keys[ids[a]]), copied.slice(a, b - a)))
    return out

