"""GDELT event exports: 2.0 (61 columns, also the translingual feed) and 1.0 (58 columns; the
1979-2013 backfile rows have 57, without SOURCEURL, and may share a file with 58-column rows).

Files are tab-separated, unquoted, no header, plain or zipped. A file up to `WHOLE_LIMIT` is read whole
(a zip member inflated in one call), a bigger one streamed; either way it is cut in blocks. A block of
valid UTF-8 of at least `gdelt_fast.MIN_BLOCK` bytes (any real export) goes through the compiled lane
(`gdelt_fast.py`), which does steps 1-4 below in one pass for the rows in the exact form GDELT writes
and hands every other line to the plain reader; the result is the plain reader's, row for row. The
plain reader, per block:

1. find line boundaries with numpy and drop blank lines;
2. quarantine lines that are not valid UTF-8 (only lines holding a byte >= 0x80 are checked);
3. with a country filter, pick candidate lines by a byte search for a tab-delimited country code, and
   parse only those: most of a GDELT file is about other countries, and tokenising it is the cost. Every
   line's event date (column 2, SQLDATE) is still read, vectorised, for the per-day totals; a line whose
   date cannot be read that way is parsed in full after all, so it is quarantined as without a filter;
4. parse the chosen lines with pyarrow (all text), then convert numbers and dates column by column;
   a value that does not convert quarantines its row, never the block. Under a filter the chosen lines
   of several blocks are parsed together (a parse has a fixed cost: pay it a few times per file).

Rows outside a country filter are checked only for the event date the totals need (and UTF-8): every
non-blank line is either counted in the totals or quarantined, with or without a filter.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from . import gdelt_fast
from .base import Chunk, InputError, InputFile, Reject, conform, daily_totals

BLOCK_SIZE = 16 << 20  # bytes of decompressed text per block: bounds memory, amortises overhead
WHOLE_LIMIT = 128 << 20  # members (and plain files) up to this size are read whole, bigger ones streamed
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

    @functools.cached_property
    def plan(self) -> gdelt_fast.Plan:
        """What the compiled lane needs to know of this format."""
        return gdelt_fast.Plan(gdelt_fast.fields_of(CANONICAL, NUMERIC, self.version), self.layouts)

    def read(self, file: InputFile, countries: frozenset[str] | None) -> Iterator[Chunk]:
        countries = frozenset(countries) if countries else None
        codes = gdelt_fast.codes_array(countries) if gdelt_fast.available() else None
        seen_any = False
        first_line = 1
        # chosen lines not parsed yet: under a filter they are gathered over blocks and parsed together
        # (a few parses per file instead of one per block: the fixed cost of a parse is then paid once);
        # quarantined lines wait with them, so that rejects come out in line order
        pending: list[tuple[pa.Array, np.ndarray]] = []
        pending_bytes = 0
        held: list[Reject] = []
        main_month = gdelt_fast.NO_MONTH  # the lane puts a file's rows of this month first, block after block
        with contextlib.ExitStack() as stack:
            # a 15-minute export is tens of MB: inflate it in one call, into reused memory
            text = stack.enter_context(file.whole(WHOLE_LIMIT))
            stream = stack.enter_context(file.open()) if text is None else None
            blocks = _slices(text, BLOCK_SIZE) if text is not None else _blocks(stream, BLOCK_SIZE)
            for block in blocks:
                fb = None
                if codes is not None and len(block) >= gdelt_fast.MIN_BLOCK and gdelt_fast.ready():
                    fb = gdelt_fast.fast_block(block, self.plan, codes, main_month)  # None: not valid UTF-8
                if fb is not None:
                    # the usual block of a GDELT export: the compiled lane
                    main_month = fb.main_month
                    if pending or held:
                        parsed = self._parse_pending(pending, file.name, countries) if pending else None
                        yield self._chunk(None, parsed, held)
                        pending, pending_bytes, held = [], 0, []
                    chunk, n_lines = self._fast_chunk(fb, block, first_line, file.name, countries)
                    first_line += n_lines
                    seen_any = seen_any or chunk.rows_read > 0 or bool(chunk.rejects)
                    yield chunk
                    continue
                scan = self._scan_block(block, first_line, countries)
                first_line += scan.n_lines
                seen_any = seen_any or scan.rows_read > 0 or bool(scan.rejects)
                held += scan.rejects
                parsed = None
                if scan.whole and not pending:  # every line of the block is chosen: parse it in place
                    parsed = self._parse_lines(scan.lines, scan.line_no, file.name, countries)
                elif len(scan.line_no):
                    # a copy of the chosen lines: a streamed block's buffer is reused for the next block
                    pending.append((scan.lines.filter(pa.array(scan.chosen)), scan.line_no))
                    pending_bytes += _nbytes(pending[-1][0])
                    if not countries or pending_bytes >= BLOCK_SIZE:
                        parsed = self._parse_pending(pending, file.name, countries)
                        pending, pending_bytes = [], 0
                rejects = []
                if not pending:
                    rejects, held = held, []
                yield self._chunk(scan, parsed, rejects)
            block = scan = None  # views of the text: released, its memory can serve the next file
        if pending or held:
            parsed = self._parse_pending(pending, file.name, countries) if pending else None
            yield self._chunk(None, parsed, held)
        if not seen_any:
            raise InputError(f"{file.path}: empty file (no event rows)")

    def read_run(self, files: list[InputFile], countries: frozenset[str] | None) -> "list[FileRead] | None":
        """Read a run of small files of this format together: their texts are put end to end in blocks
        of about BLOCK_SIZE and each block goes through the compiled lane once, so that the fixed cost
        of a block (the lane's call, making its columns) is paid per block, not per 15-minute export.
        Each kept row is then given back its file and line, each file its rows read, rejects and
        per-day totals: the same as `read` gives file by file. Files that cannot be read (corrupt,
        empty) have an error and add nothing. None when the lane cannot take the run (not built, a
        filter it cannot search, a file too big to read whole, invalid UTF-8): read it file by file."""
        countries = frozenset(countries) if countries else None
        codes = gdelt_fast.codes_array(countries) if gdelt_fast.available() else None
        if codes is None or not gdelt_fast.ready():
            return None
        reads = [FileRead() for _ in files]
        texts: list[tuple[int, bytes]] = []
        for i, f in enumerate(files):
            try:
                with f.whole(WHOLE_LIMIT) as text:
                    if text is None:
                        return None
                    t = bytes(text[len(BOM):]) if text[: len(BOM)] == BOM else bytes(text)
            except InputError as exc:
                reads[i].error = str(exc)
                continue
            if not t.lstrip(b"\r\n"):  # (no copy unless it starts with a newline)
                reads[i].error = f"{f.path}: empty file (no event rows)"
                continue
            if not t.endswith(b"\n"):
                t += b"\n"
            texts.append((i, t))
        days: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in files]
        main_month = gdelt_fast.NO_MONTH
        for group in _end_to_end(texts, BLOCK_SIZE):
            block = b"".join(t for _, t in group) if len(group) > 1 else group[0][1]
            fb = gdelt_fast.fast_block(block, self.plan, codes, main_month, lines=True)
            if fb is None:
                return None
            main_month = fb.main_month
            which = np.array([i for i, _ in group])
            at = np.cumsum([0, *[len(t) for _, t in group[:-1]]])
            first = np.searchsorted(fb.starts[: fb.n_lines], at)  # each file's first line in the block
            line_file = np.repeat(np.arange(len(group)), np.diff(np.append(first, fb.n_lines)))
            rows_read = np.bincount(line_file[fb.read], minlength=len(group))
            kept_file = line_file[fb.kept_lines]
            kept = np.bincount(kept_file, minlength=len(group))
            names = pa.array([files[i].name for i in which], pa.string())
            cols = dict(fb.columns)
            cols["source"] = pa.repeat(pa.scalar(self.name, pa.string()), len(kept_file))
            cols["source_file"] = names.take(pa.array(kept_file))
            cols["source_line"] = pa.array(fb.kept_lines - first[kept_file] + 1, pa.int64())
            events = [conform(cols, len(kept_file))]
            counted = fb.counted_days != gdelt_fast.NO_DATE
            for k, (d, c) in _counts_by_file(line_file[counted], fb.counted_days[counted]):
                days[which[k]].append((d, c))
            if len(fb.plain):  # lines the lane did not take, to the plain reader, file by file
                lines = _block_lines(fb, block)
                plain_file = line_file[fb.plain]
                for k in np.unique(plain_file).tolist():
                    chosen = fb.plain[plain_file == k]
                    plain, rejects, dates = self._parse_lines(lines.take(pa.array(chosen)), chosen - first[k] + 1,
                                                              files[which[k]].name, countries)
                    events.append(plain)
                    kept[k] += plain.num_rows
                    reads[which[k]].rejects += rejects
                    vc = pc.value_counts(pc.drop_null(dates))
                    days[which[k]].append((vc.field("values"), vc.field("counts")))
            table = pa.concat_tables(events) if len(events) > 1 else events[0]
            for k, i in enumerate(which.tolist()):
                reads[i].rows_read, reads[i].rows_kept = int(rows_read[k]), int(kept[k])
            reads[which[0]].events = table  # the block's events, all given with its first file
        for f, r, d in zip(files, reads, days):
            r.rejects.sort(key=lambda x: x.line)
            if r.error is None and not r.rows_read and not r.rejects:
                r.error = f"{f.path}: empty file (no event rows)"
            r.totals = daily_totals(self.name, pa.array([], pa.date32()), d)
        return reads

    def _chunk(self, scan: "_Scan | None", parsed, rejects: list[Reject]) -> Chunk:
        events, parse_rejects, days = parsed if parsed is not None else (conform({}, 0), [], pa.array([], pa.date32()))
        return Chunk(
            events=events,  # already filtered to the countries by `_parse_lines`
            rejects=sorted([*rejects, *parse_rejects], key=lambda r: r.line),
            totals=daily_totals(self.name, days, scan.counted if scan is not None else ()),
            rows_read=scan.rows_read if scan is not None else 0,
        )

    def _fast_chunk(self, fb: "gdelt_fast.FastBlock", block, first_line: int, file_name: str, countries):
        """A block the compiled lane read (`fb`); the lines it did not take go through `_parse_lines`.
        Returns (chunk, lines in the block)."""
        n = len(fb.kept_lines)
        cols = dict(fb.columns)
        cols["source"] = pa.repeat(pa.scalar(self.name, pa.string()), n)
        cols["source_file"] = pa.repeat(pa.scalar(file_name, pa.string()), n)
        cols["source_line"] = pa.array(fb.kept_lines + first_line, pa.int64())
        events = conform(cols, n)
        rejects: list[Reject] = []
        dates = pa.array([], pa.date32())
        if len(fb.plain):
            lines = _block_lines(fb, block)
            mask = np.zeros(fb.n_lines, dtype=bool)
            mask[fb.plain] = True
            plain, rejects, dates = self._parse_lines(lines.filter(pa.array(mask)), fb.plain + first_line,
                                                      file_name, countries)
            if plain.num_rows:  # after the lane's rows: their order is not the lines' (source_line is)
                events = pa.concat_tables([events, plain])
        chunk = Chunk(
            events=events,
            rejects=sorted(rejects, key=lambda r: r.line),
            totals=daily_totals(self.name, dates, [(gdelt_fast.day_array(fb.days), fb.counts)]),
            rows_read=fb.rows_read,
        )
        return chunk, fb.n_lines

    def _parse_pending(self, pending: list[tuple[pa.Array, np.ndarray]], file_name: str, countries):
        lines = pa.concat_arrays([p[0] for p in pending]) if len(pending) > 1 else pending[0][0]
        line_no = np.concatenate([p[1] for p in pending]) if len(pending) > 1 else pending[0][1]
        return self._parse_lines(lines, line_no, file_name, countries)

    # -- one block ------------------------------------------------------------------------------

    def _scan_block(self, block, first_line: int, countries) -> "_Scan":
        """Split a block into lines and choose the lines to parse: all of them without a filter; the
        candidates (and the lines whose event date cannot be read) with one. The lines not chosen are
        counted by day here; invalid UTF-8 is quarantined here."""
        arr = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero(arr == 10)
        if len(ends) == 0 or ends[-1] != len(arr) - 1:  # last line without a newline
            ends = np.append(ends, len(arr))
        starts = np.empty_like(ends)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        n_lines = len(ends)
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
                        Reject(int(first_line + i), f"invalid UTF-8 in {self._column_name(column)}", _raw(raw))
                    )

        usable = nonblank & ~bad_utf8
        # every line (with its newline) as one Arrow binary array over the block, without copying
        offsets = np.empty(n_lines + 1, dtype=np.int32)
        offsets[0] = 0
        offsets[1:] = np.minimum(ends + 1, len(arr))
        lines = pa.Array.from_buffers(pa.binary(), n_lines, [None, pa.py_buffer(offsets), pa.py_buffer(block)])
        counted = []  # (days, counts) of the lines not parsed
        if countries:
            chosen = usable & _candidates(lines, countries)
            # totals for the lines we do not parse come from a vectorised read of their event date
            others = np.flatnonzero(usable & ~chosen)
            days, counts, unreadable = _count_event_dates(arr, starts[others], stops[others])
            counted.append((days, counts))
            # a line whose date cannot be read that way is parsed in full after all (rare): it is then
            # quarantined with the reason an unfiltered read gives, instead of silently missing from both
            # the totals and the quarantine
            if len(unreadable):
                chosen[others[unreadable]] = True
        else:
            chosen = usable
        line_no = np.flatnonzero(chosen) + first_line
        whole = len(line_no) == n_lines
        return _Scan(n_lines, int(nonblank.sum()), rejects, counted, lines, chosen, line_no, whole)

    def _column_name(self, index: int) -> str:
        names = self.layouts[max(self.layouts)]
        return names[index] if index < len(names) else f"column {index + 1}"

    def _parse_lines(self, lines: pa.Array, line_no: np.ndarray, file_name: str, countries=None):
        """Parse lines (a binary array of lines, each with its newline but maybe the last, over one
        contiguous buffer); returns (canonical events of the countries, rejects, event dates of all
        good rows)."""
        if len(lines) == 0:
            return conform({}, 0), [], pa.array([], pa.date32())
        block = _joined(lines)
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset : lines.offset + len(lines) + 1]
        arr = np.frombuffer(block, dtype=np.uint8)
        starts = (offsets[:-1] - offsets[0]).astype(np.int64)
        stops = (offsets[1:] - offsets[0]).astype(np.int64)
        # each line's own bytes: without its newline and a CR before it (for the raw text of a reject)
        stops -= (stops > starts) & (arr[np.maximum(stops - 1, 0)] == 10)
        stops -= (stops > starts) & (arr[np.maximum(stops - 1, 0)] == 13)
        text = block
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
            events, bad, good_dates = self._to_canonical(table, line_no[idx], file_name, countries)
            for row, reason in bad:
                i = idx[row]
                rejects.append(Reject(int(line_no[i]), reason, _raw(block[starts[i] : stops[i]])))
            parts.append(events)
            dates.append(good_dates)
        events = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        if len(parts) > 1:
            events = events.sort_by("source_line")
        return events, rejects, pa.concat_arrays(dates)

    def _to_canonical(self, t: pa.Table, line_no: np.ndarray, file_name: str, countries=None):
        """Text columns -> typed canonical columns. Returns (events of the countries, [(row, reason)],
        event dates of all good rows)."""
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
            # a file holds few distinct dates: check each distinct value once
            encoded = pc.dictionary_encode(values)
            distinct = encoded.dictionary
            parsed = pc.strptime(distinct, format=fmt, unit="s", error_is_null=True)
            # strptime alone is lax: it skips spaces ("2020 1 1") and rolls 31 April over to 1 May (and
            # second 60 into the next minute). So: exactly `width` digits, and the same fields back.
            all_digits = pc.match_substring_regex(distinct, f"^[0-9]{{{width}}}$")
            ok = pc.fill_null(pc.and_(pc.is_valid(parsed), all_digits), False)
            digits = distinct if pc.all(ok).as_py() else pc.if_else(ok, distinct, pa.scalar(None, pa.string()))
            fields = [(pc.month, 4), (pc.day, 6)]
            if width == 14:
                fields += [(pc.hour, 8), (pc.minute, 10), (pc.second, 12)]
            for part, at in fields:
                text = pc.utf8_slice_codeunits(digits, at, at + 2).cast(pa.int64())
                ok = pc.and_(ok, pc.fill_null(pc.equal(part(parsed), text), False))
            # back to one value per row; a missing value (null index) is bad only when required
            invalid = pc.fill_null(pc.take(pc.invert(ok), encoded.indices), required)
            flag(invalid.to_numpy(zero_copy_only=False), column, values)
            return pc.take(parsed, encoded.indices)

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
        dates = events["event_date"].combine_chunks()
        if bad.any():
            dates = dates.filter(pa.array(~bad))
        keep = ~bad
        if countries:  # the filter and the bad rows in one copy of the table
            vs = pa.array(sorted(countries), pa.string())
            keep &= pc.fill_null(pc.or_kleene(
                pc.is_in(cols["actor1_country"], value_set=vs), pc.is_in(cols["actor2_country"], value_set=vs)
            ), False).to_numpy(zero_copy_only=False)
        if not keep.all():
            events = events.filter(pa.array(keep))
        return events, sorted(reasons.items()), dates


@dataclass
class _Scan:
    """What `_scan_block` found in a block."""

    n_lines: int
    rows_read: int  # non-blank lines
    rejects: list[Reject]  # invalid UTF-8
    counted: list  # (days, counts) of the lines not chosen
    lines: pa.Array  # every line of the block (over the block's buffer)
    chosen: np.ndarray  # mask of the lines to parse
    line_no: np.ndarray  # their line numbers
    whole: bool  # every line is chosen


def _nbytes(lines: pa.Array) -> int:
    offsets = lines.buffers()[1]
    o = np.frombuffer(offsets, dtype=np.int32)
    return int(o[lines.offset + len(lines)] - o[lines.offset])


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
    elif not _has_x(values):  # the usual case, checked on the column's bytes at once
        return out, ok
    else:
        odd = pc.fill_null(pc.match_substring(values, "x", ignore_case=True), False)
    if pc.any(odd).as_py():
        ok = pc.invert(odd) if ok is None else pc.and_(ok, pc.invert(odd))
        out = pc.if_else(ok, out, pa.scalar(None, typ))
    return out, ok


def _has_x(values: pa.Array) -> bool:
    """Whether any value of a string array holds an "x" or "X" (a hexadecimal integer, for the cast)."""
    _, offsets, data = values.buffers()
    if data is None:
        return False
    at = np.frombuffer(offsets, dtype=np.int32)[values.offset : values.offset + len(values) + 1]
    chars = np.frombuffer(data, dtype=np.uint8)[at[0] : at[-1]]
    return bool(np.any((chars | 0x20) == ord("x")))


def _cast_each(values: pa.Array, typ: pa.DataType) -> pa.Array:
    """One value at a time (only when a block holds an out-of-range number): null where it does not fit."""
    if pa.types.is_integer(typ):
        info = np.iinfo(np.dtype(str(typ)))
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
        # 512 KB parse blocks: about 2.5x faster than one big block (stays in cache); row numbers are
        # still counted over the whole text (serial reader), which the invalid-row handler relies on
        read_options=pacsv.ReadOptions(column_names=list(names), use_threads=False, block_size=1 << 19),
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
            check_utf8=False,  # the lines given are valid UTF-8 (checked by `_scan_block`)
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


def _slices(text: bytes | memoryview, size: int) -> Iterator[memoryview]:
    """Whole lines of `text`, about `size` bytes at a time, without a UTF-8 BOM opening it: the same
    blocks `_blocks` cuts from a stream, without copying. A memoryview must start its object's bytes
    (as `InputFile.whole` gives), whose find methods are used up to its length."""
    view = memoryview(text)
    end = len(text)
    if isinstance(text, memoryview):
        text = text.obj
    lo = len(BOM) if view[: len(BOM)] == BOM else 0
    # blocks of about equal size: no small last block (blocks under gdelt_fast.MIN_BLOCK skip the lane)
    size = -(-(end - lo) // max(1, -(-(end - lo) // size))) if end > lo else size
    while lo < end:
        hi = lo + size
        if hi >= end:
            hi = end
        else:
            cut = text.rfind(b"\n", lo, hi)
            if cut < 0:  # a line longer than `size`: the block is that line
                cut = text.find(b"\n", hi, end)
            hi = end if cut < 0 else cut + 1
        yield view[lo:hi]
        lo = hi


# Up to this many country codes, one SIMD substring search per code (polars, memchr's memmem: ~2.5x
# faster than RE2 for two codes) beats one RE2 pass over the alternation; beyond, RE2. Small blocks use
# RE2 too: importing polars (~0.2 s) pays off only over a few large blocks.
_MEMMEM_CODES = 6
_MEMMEM_MIN_LINES = 5_000


def _candidates(lines: pa.Array, countries: frozenset[str]) -> np.ndarray:
    """Lines holding a tab-delimited country code anywhere (a superset of the filter), as a mask."""
    codes = sorted(countries)
    pl = _polars() if len(codes) <= _MEMMEM_CODES and len(lines) >= _MEMMEM_MIN_LINES else None
    if pl is None:
        pattern = "\t(?:" + "|".join(re.escape(c) for c in codes) + ")\t"
        return pc.match_substring_regex(lines, pattern).to_numpy(zero_copy_only=False)
    series = pl.from_arrow(lines)
    hit = None
    for code in codes:
        found = series.bin.contains(b"\t" + code.encode() + b"\t")
        hit = found if hit is None else hit | found
    return hit.to_numpy()


def _polars():
    """polars, imported on first use (it starts threads: never in a process that forks readers later)."""
    try:
        import polars
    except ImportError:  # pragma: no cover - a dependency; RE2 does the same, slower
        return None
    return polars


def _count_event_dates(arr: np.ndarray, starts: np.ndarray, stops: np.ndarray):
    """Events per day by the SQLDATE (second column) of each line, without tokenising.

    Returns (days as date32, counts, indices of the lines whose date cannot be read). Reads what
    `_event_dates` reads, faster for the usual block where every GLOBALEVENTID has the same width: with
    that width known, each line's date is 8 bytes at a fixed place, and only the distinct values (a
    handful per block) need decoding and checking."""
    n = len(starts)
    empty = pa.array([], pa.date32()), np.zeros(0, np.int64), np.zeros(0, np.int64)
    if n == 0:
        return empty
    width = _first_tab(arr, int(starts[0]), int(stops[0]))
    fast = np.zeros(n, dtype=bool)
    days, counts, bad = [], [], []
    if width:
        # bytes 0 .. width + 9 of each line (padded to whole words): the id, its tab, the date and the
        # tab after it. A line is read here when its tabs among bytes 1 .. width + 9 are exactly at
        # width and width + 9, and it is long enough; its date is then the 8 bytes between.
        size = (width + 10 + 7) // 8 * 8
        win = _windows(arr, starts, size)
        care = np.zeros(size, dtype=np.uint8)
        care[1 : width + 10] = 0xFF
        expect = np.zeros(size, dtype=np.uint8)
        expect[[width, width + 9]] = 0xFF
        tabs = (win == 9).view(np.uint8) * np.uint8(0xFF)
        words = (tabs & care).view(np.uint64)
        fast = stops - starts > width + 9
        for j, want in enumerate(expect.view(np.uint64)):
            fast &= words[:, j] == want
        values = np.ascontiguousarray(win[fast, width + 1 : width + 9]).view("<u8").ravel()
        vc = pc.value_counts(pa.array(values, pa.uint64()))
        bad_values = []
        for value, count in zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist()):
            day = _date_of(value.to_bytes(8, "little"))
            if day is None:
                bad_values.append(value)
            else:
                days.append(day)
                counts.append(count)
        if bad_values:  # lines whose date is not a real date: not fast after all
            fast[np.flatnonzero(fast)[np.isin(values, np.array(bad_values, np.uint64))]] = False
    slow = np.flatnonzero(~fast)
    if len(slow):  # other id widths and unreadable dates: the general path, line by line (vectorised)
        dates = _event_dates(arr, starts[slow], stops[slow])
        ok = pc.is_valid(dates).to_numpy(zero_copy_only=False)
        bad = slow[~ok]
        vc = pc.value_counts(pc.drop_null(dates))
        days += vc.field("values").to_pylist()
        counts += vc.field("counts").to_pylist()
    return pa.array(days, pa.date32()), np.array(counts, np.int64), np.asarray(bad, np.int64)


def _first_tab(arr: np.ndarray, start: int, stop: int) -> int | None:
    """Offset of the first tab among bytes 1..20 of a line (the GLOBALEVENTID's width), or None."""
    head = arr[start + 1 : min(stop, start + 21)]
    at = np.flatnonzero(head == 9)
    return int(at[0]) + 1 if len(at) else None


def _date_of(digits: bytes):
    """YYYYMMDD -> date, or None unless 8 ASCII digits of a real date (year >= 1)."""
    if not digits.isdigit() or not digits.isascii():
        return None
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


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


@dataclass
class FileRead:
    """One file of a run (`GdeltSource.read_run`): its counts, rejects and per-day totals; `events`,
    when set, are the kept rows of a whole block (of this and the following files of the block)."""

    rows_read: int = 0
    rows_kept: int = 0
    rejects: list = field(default_factory=list)
    totals: pa.Table | None = None
    events: pa.Table | None = None
    error: str | None = None


def _end_to_end(texts: list[tuple[int, bytes]], size: int) -> Iterator[list[tuple[int, bytes]]]:
    """Consecutive texts in groups of about `size` bytes (a text bigger than that alone)."""
    group: list[tuple[int, bytes]] = []
    total = 0
    for item in texts:
        if group and total + len(item[1]) > size:
            yield group
            group, total = [], 0
        group.append(item)
        total += len(item[1])
    if group:
        yield group


def _counts_by_file(line_file: np.ndarray, days: np.ndarray) -> Iterator[tuple[int, tuple[np.ndarray, np.ndarray]]]:
    """(file, (days, counts)) of counted lines, for each file that has any."""
    if not len(days):
        return
    lo = int(days.min())
    span = int(days.max()) - lo + 1
    keys, counts = np.unique(line_file.astype(np.int64) * span + (days - lo), return_counts=True)
    file_of = keys // span
    cuts = np.flatnonzero(np.diff(file_of)) + 1
    for a, b in zip([0, *cuts.tolist()], [*cuts.tolist(), len(keys)]):
        yield int(file_of[a]), (keys[a:b] % span + lo, counts[a:b])


def _block_lines(fb: "gdelt_fast.FastBlock", block) -> pa.Array:
    """Every line of a block the lane read, as one binary array over the block (line i is starts[i]
    up to the next start)."""
    offsets = np.empty(fb.n_lines + 1, dtype=np.int32)
    offsets[:-1] = fb.starts[: fb.n_lines]
    offsets[-1] = len(block)
    return pa.Array.from_buffers(pa.binary(), fb.n_lines, [None, pa.py_buffer(offsets), pa.py_buffer(block)])
