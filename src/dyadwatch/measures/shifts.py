"""Shifts in monthly series: z-score flags against a trailing window, and PELT changepoints.

Pure functions over plain sequences and Arrow tables; the only I/O is `read_series_csv`, which reads an
analyst's own monthly series. The rules (and why) are in docs/shifts.md.
"""

from __future__ import annotations

import calendar
import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import ruptures as rpt

METHODS = ("zscore", "changepoint")
TRANSFORMS = ("auto", "anscombe", "log1p", "none")
PERIOD_COLUMNS = ("period", "month", "date")  # auto-detected in a CSV, in this order
NULL_CELLS = frozenset({"", "na", "n/a", "nan", "null"})
MAD_TO_SD = 1 / (math.sqrt(2) * 0.6745)  # MAD of first differences -> sd of the noise (Gaussian)

SHIFT_SCHEMA = pa.schema([
    ("period", pa.date32()), ("indicator", pa.string()), ("method", pa.string()), ("direction", pa.string()),
    ("magnitude", pa.float64()), ("before", pa.float64()), ("after", pa.float64()),
    ("relative", pa.float64()), ("detail", pa.string()),
])


class SeriesError(ValueError):
    """A monthly series that cannot be read; the message is one line naming the file and row."""


@dataclass(frozen=True)
class Shift:
    period: date          # zscore: the flagged month; changepoint: first month of the new segment
    indicator: str
    method: str           # "zscore" | "changepoint"
    direction: str        # "up" | "down"
    magnitude: float      # zscore: z; changepoint: mean after - mean before, in the series' units
    before: float         # zscore: trailing mean; changepoint: mean of the segment before
    after: float          # zscore: the month's value; changepoint: mean of the segment after
    detail: str
    relative: float | None = None  # (after - before) / |before|; None when before is 0


def _relative(before: float, after: float) -> float | None:
    return (after - before) / abs(before) if before != 0 else None


def _prepare(periods: Sequence[date], values: Sequence[float | None]) -> tuple[list[date], np.ndarray]:
    if len(periods) != len(values):
        raise ValueError(f"{len(periods)} periods but {len(values)} values")
    ps = [date(p.year, p.month, p.day) for p in periods]  # datetime -> date
    if any(a >= b for a, b in zip(ps, ps[1:])):
        raise ValueError("periods must be strictly increasing")
    x = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    if np.isinf(x).any():
        raise ValueError("values must be finite numbers or null")
    return ps, x


# --- z-score flags -----------------------------------------------------------------------------------

def zscore_flags(periods: Sequence[date], values: Sequence[float | None], *, indicator: str = "value",
                 window: int = 12, threshold: float = 3.0, min_periods: int = 6) -> list[Shift]:
    """Flag month t when |z| >= threshold, z = (x_t - mean) / sd over the `window` entries before t
    (nulls skipped; at least `min_periods` non-null needed). A constant window has no spread, so its
    sd is replaced by the Poisson one, sqrt(max(|mean|, 1))."""
    if window < 2 or not 2 <= min_periods <= window or threshold <= 0:
        raise ValueError("need window >= 2, 2 <= min_periods <= window and threshold > 0")
    ps, x = _prepare(periods, values)
    out = []
    for t in range(len(x)):
        if math.isnan(x[t]):
            continue
        w = x[max(0, t - window):t]
        w = w[~np.isnan(w)]
        if len(w) < min_periods:
            continue
        mean = float(w.mean())
        constant = w.max() == w.min()  # exact test: float noise in std() of equal values is not spread
        sd = math.sqrt(max(abs(mean), 1.0)) if constant else float(w.std(ddof=1))
        if not sd > 0:  # spread too small for a double (values near 1e-300): no spread either
            sd = math.sqrt(max(abs(mean), 1.0))
        z = (float(x[t]) - mean) / sd
        if abs(z) >= threshold:
            note = ", constant window: Poisson sd" if constant else ""
            out.append(Shift(ps[t], indicator, "zscore", "up" if z > 0 else "down", z, mean, float(x[t]),
                             f"z={z:.2f}: {x[t]:.6g} vs mean {mean:.6g} (sd {sd:.4g}{note}) of the "
                             f"{len(w)} prior months", _relative(mean, float(x[t]))))
    return out


# --- changepoints ------------------------------------------------------------------------------------

def _transform(kind: str, x: np.ndarray) -> tuple[str, np.ndarray]:
    if kind not in TRANSFORMS:
        raise ValueError(f"unknown transform {kind!r}: choose from {', '.join(TRANSFORMS)}")
    if kind == "auto":  # counts (non-negative whole numbers) get Anscombe, anything else is left alone
        kind = "anscombe" if (x >= 0).all() and (x == np.round(x)).all() else "none"
    if kind != "none" and (x < 0).any():
        raise ValueError(f"the {kind} transform is for counts; this series has negative values")
    if kind == "anscombe":  # Poisson: variance = mean; 2*sqrt(x + 3/8) has variance ~1 at any mean
        return kind, 2 * np.sqrt(x + 3 / 8)
    return kind, (np.log1p(x) if kind == "log1p" else x)


def noise_sigma(y: np.ndarray) -> float:
    """Robust sd of the noise: MAD of first differences (a level shift is one outlier among them);
    when that is 0 (ties in sparse counts), the plain sd of the differences; both / sqrt(2)."""
    d = np.diff(y)
    if len(d) == 0:
        return 0.0
    s = float(np.median(np.abs(d - np.median(d)))) * MAD_TO_SD
    return s if s > 0 else (float(d.std(ddof=1)) / math.sqrt(2) if len(d) > 1 else 0.0)


def default_penalty(y: np.ndarray, transform: str) -> float:
    """MBIC for a change in mean, 3 * sigma^2 * ln(n), with sigma = noise_sigma(y), at least 1 after
    Anscombe (Poisson noise is 1 there; real counts are only noisier)."""
    sigma = noise_sigma(y)
    if transform == "anscombe":
        sigma = max(sigma, 1.0)
    return 3 * sigma ** 2 * math.log(len(y))


def changepoints(periods: Sequence[date], values: Sequence[float | None], *, indicator: str = "value",
                 transform: str = "auto", penalty: float | None = None, min_size: int = 3,
                 model: str = "l2") -> list[Shift]:
    """Changes in level found by ruptures PELT on the variance-stabilised series. Nulls are dropped
    first, so a changepoint is the first non-null month of its new segment."""
    if min_size < 1:
        raise ValueError("min_size must be at least 1")
    if penalty is not None and penalty < 0:
        raise ValueError("penalty must be >= 0")
    if penalty is None and model != "l2":
        raise ValueError(f"the default penalty rule is for model 'l2'; give a penalty for model {model!r}")
    ps, x = _prepare(periods, values)
    keep = ~np.isnan(x)
    ps, x = [p for p, k in zip(ps, keep) if k], x[keep]
    if len(x) < 2 * min_size:
        return []
    kind, y = _transform(transform, x)
    if penalty is None:
        if noise_sigma(y) == 0:  # constant or a perfect straight line: no level shift to find
            return []
        penalty = default_penalty(y, kind)
    cuts = rpt.Pelt(model=model, min_size=min_size, jump=1).fit(y.reshape(-1, 1)).predict(pen=penalty)
    bounds = [0, *cuts]  # predict() ends with len(y)
    out = []
    for i in range(1, len(bounds) - 1):
        a, k, b = bounds[i - 1], bounds[i], bounds[i + 1]
        before, after = float(x[a:k].mean()), float(x[k:b].mean())
        up = after > before if after != before else y[k:b].mean() > y[a:k].mean()
        out.append(Shift(ps[k], indicator, "changepoint", "up" if up else "down", after - before, before, after,
                         f"PELT {model}, {kind} transform, penalty {penalty:.4g}: mean {before:.6g} over "
                         f"{ps[a]:%Y-%m}..{ps[k - 1]:%Y-%m} -> {after:.6g} over {ps[k]:%Y-%m}..{ps[b - 1]:%Y-%m}",
                         _relative(before, after)))
    return out


# --- tables ------------------------------------------------------------------------------------------

def shifts_table(shifts: Sequence[Shift]) -> pa.Table:
    """Shifts as an Arrow table with SHIFT_SCHEMA, in the order given."""
    cols = {f.name: [getattr(s, f.name) for s in shifts] for f in SHIFT_SCHEMA}
    return pa.table(cols, schema=SHIFT_SCHEMA)


def _month(p: date) -> date:
    return date(p.year, p.month, 1)


def _next_month(p: date) -> date:
    return date(p.year + p.month // 12, p.month % 12 + 1, 1)


def _monthly(periods: list[date], columns: dict[str, list]) -> pa.Table:
    """One row per month from the first to the last, sorted; months not given are null rows."""
    at = {p: i for i, p in enumerate(periods)}
    months, p = [], min(periods)
    while p <= max(periods):
        months.append(p)
        p = _next_month(p)
    data = {"period": pa.array(months, pa.date32())}
    for name, vals in columns.items():
        data[name] = pa.array([vals[at[m]] if m in at else None for m in months], pa.float64())
    return pa.table(data)


def _as_periods(col: pa.ChunkedArray, name: str) -> list[date]:
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        vals = [None if v is None else parse_month(v) for v in col.to_pylist()]
    elif pa.types.is_timestamp(t) or pa.types.is_date(t):
        vals = col.to_pylist()
    else:
        raise ValueError(f"column {name!r} is {t}, not dates")
    if any(v is None for v in vals):
        raise ValueError(f"column {name!r} has an empty value or one that is not a month")
    return [_month(v) for v in vals]


def _is_numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def detect(series: pa.Table, columns: Sequence[str] | None = None, *, period_column: str = "period",
           methods: Sequence[str] = METHODS, window: int = 12, threshold: float = 3.0, min_periods: int = 6,
           penalty: float | None = None, transform: str = "auto", min_size: int = 3,
           model: str = "l2") -> pa.Table:
    """Both detectors on each numeric column of a monthly table (default: every numeric column but the
    period). Periods are taken to their month; a repeated month is an error; missing months are nulls.
    Returns SHIFT_SCHEMA rows sorted by period, indicator, method."""
    if bad := [m for m in methods if m not in METHODS]:
        raise ValueError(f"unknown method {bad[0]!r}: choose from {', '.join(METHODS)}")
    names = series.column_names
    if period_column not in names:
        raise ValueError(f"no period column {period_column!r}; columns: {', '.join(names)}")
    numeric = [n for n in names if n != period_column and _is_numeric(series.schema.field(n).type)]
    if columns is None:
        columns = numeric
    for c in columns:
        if c not in numeric:
            what = "is not numeric" if c in names else "does not exist"
            raise ValueError(f"column {c!r} {what}; numeric columns: {', '.join(numeric) or '(none)'}")
    periods = _as_periods(series.column(period_column), period_column)
    if len(set(periods)) != len(periods):
        dup = next(p for p in periods if periods.count(p) > 1)
        raise ValueError(f"month {dup:%Y-%m} appears more than once in column {period_column!r}")
    if not periods:
        return shifts_table([])
    table = _monthly(periods, {c: pc.cast(series.column(c), pa.float64()).to_pylist() for c in columns})
    months = table.column("period").to_pylist()
    found: list[Shift] = []
    for c in columns:
        vals = table.column(c).to_pylist()
        if "zscore" in methods:
            found += zscore_flags(months, vals, indicator=c, window=window, threshold=threshold,
                                  min_periods=min_periods)
        if "changepoint" in methods:
            found += changepoints(months, vals, indicator=c, transform=transform, penalty=penalty,
                                  min_size=min_size, model=model)
    found.sort(key=lambda s: (s.period, s.indicator, s.method))
    return shifts_table(found)


# --- an analyst's CSV --------------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_ISO = re.compile(r"(\d{4})[-/](\d{1,2})(?:[-/](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z?)?)?")
_NAMED = re.compile(r"([A-Za-z]+)\.? (\d{4})")
_MONTHS = {n.lower(): i for names in (calendar.month_name, calendar.month_abbr)
           for i, n in enumerate(names) if n} | {"sept": 9}


def parse_month(text: str) -> date | None:
    """'2021-03', '2021-03-01' (any day), '2021/03', '2021/03/31', 'Mar 2021', 'March 2021' -> 2021-03-01;
    anything else -> None."""
    s = text.strip()
    try:
        if m := _ISO.fullmatch(s):
            d = date(int(m[1]), int(m[2]), int(m[3] or 1))
            return _month(d)
        if (m := _NAMED.fullmatch(s)) and m[1].lower() in _MONTHS:
            return date(int(m[2]), _MONTHS[m[1].lower()], 1)
    except ValueError:  # month 13, 31 February
        return None
    return None


def read_series_csv(path: str | Path, column: str | Sequence[str] | None = None,
                    period_column: str | None = None) -> pa.Table:
    """An analyst's monthly series: a period column (auto: period, month or date) and numeric columns
    (default: all others). Returns `period` (date32, first of month) and float64 columns, one row per
    month from the first to the last; months not in the file and empty cells are nulls."""
    where = str(path)

    def fail(row: int | None, msg: str):
        raise SeriesError(f"{where}: {msg}" if row is None else f"{where} row {row}: {msg}")

    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        fail(None, f"not UTF-8 text (byte {e.start})")
    except OSError as e:
        fail(None, f"cannot read ({e.strerror})")
    if not text.strip():
        fail(None, "the file is empty")
    first = text.lstrip().splitlines()[0]
    delimiter = next((d for d in ",;\t" if d in first), ",")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = []
    for header in reader:  # the first non-blank line
        if any(h.strip() for h in header):
            break
    header = [h.strip() for h in header]
    if dup := next((h for h in header if header.count(h) > 1), None):
        fail(None, f"column {dup!r} appears twice in the header")
    if period_column is None:
        lower = {h.lower(): h for h in header}
        period_column = next((lower[c] for c in PERIOD_COLUMNS if c in lower), None)
        if period_column is None:
            fail(None, f"no period column (looked for {', '.join(PERIOD_COLUMNS)}); columns: {', '.join(header)}")
    elif period_column not in header:
        fail(None, f"no column {period_column!r}; columns: {', '.join(header)}")
    others = [h for h in header if h != period_column]
    wanted = list(others) if column is None else [column] if isinstance(column, str) else list(column)
    for c in wanted:
        if c not in others:
            fail(None, f"no column {c!r}; value columns: {', '.join(others) or '(none)'}")
    if not wanted:
        fail(None, f"no value columns besides {period_column!r}")
    pi, idx = header.index(period_column), {c: header.index(c) for c in wanted}

    periods: list[date] = []
    seen: dict[date, int] = {}
    values: dict[str, list] = {c: [] for c in wanted}
    for cells in reader:
        row = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            fail(row, f"{len(cells)} cells, the header has {len(header)}")
        p = parse_month(cells[pi])
        if p is None:
            fail(row, f"{cells[pi][:40]!r} in column {period_column!r} is not a month "
                      "(use YYYY-MM, YYYY-MM-DD, YYYY/MM or Mon YYYY)")
        if p in seen:
            fail(row, f"month {p:%Y-%m} is already on row {seen[p]}")
        seen[p] = row
        periods.append(p)
        for c, i in idx.items():
            cell = cells[i].strip()
            if cell.lower() in NULL_CELLS:
                values[c].append(None)
            elif _NUMBER.fullmatch(cell):
                values[c].append(float(cell))
            else:
                fail(row, f"{cells[i][:40]!r} in column {c!r} is not a number")
    if not periods:
        fail(None, "no data rows under the header")
    return _monthly(periods, values)
