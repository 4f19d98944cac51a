"""Files a BigQuery query over GDELT's public tables produces: events and their per-day totals.

BigQuery exports a query result (console "save results", `bq extract`, `EXPORT DATA`) as CSV with a
header row (comma-delimited, RFC 4180 quoting, NULL as an empty field), newline-delimited JSON (one
object per line, INT64 values as JSON strings, NULL fields omitted or null), Parquet or Avro; CSV and
JSON may be gzipped. The columns are GDELT's own names (`GLOBALEVENTID`, `SQLDATE`, ...), any subset
in any order, as long as `REQUIRED` are there. Every value is turned back into the text GDELT's files
hold and goes through the GDELT reader's own conversion (`GdeltSource._to_canonical`), so an export
gives exactly the canonical rows a file ingest of the same events gives, and a bad value is
quarantined with the same reason.

The version (and so the `source` column, `gdelt2` or `gdelt1`) is told at detect time from the first
row's DATEADDED: 14 digits (YYYYMMDDHHMMSS) for 2.0, 8 (YYYYMMDD) for 1.0; without DATEADDED, the
ADM2 columns only 2.0 has say 2.0.

A filtered export holds no "all events": an events export gives no per-day totals. They come from a
companion file, the result of the totals query (`acquire.bigquery.totals_sql`), with the columns
`source`, `day` and `events` (events per day of SQLDATE among all the events of the same date-added
range). That file gives totals and no events.

Row numbers (`source_line`): a CSV's header is line 1 and record k is line k + 1 (its line number, as
GDELT's fields never hold a newline); a JSON file's lines are its lines; a Parquet or Avro file's row
k (from 1) is "line" k.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import zlib
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..knowledge.schema import GDELT_QUERY_COLUMNS
from .base import Chunk, InputError, InputFile, Reject, conform
from .gdelt import BLOCK_SIZE, CANONICAL, MAX_RAW, NUMERIC, V2_COLUMNS, GdeltSource, _blocks

PARQUET_MAGIC = b"PAR1"
AVRO_MAGIC = b"Obj\x01"
GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"

# without these an event is no use to a measure: an export lacking one is refused as a whole
REQUIRED = ("GLOBALEVENTID", "SQLDATE", "Actor1CountryCode", "Actor2CountryCode", "EventCode", "QuadClass")
# the GDELT columns the canonical schema takes (what the query selects), in GDELT's order
WANTED = GDELT_QUERY_COLUMNS
assert WANTED == tuple(c for c in V2_COLUMNS if c in CANONICAL)
TOTALS_COLUMNS = ("source", "day", "events")
_ADM2 = ("Actor1Geo_ADM2Code", "Actor2Geo_ADM2Code", "ActionGeo_ADM2Code")
_BATCH = 1 << 16  # rows per chunk
_DAY = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")


@dataclass(frozen=True)
class Layout:
    """What detection found in a file: its format, whether gzipped, and its column names."""

    format: str  # csv, json, parquet or avro
    gzipped: bool
    columns: tuple[str, ...]


# -- detection ---------------------------------------------------------------------------------------


def sniff(file: InputFile, head: bytes):
    """The BigQuery source for a file whose first bytes are `head`, or None when it is not a BigQuery
    export (a GDELT or ICEWS file). Raises InputError for an export that cannot be used."""
    if head.startswith(PARQUET_MAGIC):
        layout = Layout("parquet", False, _parquet_columns(file))
    elif head.startswith(AVRO_MAGIC):
        layout = Layout("avro", False, tuple(_avro_schema(file)))
    else:
        gzipped = head.startswith(GZIP_MAGIC)
        text = _gunzip_head(head, file) if gzipped else head
        if text.startswith(BOM):
            text = text[len(BOM):]
        first = text.split(b"\n", 1)[0].rstrip(b"\r")
        if first.lstrip().startswith(b"{"):
            try:
                row = json.loads(first)
            except ValueError:
                raise InputError(f"{file.path}: line 1 is not a JSON object (a BigQuery JSON export?)") from None
            if not isinstance(row, dict):
                raise InputError(f"{file.path}: line 1 is not a JSON object (a BigQuery JSON export?)")
            # a JSON export leaves NULL fields out: a key missing from one row says nothing of the
            # others, so an events file is read for every column the canonical schema takes
            keys = tuple(row)
            layout = Layout("json", gzipped, WANTED if "GLOBALEVENTID" in keys else keys)
        elif b"\t" not in first and (b"GLOBALEVENTID" in first or _is_totals_header(first)):
            layout = Layout("csv", gzipped, tuple(_csv_header(first)))
        else:
            if gzipped:
                raise InputError(f"{file.path}: a gzipped file that is not a BigQuery export (no header of "
                                 "GDELT column names); unzip GDELT's own files as they come (.zip)")
            return None
    if set(TOTALS_COLUMNS) <= set(layout.columns) and "GLOBALEVENTID" not in layout.columns:
        return BigQueryTotals(_totals_source(file, layout), layout)
    missing = [c for c in REQUIRED if c not in layout.columns]
    if missing:
        raise InputError(
            f"{file.path}: a BigQuery {layout.format} export without the column(s) {', '.join(missing)} "
            f"(required: {', '.join(REQUIRED)}; or source, day, events for a totals file)"
        )
    version = _version(file, layout)
    return BigQueryExport(f"gdelt{version}", version, layout)


def _is_totals_header(first: bytes) -> bool:
    try:
        return set(TOTALS_COLUMNS) <= set(_csv_header(first))
    except InputError:
        return False


def _csv_header(first: bytes) -> list[str]:
    import csv

    try:
        return [c.strip() for c in next(csv.reader([first.decode("utf-8")]))]
    except (UnicodeDecodeError, StopIteration, csv.Error):
        raise InputError("unreadable CSV header") from None


def _gunzip_head(head: bytes, file: InputFile) -> bytes:
    try:
        return zlib.decompressobj(31).decompress(head, 1 << 16)
    except zlib.error as exc:
        raise InputError(f"{file.path}: corrupt gzip data ({exc})") from None


def _parquet_columns(file: InputFile) -> tuple[str, ...]:
    import pyarrow.parquet as pq

    try:
        return tuple(pq.read_schema(file.path).names)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{file.path}: not a readable Parquet file ({_one_line(exc)})") from None


def _avro_schema(file: InputFile) -> dict:
    """Column names -> types of an Avro file (its header), read by polars."""
    pl = _polars()
    try:
        return dict(pl.read_avro(file.path, n_rows=0).schema)
    except Exception as exc:  # polars raises its own errors for a bad file
        raise InputError(f"{file.path}: not a readable Avro file ({_one_line(exc)})") from None


def _version(file: InputFile, layout: Layout) -> int:
    """2 or 1, from the first row's DATEADDED (14 or 8 digits), else from the ADM2 columns."""
    if "DATEADDED" in layout.columns:
        for table, _, _ in _tables(file, layout, ("DATEADDED",), limit=1):
            value = table["DATEADDED"][0].as_py() if table.num_rows else None
            if value is not None:
                digits = len(value.strip())
                if digits in (14, 8):
                    return 2 if digits == 14 else 1
                raise InputError(f"{file.path}: first row's DATEADDED {value!r} has neither 14 digits "
                                 "(GDELT 2.0) nor 8 (GDELT 1.0)")
            break
    if any(c in layout.columns for c in _ADM2):
        return 2
    raise InputError(f"{file.path}: cannot tell GDELT 2.0 from 1.0: include DATEADDED in the query")


def _totals_source(file: InputFile, layout: Layout) -> str:
    for table, _, _ in _tables(file, layout, ("source",), limit=1):
        if table.num_rows and table["source"][0].as_py() in ("gdelt2", "gdelt1"):
            return table["source"][0].as_py()
        break
    raise InputError(f"{file.path}: a totals file's first row must name its source (gdelt2 or gdelt1)")


# -- reading -----------------------------------------------------------------------------------------


class BigQueryExport:
    """Events exported from BigQuery: `name` is gdelt2 or gdelt1, as the file's rows say."""

    def __init__(self, name: str, version: int, layout: Layout):
        self.name = name
        self.version = version
        self.layout = layout
        self._gdelt = GdeltSource(name, version)

    def read(self, file: InputFile, countries: frozenset[str] | None) -> Iterator[Chunk]:
        countries = frozenset(countries) if countries else None
        present = [c for c in self.layout.columns if c in CANONICAL]
        seen = False
        for table, line_no, rejects in _tables(file, self.layout, present):
            seen = seen or table.num_rows > 0 or bool(rejects)
            for column in (*NUMERIC, "SQLDATE", *CANONICAL):
                if column not in table.column_names:
                    table = table.append_column(column, pa.nulls(table.num_rows, pa.string()))
            events, bad, _ = self._gdelt._to_canonical(table, line_no, file.name, countries)
            for row, reason in bad:
                rejects.append(Reject(int(line_no[row]), reason, _row_text(table, row, present)))
            yield Chunk(events=events, rejects=sorted(rejects, key=lambda r: r.line), totals=None,
                        rows_read=table.num_rows + len(rejects) - len(bad))
        if not seen:
            raise InputError(f"{file.path}: empty file (no event rows)")


class BigQueryTotals:
    """The totals query's result: events per source and day, before any country filter; no events."""

    def __init__(self, name: str, layout: Layout):
        self.name = name
        self.layout = layout

    def read(self, file: InputFile, countries: frozenset[str] | None) -> Iterator[Chunk]:
        by_day: dict[dt.date, int] = {}
        for table, line_no, rejects in _tables(file, self.layout, TOTALS_COLUMNS):
            sources, days, counts = (table[c].to_pylist() for c in TOTALS_COLUMNS)
            for i, (source, day, count) in enumerate(zip(sources, days, counts)):
                reason = None
                if source != self.name:
                    reason = f"source {source!r} is not the file's ({self.name}): one source per totals file"
                elif (when := _day(day)) is None:
                    reason = f"bad day {day!r}"
                elif count is None or not count.strip().isdigit():
                    reason = f"bad events {count!r}"
                if reason:
                    rejects.append(Reject(int(line_no[i]), reason, _row_text(table, i, TOTALS_COLUMNS)))
                    continue
                by_day[when] = by_day.get(when, 0) + int(count)
            if rejects:
                yield Chunk(events=conform({}, 0), rejects=sorted(rejects, key=lambda r: r.line))
        days = sorted(by_day)
        yield Chunk(
            events=conform({}, 0),
            totals=pa.table({"source": [self.name] * len(days), "day": pa.array(days, pa.date32()),
                             "events": pa.array([by_day[d] for d in days], pa.int64())}),
        )


def _day(text: str | None) -> dt.date | None:
    m = _DAY.match(text.strip()) if text else None
    if not m:
        return None
    try:
        return dt.date(*map(int, m.groups()))
    except ValueError:
        return None


def _tables(file: InputFile, layout: Layout, columns, limit: int | None = None):
    """The file's rows as tables of text columns (those of `columns` the file has), with each row's
    line number and the rows that could not be read at all: (table, line numbers, rejects)."""
    columns = [c for c in columns if c in layout.columns]
    reader = {"csv": _csv_tables, "json": _json_tables, "parquet": _parquet_tables, "avro": _avro_tables}
    yield from reader[layout.format](file, layout, columns, limit)


def _open_text(file: InputFile, layout: Layout):
    raw = file.open()
    if not layout.gzipped:
        return raw
    return gzip.GzipFile(fileobj=raw, mode="rb")


def _csv_tables(file: InputFile, layout: Layout, columns, limit):
    wrong: list[tuple[int, int, str]] = []  # (record number, the header being 1; fields; text)

    def on_invalid(row) -> str:
        wrong.append((row.number, row.actual_columns, row.text))
        return "skip"

    opts = dict(
        read_options=pacsv.ReadOptions(use_threads=False, block_size=1 << 22),
        # blank lines are read (as rows of nulls, then dropped) so that pyarrow's record numbers,
        # which the handler is given, count every record
        parse_options=pacsv.ParseOptions(delimiter=",", quote_char='"', double_quote=True,
                                          newlines_in_values=True, ignore_empty_lines=False,
                                          invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in layout.columns},
                                             include_columns=list(columns), strings_can_be_null=True,
                                             null_values=[""], quoted_strings_can_be_null=True),
    )

    def rejected(rows) -> list[Reject]:
        return [Reject(int(num), f"expected {len(layout.columns)} columns, found {fields}", text[:MAX_RAW])
                for num, fields, text in rows]

    with _errors(file, "CSV"):
        stream = _open_text(file, layout)
        try:
            record = 1  # the header
            for batch in pacsv.open_csv(stream, **opts):
                table = pa.Table.from_batches([batch])
                # number the batch's rows: consecutive records, skipping those the handler was given
                wrong.sort()
                good, bad_here, num = [], [], record + 1
                while len(good) < table.num_rows:
                    if wrong and wrong[0][0] == num:
                        bad_here.append(wrong.pop(0))
                    else:
                        good.append(num)
                    num += 1
                record = num - 1
                numbers = np.array(good, np.int64)
                blank = _all_null(table)
                if blank is not None:
                    table, numbers = table.filter(pc.invert(blank)), numbers[~blank.to_numpy(zero_copy_only=False)]
                yield table, numbers, rejected(bad_here)
                if limit is not None:
                    return
            if wrong:  # invalid records after the last good one
                yield _text_table({c: [] for c in columns}, columns), np.zeros(0, np.int64), rejected(sorted(wrong))
        finally:
            stream.close()


def _all_null(table: pa.Table):
    """A mask of the rows whose every column is null (blank lines), or None when there are none."""
    if not table.num_columns:
        return None
    mask = None
    for column in table.columns:
        m = pc.is_null(column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column)
        mask = m if mask is None else pc.and_(mask, m)
    return mask if pc.any(mask).as_py() else None


def _json_tables(file: InputFile, layout: Layout, columns, limit):
    """Blocks of whole lines; each parsed at once by pyarrow when it is the usual block (every line an
    object of text and numbers), else line by line, so that a bad line is quarantined alone."""
    import pyarrow.json as pajson

    with _errors(file, "JSON"):
        stream = _open_text(file, layout)
        try:
            first = 1
            for block in _blocks(stream, BLOCK_SIZE if limit is None else 1 << 16):
                n_lines = bytes(block[-1:]) != b"\n"
                n_lines += int(np.count_nonzero(np.frombuffer(block, np.uint8) == 10))
                table = _json_block(pajson, block, columns, n_lines)
                if table is not None:
                    yield table, np.arange(first, first + n_lines), []
                else:
                    yield from _json_lines(bytes(block), first, columns, limit)
                first += n_lines
                if limit is not None:
                    return
        finally:
            stream.close()


def _json_block(pajson, block, columns, n_lines: int) -> pa.Table | None:
    """A block of JSON lines as text columns, or None when pyarrow cannot read it as the usual block."""
    try:
        table = pajson.read_json(pa.BufferReader(pa.py_buffer(block)),
                                 read_options=pajson.ReadOptions(use_threads=False, block_size=1 << 22))
    except pa.ArrowException:
        return None
    if table.num_rows != n_lines:  # a blank line, which pyarrow skips: numbered line by line instead
        return None
    out = {}
    for c in columns:
        if c not in table.column_names:
            out[c] = pa.nulls(n_lines, pa.string())
            continue
        typ = table[c].type
        if not (pa.types.is_string(typ) or pa.types.is_int64(typ) or pa.types.is_float64(typ) or pa.types.is_null(typ)):
            return None  # nested or boolean values: each line says which
        out[c] = table[c].cast(pa.string())
    return pa.table(out)


def _json_lines(block: bytes, first: int, columns, limit):
    values: dict[str, list] = {c: [] for c in columns}
    numbers: list[int] = []
    rejects: list[Reject] = []
    for number, line in enumerate(block.split(b"\n"), start=first):
        if not line.strip():
            continue
        reason, row = _json_row(line, columns)
        if reason:
            rejects.append(Reject(number, reason, line.rstrip(b"\r")[:MAX_RAW].decode("utf-8", "replace")))
        else:
            numbers.append(number)
            for c in columns:
                values[c].append(row.get(c))
        if limit is not None and len(numbers) >= limit:
            break
    yield _text_table(values, columns), np.array(numbers, np.int64), rejects


def _json_row(line: bytes, columns) -> tuple[str | None, dict]:
    try:
        row = json.loads(line)
    except UnicodeDecodeError:
        return "invalid UTF-8", {}
    except ValueError:
        return "not a JSON object", {}
    if not isinstance(row, dict):
        return "not a JSON object", {}
    out = {}
    for c in columns:
        v = row.get(c)
        if isinstance(v, (dict, list)):
            return f"nested value in {c}", {}
        if isinstance(v, bool):
            return f"bad {c} {v!r}", {}
        out[c] = None if v is None else (v if isinstance(v, str) else repr(v))
    return None, out


def _text_table(values: dict[str, list], columns) -> pa.Table:
    return pa.table({c: pa.array(values[c], pa.string()) for c in columns})


def _parquet_tables(file: InputFile, layout: Layout, columns, limit):
    import pyarrow.parquet as pq

    with _errors(file, "Parquet"):
        pf = pq.ParquetFile(file.path)
        first = 1
        for batch in pf.iter_batches(batch_size=limit or _BATCH, columns=list(columns)):
            table = _as_text(pa.Table.from_batches([batch]))
            yield table, np.arange(first, first + table.num_rows), []
            first += table.num_rows
            if limit is not None:
                return


def _avro_tables(file: InputFile, layout: Layout, columns, limit):
    pl = _polars()
    with _errors(file, "Avro"):
        try:
            table = pl.read_avro(file.path, columns=list(columns), n_rows=limit).to_arrow()
        except Exception as exc:  # polars' own errors for a bad file
            raise InputError(f"{file.path}: not a readable Avro file ({_one_line(exc)})") from None
        table = _as_text(table)
        for at in range(0, max(table.num_rows, 1), _BATCH):
            part = table.slice(at, _BATCH)
            yield part, np.arange(at + 1, at + 1 + part.num_rows), []


def _as_text(table: pa.Table) -> pa.Table:
    """Every column as the text GDELT's files would hold: integers and floats as their shortest
    round-trip form (what the GDELT reader converts back to the same value), text as is."""
    cols = []
    for column in table.columns:
        typ = column.type
        if pa.types.is_large_string(typ) or pa.types.is_string_view(typ):
            column = column.cast(pa.string())
        elif pa.types.is_date(typ):
            column = pc.strftime(column.cast(pa.timestamp("s")), "%Y%m%d")
        elif not pa.types.is_string(typ):
            column = column.cast(pa.string())
        cols.append(column)
    return pa.Table.from_arrays(cols, names=table.column_names)


def _row_text(table: pa.Table, row: int, columns) -> str:
    """A rejected row as text (JSON of its values): the raw line is not at hand for every format."""
    values = {c: table[c][row].as_py() for c in columns if c in table.column_names}
    return json.dumps(values, ensure_ascii=False)[:MAX_RAW]


class _errors:
    """Turns a reader's failure into a one-line InputError naming the file."""

    def __init__(self, file: InputFile, what: str):
        self.file, self.what = file, what

    def __enter__(self):
        return self

    def __exit__(self, typ, exc, tb):
        if exc is None or isinstance(exc, (InputError, GeneratorExit)):
            return False
        if isinstance(exc, (pa.ArrowException, OSError, EOFError, zlib.error, UnicodeDecodeError)):
            raise InputError(f"{self.file.path}: unreadable {self.what} export ({_one_line(exc)})") from None
        return False


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _polars():
    try:
        import polars
    except ImportError:  # pragma: no cover - a dependency
        raise InputError("reading Avro needs polars (pip install polars)") from None
    return polars
