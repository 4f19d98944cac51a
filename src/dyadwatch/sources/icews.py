"""ICEWS coded event files as the Harvard Dataverse publishes them (also their snake_case variant).

Tab-separated, one header row, unquoted, plain or zipped; missing values are `NA` or empty. Columns are
found by header name (case, spaces and underscores do not matter; extra columns such as year/yearmonth
are ignored). Files are streamed in blocks of about 100k rows.

Mapping into EVENT_SCHEMA:

- event_id <- Event ID; event_date <- Event Date (YYYY-MM-DD); date_added null; source "icews".
- actorN_name <- Source/Target Name. actorN_country <- Source/Target Country through
  data/icews_countries.csv (name, case-insensitive -> CAMEO code and FIPS; built once from
  cameoCountry.txt + countryInfo.txt names plus ICEWS spellings such as "Russian Federation"; a country
  CAMEO's list lacks, e.g. South Sudan, gets its ISO3 code). Unknown name -> null, not a reject.
- actorN_type1..3 <- Source/Target Sectors through data/icews_sectors.csv (ICEWS sector -> CAMEO role
  from cameoType.txt; empty = names no role: religion, ethnicity, ideology, party labels, level of
  government, and "Elite", which ICEWS gives to sitting officials too). The distinct roles in sector
  order, first three; unknown sectors are ignored. Sectors are split on commas not followed by a space
  ("Navy Mechanized (Ships, Tanks, Planes)" is one sector).
- actorN_code <- country code + type1 ("RUSGOV"), the country alone without a role, null without a country.
- event_code <- CAMEO Code as text. A value that is not a code in CAMEO.eventcodes.txt but is one with a
  leading zero put back ("40" -> "040", "214" -> "0214") gets it back; "14" is a valid root code and stays.
  event_base_code / event_root_code <- its first 3 / 2 characters; quad_class from the root code
  (cameo_root_quad_goldstein_DERIVED.csv); goldstein <- Intensity.
- action_geo_fullname <- "City, Province, Country" of the parts present (District is left out);
  action_geo_country <- FIPS 10-4 code of Country; action_geo_lat/lon <- Latitude/Longitude;
  action_geo_type, GDELT's convention: 1 country only, 4 world city, 5 world province, and for the
  United States 3 city, 2 state; null without any place. action_geo_adm1, source_url and the
  num_* / avg_tone / is_root_event columns are null.
- source_file <- file name; source_line <- physical line number (header = line 1).

Rows with a missing or bad Event ID or Event Date, a bad Intensity/Latitude/Longitude number (or a
latitude/longitude out of range), the wrong number of columns, or invalid UTF-8 are quarantined with a
short reason; blank lines are skipped. `Chunk.totals` counts good rows per day before the country filter.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .base import Chunk, InputError, InputFile, Reject, conform, daily_totals, filter_countries

SOURCE = "icews"
BLOCK_SIZE = 24 << 20  # bytes of text per block: about 100k ICEWS rows
MAX_RAW = 2000  # characters of a quarantined line we keep
MAX_HEADER = 1 << 20  # a first line longer than this is not an ICEWS header

# normalised header name -> short key used below; all twenty must be present
FIELDS = (
    "event_id", "event_date", "source_name", "source_sectors", "source_country", "event_text",
    "cameo_code", "intensity", "target_name", "target_sectors", "target_country", "story_id",
    "sentence_number", "publisher", "city", "district", "province", "country", "latitude", "longitude",
)
USED = (
    "event_id", "event_date", "source_name", "source_sectors", "source_country", "cameo_code",
    "intensity", "target_name", "target_sectors", "target_country", "city", "province", "country",
    "latitude", "longitude",
)
LABELS = {  # how reasons name a column
    "event_id": "event id", "event_date": "event date", "intensity": "intensity",
    "latitude": "latitude", "longitude": "longitude",
}

_INT = r"^\d{1,18}$"
_FLOAT = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_SECTOR_SPLIT = re.compile(r",(?! )")


def _normalise(name: str) -> str:
    return "_".join(name.strip().lower().replace("_", " ").split())


def _header_names(line: bytes) -> list[str]:
    if line.startswith(b"\xef\xbb\xbf"):
        line = line[3:]
    text = line.rstrip(b"\r").decode("utf-8", errors="replace")
    return [_normalise(n) for n in text.split("\t")]


def looks_like_icews(head: bytes) -> bool:
    """True when the first line of `head` is an ICEWS header (either naming style)."""
    first = head.split(b"\n", 1)[0]
    if b"\t" not in first or first[:1].isdigit():  # no header name starts with a digit; a GDELT row does
        return False
    return set(FIELDS) <= set(_header_names(first))


# -- lookups (loaded once) ----------------------------------------------------------------------


def _data_text(*parts: str) -> str:
    return resources.files("dyadwatch").joinpath("data", *parts).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def country_table() -> dict[str, tuple[str, str | None]]:
    """Lower-cased ICEWS country name -> (CAMEO code, FIPS code or None)."""
    rows = csv.DictReader(_data_text("icews_countries.csv").splitlines())
    return {r["icews_name"].strip().lower(): (r["cameo"].strip(), r["fips"].strip() or None) for r in rows}


@lru_cache(maxsize=None)
def _country_arrays() -> tuple[pa.Array, pa.Array, pa.Array]:
    table = country_table()
    names = list(table)
    return (
        pa.array(names, pa.string()),
        pa.array([table[n][0] for n in names], pa.string()),
        pa.array([table[n][1] for n in names], pa.string()),
    )


@lru_cache(maxsize=None)
def sector_table() -> dict[str, str | None]:
    """Lower-cased ICEWS sector -> CAMEO role code, or None for a sector that names no role."""
    rows = csv.DictReader(_data_text("icews_sectors.csv").splitlines())
    return {r["icews_sector"].strip().lower(): (r["cameo_type"].strip() or None) for r in rows}


@lru_cache(maxsize=None)
def event_codes() -> frozenset[str]:
    lines = _data_text("lookups", "CAMEO.eventcodes.txt").splitlines()[1:]
    return frozenset(line.split("\t", 1)[0].strip() for line in lines if line.strip())


@lru_cache(maxsize=None)
def _quad_arrays() -> tuple[pa.Array, pa.Array]:
    rows = list(csv.DictReader(_data_text("lookups", "cameo_root_quad_goldstein_DERIVED.csv").splitlines()))
    return (
        pa.array([r["CAMEOEVENTCODE"].strip() for r in rows], pa.string()),
        pa.array([int(r["GDELT_QuadClass"]) for r in rows], pa.int8()),
    )


def split_sectors(text: str) -> list[str]:
    return [s.strip() for s in _SECTOR_SPLIT.split(text) if s.strip()]


@lru_cache(maxsize=65536)
def sector_types(text: str) -> tuple[str | None, str | None, str | None]:
    """'Executive,Foreign Ministry,Government' -> ('GOV', None, None): distinct roles in order, first 3."""
    table = sector_table()
    out: list[str] = []
    for s in split_sectors(text):
        code = table.get(s.lower())
        if code and code not in out:
            out.append(code)
    out = out[:3] + [None] * (3 - min(len(out), 3))
    return out[0], out[1], out[2]


def normalise_event_code(code: str) -> str:
    """Restore a leading zero a file has lost, only where the value as written is not a CAMEO code."""
    code = code.strip()
    valid = event_codes()
    if code in valid or not code.isdigit():
        return code
    return "0" + code if "0" + code in valid else code


# -- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IcewsSource:
    name: str = SOURCE
    block_size: int = BLOCK_SIZE

    def read(self, file: InputFile, countries: frozenset[str] | None) -> Iterator[Chunk]:
        countries = frozenset(countries) if countries else None
        columns: dict[str, int] | None = None
        header: list[str] = []
        first_line = 2
        rows_seen = False
        with file.open() as stream:
            carry = b""
            while True:
                data = _read(stream, self.block_size, file)
                if not data:
                    block, carry = carry, b""
                    if not block:
                        break
                else:
                    block = carry + data
                    cut = block.rfind(b"\n") + 1
                    if cut == 0:  # no complete line yet
                        carry = block
                        if columns is None and len(carry) > MAX_HEADER:
                            raise _not_icews(file, carry[:MAX_HEADER])
                        continue
                    block, carry = memoryview(block)[:cut], block[cut:]  # whole lines, without a copy
                if columns is None:
                    head = bytes(block[: MAX_HEADER + 1])
                    nl = head.find(b"\n")
                    if nl < 0 and len(head) > MAX_HEADER:
                        raise _not_icews(file, head)
                    columns, header = _parse_header(head if nl < 0 else head[:nl], file)
                    block = block[len(block) :] if nl < 0 else block[nl + 1 :]
                if not block:
                    continue
                chunk, n_lines = _read_block(block, first_line, columns, header, file.name, countries)
                first_line += n_lines
                rows_seen = rows_seen or chunk.rows_read > 0
                yield chunk
        if columns is None:
            raise InputError(f"{file.path}: empty file")
        if not rows_seen:
            raise InputError(f"{file.path}: empty file (ICEWS header but no event rows)")


def _read(stream, n: int, file: InputFile) -> bytes:
    try:
        return stream.read(n)
    except InputError:
        raise
    except Exception as exc:  # zlib / zip / OS errors mid-stream
        raise InputError(f"{file.path}: cannot read ({type(exc).__name__}: {exc})") from None


def _not_icews(file: InputFile, first: bytes) -> InputError:
    shown = first[:120].decode("utf-8", errors="replace").rstrip("\r")
    return InputError(f"{file.path}: not an ICEWS file (header {shown!r})")


def _parse_header(first: bytes, file: InputFile) -> tuple[dict[str, int], list[str]]:
    """Header line -> (key -> column index, the column names as written); InputError if not ICEWS."""
    if not first.strip():
        reason = "empty file" if not first else "not an ICEWS file (blank first line)"
        raise InputError(f"{file.path}: {reason}")
    names = _header_names(first)
    missing = [f for f in FIELDS if f not in names]
    if missing:
        raise _not_icews(file, first)
    written = first.lstrip(b"\xef\xbb\xbf").rstrip(b"\r").decode("utf-8", errors="replace").split("\t")
    return {f: names.index(f) for f in USED}, [w.strip() for w in written]


def _read_block(
    block: bytes | memoryview, first_line: int, columns: dict[str, int], header: list[str], file_name: str, countries
):
    """One block of whole lines -> (Chunk, number of physical lines in the block)."""
    width = len(header)
    arr = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    if len(ends) == 0 or ends[-1] != len(arr) - 1:  # last line without a newline
        ends = np.append(ends, len(arr))
    n_lines = len(ends)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    stops = ends.copy()
    has_cr = (stops > starts) & (arr[np.maximum(stops - 1, 0)] == 13)
    stops[has_cr] -= 1
    line_no = np.arange(first_line, first_line + n_lines, dtype=np.int64)
    nonblank = stops > starts

    def raw(i: int) -> str:
        return bytes(block[starts[i] : stops[i]][:MAX_RAW * 4]).decode("utf-8", errors="replace")[:MAX_RAW]

    rejects: list[Reject] = []
    bad_utf8 = np.zeros(n_lines, dtype=bool)
    if not _valid_utf8(block):
        for i in np.unique(np.searchsorted(ends, np.flatnonzero(arr >= 0x80))):
            line = bytes(block[starts[i] : stops[i]])
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad_utf8[i] = True
                col = line[: exc.start].count(b"\t")
                where = header[col] if col < width else f"column {col + 1}"
                rejects.append(Reject(int(line_no[i]), f"invalid UTF-8 in {where}", raw(i)))

    usable = np.flatnonzero(nonblank & ~bad_utf8)
    if len(usable) == n_lines and not has_cr.any() and not np.any(arr == 13):
        text = block
    else:  # drop blank / bad lines, CRs (a stray CR would end a row for pyarrow)
        text = b"\n".join(bytes(block[starts[i] : stops[i]]) for i in usable) + b"\n"
        text = text.replace(b"\r", b" ")

    wrong: dict[int, int] = {}  # index into `usable` -> column count

    def on_invalid(row) -> str:
        wrong[row.number - 1] = row.actual_columns
        return "skip"

    if len(usable):
        table = _parse(text, columns, width, on_invalid)
    else:
        table = pa.table({f"c{columns[k]}": pa.array([], pa.string()) for k in USED})
    for j, found in wrong.items():
        i = int(usable[j])
        rejects.append(Reject(int(line_no[i]), f"expected {width} columns, found {found}", raw(i)))
    parsed = np.delete(usable, sorted(wrong)) if wrong else usable
    if len(parsed) != table.num_rows:  # pragma: no cover - would mean our line split disagrees with pyarrow's
        raise InputError(
            f"{file_name}: internal error: {table.num_rows} rows parsed near line {first_line}, expected {len(parsed)}"
        )

    events, bad = _to_events(table, columns, line_no[parsed], file_name)
    for j, reason in bad:
        i = int(parsed[j])
        rejects.append(Reject(int(line_no[i]), reason, raw(i)))
    rejects.sort(key=lambda r: r.line)
    return (
        Chunk(
            events=filter_countries(events, countries),
            rejects=rejects,
            totals=daily_totals(SOURCE, events["event_date"].combine_chunks()),
            rows_read=int(nonblank.sum()),
        ),
        n_lines,
    )


def _valid_utf8(data: bytes) -> bool:
    """UTF-8 check of a whole block in C, without building a Python str."""
    offsets = np.array([0, len(data)], dtype=np.int64)
    whole = pa.Array.from_buffers(pa.large_string(), 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    try:
        whole.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _parse(text: bytes, columns: dict[str, int], width: int, on_invalid) -> pa.Table:
    names = [f"c{i}" for i in range(width)]
    wanted = [f"c{columns[k]}" for k in USED]
    return pacsv.read_csv(
        pa.py_buffer(text),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=False, block_size=1 << 22),
        parse_options=pacsv.ParseOptions(
            delimiter="\t", quote_char=False, double_quote=False, escape_char=False,
            newlines_in_values=False, ignore_empty_lines=True, invalid_row_handler=on_invalid,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in wanted},
            include_columns=wanted,
            strings_can_be_null=True,
            null_values=["", "NA"],
            quoted_strings_can_be_null=False,
        ),
    )


def _to_events(t: pa.Table, columns: dict[str, int], line_no: np.ndarray, file_name: str):
    """Text columns -> canonical events (good rows only) and [(row index, reason)] for bad rows."""
    n = t.num_rows
    col = {k: t[f"c{columns[k]}"].combine_chunks() for k in USED}
    bad = np.zeros(n, dtype=bool)
    reasons: dict[int, str] = {}

    def flag(mask, key: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        for i in np.flatnonzero(mask & ~bad):
            v = col[key][int(i)].as_py()
            reasons[int(i)] = f"missing {LABELS[key]}" if v is None else f"bad {LABELS[key]} {v!r}"
        bad[mask] = True

    def np_mask(a: pa.Array) -> np.ndarray:
        return np.asarray(pc.fill_null(a, False).to_numpy(zero_copy_only=False), dtype=bool)

    # Each conversion first tries a plain cast (fast, strict); only a block where that fails is checked
    # value by value.

    # event id: required, a non-negative integer
    ids = col["event_id"]
    try:
        event_id = ids.cast(pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        ok = pc.fill_null(pc.match_substring_regex(ids, _INT), False)
        event_id = pc.if_else(ok, ids, None).cast(pa.int64())
    id_ok = pc.fill_null(pc.greater_equal(event_id, 0), False)
    flag(~np_mask(id_ok), "event_id")

    # event date: required, exactly YYYY-MM-DD and a real day
    raw_dates = col["event_date"]
    try:
        event_date = raw_dates.cast(pa.date32())  # strict ISO: rejects 2018-6-1, 2018-02-30
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # strptime alone is lenient (2018-6-1 parses, 2018-02-30 becomes 2018-03-02): compare round trip
        parsed = pc.strptime(raw_dates, format="%Y-%m-%d", unit="s", error_is_null=True)
        ok = pc.fill_null(pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), raw_dates), False)
        event_date = pc.if_else(ok, parsed, None).cast(pa.date32())
    flag(~np_mask(pc.is_valid(event_date)), "event_date")

    # optional numbers: null when missing; a reject when not a finite number or a coordinate out of range
    numbers: dict[str, pa.Array] = {}
    for key, limit in (("intensity", None), ("latitude", 90.0), ("longitude", 180.0)):
        values = col[key]
        try:
            num = values.cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            ok = pc.fill_null(pc.match_substring_regex(values, _FLOAT), True)
            num = pc.if_else(ok, values, None).cast(pa.float64())
        good = pc.is_finite(num) if limit is None else pc.less_equal(pc.abs(num), limit)
        ok = pc.or_(pc.is_null(values), pc.fill_null(good, False))
        flag(~np_mask(ok), key)
        numbers[key] = pc.if_else(ok, num, None)

    keys, cameo, fips = _country_arrays()

    def country_index(values: pa.Array) -> pa.Array:
        """Row -> index into the country table (null when unknown), looking up each distinct name once."""
        enc = values.dictionary_encode()
        names = pc.utf8_lower(pc.utf8_trim_whitespace(enc.dictionary))
        return pc.take(pc.index_in(names, value_set=keys), enc.indices)

    out: dict[str, pa.Array] = {
        "event_id": event_id,
        "event_date": event_date,
        "source": pa.repeat(SOURCE, n),
    }
    for side, prefix in ((1, "source"), (2, "target")):
        country = pc.take(cameo, country_index(col[f"{prefix}_country"]))
        types = _map_unique(col[f"{prefix}_sectors"], sector_types, 3)
        out[f"actor{side}_name"] = col[f"{prefix}_name"]
        out[f"actor{side}_country"] = country
        for k in range(3):
            out[f"actor{side}_type{k + 1}"] = types[k]
        out[f"actor{side}_code"] = pc.binary_join_element_wise(country, pc.fill_null(types[0], ""), "")

    (code,) = _map_unique(col["cameo_code"], lambda v: (normalise_event_code(v),), 1)
    out["event_code"] = code
    out["event_base_code"] = pc.utf8_slice_codeunits(code, 0, 3)
    root = pc.utf8_slice_codeunits(code, 0, 2)
    out["event_root_code"] = root
    roots, quads = _quad_arrays()
    out["quad_class"] = pc.take(quads, pc.index_in(root, value_set=roots))
    out["goldstein"] = numbers["intensity"]

    city, province, place = col["city"], col["province"], col["country"]
    out["action_geo_fullname"] = _join_present([city, province, place], ", ")
    geo_country = pc.take(fips, country_index(place))
    out["action_geo_country"] = geo_country
    has_city = np_mask(pc.is_valid(city))
    has_prov = np_mask(pc.is_valid(province))
    has_country = np_mask(pc.is_valid(place))
    us = np_mask(pc.equal(geo_country, "US"))
    geo_type = np.select(
        [has_city & us, has_city, has_prov & us, has_prov, has_country], [3, 4, 2, 5, 1], default=0
    ).astype(np.int8)
    out["action_geo_type"] = pa.array(geo_type, pa.int8(), mask=geo_type == 0)
    out["action_geo_lat"] = numbers["latitude"]
    out["action_geo_lon"] = numbers["longitude"]
    out["source_file"] = pa.repeat(file_name, n)
    out["source_line"] = pa.array(line_no, pa.int64())

    events = conform(out, n)
    if bad.any():
        events = events.filter(pa.array(~bad))
    return events, sorted(reasons.items())


def _join_present(parts: list[pa.Array], sep: str) -> pa.Array:
    """Join the non-null parts of each row with `sep`; null when all are null.

    (binary_join_element_wise's null_handling="skip" drops all-null rows in pyarrow 26, so not that.)
    """
    acc = parts[0]
    for p in parts[1:]:
        joined = pc.binary_join_element_wise(acc, p, sep)
        acc = pc.if_else(pc.is_null(acc), p, pc.if_else(pc.is_null(p), acc, joined))
    return acc


def _map_unique(values: pa.Array, fn, k: int) -> list[pa.Array]:
    """Apply `fn` (text -> k-tuple of text or None) to each distinct non-null value, then spread back."""
    enc = values.dictionary_encode()
    results = [fn(v) for v in enc.dictionary.to_pylist()]
    return [pc.take(pa.array([r[j] for r in results], pa.string()), enc.indices) for j in range(k)]


__all__ = ["IcewsSource", "looks_like_icews", "country_table", "sector_table", "sector_types",
           "split_sectors", "normalise_event_code"]
