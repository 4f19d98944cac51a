"""GDELT 2.0 / 1.0 sources: exact counts on real files, filtered == unfiltered-then-filtered, every kind
of bad input with its exact quarantine rows, and block boundaries.

Expected values are computed independently of the parser (csv module, plain byte splitting) wherever
that is practical; the fixed counts are those of the shared data sets.

About the country filter: with a filter, only the lines holding a tab-delimited country code (the
candidates) are fully parsed. Every other line is checked for two things only: valid UTF-8 and a
readable event date (SQLDATE), which the per-day totals need. So a non-candidate row with a bad column
count or a bad number is *not* quarantined under a filter (it is counted in the totals by its date),
while a non-candidate row whose date cannot be read is quarantined exactly as without a filter. In every
mode, each non-blank line is either counted in the totals or quarantined:
``rows_read == sum(totals) + len(rejects)``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import dyadwatch.sources.gdelt as gdelt
from dyadwatch.knowledge.schema import EVENT_SCHEMA
from dyadwatch.sources.base import InputError, InputFile, filter_countries
from dyadwatch.sources.gdelt import GDELT1, GDELT2, GDELT2_TRANSLINGUAL, V2_COLUMNS

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
GDELT = SHARED / "gdelt"
RAW = GDELT / "samples-raw"
KARABAKH = sorted((GDELT / "v2-2020-11-karabakh").glob("*.zip"))
GEORGIA = sorted((GDELT / "v1-georgia-2011-2013").glob("*.zip"))
RT = frozenset({"RUS", "TUR"})

COL = {name: i for i, name in enumerate(V2_COLUMNS)}  # GDELT 2.0 column name -> index


@dataclass
class Result:
    events: pa.Table
    rejects: list[tuple[int, str]]
    raws: list[str | None]
    totals: Counter
    rows_read: int

    @property
    def lines(self) -> list[int]:
        return self.events["source_line"].to_pylist()

    @property
    def ids(self) -> list[int]:
        return self.events["event_id"].to_pylist()


def read(source, path: Path, countries=None) -> Result:
    events, rejects, raws, totals, rows = [], [], [], Counter(), 0
    for chunk in source.read(InputFile(path), countries):
        assert chunk.events.schema == EVENT_SCHEMA
        events.append(chunk.events)
        rejects += [(r.line, r.reason) for r in chunk.rejects]
        raws += [r.raw for r in chunk.rejects]
        if chunk.totals is not None:
            assert set(chunk.totals["source"].to_pylist()) <= {source.name}
            for day, n in zip(chunk.totals["day"].to_pylist(), chunk.totals["events"].to_pylist()):
                totals[day] += n
        rows += chunk.rows_read
    table = pa.concat_tables(events) if events else EVENT_SCHEMA.empty_table()
    return Result(table, rejects, raws, totals, rows)


def member_bytes(zip_path: Path) -> bytes:
    with zipfile.ZipFile(zip_path) as zf:
        return zf.read(zf.namelist()[0])


def raw_lines(path: Path) -> list[bytes]:
    data = member_bytes(path) if path.suffix == ".zip" else path.read_bytes()
    return data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n")


def csv_rows(path: Path) -> list[list[str]]:
    """The rows of a GDELT file by the csv module (tab-separated, no quoting), independent of the parser."""
    data = member_bytes(path) if path.suffix == ".zip" else path.read_bytes()
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter="\t", quoting=csv.QUOTE_NONE))


def involves(row: list[str], countries=RT) -> bool:
    return row[7] in countries or row[17] in countries


def day(s: str) -> dt.date:
    return dt.date(int(s[:4]), int(s[4:6]), int(s[6:8]))


# ------------------------------------------------------------------------------------------------
# Real files: exact counts
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, name, kept_rt",
    [(GDELT2, "events.csv", 1), (GDELT2_TRANSLINGUAL, "eventsT.csv", 4), (GDELT1, "events1.csv", 1)],
)
def test_samples_raw_counts(source, name, kept_rt):
    path = RAW / name
    rows = csv_rows(path)
    assert len(rows) == 100
    assert sum(involves(r) for r in rows) == kept_rt  # independent count

    full = read(source, path)
    assert full.rows_read == 100 and full.events.num_rows == 100 and full.rejects == []
    assert full.lines == list(range(1, 101))
    assert full.ids == [int(r[0]) for r in rows]
    assert set(full.events["source"].to_pylist()) == {source.name}
    assert set(full.events["source_file"].to_pylist()) == {name}
    assert full.totals == Counter(day(r[1]) for r in rows)

    kept = read(source, path, RT)
    assert kept.rows_read == 100 and kept.rejects == []
    assert kept.events.num_rows == kept_rt
    assert kept.ids == [int(r[0]) for r in rows if involves(r)]
    assert kept.totals == full.totals  # totals are before the country filter


def test_gdelt1_ragged_file_loads_fully():
    path = RAW / "events1.csv"
    rows = csv_rows(path)
    assert Counter(len(r) for r in rows) == {57: 40, 58: 60}
    res = read(GDELT1, path)
    assert res.rejects == [] and res.rows_read == 100 and res.events.num_rows == 100
    assert res.lines == list(range(1, 101))  # rows of both widths, back in file order
    assert res.ids == [int(r[0]) for r in rows]
    # 57-column rows (1979-2013 backfile) have no SOURCEURL; 58-column rows do
    assert res.events["source_url"].to_pylist() == [r[57] if len(r) == 58 and r[57] else None for r in rows]
    # the columns both widths share line up: ActionGeo_CountryCode is column 51 in 1.0, DATEADDED 56
    assert res.events["action_geo_country"].to_pylist() == [r[51] or None for r in rows]
    assert res.events["date_added"].to_pylist() == [dt.datetime.strptime(r[56], "%Y%m%d") for r in rows]
    assert res.events["event_code"].to_pylist() == [r[26] for r in rows]


@pytest.mark.parametrize("path", KARABAKH, ids=lambda p: p.name)
def test_karabakh_file_counts(path):
    rows = csv_rows(path)
    expected = {"20201113.export.CSV.zip": (2824, 298), "20201114.export.CSV.zip": (2601, 352),
                "20201115.export.CSV.zip": (3929, 375)}[path.name]
    assert (len(rows), sum(involves(r) for r in rows)) == expected
    full, kept = read(GDELT2, path), read(GDELT2, path, RT)
    assert (full.rows_read, full.events.num_rows, len(full.rejects)) == (expected[0], expected[0], 0)
    assert (kept.rows_read, kept.events.num_rows, len(kept.rejects)) == (expected[0], expected[1], 0)
    assert sum(full.totals.values()) == sum(kept.totals.values()) == expected[0]
    assert full.totals == kept.totals == Counter(day(r[1]) for r in rows)
    assert set(full.events["source_file"].to_pylist()) == {path.name}


def test_karabakh_totals():
    assert len(KARABAKH) == 3
    rows_read = kept = rus_tur = total = 0
    for path in KARABAKH:
        res = read(GDELT2, path, RT)
        assert res.rejects == []
        rows_read += res.rows_read
        total += sum(res.totals.values())
        kept += res.events.num_rows
        pairs = set(zip(res.events["actor1_country"].to_pylist(), res.events["actor2_country"].to_pylist()))
        rus_tur += sum(
            1 for a, b in zip(res.events["actor1_country"].to_pylist(), res.events["actor2_country"].to_pylist())
            if {a, b} == {"RUS", "TUR"}
        )
        assert all(a in RT or b in RT for a, b in pairs)
    assert (rows_read, total, kept, rus_tur) == (9354, 9354, 1025, 57)


def test_georgia_totals():
    assert len(GEORGIA) == 23
    rows_read = kept = total = 0
    for path in GEORGIA:
        res = read(GDELT1, path, RT)
        assert res.rejects == []
        rows_read += res.rows_read
        total += sum(res.totals.values())
        kept += res.events.num_rows
    assert (rows_read, total, kept) == (105438, 105438, 9626)


def test_georgia_unfiltered_counts_and_one_file_independently():
    rows_read = events = 0
    for path in GEORGIA:
        res = read(GDELT1, path)
        assert res.rejects == [] and res.rows_read == res.events.num_rows
        assert sum(res.totals.values()) == res.rows_read
        rows_read += res.rows_read
        events += res.events.num_rows
    assert rows_read == events == 105438
    rows = csv_rows(GEORGIA[0])
    res = read(GDELT1, GEORGIA[0], RT)
    assert res.ids == [int(r[0]) for r in rows if involves(r)]
    assert res.totals == Counter(day(r[1]) for r in rows)


# ------------------------------------------------------------------------------------------------
# Field values
# ------------------------------------------------------------------------------------------------


def test_leading_zeros_kept_in_cameo_codes():
    rows = {int(r[0]): r for r in csv_rows(RAW / "events.csv")}
    res = read(GDELT2, RAW / "events.csv")
    by_id = {e["event_id"]: e for e in res.events.to_pylist()}
    raw = rows[410412348]  # a "042" consultation, root "04"
    assert (raw[26], raw[27], raw[28]) == ("042", "042", "04")
    event = by_id[410412348]
    assert (event["event_code"], event["event_base_code"], event["event_root_code"]) == ("042", "042", "04")
    # every row, every code column: the exact text of the file
    for eid, raw in rows.items():
        e = by_id[eid]
        assert (e["event_code"], e["event_base_code"], e["event_root_code"]) == (raw[26], raw[27], raw[28])
    assert any(r[28].startswith("0") for r in rows.values())
    assert res.events.schema.field("event_code").type == pa.string()


def test_leading_zeros_on_karabakh():
    path = KARABAKH[0]
    rows = csv_rows(path)
    res = read(GDELT2, path)
    assert res.events["event_root_code"].to_pylist() == [r[28] for r in rows]
    assert res.events["event_base_code"].to_pylist() == [r[27] for r in rows]
    assert sum(r[28].startswith("0") for r in rows) > 100


def test_known_row_field_values():
    res = read(GDELT2, RAW / "events.csv", RT)
    assert res.events.num_rows == 1
    e = res.events.to_pylist()[0]
    assert e["event_id"] == 410412361
    assert e["source"] == "gdelt2"
    assert e["source_file"] == "events.csv"
    assert e["source_line"] == 15
    assert e["event_date"] == dt.date(2014, 2, 18)
    assert e["date_added"] == dt.datetime(2015, 2, 18, 23, 0, 0)
    assert res.events.schema.field("date_added").type == pa.timestamp("s")
    assert e["actor1_code"] == "COP" and e["actor1_name"] == "POLICE" and e["actor1_country"] is None
    assert e["actor1_type1"] == "COP"
    assert e["actor2_code"] == "TUR" and e["actor2_name"] == "TURKEY" and e["actor2_country"] == "TUR"
    assert e["is_root_event"] is False
    assert (e["event_code"], e["event_base_code"], e["event_root_code"]) == ("190", "190", "19")
    assert e["quad_class"] == 4
    assert e["goldstein"] == -10.0
    assert (e["num_mentions"], e["num_sources"], e["num_articles"]) == (16, 1, 16)
    assert e["avg_tone"] == pytest.approx(-5.07246376811594, abs=0, rel=1e-15)
    assert e["action_geo_type"] == 4
    assert e["action_geo_fullname"] == "Gezi, Kayseri, Turkey"
    assert e["action_geo_country"] == "TU"
    assert e["action_geo_adm1"] == "TU38"
    assert (e["action_geo_lat"], e["action_geo_lon"]) == (38.7918, 35.6592)
    assert e["source_url"].startswith("http://www.hurriyetdailynews.com/giving-the-police-a-blank-check")
    assert e["source_url"] == csv_rows(RAW / "events.csv")[14][60]
    # the same row, unfiltered, is identical
    full = read(GDELT2, RAW / "events.csv")
    assert full.events.filter(pc.equal(full.events["event_id"], 410412361)).to_pylist() == [e]


def test_empty_fields_are_null_not_empty_strings():
    res = read(GDELT2, RAW / "events.csv")
    rows = csv_rows(RAW / "events.csv")
    assert res.events["actor1_code"].to_pylist() == [r[5] or None for r in rows]
    assert res.events["actor1_country"].null_count == sum(1 for r in rows if not r[7])


# ------------------------------------------------------------------------------------------------
# Filtered read == unfiltered read, then filtered
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, path",
    [*[(GDELT2, p) for p in KARABAKH], *[(GDELT1, p) for p in GEORGIA],
     (GDELT2, RAW / "events.csv"), (GDELT2_TRANSLINGUAL, RAW / "eventsT.csv"), (GDELT1, RAW / "events1.csv")],
    ids=lambda x: getattr(x, "name", None),
)
def test_filtered_read_equals_full_read_then_filter(source, path):
    full = read(source, path)
    for countries in (RT, frozenset({"RUS"}), frozenset({"GEO", "ARM", "AZE"})):
        kept = read(source, path, countries)
        expected = filter_countries(full.events, countries)
        assert kept.events.equals(expected), (path.name, countries)
        # an independent check of the filter itself
        a1, a2 = full.events["actor1_country"].to_pylist(), full.events["actor2_country"].to_pylist()
        assert kept.events.num_rows == sum(1 for a, b in zip(a1, a2) if a in countries or b in countries)
        assert kept.totals == full.totals
        assert kept.rows_read == full.rows_read and kept.rejects == full.rejects == []


def fields(line: bytes) -> list[bytes]:
    return line.split(b"\t")


def join(cols: list[bytes]) -> bytes:
    return b"\t".join(cols)


def write(tmp_path: Path, lines: list[bytes], name: str = "t.export.CSV", eol: bytes = b"\n",
          final_eol: bool = True) -> Path:
    path = tmp_path / name
    data = eol.join(lines) + (eol if final_eol else b"")
    if name.endswith(".zip"):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(name[: -len(".zip")], data)
    else:
        path.write_bytes(data)
    return path


SAMPLE = raw_lines(RAW / "events.csv")  # 100 real GDELT 2.0 rows
TUR_INDEX = 14  # the one row of events.csv with TUR as an actor country (line 15)
assert fields(SAMPLE[TUR_INDEX])[COL["Actor2CountryCode"]] == b"TUR"


def test_country_code_elsewhere_in_the_row_is_not_kept(tmp_path):
    base = fields(SAMPLE[0])
    assert base[COL["Actor1CountryCode"]] == b"" and base[COL["Actor2CountryCode"]] == b""
    decoy = list(base)
    decoy[COL["Actor1Code"]] = b"RUS"  # a tab-delimited RUS: a candidate for the byte search
    decoy[COL["Actor1Name"]] = b"RUSSIA"
    decoy[COL["Actor2Code"]] = b"TUR"
    decoy[COL["Actor1EthnicCode"]] = b"RUS"
    other = list(base)
    other[COL["Actor1Code"]] = b"RUSGOV"  # not even a candidate
    real = SAMPLE[TUR_INDEX]
    path = write(tmp_path, [join(decoy), join(other), real])
    full = read(GDELT2, path)
    assert full.lines == [1, 2, 3] and full.events["actor1_code"].to_pylist()[:2] == ["RUS", "RUSGOV"]
    kept = read(GDELT2, path, RT)
    assert kept.lines == [3] and kept.ids == [410412361]
    assert kept.events.equals(filter_countries(full.events, RT))
    assert kept.totals == full.totals == Counter({dt.date(2014, 2, 18): 3})


# ------------------------------------------------------------------------------------------------
# Bad input: exact quarantine rows
# ------------------------------------------------------------------------------------------------


def set_col(column: str, value: bytes):
    def corrupt(cols: list[bytes]) -> bytes:
        cols = list(cols)
        cols[COL[column]] = value
        return join(cols)
    return corrupt


def drop_last(cols):
    return join(cols[:-1])


def add_col(cols):
    return join([*cols, b"extra"])


def only_id(cols):
    return cols[0]


# (id, corruption, reason, checked_without_parsing): the last flag says whether a non-candidate row with
# this defect is still quarantined under a country filter (UTF-8 and the event date are checked for every
# line; everything else only for candidate lines).
CORRUPTIONS = [
    ("60-columns", drop_last, "expected 61 columns, found 60", False),
    ("62-columns", add_col, "expected 61 columns, found 62", False),
    ("1-column", only_id, "expected 61 columns, found 1", True),  # no SQLDATE at all: the date check fails
    ("bad-date", set_col("SQLDATE", b"20201340"), "bad SQLDATE '20201340'", True),
    ("31-february", set_col("SQLDATE", b"20200231"), "bad SQLDATE '20200231'", True),
    ("31-april", set_col("SQLDATE", b"20200431"), "bad SQLDATE '20200431'", True),
    ("date-with-spaces", set_col("SQLDATE", b"2020 1 1"), "bad SQLDATE '2020 1 1'", True),
    ("short-date", set_col("SQLDATE", b"2020011"), "bad SQLDATE '2020011'", True),
    ("missing-date", set_col("SQLDATE", b""), "missing SQLDATE", True),
    ("num-mentions-x", set_col("NumMentions", b"x"), "bad NumMentions 'x'", False),
    ("goldstein-abc", set_col("GoldsteinScale", b"abc"), "bad GoldsteinScale 'abc'", False),
    ("goldstein-nan", set_col("GoldsteinScale", b"nan"), "bad GoldsteinScale 'nan'", False),
    ("avg-tone-inf", set_col("AvgTone", b"inf"), "bad AvgTone 'inf'", False),
    ("avg-tone-1e999", set_col("AvgTone", b"1e999"), "bad AvgTone '1e999'", False),
    ("num-mentions-overflow", set_col("NumMentions", b"99999999999"), "bad NumMentions '99999999999'", False),
    ("quad-class-overflow", set_col("QuadClass", b"300"), "bad QuadClass '300'", False),
    ("num-sources-plus", set_col("NumSources", b"+5"), "bad NumSources '+5'", False),
    ("num-articles-hex", set_col("NumArticles", b"0x10"), "bad NumArticles '0x10'", False),
    ("lat-text", set_col("ActionGeo_Lat", b"north"), "bad ActionGeo_Lat 'north'", False),
    ("missing-id", set_col("GLOBALEVENTID", b""), "missing GLOBALEVENTID", True),
    ("bad-id", set_col("GLOBALEVENTID", b"abc"), "bad GLOBALEVENTID 'abc'", False),
    ("bad-dateadded", set_col("DATEADDED", b"2015021823"), "bad DATEADDED '2015021823'", False),
    ("dateadded-hour-24", set_col("DATEADDED", b"20150218240000"), "bad DATEADDED '20150218240000'", False),
    ("dateadded-second-60", set_col("DATEADDED", b"20150218235960"), "bad DATEADDED '20150218235960'", False),
    ("utf8-actor1name", set_col("Actor1Name", b"MOSC\xffOW"), "invalid UTF-8 in Actor1Name", True),
    ("utf8-truncated-seq", set_col("Actor1Name", b"MOSCOW\xd0"), "invalid UTF-8 in Actor1Name", True),
    ("utf8-url", set_col("SOURCEURL", b"http://x/\xe9t\xe9"), "invalid UTF-8 in SOURCEURL", True),
]


def _case_file(tmp_path, corruption, bad_index, n=20, **kw):
    lines = list(SAMPLE[:n])
    lines[bad_index] = corruption(fields(lines[bad_index]))
    return write(tmp_path, lines, **kw), lines


@pytest.mark.parametrize("case", CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_bad_row_quarantined_unfiltered(tmp_path, case):
    _, corruption, reason, _ = case
    path, lines = _case_file(tmp_path, corruption, 2)
    res = read(GDELT2, path)
    assert res.rejects == [(3, reason)]
    assert res.raws[0] == lines[2].decode("utf-8", errors="replace")
    assert res.lines == [i for i in range(1, 21) if i != 3]
    assert res.ids == [int(fields(l)[0]) for i, l in enumerate(lines) if i != 2]
    assert res.rows_read == 20 == res.events.num_rows + len(res.rejects)
    assert sum(res.totals.values()) == 19


@pytest.mark.parametrize("case", CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_bad_candidate_row_quarantined_filtered(tmp_path, case):
    _, corruption, reason, _ = case
    path, lines = _case_file(tmp_path, corruption, TUR_INDEX)
    if b"\tTUR\t" not in lines[TUR_INDEX]:  # only the "1-column" case loses the country code
        assert case[0] == "1-column"
    res = read(GDELT2, path, RT)
    assert res.rejects == [(15, reason)]
    assert res.events.num_rows == 0
    assert res.rows_read == 20
    assert sum(res.totals.values()) + len(res.rejects) == 20
    # and with a filter that keeps a good row too
    kept = read(GDELT2, path, frozenset({"TUR", "NZL"}))
    full = read(GDELT2, path)
    assert kept.rejects == full.rejects == [(15, reason)]
    assert kept.events.equals(filter_countries(full.events, frozenset({"TUR", "NZL"})))
    assert kept.events.num_rows > 0


@pytest.mark.parametrize("case", CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_bad_non_candidate_row_filtered(tmp_path, case):
    """Under a filter a non-candidate row is checked only for UTF-8 and its event date (see top)."""
    _, corruption, reason, checked = case
    path, _ = _case_file(tmp_path, corruption, 2)
    res = read(GDELT2, path, RT)
    assert res.lines == [15] and res.ids == [410412361]
    assert res.rows_read == 20
    if checked:
        assert res.rejects == [(3, reason)]
        assert sum(res.totals.values()) == 19
    else:  # not parsed: counted in the day totals by its (good) date, not quarantined
        assert res.rejects == []
        assert sum(res.totals.values()) == 20
    assert sum(res.totals.values()) + len(res.rejects) == res.rows_read


def test_many_bad_rows_in_one_file(tmp_path):
    lines = list(SAMPLE[:40])
    expected = []
    for i, (_, corruption, reason, _) in enumerate(CORRUPTIONS):
        lines[i + 1] = corruption(fields(lines[i + 1]))
        expected.append((i + 2, reason))
    path = write(tmp_path, lines)
    res = read(GDELT2, path)
    assert res.rejects == expected
    assert res.lines == [1, *range(len(CORRUPTIONS) + 2, 41)]
    assert res.rows_read == 40 == res.events.num_rows + len(res.rejects)
    zipped = read(GDELT2, write(tmp_path, lines, name="t.export.CSV.zip"))
    assert zipped.rejects == expected and zipped.events.drop(["source_file"]).equals(res.events.drop(["source_file"]))


def test_invalid_utf8_raw_is_kept_readable(tmp_path):
    path, lines = _case_file(tmp_path, set_col("Actor1Name", b"MOSC\xffOW"), 4)
    res = read(GDELT2, path)
    assert res.rejects == [(5, "invalid UTF-8 in Actor1Name")]
    assert "MOSC\ufffdOW" in res.raws[0]


def test_long_rejected_row_raw_is_capped(tmp_path):
    long_row = b"x" * 10_000
    path = write(tmp_path, [SAMPLE[0], long_row, SAMPLE[1]])
    res = read(GDELT2, path)
    assert res.rejects == [(2, "expected 61 columns, found 1")]
    assert res.raws[0] == "x" * gdelt.MAX_RAW
    assert res.lines == [1, 3]


def test_gdelt1_wrong_column_count(tmp_path):
    lines = raw_lines(RAW / "events1.csv")[:10]
    widths = [len(fields(l)) for l in lines]
    lines[3] = join(fields(lines[3])[:50])
    lines[5] = join([*fields(lines[5]), b"x", b"y"] if widths[5] == 58 else [*fields(lines[5]), b"x", b"y", b"z"])
    path = write(tmp_path, lines)
    res = read(GDELT1, path)
    assert res.rejects == [(4, "expected 58 or 57 columns, found 50"), (6, "expected 58 or 57 columns, found 60")]
    assert res.lines == [1, 2, 3, 5, 7, 8, 9, 10]


def test_gdelt1_bad_values_in_both_widths(tmp_path):
    lines = raw_lines(RAW / "events1.csv")
    by_width = {}
    for i, l in enumerate(lines):
        by_width.setdefault(len(fields(l)), i)
    i57, i58 = by_width[57], by_width[58]
    for i in (i57, i58):
        cols = fields(lines[i])
        cols[31] = b"many"  # NumMentions is column 31 in 1.0 as in 2.0
        lines[i] = join(cols)
    path = write(tmp_path, lines)
    res = read(GDELT1, path)
    assert res.rejects == sorted([(i57 + 1, "bad NumMentions 'many'"), (i58 + 1, "bad NumMentions 'many'")])
    assert res.lines == [i + 1 for i in range(100) if i not in (i57, i58)]


def test_crlf_line_endings(tmp_path):
    lf = read(GDELT2, write(tmp_path, SAMPLE[:30], name="lf.csv"))
    crlf_path = write(tmp_path, SAMPLE[:30], name="crlf.csv", eol=b"\r\n")
    for countries in (None, RT):
        crlf = read(GDELT2, crlf_path, countries)
        assert crlf.rejects == []
        assert crlf.lines == (list(range(1, 31)) if countries is None else [15])
        expected = filter_countries(lf.events, countries).drop(["source_file"])
        assert crlf.events.drop(["source_file"]).equals(expected)
        assert not any(u.endswith("\r") for u in crlf.events["source_url"].to_pylist())
        assert crlf.totals == lf.totals


def test_crlf_without_final_newline(tmp_path):
    path = write(tmp_path, SAMPLE[:5], eol=b"\r\n", final_eol=False)
    res = read(GDELT2, path)
    assert res.rejects == [] and res.lines == [1, 2, 3, 4, 5]
    assert res.events["source_url"].to_pylist()[-1] == fields(SAMPLE[4])[60].decode()


def test_blank_lines_are_skipped_and_line_numbers_stay_physical(tmp_path):
    bad = set_col("NumMentions", b"x")(fields(SAMPLE[2]))
    lines = [b"", SAMPLE[0], b"", b"", SAMPLE[1], b"\r", bad, b"", SAMPLE[TUR_INDEX], SAMPLE[3], b""]
    path = write(tmp_path, lines)
    res = read(GDELT2, path)
    assert res.rejects == [(7, "bad NumMentions 'x'")]
    assert res.lines == [2, 5, 9, 10]
    assert res.rows_read == 5  # blank lines are not rows
    kept = read(GDELT2, path, RT)
    assert kept.lines == [9] and kept.rejects == [] and kept.rows_read == 5
    assert sum(kept.totals.values()) == 5


def test_stray_cr_inside_a_field(tmp_path):
    """A lone CR inside a field is not a line break: the row keeps its line number; the CR becomes a space."""
    cr_row = set_col("Actor1Name", b"FOO\rBAR")(fields(SAMPLE[1]))
    cr_tur = set_col("Actor1Name", b"BAZ\rQUX")(fields(SAMPLE[TUR_INDEX]))
    bad = set_col("GoldsteinScale", b"abc")(fields(SAMPLE[3]))
    lines = [SAMPLE[0], cr_row, SAMPLE[2], bad, *SAMPLE[4:TUR_INDEX], cr_tur, SAMPLE[TUR_INDEX + 1]]
    path = write(tmp_path, lines)
    res = read(GDELT2, path)
    assert res.rejects == [(4, "bad GoldsteinScale 'abc'")]
    assert res.lines == [i for i in range(1, len(lines) + 1) if i != 4]
    names = dict(zip(res.lines, res.events["actor1_name"].to_pylist()))
    assert names[2] == "FOO BAR" and names[15] == "BAZ QUX"
    kept = read(GDELT2, path, RT)
    assert kept.lines == [15] and kept.events["actor1_name"].to_pylist() == ["BAZ QUX"]
    assert kept.rejects == []  # the bad Goldstein row is not a candidate


def test_stray_cr_at_end_of_last_line_without_newline(tmp_path):
    path = write(tmp_path, [SAMPLE[0], SAMPLE[1] + b"\r"], final_eol=False)
    res = read(GDELT2, path)
    assert res.rejects == [] and res.lines == [1, 2]
    assert not res.events["source_url"].to_pylist()[1].endswith("\r")


@pytest.mark.parametrize("zipped", [False, True])
def test_final_line_without_newline(tmp_path, zipped):
    name = "t.export.CSV.zip" if zipped else "t.export.CSV"
    path = write(tmp_path, SAMPLE[:10], name=name, final_eol=False)
    res = read(GDELT2, path)
    assert res.rejects == [] and res.lines == list(range(1, 11))
    assert res.events["source_url"].to_pylist()[-1] == fields(SAMPLE[9])[60].decode()
    bad = [*SAMPLE[:9], drop_last(fields(SAMPLE[9]))]
    res = read(GDELT2, write(tmp_path, bad, name=name, final_eol=False))
    assert res.rejects == [(10, "expected 61 columns, found 60")]
    res = read(GDELT2, write(tmp_path, [*SAMPLE[:9], SAMPLE[TUR_INDEX]], name=name, final_eol=False), RT)
    assert res.lines == [10] and res.ids == [410412361]


def test_line_numbers_are_physical_lines_of_the_decompressed_file(tmp_path):
    lines = [SAMPLE[0], b"", SAMPLE[1], b"garbage", b"", b"", SAMPLE[2], b"\xff\xfe", SAMPLE[3]]
    zipped = write(tmp_path, lines, name="z.export.CSV.zip", eol=b"\r\n")
    res = read(GDELT2, zipped)
    assert res.rejects == [(4, "expected 61 columns, found 1"), (8, "invalid UTF-8 in GLOBALEVENTID")]
    assert res.lines == [1, 3, 7, 9]
    assert res.rows_read == 6
    # the same lines by an independent reading of the member
    physical = member_bytes(zipped).split(b"\r\n")
    assert [physical[n - 1] for n in res.lines] == [SAMPLE[0], SAMPLE[1], SAMPLE[2], SAMPLE[3]]


def test_blank_only_and_empty_files_are_input_errors(tmp_path):
    for name, data in [("empty.csv", b""), ("blank.csv", b"\n\n\r\n\n")]:
        path = tmp_path / name
        path.write_bytes(data)
        for countries in (None, RT):
            with pytest.raises(InputError, match=name) as exc:
                list(GDELT2.read(InputFile(path), countries))
            assert "\n" not in str(exc.value)


def test_zero_byte_zip_is_an_input_error(tmp_path):
    path = tmp_path / "20201113.export.CSV.zip"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="20201113.export.CSV.zip") as exc:
        list(GDELT2.read(InputFile(path), None))
    assert "\n" not in str(exc.value)


def test_zip_with_empty_member_is_an_input_error(tmp_path):
    path = write(tmp_path, [], name="e.export.CSV.zip", final_eol=False)
    with pytest.raises(InputError, match="e.export.CSV.zip"):
        list(GDELT2.read(InputFile(path), RT))


def test_missing_file_and_directory_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="nope.csv"):
        list(GDELT2.read(InputFile(tmp_path / "nope.csv"), None))
    with pytest.raises(InputError, match="nope.zip"):
        list(GDELT2.read(InputFile(tmp_path / "nope.zip"), None))
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(InputError, match="d.csv"):
        list(GDELT2.read(InputFile(tmp_path / "d.csv"), None))


def test_truncated_zip_is_an_input_error(tmp_path):
    real = KARABAKH[0]
    data = real.read_bytes()
    path = tmp_path / real.name
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=real.name) as exc:
        list(GDELT2.read(InputFile(path), RT))
    assert "\n" not in str(exc.value)
    # cut anywhere: never a crash, never a silent partial read
    for cut in (1, 22, 100, len(data) // 3, len(data) - 23, len(data) - 1):
        path.write_bytes(data[:cut])
        for countries in (None, RT):
            with pytest.raises(InputError, match=real.name):
                list(GDELT2.read(InputFile(path), countries))


def test_corrupt_zip_member_is_an_input_error(tmp_path):
    real = KARABAKH[1]
    data = bytearray(real.read_bytes())
    with zipfile.ZipFile(real) as zf:
        info = zf.infolist()[0]
    header_len = 30 + len(info.filename.encode()) + len(info.extra)
    start = info.header_offset + header_len  # the compressed data
    for offset in (100, info.compress_size // 2, info.compress_size - 50):
        bad = bytearray(data)
        for k in range(8):
            bad[start + offset + k] ^= 0xA5
        path = tmp_path / real.name
        path.write_bytes(bytes(bad))
        for countries in (None, RT):
            with pytest.raises(InputError, match=real.name) as exc:
                list(GDELT2.read(InputFile(path), countries))
            assert "\n" not in str(exc.value)


def test_zip_member_crc_mismatch_is_an_input_error(tmp_path):
    """A stored (uncompressed) member with a changed byte inflates fine: only the CRC check catches it."""
    path = tmp_path / "s.export.CSV.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("s.export.CSV", b"\n".join(SAMPLE[:5]) + b"\n")
    data = bytearray(path.read_bytes())
    pos = data.index(b"http://")
    data[pos] = ord("H")
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="s.export.CSV.zip"):
        list(GDELT2.read(InputFile(path), None))


def test_plain_file_that_is_not_gdelt_is_quarantined_not_crashed(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"a,b,c\n1,2,3\n")
    res = read(GDELT2, path)
    assert res.rejects == [(1, "expected 61 columns, found 1"), (2, "expected 61 columns, found 1")]
    assert res.events.num_rows == 0 and res.rows_read == 2


# ------------------------------------------------------------------------------------------------
# Block boundaries
# ------------------------------------------------------------------------------------------------


def _combined(res: Result):
    return res.events, res.rejects, res.totals, res.rows_read


@pytest.mark.parametrize("block", [1000, 333, 7])
def test_tiny_blocks_match_default_read(tmp_path, monkeypatch, block):
    lines = list(SAMPLE)
    lines[10] = drop_last(fields(lines[10]))
    lines[11] = set_col("SQLDATE", b"20201340")(fields(lines[11]))
    lines[40] = set_col("Actor1Name", b"\xff")(fields(lines[40]))
    lines[41:41] = [b"", b"", b"\r"]
    lines.append(join([*fields(SAMPLE[0])[:-1], b"http://" + b"a" * 5000]))  # longer than any block
    path = write(tmp_path, lines, final_eol=False)
    files = [(GDELT2, path), (GDELT2, RAW / "events.csv"), (GDELT1, RAW / "events1.csv"),
             (GDELT2_TRANSLINGUAL, RAW / "eventsT.csv")]
    expected = {(s.name, p, c): read(s, p, c) for s, p in files for c in (None, RT)}
    monkeypatch.setattr(gdelt, "BLOCK_SIZE", block)
    for (name, p, c), exp in expected.items():
        source = {"gdelt2": GDELT2, "gdelt1": GDELT1, "gdelt2-translingual": GDELT2_TRANSLINGUAL}[name]
        chunks = list(source.read(InputFile(p), c))
        assert len(chunks) > 1 or block > 1000
        got = read(source, p, c)
        assert got.events.equals(exp.events), (p.name, c)
        assert (got.rejects, got.totals, got.rows_read) == (exp.rejects, exp.totals, exp.rows_read)
    mine = expected[("gdelt2", path, None)]
    assert mine.rejects == [(11, "expected 61 columns, found 60"), (12, "bad SQLDATE '20201340'"),
                            (41, "invalid UTF-8 in Actor1Name")]
    assert mine.lines[-1] == len(lines) and mine.events["source_url"].to_pylist()[-1].endswith("a" * 5000)
    assert mine.rows_read == 101


def test_block_boundaries_on_a_real_zip(monkeypatch):
    path = KARABAKH[1]
    full, kept = read(GDELT2, path), read(GDELT2, path, RT)
    monkeypatch.setattr(gdelt, "BLOCK_SIZE", 50_000)
    assert len(list(GDELT2.read(InputFile(path), None))) > 10
    assert read(GDELT2, path).events.equals(full.events)
    small = read(GDELT2, path, RT)
    assert small.events.equals(kept.events) and small.totals == kept.totals
    assert small.events["source_line"].to_pylist() == kept.lines


def test_block_boundary_falls_right_after_crlf_cr(tmp_path, monkeypatch):
    """Blocks split at a newline; a CR just before the split must not leak into the next block's line."""
    lines = SAMPLE[:6]
    path = write(tmp_path, lines, eol=b"\r\n")
    exp = read(GDELT2, path)
    size = len(lines[0]) + 1  # ends the first block between the CR and the LF
    monkeypatch.setattr(gdelt, "BLOCK_SIZE", size)
    got = read(GDELT2, path)
    assert got.events.equals(exp.events) and got.rejects == [] and got.lines == list(range(1, 7))


# ------------------------------------------------------------------------------------------------
# Regressions found by the property tests
# ------------------------------------------------------------------------------------------------


def test_gdelt1_stray_cr_in_a_57_column_row(tmp_path):
    """Rows of the other 1.0 width are re-read separately; a stray CR there once split the row (crash)."""
    lines = raw_lines(RAW / "events1.csv")
    i57 = next(i for i, l in enumerate(lines) if len(fields(l)) == 57)
    i58 = next(i for i, l in enumerate(lines) if len(fields(l)) == 58)
    cols57, cols58 = fields(lines[i57]), fields(lines[i58])
    cols57[6] = b"A\rB"
    cols58[6] = b"C\rD"
    bad57 = list(fields(lines[i57]))
    bad57[1] = b"\r"
    picked = [join(cols57), join(cols58), join(bad57), lines[i57], lines[i58]]
    path = write(tmp_path, picked)
    res = read(GDELT1, path)
    assert res.rejects == [(3, "bad SQLDATE ' '")]
    assert res.lines == [1, 2, 4, 5]
    assert res.events["actor1_name"].to_pylist()[:2] == ["A B", "C D"]
    # under a filter, the line with an unreadable date is parsed in full and quarantined the same way
    kept = read(GDELT1, path, RT)
    assert kept.rejects == res.rejects and kept.events.num_rows == 0


def test_zip_stream_returns_at_most_the_bytes_asked_for():
    member = member_bytes(KARABAKH[0])
    with InputFile(KARABAKH[0]).open() as stream:
        pieces = []
        while True:
            piece = stream.read(4096)
            assert len(piece) <= 4096
            if not piece:
                break
            pieces.append(piece)
    assert b"".join(pieces) == member
    assert all(len(p) == 4096 for p in pieces[:-1])
    with InputFile(KARABAKH[0]).open() as stream:
        assert stream.read(10) == member[:10] and stream.read() == member[10:] and stream.read() == b""
    with InputFile(KARABAKH[0]).open() as stream:  # readinto, as io.BufferedReader uses it
        buf = bytearray(1000)
        assert stream.readinto(buf) == 1000 and bytes(buf) == member[:1000]


def test_number_checks_do_not_depend_on_the_rest_of_the_block(tmp_path):
    """Arrow converts a whole column at once; a value must be judged the same alone or beside a bad one."""
    nan_row = set_col("GoldsteinScale", b"nan")(fields(SAMPLE[0]))
    hex_row = set_col("NumMentions", b"0x10")(fields(SAMPLE[1]))
    abc_row = set_col("GoldsteinScale", b"abc")(fields(SAMPLE[2]))
    xyz_row = set_col("NumMentions", b"xyz")(fields(SAMPLE[3]))
    alone = read(GDELT2, write(tmp_path, [nan_row, hex_row, SAMPLE[4]], name="a.csv"))
    mixed = read(GDELT2, write(tmp_path, [nan_row, hex_row, abc_row, xyz_row, SAMPLE[4]], name="b.csv"))
    assert alone.rejects == [(1, "bad GoldsteinScale 'nan'"), (2, "bad NumMentions '0x10'")]
    assert mixed.rejects == [*alone.rejects, (3, "bad GoldsteinScale 'abc'"), (4, "bad NumMentions 'xyz'")]
    assert alone.lines == [3] and mixed.lines == [5]
    # large but valid numbers beside an out-of-range one keep their exact value
    big = set_col("GLOBALEVENTID", b"9223372036854775807")(fields(SAMPLE[5]))
    over = set_col("GLOBALEVENTID", b"9223372036854775808")(fields(SAMPLE[6]))
    res = read(GDELT2, write(tmp_path, [big, over], name="c.csv"))
    assert res.ids == [9223372036854775807]
    assert res.rejects == [(2, "bad GLOBALEVENTID '9223372036854775808'")]


def test_byte_order_mark(tmp_path, monkeypatch):
    """A UTF-8 BOM opening the file is ignored; one opening any other line is part of its first field
    (pyarrow would silently drop it when that line happens to start a block or the filtered text)."""
    bom = b"\xef\xbb\xbf"
    lines = [bom + SAMPLE[0], SAMPLE[1], bom + SAMPLE[2], bom + SAMPLE[TUR_INDEX], SAMPLE[4]]
    path = write(tmp_path, lines)
    # the reason shows the value's repr: an invisible character is spelled out
    expected_rejects = [(3, "bad GLOBALEVENTID '\\ufeff410412349'"), (4, "bad GLOBALEVENTID '\\ufeff410412361'")]
    res = read(GDELT2, path)
    assert res.rejects == expected_rejects
    assert res.lines == [1, 2, 5] and res.ids[0] == 410412347
    kept = read(GDELT2, path, RT)  # the candidate (line 4) is parsed: rejected; line 3 is only date-checked
    assert kept.rejects == expected_rejects[1:] and kept.events.num_rows == 0
    assert sum(kept.totals.values()) == 4
    for block in (1, 2, 3, 5, len(lines[0]) + 1, len(lines[0]) + len(lines[1]) + 2):
        monkeypatch.setattr(gdelt, "BLOCK_SIZE", block)
        again = read(GDELT2, path)
        assert again.events.equals(res.events) and again.rejects == res.rejects, block
        assert read(GDELT2, path, RT).rejects == kept.rejects, block
    monkeypatch.undo()
    only_bom = tmp_path / "bom.csv"
    only_bom.write_bytes(bom)
    with pytest.raises(InputError, match="bom.csv"):
        list(GDELT2.read(InputFile(only_bom), None))
    short = tmp_path / "short.csv"
    short.write_bytes(b"\xef\xbb")  # not a BOM: one line of garbage
    assert read(GDELT2, short).rejects == [(1, "invalid UTF-8 in GLOBALEVENTID")]
