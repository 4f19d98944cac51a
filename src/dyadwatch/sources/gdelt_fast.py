"""The compiled lane of the GDELT reader: one pass over a block finds its lines, reads every line's
event date for the per-day totals, picks the candidate lines of a country filter (a tab-delimited code
anywhere in the line, as the plain reader does), and tokenises and types each candidate (every line
without a filter) while it is still in cache, straight into Arrow columns. The kernel is C
(`native/gdelt_lane.c`), compiled when the package is built and loaded with ctypes (`dyadwatch.native`);
blocks under `MIN_BLOCK` skip it.

It takes only the rows it is sure of: every field in the exact form GDELT writes (digits, a plain
decimal, a real date) and one of the layout's column counts. Any other line (a stray CR, a hexadecimal
or out-of-range number, a date that is not one, a wrong column count, an id with leading zeros) is
handed back to the plain reader in `gdelt.py`, which types and quarantines it as it always did. So the
result is the plain reader's, row for row (tests/test_gdelt_fast.py checks that on real and mangled
files); only the time differs.
"""

from __future__ import annotations

import ctypes
import functools
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from .. import native


# what each canonical field is (its kind says how it is checked and where its value goes: numbers and
# dates to the integer outputs (decimals as the bits of their doubles), strings to the text outputs)
STRING, INT, FLOAT, DATE, ADDED14, ADDED8, EVENT_ID = range(7)
NO_DATE = -(2**31)  # a line whose SQLDATE cannot be read
NO_MONTH = -(2**63)  # no main month yet
# Blocks smaller than this go to the plain reader: below it the lane's fixed cost per block (the
# Arrow columns of ~60 fields) is not worth paying (a 15-minute GDELT 2.0 export holds 10-40 MB)
MIN_BLOCK = 64 << 10
INT_RANGE = {"int8": (-128, 127), "int32": (-(2**31), 2**31 - 1), "int64": (-(2**63) + 1, 2**63 - 1)}


@dataclass(frozen=True)
class Field:
    column: str  # GDELT column
    canonical: str
    kind: int
    arrow: pa.DataType


def fields_of(canonical: dict[str, str], numeric: dict[str, tuple], version: int) -> list[Field]:
    """The canonical fields of a GDELT version, in a fixed order."""
    out = []
    for column, name in canonical.items():
        if column == "GLOBALEVENTID":
            out.append(Field(column, name, EVENT_ID, pa.int64()))
        elif column == "SQLDATE":
            out.append(Field(column, name, DATE, pa.date32()))
        elif column == "DATEADDED":
            out.append(Field(column, name, ADDED14 if version == 2 else ADDED8, pa.timestamp("s")))
        elif column in numeric:
            typ = numeric[column][0]
            out.append(Field(column, name, FLOAT if pa.types.is_floating(typ) else INT, typ))
        else:
            out.append(Field(column, name, STRING, pa.string()))
    return out


class Plan:
    """What the kernels need to know of one source: per field its kind, output slot and bounds, and per
    accepted column count the column of each field (-1: the layout lacks it, so the value is null)."""

    def __init__(self, fields: list[Field], layouts: dict[int, tuple[str, ...]]):
        self.fields = fields
        n = len(fields)
        self.kinds = np.array([f.kind for f in fields], np.int64)
        self.slots = np.zeros(n, np.int64)
        self.lo = np.zeros(n, np.int64)
        self.hi = np.zeros(n, np.int64)
        counts = {"i": 0, "t": 0}  # numbers and dates (decimals as the bits of doubles); strings
        for i, f in enumerate(fields):
            group = "t" if f.kind == STRING else "i"
            self.slots[i] = counts[group]
            counts[group] += 1
            if f.kind in (INT, EVENT_ID):
                self.lo[i], self.hi[i] = INT_RANGE[str(f.arrow)]
        self.n_int, self.n_text = counts["i"], counts["t"]
        self.widths = np.array(sorted(layouts), np.int64)
        self.columns = np.full((len(self.widths), n), -1, np.int64)
        for w, width in enumerate(self.widths):
            names = layouts[int(width)]
            for i, f in enumerate(fields):
                if f.column in names:
                    self.columns[w, i] = names.index(f.column)
        countries = [i for i, f in enumerate(fields) if f.canonical in ("actor1_country", "actor2_country")]
        self.country_fields = np.array(countries, np.int64)


def available() -> bool:
    """Whether the compiled lane may be used: DYADWATCH_PLAIN_READER is not set (it makes the plain
    reader do everything, to compare the two). Whether the kernel loads is `ready()`."""
    return os.environ.get("DYADWATCH_PLAIN_READER", "") in ("", "0")


@functools.cache
def ready() -> bool:
    """Whether the kernel loads (it is compiled when the package is built). If it does not (a platform
    without a build, say), the plain reader does everything: the same result, slower, and one warning."""
    try:
        _kernel()
    except native.NativeUnavailable as exc:
        warnings.warn(f"dyadwatch: the compiled GDELT reader is not available ({exc}); using the plain one",
                      RuntimeWarning, stacklevel=2)
        return False
    return True


@functools.cache
def _kernel(variant: str | None = None):
    """`read_block` of the C kernel: its `variant` build ("baseline", "avx2"), by default the best this
    CPU runs (`native.load`)."""
    fn = native.load("gdelt_lane", variant).read_block
    fn.restype = ctypes.c_int64
    fn.argtypes = [ctypes.c_void_p if a == "p" else ctypes.c_int64 for a in _ARGS]
    return fn


# read_block's arguments: p a pointer, i an int64 (gdelt_lane.c)
_ARGS = "pipipipppppipiippppppippppppp"


def codes_array(countries: frozenset[str] | None) -> np.ndarray | None:
    """The filter's codes as an (n, 3) byte array, or None when the compiled lane cannot search them
    (it looks for tab-delimited 3-letter codes, as CAMEO country codes are)."""
    if not countries:
        return np.zeros((0, 3), np.uint8)
    raw = [c.encode() for c in sorted(countries)]
    if any(len(c) != 3 or b"\t" in c or b"\n" in c for c in raw):
        return None
    return np.frombuffer(b"".join(raw), np.uint8).reshape(len(raw), 3).copy()


def warm_up() -> None:
    """Load the kernel before reader processes are forked, so that they share it."""
    if available():
        ready()


@dataclass
class FastBlock:
    n_lines: int
    starts: np.ndarray  # where each line starts (the plain reader's lines are cut from them)
    rows_read: int
    columns: dict  # canonical name -> Arrow array, of the kept rows
    kept_lines: np.ndarray  # 0-based line index of each kept row (those of the main month first)
    plain: np.ndarray  # 0-based indices of the lines for the plain reader
    days: np.ndarray  # day numbers (since 1970) counted here ...
    counts: np.ndarray  # ... and their counts
    main_month: int  # months since 1970 of the rows that come first (NO_MONTH: no row was taken)
    read: np.ndarray | None = None  # per line: a row (not blank); with `lines`
    counted_days: np.ndarray | None = None  # per line counted here: its day; with `lines`


def fast_block(block, plan: Plan, codes: np.ndarray, main_month: int = NO_MONTH,
               lines: bool = False) -> FastBlock | None:
    """One block through the compiled lane (codes: (n, 3) bytes, none = no filter); None when the block
    is not valid UTF-8 (the lane's pass checks it). With `lines`, also which lines are rows and each
    counted line's day (a block of several files splits its counts by file with them). The kept rows of `main_month` come first (by
    default the month of the first row taken; the block's `main_month` says which it was): a file's
    blocks given the same month keep its rows of that month together."""
    u = np.frombuffer(block, dtype=np.uint8)
    n = len(u)
    per_line = lines
    lines = n // 256 + 64  # GDELT lines are ~400 bytes; if they are shorter, count them and go again
    kept_out = np.zeros(1, np.int64)
    main = np.zeros(1, np.int64)
    while True:
        w = _work(plan, lines, n)
        main[0] = main_month
        n_lines = _kernel()(
            _ptr(u), n, _ptr(codes), len(codes), _ptr(plan.widths), len(plan.widths), _ptr(plan.columns),
            _ptr(plan.kinds), _ptr(plan.slots), _ptr(plan.lo), _ptr(plan.hi), len(plan.kinds),
            _ptr(plan.country_fields), len(plan.country_fields), w.lines, _ptr(w.starts), _ptr(w.dates),
            _ptr(w.status), _ptr(w.ints), _ptr(w.ivalid), _ptr(w.base), plan.n_text,
            _ptr(w.offsets), _ptr(w.tvalid), _ptr(w.sbuf), _ptr(kept_out), _ptr(w.rows), _ptr(w.deferred),
            _ptr(main),
        )
        if n_lines >= 0:
            break
        if n_lines == -3:  # not valid UTF-8: the plain reader quarantines the lines that are not
            return None
        if n_lines != -1:
            raise RuntimeError(f"the compiled GDELT reader cannot take this layout ({n_lines})")
        lines = int(np.count_nonzero(u == 10)) + 1
    kept = int(kept_out[0])
    starts = w.starts[:n_lines].copy()
    dates, status = w.dates[:n_lines], w.status[:n_lines]
    ints, ivalid, offsets, tvalid, sbuf, base = w.ints, w.ivalid, w.offsets, w.tvalid, w.sbuf, w.base
    is_counted = (status == 1) | (status >= 3)
    counted = dates[is_counted]  # a taken row's SQLDATE reads the same both ways
    if len(counted):
        lo = int(counted.min())
        counts = np.bincount(counted - lo)
        present = np.flatnonzero(counts)
        days, day_counts = present + lo, counts[present]
    else:
        days, day_counts = np.zeros(0, np.int64), np.zeros(0, np.int64)
    columns = _columns(sbuf, base, plan, kept, ints, ivalid, offsets, tvalid)
    extra = {}
    if per_line:
        extra = {"read": status != 0, "counted_days": np.where(is_counted, dates, NO_DATE)}
    return FastBlock(n_lines, starts, int(np.count_nonzero(status)), columns, w.rows[:kept].copy(),
                     np.flatnonzero(status == 2), days, day_counts, int(main[0]), **extra)


def _ptr(a: np.ndarray) -> int:
    assert a.flags.c_contiguous
    return a.ctypes.data


class _Work:
    """The kernel's outputs, kept by the process and reused block after block: fresh ones per block
    cost more in page faults (and zeroed huge pages) than the kernel itself. They only grow, and keep
    their layout while they do not, so the same pages serve every block. Per line: starts, dates,
    status, deferred (two per line); per kept row: rows, and (column-major) ints, ivalid, offsets,
    tvalid; and for each text field a region of sbuf (from base[j]) as big as a block, room for that
    field in every line. Nothing a block returns may refer to them."""

    def __init__(self, plan: Plan, lines: int, size: int):
        self.lines, self.size, self.plan = lines, size, plan
        self.starts, self.dates = np.empty(lines, np.int64), np.empty(lines, np.int64)
        self.status = np.empty(lines, np.uint8)
        self.deferred = np.empty(2 * lines, np.int64)
        self.rows = np.empty(lines, np.int64)
        self.ints = np.empty((plan.n_int, lines), np.int64)
        self.ivalid = np.empty((plan.n_int, lines), np.uint8)
        self.offsets = np.empty((plan.n_text, lines + 1), np.int32)
        self.tvalid = np.empty((plan.n_text, lines), np.uint8)
        self.sbuf = np.empty(size * plan.n_text, np.uint8)
        self.base = np.arange(plan.n_text, dtype=np.int64) * size


_WORK: _Work | None = None


def _work(plan: Plan, lines: int, size: int) -> _Work:
    global _WORK
    w = _WORK
    if w is None or w.plan is not plan or w.lines < lines or w.size < size:
        if w is not None and w.plan is plan:
            lines, size = max(lines, w.lines), max(size, w.size)
        _WORK = None  # free the old arrays first
        w = _WORK = _Work(plan, lines, max(size, 1))
    return w


def _columns(sbuf, base, plan: Plan, n: int, ints, ivalid, offsets, tvalid) -> dict:
    """The first n kept rows of `read_block`'s outputs as Arrow arrays, by canonical name."""
    out = {}
    for i, f in enumerate(plan.fields):
        slot = int(plan.slots[i])
        if f.kind == STRING:
            o = offsets[slot, : n + 1].copy()  # copies: the work arrays are reused by the next block
            data = sbuf[base[slot] : base[slot] + o[-1]].copy()
            out[f.canonical] = pa.Array.from_buffers(
                pa.string(), n, [_bitmap(tvalid[slot, :n]), pa.py_buffer(o), pa.py_buffer(data)]
            )
            continue
        values, valid = ints[slot, :n], _bitmap(ivalid[slot, :n])
        # Arrow arrays straight from the buffers (no conversion pass, no check of each value)
        if f.kind == DATE:
            data, typ = values.astype(np.int32), pa.date32()
        elif f.kind in (ADDED8, ADDED14):
            data, typ = values.copy(), pa.timestamp("s")
        elif f.kind == FLOAT:  # the kernel wrote each double's bits
            data, typ = values.view(np.float64).astype(_FLOATS[f.arrow]), f.arrow
        elif f.canonical == "is_root_event":
            data, typ = np.packbits(values != 0, bitorder="little"), pa.bool_()
        else:
            data, typ = values.astype(np.dtype(str(f.arrow))), f.arrow
        out[f.canonical] = pa.Array.from_buffers(typ, n, [valid, pa.py_buffer(data)])
    return out


_FLOATS = {pa.float64(): np.float64, pa.float32(): np.float32}


def _bitmap(valid: np.ndarray):
    """Arrow's validity bitmap of `valid` (0 or 1 per row: packbits takes any non-zero as a set bit),
    None when every row is valid."""
    if valid.all():
        return None
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def day_array(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype(np.int32), pa.int32()).view(pa.date32())
