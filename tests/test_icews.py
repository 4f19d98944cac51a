"""ICEWS source: the two shared samples, hand-made files with bad rows, and the lookup tables.

Expected values come from an independent csv-module read of the same files or were read off the
files by hand.
"""

from __future__ import annotations

import csv
import zipfile
from collections import Counter
from datetime import date
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pytest

from dyadwatch.knowledge.schema import EVENT_SCHEMA
from dyadwatch.sources import detect
from dyadwatch.sources.base import InputError, InputFile
from dyadwatch.sources.icews import (
    IcewsSource,
    country_table,
    looks_like_icews,
    normalise_event_code,
    sector_table,
    sector_types,
    split_sectors,
)

ICEWS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "icews"
TAB = ICEWS / "events.2018.sample.tab"
TSV = ICEWS / "icews_sample_20180601-03.tsv"
SAMPLES = {TAB: 3705, TSV: 4993}
DATA = resources.files("dyadwatch").joinpath("data")

HEADER = [
    "Event ID", "Event Date", "Source Name", "Source Sectors", "Source Country", "Event Text", "CAMEO Code",
    "Intensity", "Target Name", "Target Sectors", "Target Country", "Story ID", "Sentence Number",
    "Publisher", "City", "District", "Province", "Country", "Latitude", "Longitude",
]

needs_samples = pytest.mark.skipif(not TAB.exists() or not TSV.exists(), reason="shared ICEWS samples not present")


def _read(path: Path, countries=None, **kw):
    chunks = list(IcewsSource(**kw).read(InputFile(path), countries))
    events = pa.concat_tables([c.events for c in chunks]) if chunks else EVENT_SCHEMA.empty_table()
    rejects = [r for c in chunks for r in c.rejects]
    totals = pa.concat_tables([c.totals for c in chunks if c.totals is not None])
    return chunks, events, rejects, totals


def _by_id(events: pa.Table) -> dict[int, dict]:
    return {r["event_id"]: r for r in events.to_pylist()}


def _csv_rows(path: Path) -> list[dict[str, str]]:
    """Independent read: csv module, header names normalised to 'event_id' style."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = ["_".join(h.lower().split()) for h in next(reader)]
        return [dict(zip(header, row)) for row in reader]


def _missing(v: str) -> bool:
    return v in ("", "NA")


# -- the shared samples ---------------------------------------------------------------------------


@needs_samples
@pytest.mark.parametrize("path", [TAB, TSV], ids=["tab", "tsv"])
def test_sample_loads_fully(path: Path):
    chunks, events, rejects, totals = _read(path)
    rows = _csv_rows(path)
    assert len(rows) == SAMPLES[path]
    assert rejects == []
    assert events.schema == EVENT_SCHEMA
    assert events.num_rows == SAMPLES[path]
    assert sum(c.rows_read for c in chunks) == SAMPLES[path]
    assert events["source"].unique().to_pylist() == ["icews"]
    assert events["source_file"].unique().to_pylist() == [path.name]
    # header is line 1, data rows are lines 2..n+1, in file order
    assert events["source_line"].to_pylist() == list(range(2, SAMPLES[path] + 2))
    assert events["event_id"].to_pylist() == [int(r["event_id"]) for r in rows]
    # totals before any filter: one row per day, summing to the rows read
    assert sum(totals["events"].to_pylist()) == SAMPLES[path]
    got = Counter()
    for day, n in zip(totals["day"].to_pylist(), totals["events"].to_pylist()):
        got[day] += n
    assert got == Counter(date.fromisoformat(r["event_date"]) for r in rows)


@needs_samples
def test_sample_days():
    *_, totals = _read(TAB)
    assert dict(zip(totals["day"].to_pylist(), totals["events"].to_pylist())) == {
        date(2018, 6, 1): 2359,
        date(2018, 6, 2): 1346,
    }
    *_, totals = _read(TSV)
    assert sorted(zip(totals["day"].to_pylist(), totals["events"].to_pylist())) == [
        (date(2018, 6, 1), 2359), (date(2018, 6, 2), 1346), (date(2018, 6, 3), 1288),
    ]


@needs_samples
@pytest.mark.parametrize("path", [TAB, TSV], ids=["tab", "tsv"])
def test_sample_event_32889836(path: Path):
    e = _by_id(_read(path)[1])[32889836]
    assert e["event_date"] == date(2018, 6, 1)
    assert e["event_code"] == "040"
    assert e["event_base_code"] == "040"
    assert e["event_root_code"] == "04"
    assert e["quad_class"] == 1
    assert e["goldstein"] == 1.0
    assert e["actor1_name"] == "Foreign Affairs (Bangladesh)"
    assert e["actor1_country"] == "BGD"
    # Executive, Foreign Ministry, Government -> GOV once
    assert (e["actor1_type1"], e["actor1_type2"], e["actor1_type3"]) == ("GOV", None, None)
    assert e["actor1_code"] == "BGDGOV"
    assert e["actor2_name"] == "High Ranking Military Personnel (Vietnam)"
    assert e["actor2_country"] == "VNM"
    assert (e["actor2_type1"], e["actor2_type2"], e["actor2_type3"]) == ("MIL", "GOV", None)
    assert e["actor2_code"] == "VNMMIL"
    assert e["action_geo_country"] == "VM"
    assert e["action_geo_fullname"] == "Hanoi, Thanh Pho Ha Noi, Vietnam"
    assert e["action_geo_type"] == 4
    assert (e["action_geo_lat"], e["action_geo_lon"]) == (21.0245, 105.841)
    assert e["action_geo_adm1"] is None and e["date_added"] is None and e["source_url"] is None
    assert e["source_line"] == 2


@needs_samples
def test_sample_hand_checked_events():
    ev = _by_id(_read(TAB)[1])
    # line 8: Aso Taro; Elite is not a role, GOV first, then LEG; target US without sectors;
    # place: province "Washington D.C." in the United States -> US state (2)
    e = ev[32891059]
    assert e["source_line"] == 8
    assert (e["actor1_type1"], e["actor1_type2"], e["actor1_type3"]) == ("GOV", "LEG", None)
    assert (e["actor1_code"], e["actor2_code"], e["actor2_type1"]) == ("JPNGOV", "USA", None)
    assert (e["event_code"], e["quad_class"], e["goldstein"]) == ("020", 1, 3.0)
    assert (e["action_geo_type"], e["action_geo_fullname"], e["action_geo_country"]) == (
        2, "Washington D.C., United States", "US")
    # line 5: country only -> 1
    e = ev[32891065]
    assert (e["action_geo_type"], e["action_geo_fullname"], e["action_geo_country"]) == (1, "Japan", "JA")
    assert (e["action_geo_lat"], e["action_geo_lon"]) == (35.6149, 139.581)
    assert (e["event_code"], e["event_root_code"], e["goldstein"]) == ("032", "03", 4.5)
    # line 22: a US city -> 3
    e = ev[32891172]
    assert (e["action_geo_type"], e["action_geo_fullname"]) == (3, "New York City, state of New York, United States")
    assert (e["actor1_code"], e["actor2_code"], e["event_code"], e["goldstein"]) == ("KOR", "USA", "046", 7.0)
    # line 86: demand (root 10, verbal conflict); district is left out of the full name
    e = ev[32891108]
    assert (e["event_code"], e["event_base_code"], e["event_root_code"], e["quad_class"], e["goldstein"]) == (
        "100", "100", "10", 3, -5.0)
    assert (e["actor1_country"], e["actor1_code"], e["actor1_type1"]) == (None, None, "IGO")
    assert (e["actor2_country"], e["actor2_code"]) == ("LUX", "LUXIGO")
    assert (e["action_geo_type"], e["action_geo_fullname"], e["action_geo_country"]) == (
        4, "European Parliament, Bruxelles-Capitale, Belgium", "BE")
    # line 194: no source country -> no code, the role is still there
    e = ev[32891137]
    assert (e["actor1_name"], e["actor1_country"], e["actor1_code"], e["actor1_type1"]) == (
        "United Nations", None, None, "IGO")
    assert (e["actor2_country"], e["actor2_code"], e["action_geo_country"]) == ("TWN", "TWN", "TW")
    # line 357: no place at all
    e = ev[32891407]
    assert e["action_geo_type"] is None and e["action_geo_fullname"] is None and e["action_geo_country"] is None
    assert e["action_geo_lat"] is None and e["action_geo_lon"] is None
    assert (e["actor1_type1"], e["actor1_type2"], e["actor1_type3"]) == ("BUS", "MNC", None)
    assert (e["event_code"], e["event_root_code"], e["quad_class"], e["goldstein"]) == ("141", "14", 3, -6.5)
    # line 1228: a four-digit code keeps its leading zero
    e = ev[32888029]
    assert (e["source_line"], e["event_code"], e["event_base_code"], e["event_root_code"]) == (1228, "0214", "021", "02")
    assert (e["actor1_code"], e["actor2_code"], e["actor2_type1"]) == ("NGAGOV", "NGABUS", "BUS")


@needs_samples
def test_sample_sectors_with_commas_inside():
    ev = _by_id(_read(TSV)[1])
    # "Navy Mechanized (Ships, Tanks, Planes),Navy,Government,Military"
    e = ev[32899451]
    assert (e["source_line"], e["actor1_code"], e["actor1_type1"], e["actor1_type2"]) == (4671, "USAMIL", "MIL", "GOV")
    assert e["actor2_type1"] is None and e["actor2_code"] == "CHN"  # empty sectors in the snake_case file
    assert (e["action_geo_type"], e["action_geo_fullname"]) == (5, "Paracel Islands, China")
    # "...,Social,Bantu, Central-East,Elite,Government": Unicameral/Legislative -> LEG, Government -> GOV
    e = ev[32895425]
    assert (e["actor2_type1"], e["actor2_type2"], e["actor2_type3"]) == ("LEG", "GOV", None)
    assert (e["actor1_code"], e["actor1_type1"]) == ("KENCVL", "CVL")


@needs_samples
@pytest.mark.parametrize("path", [TAB, TSV], ids=["tab", "tsv"])
def test_sample_codes_match_independent_read(path: Path):
    rows = _csv_rows(path)
    events = _read(path)[1]
    codes = events["event_code"].to_pylist()
    assert codes == [r["cameo_code"] for r in rows]  # already zero-padded in the files: kept as text
    assert events["event_root_code"].to_pylist() == [c[:2] for c in codes]
    assert events["event_base_code"].to_pylist() == [c[:3] for c in codes]
    quad = {f"{r:02d}": 1 if r <= 5 else 2 if r <= 9 else 3 if r <= 14 else 4 for r in range(1, 21)}
    assert events["quad_class"].to_pylist() == [quad[c[:2]] for c in codes]
    assert events["goldstein"].to_pylist() == [float(r["intensity"]) for r in rows]
    lat = [None if _missing(r["latitude"]) else float(r["latitude"]) for r in rows]
    assert events["action_geo_lat"].to_pylist() == lat
    assert events["actor1_name"].to_pylist() == [None if _missing(r["source_name"]) else r["source_name"] for r in rows]


@needs_samples
@pytest.mark.parametrize("path", [TAB, TSV], ids=["tab", "tsv"])
def test_every_sample_country_is_mapped(path: Path):
    rows = _csv_rows(path)
    table = country_table()
    names = {r[k] for r in rows for k in ("source_country", "target_country", "country")}
    unmapped = sorted(n for n in names if not _missing(n) and n.lower() not in table)
    assert unmapped == []
    events = _read(path)[1]
    # a country is null exactly when the file has none
    for side, key in (("actor1_country", "source_country"), ("actor2_country", "target_country")):
        assert [v is None for v in events[side].to_pylist()] == [_missing(r[key]) for r in rows]
    assert [v is None for v in events["action_geo_country"].to_pylist()] == [_missing(r["country"]) for r in rows]


@needs_samples
@pytest.mark.parametrize("path", [TAB, TSV], ids=["tab", "tsv"])
def test_every_sample_sector_is_listed(path: Path):
    rows = _csv_rows(path)
    table = sector_table()
    sectors = {s for r in rows for k in ("source_sectors", "target_sectors") if not _missing(r[k]) for s in split_sectors(r[k])}
    assert sorted(s for s in sectors if s.lower() not in table) == []


@needs_samples
@pytest.mark.parametrize("path", [TAB, TSV], ids=["tab", "tsv"])
def test_country_filter_rus(path: Path):
    rows = _csv_rows(path)
    expected = [int(r["event_id"]) for r in rows if "Russian Federation" in (r["source_country"], r["target_country"])]
    chunks, events, rejects, totals = _read(path, frozenset({"RUS"}))
    assert events["event_id"].to_pylist() == expected
    assert len(expected) == {TAB: 333, TSV: 397}[path]
    # totals and rows_read are before the filter
    assert sum(totals["events"].to_pylist()) == SAMPLES[path] == sum(c.rows_read for c in chunks)
    both = _read(path, frozenset({"RUS", "UKR"}))[1]
    expected = [
        int(r["event_id"]) for r in rows
        if {"Russian Federation", "Ukraine"} & {r["source_country"], r["target_country"]}
    ]
    assert both["event_id"].to_pylist() == expected


@needs_samples
def test_small_blocks_give_the_same_result():
    _, whole, _, _ = _read(TSV)
    chunks, pieces, _, totals = _read(TSV, block_size=50_000)
    assert len(chunks) > 10
    assert pieces.equals(whole)
    assert sum(totals["events"].to_pylist()) == SAMPLES[TSV]


@needs_samples
def test_zipped_sample(tmp_path: Path):
    z = tmp_path / "events.2018.sample.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(TAB, TAB.name)
    _, events, rejects, _ = _read(z)
    _, plain, _, _ = _read(TAB)
    assert rejects == []
    assert events.drop_columns(["source_file"]).equals(plain.drop_columns(["source_file"]))
    assert events["source_file"].unique().to_pylist() == [z.name]


@needs_samples
def test_detection():
    assert looks_like_icews(TAB.read_bytes()[:65536])
    assert looks_like_icews(TSV.read_bytes()[:65536])
    assert not looks_like_icews(b"")
    assert not looks_like_icews(b"1\t20201113\t202011\t2020\n")
    assert not looks_like_icews("\t".join(HEADER[:-1]).encode() + b"\n")
    assert type(detect(InputFile(TAB))).__name__ == "IcewsSource"
    assert type(detect(InputFile(TSV))).__name__ == "IcewsSource"


# -- hand-made files ------------------------------------------------------------------------------


def _row(eid="1", day="2018-06-01", src="Vladimir Putin", src_sectors="Executive,Government",
         src_country="Russian Federation", code="040", intensity="1", tgt="Turkey", tgt_sectors="NA",
         tgt_country="Turkey", city="Moscow", district="NA", province="Moskva", country="Russian Federation",
         lat="55.7522", lon="37.6156") -> list[str]:
    return [eid, day, src, src_sectors, src_country, "Consult", code, intensity, tgt, tgt_sectors, tgt_country,
            "100", "1", "AFP", city, district, province, country, lat, lon]


def _write(path: Path, rows: list[list[str] | str], header=HEADER, eol="\n") -> Path:
    lines = ["\t".join(header)] + [r if isinstance(r, str) else "\t".join(r) for r in rows]
    path.write_bytes((eol.join(lines) + eol).encode("utf-8"))
    return path


BAD_FILE_ROWS = [
    _row("1"),                                    # line 2: good
    _row("2", day="2018-13-01"),                  # line 3: bad date
    _row("3", intensity="1..5"),                  # line 4: bad number
    _row("4")[:19],                               # line 5: 19 columns
    "",                                           # line 6: blank, skipped
    _row("5", code="14", src_country="Atlantis"),  # line 7: good; unknown country; "14" is a root code
    _row("6", day="2018-02-30"),                  # line 8: no such day
    _row("x7"),                                   # line 9: bad event id
    _row("8", lat="95.5"),                        # line 10: latitude out of range
    _row("9", lon="east"),                        # line 11: bad number
    _row("10") + ["extra"],                       # line 12: 21 columns
    _row("", day="2018-06-02"),                   # line 13: missing event id
    _row("12", day="NA"),                         # line 14: missing date
    _row("13", code="40", intensity="NA", lat="", lon=""),  # line 15: good, code lost its zero
]
BAD_FILE_REJECTS = [
    (3, "bad event date '2018-13-01'"),
    (4, "bad intensity '1..5'"),
    (5, "expected 20 columns, found 19"),
    (8, "bad event date '2018-02-30'"),
    (9, "bad event id 'x7'"),
    (10, "bad latitude '95.5'"),
    (11, "bad longitude 'east'"),
    (12, "expected 20 columns, found 21"),
    (13, "missing event id"),
    (14, "missing event date"),
]


@pytest.mark.parametrize("block_size", [1 << 24, 300], ids=["one-block", "many-blocks"])
def test_bad_rows_are_quarantined_and_good_rows_kept(tmp_path: Path, block_size: int):
    path = _write(tmp_path / "bad.tab", BAD_FILE_ROWS)
    chunks, events, rejects, totals = _read(path, block_size=block_size)
    assert [(r.line, r.reason) for r in rejects] == BAD_FILE_REJECTS
    assert rejects[2].raw == "\t".join(_row("4")[:19])
    assert rejects[0].raw == "\t".join(_row("2", day="2018-13-01"))
    assert events["event_id"].to_pylist() == [1, 5, 13]
    assert events["source_line"].to_pylist() == [2, 7, 15]
    assert sum(c.rows_read for c in chunks) == 13  # the blank line is not a row
    assert sum(totals["events"].to_pylist()) == 3
    one, five, thirteen = events.to_pylist()
    assert (one["actor1_code"], one["actor2_code"], one["event_code"], one["goldstein"]) == ("RUSGOV", "TUR", "040", 1.0)
    assert (one["action_geo_fullname"], one["action_geo_country"], one["action_geo_type"]) == (
        "Moscow, Moskva, Russian Federation", "RS", 4)
    # unknown country name -> null country and code, not a reject
    assert (five["actor1_country"], five["actor1_code"], five["actor1_type1"]) == (None, None, "GOV")
    assert (five["event_code"], five["event_base_code"], five["event_root_code"], five["quad_class"]) == ("14", "14", "14", 3)
    # "40" is not a CAMEO code but "040" is
    assert (thirteen["event_code"], thirteen["event_root_code"], thirteen["quad_class"]) == ("040", "04", 1)
    assert thirteen["goldstein"] is None and thirteen["action_geo_lat"] is None


def test_country_filter_on_hand_made_file(tmp_path: Path):
    path = _write(tmp_path / "bad.tab", BAD_FILE_ROWS)
    chunks, events, rejects, totals = _read(path, frozenset({"TUR"}))
    assert events["event_id"].to_pylist() == [1, 5, 13]  # Turkey is the target of every good row
    assert _read(path, frozenset({"RUS"}))[1]["event_id"].to_pylist() == [1, 13]
    assert _read(path, frozenset({"CHN"}))[1].num_rows == 0
    assert len(rejects) == len(BAD_FILE_REJECTS)
    assert sum(totals["events"].to_pylist()) == 3


def test_crlf_invalid_utf8_and_no_final_newline(tmp_path: Path):
    rows = [_row("1"), _row("2", src="Caf\xe9"), _row("3")]
    path = _write(tmp_path / "crlf.tab", rows, eol="\r\n")
    data = path.read_bytes().replace("Caf\xe9".encode(), b"Caf\xe9")  # latin-1 byte: invalid UTF-8
    path.write_bytes(data.rstrip(b"\r\n"))
    _, events, rejects, _ = _read(path)
    assert events["event_id"].to_pylist() == [1, 3]
    assert events["source_line"].to_pylist() == [2, 4]
    assert events["action_geo_lon"].to_pylist() == [37.6156, 37.6156]  # no stray CR in the last column
    assert [(r.line, r.reason) for r in rejects] == [(3, "invalid UTF-8 in Source Name")]


def test_columns_found_by_name_in_any_order(tmp_path: Path):
    snake = ["_".join(h.lower().split()) for h in HEADER] + ["year", "yearmonth"]
    order = list(reversed(range(len(snake))))
    rows = [[(_row("1") + ["2018", "201806"])[i] for i in order]]
    path = _write(tmp_path / "snake.tsv", rows, header=[snake[i] for i in order])
    _, events, rejects, _ = _read(path)
    assert rejects == []
    e = events.to_pylist()[0]
    assert (e["event_id"], e["event_date"], e["actor1_code"], e["actor2_country"], e["action_geo_lat"]) == (
        1, date(2018, 6, 1), "RUSGOV", "TUR", 55.7522)
    # a short row in a 22-column file
    path = _write(tmp_path / "short.tsv", [_row("1") + ["2018", "201806"], _row("2")], header=snake)
    _, events, rejects, _ = _read(path)
    assert [(r.line, r.reason) for r in rejects] == [(3, "expected 22 columns, found 20")]


def test_place_types(tmp_path: Path):
    rows = [
        _row("1", city="NA", province="NA", country="Turkey"),                 # country only
        _row("2", city="NA", province="Ankara", country="Turkey"),             # province
        _row("3", city="Ankara", province="Ankara", country="Turkey"),         # city
        _row("4", city="NA", province="Texas", country="United States"),       # US state
        _row("5", city="Austin", province="Texas", country="United States"),   # US city
        _row("6", city="NA", province="NA", country="NA", lat="NA", lon="NA"),  # nothing
    ]
    events = _read(_write(tmp_path / "geo.tab", rows))[1]
    assert events["action_geo_type"].to_pylist() == [1, 5, 4, 2, 3, None]
    assert events["action_geo_fullname"].to_pylist() == [
        "Turkey", "Ankara, Turkey", "Ankara, Ankara, Turkey", "Texas, United States",
        "Austin, Texas, United States", None,
    ]
    assert events["action_geo_country"].to_pylist() == ["TU", "TU", "TU", "US", "US", None]


def test_whole_file_errors(tmp_path: Path):
    empty = tmp_path / "empty.tab"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty file"):
        _read(empty)
    header_only = _write(tmp_path / "header.tab", [])
    with pytest.raises(InputError, match="empty file"):
        _read(header_only)
    gdelt = tmp_path / "20201113.export.CSV"
    gdelt.write_text("\t".join(["1"] * 61) + "\n")
    with pytest.raises(InputError, match=r"not an ICEWS file \(header"):
        _read(gdelt)
    renamed = _write(tmp_path / "renamed.tab", [_row("1")], header=HEADER[:-1] + ["Lon"])
    with pytest.raises(InputError, match="not an ICEWS file"):
        _read(renamed)
    with pytest.raises(InputError, match="no such file"):
        _read(tmp_path / "missing.tab")
    z = tmp_path / "cut.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("cut.tab", _write(tmp_path / "x.tab", [_row(str(i)) for i in range(1, 3000)]).read_bytes())
    z.write_bytes(z.read_bytes()[: z.stat().st_size // 2])
    with pytest.raises(InputError, match="zip"):
        _read(z)


# -- lookups --------------------------------------------------------------------------------------


def test_event_code_restoration():
    assert normalise_event_code("040") == "040"
    assert normalise_event_code("40") == "040"
    assert normalise_event_code("4") == "04"
    assert normalise_event_code("04") == "04"
    assert normalise_event_code("14") == "14"    # a valid root code: left alone
    assert normalise_event_code("214") == "0214"
    assert normalise_event_code("1831") == "1831"
    assert normalise_event_code("999") == "999"  # unknown: kept as written


def test_sector_types():
    assert sector_types("Executive,Foreign Ministry,Government") == ("GOV", None, None)
    assert sector_types("Military,Government") == ("MIL", "GOV", None)
    assert sector_types("Defense / Security Ministry,Police,Judicial,Business") == ("MIL", "COP", "JUD")
    assert sector_types("Legislative / Parliamentary,Opposition Major Party (Out Of Government)") == ("LEG", "OPP", None)
    assert sector_types("Dissident,Rebel") == ("OPP", "REB", None)
    assert sector_types("Elite,Buddhist,Center Right") == (None, None, None)
    assert sector_types("Some Sector ICEWS Added Later") == (None, None, None)
    assert split_sectors("Navy Mechanized (Ships, Tanks, Planes),Navy") == ["Navy Mechanized (Ships, Tanks, Planes)", "Navy"]


def test_country_table_file():
    with DATA.joinpath("icews_countries.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["icews_name", "cameo", "fips"]
    names = [r["icews_name"].lower() for r in rows]
    assert len(names) == len(set(names))
    cameo_codes = {line.split("\t")[0] for line in DATA.joinpath("lookups", "cameoCountry.txt").read_text().splitlines()[1:]}
    geonames = [line.split("\t") for line in DATA.joinpath("lookups", "countryInfo.txt").read_text().splitlines()[1:]]
    iso3 = {g[1] for g in geonames}
    fips = {g[3] for g in geonames if g[3]} | {"GZ"}
    for r in rows:
        assert r["cameo"] in cameo_codes or r["cameo"] in iso3, r  # ISO3 stands in where CAMEO has no code
        assert r["fips"] == "" or r["fips"] in fips, r
    t = country_table()
    for name, codes in {
        "Russian Federation": ("RUS", "RS"), "United States": ("USA", "US"), "South Korea": ("KOR", "KS"),
        "North Korea": ("PRK", "KN"), "Iran": ("IRN", "IR"), "Turkey": ("TUR", "TU"),
        "Occupied Palestinian Territory": ("PSE", "WE"), "Macedonia": ("MKD", "MK"),
        "the former Yugoslav Republic of Macedonia": ("MKD", "MK"),
        "Congo, Democratic Republic of": ("COD", "CG"), "Democratic Republic of Congo": ("COD", "CG"),
        "Congo": ("COG", "CF"), "Vietnam": ("VNM", "VM"), "Bangladesh": ("BGD", "BG"), "Holy See": ("VAT", "VT"),
        "Cote d'Ivoire": ("CIV", "IV"), "Timor-Leste": ("TMP", "TT"), "Romania": ("ROM", "RO"),
        "Colombia": ("COL", "CO"), "Serbia": ("SRB", "RI"), "Montenegro": ("MTN", "MJ"),
        "South Sudan": ("SSD", "OD"), "Moldova, Republic of": ("MDA", "MD"), "United Kingdom": ("GBR", "UK"),
    }.items():
        assert t[name.lower()] == codes, name


def test_sector_table_file():
    with DATA.joinpath("icews_sectors.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["icews_sector", "cameo_type"]
    assert len({r["icews_sector"].lower() for r in rows}) == len(rows)
    types = {line.split("\t")[0] for line in DATA.joinpath("lookups", "cameoType.txt").read_text().splitlines()[1:]}
    assert {r["cameo_type"] for r in rows} - {""} <= types
    t = sector_table()
    for sector, code in {
        "Government": "GOV", "Executive": "GOV", "Executive Office": "GOV", "Cabinet": "GOV",
        "Foreign Ministry": "GOV", "Military": "MIL", "Defense / Security Ministry": "MIL", "Police": "COP",
        "Business": "BUS", "Judicial": "JUD", "Legislative / Parliamentary": "LEG",
        "Opposition Major Party (Out Of Government)": "OPP", "Dissident": "OPP", "Insurgents": "INS",
        "Rebel": "REB", "Separatists": "SEP", "Media": "MED", "Criminals / Gangs": "CRM",
        "General Population / Civilian / Social": "CVL", "Intelligence Ministry": "SPY", "Elite": None,
    }.items():
        assert t[sector.lower()] == code, sector
