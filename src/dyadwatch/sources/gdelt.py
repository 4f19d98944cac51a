"""GDELT event exports: 2.0 (61 columns, also the translingual feed) and 1.0 (58 columns; the
1979-2013 backfile rows have 57, without SOURCEURL, and may share a file with 58-column rows).

Files are tab-separated, unquoted, no header, plain or zipped. We stream them in blocks and, per block:

1. find line boundaries with numpy and drop blank lines;
2. quarantine lines that are not valid UTF-8 (only lines holding a byte >= 0x80 are checked);
3. with a country filter, pick candidate lines by a byte search for a tab-delimited country code, and
   parse only those: most of a GDELT file is about other countries, and tokenising it is the cost. Every
   line's event date (column 2, SQLDATE) is still read, vectorised, for the per-day totals; a line whose
   date cannot be read that way is parsed in full after all, so it is quarantined as without a filter;
4. parse the chosen lines with pyarrow (all text), then convert numbers and dates column by column;
   a value that does not convert quarantines its row, never the block.

Rows outside a country filter are checked only for the event date the totals need (and UTF-8): every
non-blank line is either counted in the totals or quarantined, with or without a filter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .base import Chunk, InputError, InputFile, Reject, conform, daily_totals, filter_countries

BLOCK_SIZE = 16 << 20  # bytes of decompressed text per block: bounds memory, amortises overhead
MAX_RAW = 2000  # characters of a quarantined line we keep
BOM = b"\xef\xbb\xbf"  # UTF-8 byte order mark

V2_COLUMNS = (
    "GLOBALEVENTID SQLDATE MonthYear Year FractionDate Actor1Code Actor1Name Actor1CountryCode "
    "Actor1KnownGroupCode Actor1EthnicCode Actor1Religion1Code Actor1Religion2Code Actor1Type1Code "
    "Actor1Type2Code Actor1Type3Code Actor2Code Actor2Name Actor2CountryCode Actor2KnownGroupCode "
    "Actor2EthnicCode Actor2Religion1Code Actor2Religion2Code Actor2Type1Code Actor2Type2Code "
    "Actor2Type3Code IsRootEvent EventCode EventBaseCode EventRootCode QuadClass GoldsteinScale "
    "NumMentions NumSources NumArticles AvgTone Actor1Geo_Type Actor1Geo_FullName "
    "Actor1Geo_CountryCode Actor1Geo_ADM1Code Actor1Geo_ADM2Code Actor1Geo_Lat Actor1Geo_Long "
    "Actor1Geo_FeatureID Actor2Geo_Type Actor2Geo_FullName Actor2Geo_CountryCode Actor2Geo_ADM1Code "
    "Actor2Geo_ADM2Code Actor2Geo_Lat Actor2Geo_Long Actor2Geo_FeatureID ActionGeo_Type "
    "ActionGeo_FullName ActionGeo_CountryCode ActionGeo_ADM1Code ActionGeo_ADM2Code ActionGeo_Lat "
    "ActionGeo_Long ActionGeo_FeatureID DATEADDED SOURCEURL"
).split()
# 1.0 has no ADM2 columns; its backfile rows also lack SOURCEURL.
V1_COLUMNS = tuple(c for c in V2_COLUMNS if not c.endswith("ADM2Code"))
V1_BACKFILE_COLUMNS = V1_COLUMNS[:-1]
assert len(V2_COLUMNS) == 61 and len(V1_COLUMNS) == 58

# GDELT column -> canonical column. Everything is read as text first.
CANONICAL = {
    "GLOBALEVENTID": "event_id",
    "SQLDATE": "event_date",
    "DATEADDED": "date_added",
    **{f"Actor{n}{g}": f"actor{n}_{c}" for n in (1, 2) for g, c in [
        ("Code", "code"), ("Name", "name"), ("CountryCode", "country"),
        ("KnownGroupCode", "known_group"), ("Type1Code", "type1"), ("Type2Code", "type2"),
        ("Type3Code", "type3"),
    ]},
    "IsRootEvent": "is_root_event",
    "EventCode": "event_code",
    "EventBaseCode": "event_base_code",
    "EventRootCode": "event_root_code",
    "QuadClass": "quad_class",
    "GoldsteinScale": "goldstein",
    "NumMentions": "num_mentions",
    "NumSources": "num_sources",
    "NumArticles": "num_articles",
    "AvgTone": "avg_tone",
    "ActionGeo_Type": "action_geo_type",
    "ActionGeo_FullName": "action_geo_fullname",
    "ActionGeo_CountryCode": "action_geo_country",
    "ActionGeo_ADM1Code": "action_geo_adm1",
    "ActionGeo_Lat": "action_geo_lat",
    "ActionGeo_Long": "action_geo_lon",
    "SOURCEURL": "source_url",
}

# What GDELT writes. Arrow's cast alone is laxer in places (hex "0x1F", "nan", "inf") and stricter in
# others ("+5" for an integer): a value must pass both, whatever else is in its block.
_INT = re.compile(r"^-?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
NUMERIC = {
    "GLOBALEVENTID": (pa.int64(), _INT.pattern),
    "IsRootEvent": (pa.int8(), _INT.pattern),
    "QuadClass": (pa.int8(), _INT.pattern),
    "GoldsteinScale": (pa.float64(), _FLOAT.pattern),
    "NumMentions": (pa.int32(), _INT.pattern),
    "NumSources": (pa.int32(), _INT.pattern),
    "NumArticles": (pa.int32(), _INT.pattern),
    "AvgTone": (pa.float64(), _FLOAT.pattern),
    "ActionGeo_Type": (pa.int8(), _INT.pattern),
    "ActionGeo_Lat": (pa.float64(), _FLOAT.pattern),
    "ActionGeo_Long": (pa.float64(), _FLOAT.pattern),
}


@dataclass(frozen=True)
class GdeltSource:
    """One GDELT event format. `name` is the value stored in the `source` column."""

    name: str
    version: int  # 1 or 2

    @property
    def layouts(self) -> dict[int, tuple[str, ...]]:
        """Accepted column counts -> column names."""
        if self.version == 2:
            return {61: tuple(V2_COLUMNS)}
        return {58: V1_COLUMNS, 57: V1_BACKFILE_COLUMNS}

    def read(self, file: InputFile, countries: frozenset[str] | None) -> Iterator[Chunk]:
        countries = frozenset(countries) if countries else None
        # RE2 pattern for a tab-delimited country code anywhere in a line (a superset of the filter)
        candidate_re = "\t(?:" + "|".join(re.escape(c) for c in sorted(countries)) + ")\t" if countries else None
        seen_any = False
        first_line = 1
        with file.open() as stream:
            for block in _blocks(stream, BLOCK_SIZE):
                chunk, n_lines = self._read_block(block, first_line, file.name, countries, candidate_re)
                first_line += n_lines
                seen_any = seen_any or chunk.rows_read > 0 or bool(chunk.rejects)
                yield chunk
        if not seen_any:
            raise InputError(f"{file.path}: empty file (no event rows)")

    # -- one block ------------------------------------------------------------------------------

    def _read_block(self, block: bytes, first_line: int, file_name: str, countries, candidate_re):
        arr = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero(arr == 10)
        if len(ends) == 0 or ends[-1] != len(arr) - 1:  # last line without a newline
            ends = np.append(ends, len(arr))
        starts = np.empty_like(ends)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        n_lines = len(ends)
        line_no = np.arange(first_line, first_line + n_lines, dtype=np.int64)
        # strip a CR before the newline
        stops = ends.copy()
        has_cr = (stops > starts) & (arr[np.maximum(stops - 1, 0)] == 13)
        stops[has_cr] -= 1
        nonblank = stops > starts
        rejects: list[Reject] = []

        # invalid UTF-8: one validation of the whole block (a newline never sits inside a UTF-8 sequence,
        # so the block is valid exactly when every line is); only if it fails, check the lines that hold
        # a non-ASCII byte one by one
        bad_utf8 = np.zeros(n_lines, dtype=bool)
        high = np.flatnonzero(arr >= 0x80) if not _valid_utf8(block) else ()
        if len(high):
            for i in np.unique(np.searchsorted(ends, high)):
                raw = bytes(block[starts[i] : stops[i]])
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    bad_utf8[i] = True
                    column = raw[: exc.start].count(b"\t")
                    rejects.append(
                        Reject(int(line_no[i]), f"invalid UTF-8 in {self._column_name(column)}", _raw(raw))
                    )

        usable = nonblank & ~bad_utf8
        # every line (with its newline) as one Arrow binary array over the block, without copying
        offsets = np.empty(n_lines + 1, dtype=np.int32)
        offsets[0] = 0
        offsets[1:] = np.minimum(ends + 1, len(arr))
        lines = pa.Array.from_buffers(pa.binary(), n_lines, [None, pa.py_buffer(offsets), pa.py_buffer(block)])
        if candidate_re is not None:
            hit = pc.match_substring_regex(lines, candidate_re).to_numpy(zero_copy_only=False)
            chosen = usable & hit
            # totals for the lines we do not parse come from a vectorised read of their event date
            others = usable & ~chosen
            other_days = _event_dates(arr, starts[others], stops[others])
            # a line whose date cannot be read that way is parsed in full after all (rare): it is then
            # quarantined with the reason an unfiltered read gives, instead of silently missing from both
            # the totals and the quarantine
            unreadable = np.flatnonzero(others)[~pc.is_valid(other_days).to_numpy(zero_copy_only=False)]
            if len(unreadable):
                chosen[unreadable] = True
                other_days = pc.drop_null(other_days)
        else:
            chosen = usable
            other_days = None

        events, parse_rejects, parsed_days = self._parse_lines(
            block, lines, chosen, starts, stops, line_no, file_name
        )
        rejects.extend(parse_rejects)
        days = parsed_days if other_days is None else pa.concat_arrays([parsed_days, other_days])
        rejects.sort(key=lambda r: r.line)
        return (
            Chunk(
                events=filter_countries(events, countries),
                rejects=rejects,
                totals=daily_totals(self.name, days),
                rows_read=int(nonblank.sum()),
            ),
            n_lines,
        )

    def _column_name(self, index: int) -> str:
        names = self.layouts[max(self.layouts)]
        return names[index] if index < len(names) else f"column {index + 1}"

    def _parse_lines(self, block: bytes, lines: pa.Array, chosen: np.ndarray, starts, stops, line_no, file_name):
        """Parse the chosen lines; returns (canonical events, rejects, event dates of good rows)."""
        pick = np.flatnonzero(chosen)
        if len(pick) == 0:
            return conform({}, 0), [], pa.array([], pa.date32())
        starts, stops, line_no = starts[pick], stops[pick], line_no[pick]
        text = block if len(pick) == len(lines) else _joined(lines.filter(pa.array(chosen)))
        if _has_cr(text):  # a stray CR would split a row for pyarrow but not for us
            text = bytes(text).replace(b"\r\n", b"\n").replace(b"\r", b" ")

        layouts = self.layouts
        widest = max(layouts)
        wrong: dict[int, int] = {}  # row index (0-based) -> column count
        others: dict[int, list[int]] = {}  # other accepted layout -> row indices

        def on_invalid(row) -> str:
            idx = row.number - 1
            if row.actual_columns in layouts:
                others.setdefault(row.actual_columns, []).append(idx)
            else:
                wrong[idx] = row.actual_columns
            return "skip"

        tables: list[tuple[pa.Table, np.ndarray]] = []
        main = _read_text(text, layouts[widest], on_invalid)
        skipped = sorted([*wrong, *[i for v in others.values() for i in v]])
        kept_idx = np.delete(np.arange(len(starts)), skipped) if skipped else np.arange(len(starts))
        tables.append((main, kept_idx))
        rejects = [
            Reject(
                int(line_no[i]),
                f"expected {' or '.join(str(k) for k in sorted(layouts, reverse=True))} columns, found {n}",
                _raw(block[starts[i] : stops[i]]),
            )
            for i, n in wrong.items()
        ]
        for width, idxs in others.items():
            sub = b"\n".join(block[starts[i] : stops[i]] for i in idxs) + b"\n"  # rare: ragged 1.0 files
            if b"\r" in sub:  # a stray CR in a field: a space, as in the main text above
                sub = sub.replace(b"\r", b" ")
            tables.append((_read_text(sub, layouts[width], None), np.asarray(idxs)))

        parts, dates = [], []
        for table, idx in tables:
            events, bad, good_dates = self._to_canonical(table, line_no[idx], file_name)
            for row, reason in bad:
                i = idx[row]
                rejects.append(Reject(int(line_no[i]), reason, _raw(block[starts[i] : stops[i]])))
            parts.append(events)
            dates.append(good_dates)
        events = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        if len(parts) > 1:
            events = events.sort_by("source_line")
        return events, rejects, pa.concat_arrays(dates)

    def _to_canonical(self, t: pa.Table, line_no: np.ndarray, file_name: str):
        """Text columns -> typed canonical columns. Returns (events, [(row, reason)], event dates)."""
        n = t.num_rows
        bad = np.zeros(n, dtype=bool)
        reasons: dict[int, str] = {}

        def flag(mask: np.ndarray, column: str, values: pa.Array) -> None:
            for i in np.flatnonzero(mask & ~bad):
                v = values[int(i)].as_py()
                reasons[int(i)] = f"missing {column}" if v is None else f"bad {column} {v!r}"
            bad[mask] = True

        def date_column(column: str, fmt: str, width: int, required: bool) -> pa.Array:
            values = t[column].combine_chunks()
            parsed = pc.strptime(values, format=fmt, unit="s", error_is_null=True)
            # strptime alone is lax: it skips spaces ("2020 1 1") and rolls 31 April over to 1 May (and
            # second 60 into the next minute). So: exactly `width` digits, and the same fields back.
            all_digits = pc.match_substring_regex(values, f"^[0-9]{{{width}}}$")
            ok = pc.fill_null(pc.and_(pc.is_valid(parsed), all_digits), False)
            digits = values if pc.all(ok).as_py() else pc.if_else(ok, values, pa.scalar(None, pa.string()))
            fields = [(pc.month, 4), (pc.day, 6)]
            if width == 14:
                fields += [(pc.hour, 8), (pc.minute, 10), (pc.second, 12)]
            for part, at in fields:
                text = pc.utf8_slice_codeunits(digits, at, at + 2).cast(pa.int64())
                ok = pc.and_(ok, pc.fill_null(pc.equal(part(parsed), text), False))
            invalid = pc.invert(ok)
            if not required:
                invalid = pc.and_(invalid, pc.is_valid(values))
            flag(invalid.to_numpy(zero_copy_only=False), column, values)
            return parsed

        cols: dict[str, pa.Array] = {}
        cols["event_date"] = date_column("SQLDATE", "%Y%m%d", 8, required=True).cast(pa.date32())
        if "DATEADDED" in t.column_names:
            width = 14 if self.version == 2 else 8
            fmt = "%Y%m%d%H%M%S" if self.version == 2 else "%Y%m%d"
            cols["date_added"] = date_column("DATEADDED", fmt, width, required=False)
        for column, (typ, pattern) in NUMERIC.items():
            values = t[column].combine_chunks()
            cols[CANONICAL[column]], ok = _to_number(values, typ, pattern)
            if ok is not None:
                flag(pc.invert(ok).to_numpy(zero_copy_only=False), column, values)
        flag(pc.is_null(cols["event_id"]).to_numpy(zero_copy_only=False), "GLOBALEVENTID", t["GLOBALEVENTID"].combine_chunks())
        cols["is_root_event"] = pc.not_equal(cols["is_root_event"], 0)
        for column, canonical in CANONICAL.items():
            if canonical not in cols and column in t.column_names:
                cols[canonical] = t[column].combine_chunks()
        cols["source"] = pa.repeat(pa.scalar(self.name, pa.string()), n)
        cols["source_file"] = pa.repeat(pa.scalar(file_name, pa.string()), n)
        cols["source_line"] = pa.array(line_no, pa.int64())
        events = conform(cols, n)
        if bad.any():
            keep = pa.array(~bad)
            events = events.filter(keep)
        return events, sorted(reasons.items()), events["event_date"].combine_chunks()


def _to_number(values: pa.Array, typ: pa.DataType, pattern: str) -> tuple[pa.Array, pa.Array | None]:
    """Text -> numbers. Returns the numbers (null where bad) and a mask of good values, or None when all
    are good. Empty fields (nulls) are good. A value is good when it matches `pattern`, Arrow converts it,
    it fits `typ` and (for floats) it is finite; the result does not depend on the other values."""
    try:
        out, ok = values.cast(typ), None  # the usual case: the whole column converts
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        ok = pc.fill_null(pc.match_substring_regex(values, pattern), True)
        masked = pc.if_else(ok, values, pa.scalar(None, pa.string()))
        try:
            out = masked.cast(typ)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # well formed, but out of range for typ
            out = _cast_each(masked, typ)
            ok = pc.and_(ok, pc.or_(pc.is_valid(out), pc.is_null(masked)))
    # forms the cast accepts but GDELT never writes: hexadecimal integers, NaN and infinities
    if pa.types.is_floating(typ):
        odd = pc.invert(pc.fill_null(pc.is_finite(out), True))
    else:
        odd = pc.fill_null(pc.match_substring(values, "x", ignore_case=True), False)
    if pc.any(odd).as_py():
        ok = pc.invert(odd) if ok is None else pc.and_(ok, pc.invert(odd))
        out = pc.if_else(ok, out, pa.scalar(None, typ))
    return out, ok


def _cast_each(values: pa.Array, typ: pa.DataType) -> pa.Array:
    """One value at a time (only when a block holds an out-of-range number): null where it does not fit."""
    if pa.types.is_integer(typ):
        info = np.iinfo(typ.to_pandas_dtype())
        convert = lambda v: int(v) if info.min <= int(v) <= info.max else None  # noqa: E731
    else:
        convert = float
    out = []
    for v in values.to_pylist():
        try:
            out.append(None if v is None else convert(v))
        except (ValueError, OverflowError):
            out.append(None)
    return pa.array(out, typ)


def _joined(lines: pa.Array) -> pa.Buffer:
    """The bytes of a (filtered) binary array of newline-terminated lines, as one buffer."""
    _, offsets, data = lines.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int32)[lines.offset : lines.offset + len(lines) + 1]
    return data.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))


def _read_text(text: bytes, names: tuple[str, ...], on_invalid) -> pa.Table:
    wanted = [c for c in names if c in CANONICAL]
    if bytes(memoryview(text)[: len(BOM)]) == BOM:
        # pyarrow drops a BOM opening its input, but here that is some line of the file (a BOM opening
        # the file was dropped in `read`); an empty line before it keeps it, and pyarrow's row numbers
        # (which do not count empty lines) stay the same
        text = b"\n" + bytes(text)
    return pacsv.read_csv(
        pa.py_buffer(text),
        # 1 MB parse blocks: about 2.5x faster than one big block (stays in cache); row numbers are still
        # counted over the whole text (serial reader), which the invalid-row handler relies on
        read_options=pacsv.ReadOptions(column_names=list(names), use_threads=False, block_size=1 << 20),
        parse_options=pacsv.ParseOptions(
            delimiter="\t", quote_char=False, double_quote=False, escape_char=False,
            newlines_in_values=False, invalid_row_handler=on_invalid,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in wanted},
            include_columns=wanted,
            strings_can_be_null=True,
            null_values=[""],
            quoted_strings_can_be_null=False,
        ),
    )


def _blocks(stream, size: int) -> Iterator[memoryview]:
    """Whole lines of `stream`, about `size` bytes at a time, without a UTF-8 BOM opening the stream.

    Reads into one buffer reused for every block (a fresh 32 MB allocation per block costs more in page
    faults than the copy into it), so a block is valid only until the next one is asked for: nothing
    `_read_block` returns refers to it. The last block may end without a newline; a line longer than
    `size` grows the buffer until it fits.
    """
    slack = 1 << 16  # room for the partial line carried over from the last block
    buf = np.empty(size + slack, dtype=np.uint8)  # not zeroed: a small file touches only what it uses
    have = 0  # bytes of buf in use: the carried-over partial line, then the new data
    at_start = True
    eof = False
    while not eof:
        if len(buf) < have + size:
            grown = np.empty(have + size + slack, dtype=np.uint8)
            grown[:have] = buf[:have]
            buf = grown
        n = _fill(stream, memoryview(buf)[have : have + size])
        eof = n < size
        end = have + n
        lo = 0
        if at_start and end:
            head = buf[: min(end, len(BOM))].tobytes()
            if len(head) < len(BOM) and BOM.startswith(head) and not eof:
                have = end  # too short to tell yet
                continue
            at_start = False
            if head == BOM:
                lo = len(BOM)
        cut = _last_newline(buf, lo, end) + 1
        if cut == 0:  # no complete line yet: keep reading (at the end, the rest is the last block)
            if lo:
                buf[: end - lo] = buf[lo:end]
            have = end - lo
            continue
        yield memoryview(buf)[lo:cut]
        buf[: end - cut] = buf[cut:end]  # the partial line goes first in the next block
        have = end - cut
    if have:
        yield memoryview(buf)[:have]


def _last_newline(buf: np.ndarray, lo: int, end: int) -> int:
    """Index of the last newline in buf[lo:end], or -1."""
    hi, step = end, 1 << 12
    while hi > lo:
        start = max(lo, hi - step)
        at = buf[start:hi].tobytes().rfind(b"\n")
        if at >= 0:
            return start + at
        hi, step = start, step * 8
    return -1


def _fill(stream, into: memoryview) -> int:
    """Read into `into` until it is full or the stream ends; the number of bytes read."""
    got = 0
    while got < len(into):
        n = stream.readinto(into[got:])
        if not n:
            break
        got += n
    return got


def _event_dates(arr: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> pa.Array:
    """SQLDATE (second column) of each line as date32, without tokenising: null where unreadable.

    The first tab is looked for in the 20 bytes after the line's first (GLOBALEVENTID has at most 20
    digits); SQLDATE must then be 8 digits followed by a tab, inside the line, and a real date."""
    n = len(starts)
    if n == 0:
        return pa.array([], pa.date32())
    head = _windows(arr, starts, 21)[:, 1:] == 9  # is byte k (1..20) of the line a tab?
    head &= np.arange(1, 21) < (stops - starts)[:, None]  # ... inside the line
    found = head.any(axis=1)
    pos = np.where(found, starts + 1 + np.argmax(head, axis=1) + 1, 0)  # just after the first tab
    ok = found & (pos + 8 < stops)
    field = _windows(arr, pos, 9)
    ok &= field[:, 8] == 9
    digits = field[:, :8].astype(np.int32) - 48
    ok &= np.all((digits >= 0) & (digits <= 9), axis=1)
    year = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    month = digits[:, 4] * 10 + digits[:, 5]
    day = digits[:, 6] * 10 + digits[:, 7]
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31) & (year >= 1)
    year, month, day = np.where(ok, year, 1970), np.where(ok, month, 1), np.where(ok, day, 1)
    months = (year - 1970) * 12 + (month - 1)
    dates = months.astype("datetime64[M]").astype("datetime64[D]") + (day - 1)
    ok &= dates.astype("datetime64[M]") == months.astype("datetime64[M]")  # rejects 31 April
    return pa.array(dates.astype("datetime64[D]"), pa.date32(), mask=~ok)


def _windows(arr: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """arr[at + j] for j < width, as an (len(at), width) array; bytes past the end of arr read as 0."""
    size = len(arr)
    inside = at <= size - width
    out = np.zeros((len(at), width), dtype=np.uint8)
    if size >= width:
        # every `width` bytes from each offset as one item: one gather, not width of them
        items = np.ndarray((size - width + 1,), dtype=np.dtype((np.void, width)), buffer=arr, strides=(1,))
        if inside.all():
            return items[at].view(np.uint8).reshape(len(at), width)
        out[inside] = items[at[inside]].view(np.uint8).reshape(-1, width)
    for r in np.flatnonzero(~inside):  # the last lines of the block: a few at most
        piece = arr[at[r] : at[r] + width]
        out[r, : len(piece)] = piece
    return out


def _valid_utf8(block) -> bool:
    """Whether a block of bytes is valid UTF-8 (Arrow's validation: the same rules as Python's codec)."""
    one = pa.Array.from_buffers(
        pa.binary(), 1, [None, pa.py_buffer(np.array([0, len(block)], dtype=np.int32)), pa.py_buffer(block)]
    )
    try:
        one.cast(pa.string())
    except pa.ArrowInvalid:
        return False
    return True


def _has_cr(text) -> bool:
    return bool(np.any(np.frombuffer(text, dtype=np.uint8) == 13))


def _raw(line) -> str:
    return bytes(line[:MAX_RAW]).decode("utf-8", errors="replace")


GDELT2 = GdeltSource("gdelt2", 2)
GDELT2_TRANSLINGUAL = GdeltSource("gdelt2-translingual", 2)
GDELT1 = GdeltSource("gdelt1", 1)
