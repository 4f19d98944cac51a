"""The numba kernels of the compiled GDELT lane (`gdelt_fast` explains the lane). A module of its own
so that numba (~0.5 s to import) is loaded only by an ingest, never by the other commands."""

from __future__ import annotations

import numpy as np
from numba import njit, uint8

from .gdelt_fast import ADDED8, ADDED14, DATE, EVENT_ID, FLOAT, INT, NO_DATE, STRING

_jit = dict(cache=True, nogil=True, boundscheck=False)


@njit(inline="always")
def _days_from_civil(y, m, d):
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(inline="always")
def _real_date(y, m, d):
    if m < 1 or m > 12 or d < 1 or y < 1:
        return False
    if m == 2:
        leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
        return d <= (29 if leap else 28)
    if m == 4 or m == 6 or m == 9 or m == 11:
        return d <= 30
    return d <= 31


@njit(inline="always")
def _digits(u, s, width):
    """The number written by u[s:s+width] if all are ASCII digits, else -1."""
    v = 0
    for p in range(s, s + width):
        b = u[p]
        if b < 48 or b > 57:
            return -1
        v = v * 10 + (b - 48)
    return v


@njit(inline="always")
def _sqldate(u, s, e):
    """SQLDATE of the line u[s:e] as days since 1970, NO_DATE where it cannot be read: the plain
    reader's `_event_dates` (the first tab among bytes 1..20, then 8 digits and a tab, a real date)."""
    tab = -1
    for k in range(1, 21):
        if s + k >= e:
            break
        if u[s + k] == 9:
            tab = s + k
            break
    if tab < 0:
        return NO_DATE
    pos = tab + 1
    if not (pos + 8 < e) or u[pos + 8] != 9:
        return NO_DATE
    y = _digits(u, pos, 4)
    m = _digits(u, pos + 4, 2)
    d = _digits(u, pos + 6, 2)
    if y < 0 or m < 0 or d < 0 or not _real_date(y, m, d):
        return NO_DATE
    return _days_from_civil(y, m, d)


@njit(inline="always")
def _flag_newlines(u, c_lo, c_hi, flags):
    for c in range(c_lo, c_hi):
        base = c * 64
        acc = uint8(0)
        for j in range(64):
            acc |= uint8(u[base + j] == 10)
        flags[c - c_lo] = acc


@njit(inline="always")
def _flag_code(u, c_lo, c_hi, c0, c1, c2, flags):
    for c in range(c_lo, c_hi):
        base = c * 64
        acc = uint8(0)
        for j in range(64):
            p = base + j
            acc |= (uint8(u[p] == 9) & uint8(u[p + 1] == c0) & uint8(u[p + 2] == c1)
                    & uint8(u[p + 3] == c2) & uint8(u[p + 4] == 9))
        flags[c - c_lo] |= acc


@njit(inline="always")
def _int_of(u, s, e, lo, hi):
    """(value, ok): ok only for 0 or -?[1-9][0-9]* within lo..hi (up to 18 digits)."""
    neg = u[s] == 45
    p = s + 1 if neg else s
    n = e - p
    if n < 1 or n > 18:
        return 0, False
    if u[p] == 48 and (n > 1 or neg):
        return 0, False
    v = 0
    for q in range(p, e):
        b = u[q]
        if b < 48 or b > 57:
            return 0, False
        v = v * 10 + (b - 48)
    if neg:
        v = -v
    if v < lo or v > hi:
        return 0, False
    return v, True


@njit(inline="always")
def _is_decimal(u, s, e):
    """Whether u[s:e] is -?[0-9]+(.[0-9]+)? with at most 25 digits: a finite number in the form GDELT
    writes, which Arrow's cast then converts (the same conversion as the plain reader's)."""
    p = s + 1 if u[s] == 45 else s
    digits = 0
    frac = -1  # digits after the point, -1 without a point
    for q in range(p, e):
        b = u[q]
        if b == 46:
            if frac >= 0 or digits == 0:
                return False
            frac = 0
        elif 48 <= b <= 57:
            digits += 1
            if frac >= 0:
                frac += 1
        else:
            return False
    return 0 < digits <= 25 and frac != 0


@njit(inline="always")
def _take(u, s, e, o, widths, columns, kinds, slots, lo, hi, codes, country_fields, ints, ivalid,
          base, at, row_at, offsets, tvalid, sbuf, fs, fe):
    """Tokenise and type the line u[s:e] as kept row `o`. Returns 0 when it is not taken (the plain
    reader does it), 1 when it is taken but outside the countries, 2 when it is taken and kept (without
    a filter every taken row is kept).

    A kept row's numbers and dates go to ints/ivalid; the bytes of each text field (strings, and
    decimals for Arrow to convert) are appended to that field's region of sbuf (from base[j]; at[j] is
    the next byte), with Arrow offsets relative to base[j]. Outputs are column-major."""
    maxc = widths[widths.shape[0] - 1]
    nfield = kinds.shape[0]
    ncode = codes.shape[0]
    ntext = base.shape[0]
    nf = 0
    fs[0] = s
    clean = True
    for p in range(s, e):
        b = u[p]
        if b == 9:
            if nf < maxc:
                fe[nf] = p
            nf += 1
            if nf < maxc:
                fs[nf] = p + 1
        elif b == 13:
            clean = False
            break
    if not clean:
        return 0
    if nf < maxc:
        fe[nf] = e
    nf += 1
    layout = -1
    for w in range(widths.shape[0]):
        if widths[w] == nf:
            layout = w
    if layout < 0:
        return 0
    keep = True
    if ncode > 0:  # outside the countries only whether the row is taken matters (the totals)
        keep = False
        for t in range(country_fields.shape[0]):
            col = columns[layout, country_fields[t]]
            if col < 0 or fe[col] - fs[col] != 3:
                continue
            a = fs[col]
            for q in range(ncode):
                if u[a] == codes[q, 0] and u[a + 1] == codes[q, 1] and u[a + 2] == codes[q, 2]:
                    keep = True
    for j in range(ntext):
        row_at[j] = at[j]
    ok = True
    for f in range(nfield):
        col = columns[layout, f]
        kind = kinds[f]
        slot = slots[f]
        a = fs[col] if col >= 0 else 0
        z = fe[col] if col >= 0 else 0
        if z == a:  # empty or missing from the layout: null, where allowed
            if kind == EVENT_ID or kind == DATE:
                ok = False
                break
            if kind == STRING or kind == FLOAT:
                tvalid[slot, o] = 0
                offsets[slot, o + 1] = at[slot] - base[slot]
            else:
                ivalid[slot, o] = 0
            continue
        if kind == STRING or kind == FLOAT:
            if kind == FLOAT and not _is_decimal(u, a, z):
                ok = False
                break
            if not keep:
                continue
            w0 = at[slot]
            for p in range(a, z):
                sbuf[w0] = u[p]
                w0 += 1
            at[slot] = w0
            tvalid[slot, o] = 1
            offsets[slot, o + 1] = w0 - base[slot]
        elif kind == INT or kind == EVENT_ID:
            iv, good = _int_of(u, a, z, lo[f], hi[f])
            if not good:
                ok = False
                break
            ints[slot, o] = iv
            ivalid[slot, o] = 1
        else:  # DATE, ADDED8 (a date as seconds), ADDED14 (a time as seconds)
            width = 14 if kind == ADDED14 else 8
            if z - a != width:
                ok = False
                break
            y = _digits(u, a, 4)
            m = _digits(u, a + 4, 2)
            d = _digits(u, a + 6, 2)
            if y < 1000 or m < 0 or d < 0 or not _real_date(y, m, d):
                ok = False
                break
            days = _days_from_civil(y, m, d)
            if kind == DATE:
                ints[slot, o] = days
            elif kind == ADDED8:
                ints[slot, o] = days * 86400
            else:
                hh = _digits(u, a + 8, 2)
                mm = _digits(u, a + 10, 2)
                ss = _digits(u, a + 12, 2)
                if hh < 0 or mm < 0 or ss < 0 or hh > 23 or mm > 59 or ss > 59:
                    ok = False
                    break
                ints[slot, o] = days * 86400 + hh * 3600 + mm * 60 + ss
            ivalid[slot, o] = 1
    if not ok or not keep:
        for j in range(ntext):
            at[j] = row_at[j]
        return 1 if ok else 0
    return 2


@njit(**_jit)
def read_block(u, n, codes, widths, columns, kinds, slots, lo, hi, country_fields,
               starts, stops, dates, status, ints, ivalid, base, offsets, tvalid, sbuf):
    """Every line of u[:n] in one pass: its start, stop (without CR LF), SQLDATE (`_sqldate`) and
    status, and the rows taken (`_take`) while the line is still in cache. Status: 0 blank; 1 outside
    the filter (only counted by date); 2 for the plain reader (not taken, or outside the filter with an
    unreadable date); 3 taken, outside the countries; 4 taken and kept. With a filter only lines
    holding a tab-delimited code are tokenised.

    64-byte chunks are tested a group at a time (vectorised, in L1) for a newline and for each code;
    only a chunk that has one is looked at byte by byte. Returns (lines, kept rows); lines is -1 when
    there are more than the outputs hold."""
    C = 64
    G = 256  # chunks per group: 16 KB
    k = 0  # lines so far
    o = 0  # kept rows so far
    line_start = 0
    hit = uint8(0)
    nc = (n - 4) // C if n >= 4 + C else 0  # whole chunks (with 4 bytes to spare for a code)
    ncode = codes.shape[0]
    flags = np.zeros(G, np.uint8)
    maxc = widths[widths.shape[0] - 1]
    fs = np.empty(maxc + 1, np.int64)
    fe = np.empty(maxc + 1, np.int64)
    at = base.copy()
    row_at = base.copy()
    for j in range(base.shape[0]):
        offsets[j, 0] = 0
    for g0 in range(0, nc + 1, G):
        g1 = min(g0 + G, nc)
        if g1 > g0:
            _flag_newlines(u, g0, g1, flags)
            for q in range(ncode):
                _flag_code(u, g0, g1, codes[q, 0], codes[q, 1], codes[q, 2], flags)
        for c in range(g0, min(g0 + G, nc + 1)):
            chunk = c * C
            end = chunk + C if c < nc else n
            if c < nc and flags[c - g0] == 0:
                continue
            for p in range(chunk, end):
                b = u[p]
                if b == 10 or p == n - 1:
                    if k == starts.shape[0]:
                        return -1, 0
                    stop = p if b == 10 else n  # the last line may end without a newline
                    if stop > line_start and u[stop - 1] == 13:
                        stop -= 1
                    starts[k] = line_start
                    stops[k] = stop
                    if stop == line_start:
                        status[k] = 0
                    else:
                        date = _sqldate(u, line_start, stop)
                        dates[k] = date
                        if ncode > 0 and hit == 0:
                            status[k] = 1 if date != NO_DATE else 2
                        else:
                            taken = _take(u, line_start, stop, o, widths, columns, kinds, slots, lo, hi,
                                          codes, country_fields, ints, ivalid, base, at, row_at, offsets,
                                          tvalid, sbuf, fs, fe)
                            status[k] = 2 if taken == 0 else taken + 2
                            o += taken == 2
                    k += 1
                    line_start = p + 1
                    hit = uint8(0)
                elif b == 9 and p + 4 < n and u[p + 4] == 9:
                    for q in range(ncode):
                        if u[p + 1] == codes[q, 0] and u[p + 2] == codes[q, 1] and u[p + 3] == codes[q, 2]:
                            hit = uint8(1)
    return k, o
