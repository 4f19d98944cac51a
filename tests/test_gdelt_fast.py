"""The compiled lane of the GDELT reader (`sources/gdelt_fast.py`) gives the plain reader's result
exactly: the same events (every column, every value, in line order once sorted by source_line: the
lane puts a file's rows of its main month first), quarantined rows, per-day totals and row counts, on
real files and on mangled ones, with and without a country filter.

Here every block goes through the lane (`MIN_BLOCK` = 0); the plain reader is the same code with
DYADWATCH_PLAIN_READER=1. The lane hands every line it is not sure of to the plain reader, so the
mangled cases check both that hand-over and that the lane takes nothing it should not.
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dyadwatch.sources.gdelt as gdelt
from dyadwatch import native
from dyadwatch.sources import gdelt_fast
from dyadwatch.sources.base import InputFile
from dyadwatch.sources.gdelt import GDELT1, GDELT2
from dyadwatch.store import Store

from conftest import GEORGIA, KARABAKH, RAW, read_outcome

RT = frozenset({"RUS", "TUR"})
SAMPLE = (RAW / "events.csv").read_bytes().split(b"\n")[:-1]  # 100 real GDELT 2.0 rows
SAMPLE1 = (RAW / "events1.csv").read_bytes().split(b"\n")[:-1]  # 100 real GDELT 1.0 rows
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True)
def every_block(monkeypatch):
    monkeypatch.setattr(gdelt_fast, "MIN_BLOCK", 0)
    monkeypatch.delenv("DYADWATCH_PLAIN_READER", raising=False)


def outcome(source, path: Path, countries, plain: bool, monkeypatch):
    """What a read yields (conftest.read_outcome), with or without the lane; totals without zeros."""
    monkeypatch.setenv("DYADWATCH_PLAIN_READER", "1" if plain else "0")
    try:
        out = read_outcome(source, path, countries)
    finally:
        monkeypatch.delenv("DYADWATCH_PLAIN_READER")
    if isinstance(out, str):
        return out
    events = out[0].take(pc.sort_indices(out[0]["source_line"]))  # a stable sort: ties keep their order
    return events, out[1], +out[2], out[3]


def assert_same(source, path: Path, countries, monkeypatch):
    fast = outcome(source, path, countries, False, monkeypatch)
    plain = outcome(source, path, countries, True, monkeypatch)
    if isinstance(plain, str) or isinstance(fast, str):
        assert fast == plain
        return plain
    for name in plain[0].column_names:
        assert fast[0][name].equals(plain[0][name]), name
    assert fast[0].schema == plain[0].schema
    assert fast[1:] == plain[1:]
    return plain


REAL = [*sorted(KARABAKH.iterdir()), *sorted(GEORGIA.iterdir())[:2], RAW / "events.csv", RAW / "events1.csv"]


@pytest.mark.parametrize("countries", [RT, None, frozenset({"GEO", "RUS", "ARM", "AZE", "USA"})],
                         ids=["RUS-TUR", "all", "five"])
@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_real_files_match_the_plain_reader(path, countries, monkeypatch):
    source = GDELT1 if "georgia" in str(path) or path.name == "events1.csv" else GDELT2
    events, rejects, totals, rows = assert_same(source, path, countries, monkeypatch)
    assert rows > 0 and sum(totals.values()) + len(rejects) == rows


def test_the_lane_takes_the_clean_rows_itself():
    """On a real export every row is clean: none is handed to the plain reader, and the values are
    the ones GDELT wrote (checked by hand on the first RUS-TUR row of the file)."""
    path = sorted(KARABAKH.iterdir())[0]
    text = InputFile(path).read_all(1 << 30)
    fb = gdelt_fast.fast_block(memoryview(text), GDELT2.plan, gdelt_fast.codes_array(RT))
    assert len(fb.plain) == 0
    assert fb.rows_read == text.count(b"\n") and len(fb.kept_lines) == 298
    line = text.split(b"\n")[fb.kept_lines[0]].split(b"\t")
    cols = fb.columns
    assert cols["event_id"][0].as_py() == int(line[0])
    assert cols["avg_tone"][0].as_py() == float(line[34])
    assert cols["action_geo_lat"][0].as_py() == float(line[56])
    assert cols["event_code"][0].as_py() == line[26].decode()
    assert cols["source_url"][0].as_py() == line[60].decode()
    assert str(cols["date_added"][0].as_py()) == "{}-{}-{} {}:{}:{}".format(
        line[59][:4].decode(), line[59][4:6].decode(), line[59][6:8].decode(),
        line[59][8:10].decode(), line[59][10:12].decode(), line[59][12:14].decode())


def _dated(row: bytes, sqldate: bytes, event_id: int) -> bytes:
    fields = row.split(b"\t")
    fields[0], fields[1] = str(event_id).encode(), sqldate
    return b"\t".join(fields)


def test_the_rows_of_the_main_month_come_first():
    """Six clean rows dated Nov, Oct, Nov, Dec, Nov, Oct 2020 (lines 0-5): the kept rows come as lines
    0, 2, 4 (November, the month of the first line taken), then 1, 3, 5; each row's values are its own
    line's. Given December as the main month: 3, then 0, 1, 2, 4, 5."""
    dates = [b"20201113", b"20201031", b"20201102", b"20201201", b"20201130", b"20201001"]
    block = b"\n".join(_dated(SAMPLE[0], d, 900 + i) for i, d in enumerate(dates)) + b"\n"
    none = gdelt_fast.codes_array(None)
    fb = gdelt_fast.fast_block(memoryview(block), GDELT2.plan, none)
    assert fb.kept_lines.tolist() == [0, 2, 4, 1, 3, 5]
    assert fb.columns["event_id"].to_pylist() == [900, 902, 904, 901, 903, 905]
    assert fb.main_month == (2020 - 1970) * 12 + 10  # November 2020
    dec = gdelt_fast.fast_block(memoryview(block), GDELT2.plan, none, (2020 - 1970) * 12 + 11)
    assert dec.kept_lines.tolist() == [3, 0, 1, 2, 4, 5] and dec.main_month == (2020 - 1970) * 12 + 11
    assert [str(d) for d in dec.columns["event_date"].to_pylist()] == [
        "2020-12-01", "2020-11-13", "2020-10-31", "2020-11-02", "2020-11-30", "2020-10-01"]


def test_a_files_blocks_share_its_main_month(tmp_path, monkeypatch):
    """Reading a file block by block, every block puts the month of the file's first row first: in a
    block that starts with October, the November row still comes first."""
    dates = [b"20201113"] * 3 + [b"20201031", b"20201105", b"20201001"] + [b"20201105"] * 3
    path = tmp_path / "20201113.export.CSV"
    path.write_bytes(b"\n".join(_dated(SAMPLE[0], d, 700 + i) for i, d in enumerate(dates)) + b"\n")
    size = len(path.read_bytes()) // 3 + 1  # three rows a block: Nov Nov Nov | Oct Nov Oct | Nov Nov Nov
    monkeypatch.setattr(gdelt, "BLOCK_SIZE", size)
    chunks = list(GDELT2.read(InputFile(path), None))
    ids = [i for c in chunks for i in c.events["event_id"].to_pylist()]
    assert ids == [700, 701, 702, 704, 703, 705, 706, 707, 708]
    assert [c.events.num_rows for c in chunks] == [3, 3, 3]


@pytest.mark.skipif(native.preferred_variants() == ("baseline",), reason="this CPU runs the baseline build only")
@pytest.mark.parametrize("countries", [RT, None], ids=["RUS-TUR", "all"])
def test_the_baseline_build_gives_the_same_blocks(countries, monkeypatch):
    """The kernel built for the baseline CPU (SSE2 masks) and for this one (AVX2) read real blocks, with
    every field, the same."""
    path = sorted(KARABAKH.iterdir())[1]
    text = memoryview(InputFile(path).read_all(1 << 30))
    codes = gdelt_fast.codes_array(countries)
    got = {}
    for name, variant in (("baseline", "baseline"), ("this CPU", native.preferred_variants()[0])):
        kernel = gdelt_fast._kernel(variant)
        monkeypatch.setattr(gdelt_fast, "_kernel", lambda kernel=kernel: kernel)
        got[name] = gdelt_fast.fast_block(text, GDELT2.plan, codes)
        monkeypatch.undo()
    a, b = got["baseline"], got["this CPU"]
    assert len(a.kept_lines) > 100 and np.array_equal(a.kept_lines, b.kept_lines)
    assert np.array_equal(a.starts, b.starts) and np.array_equal(a.plain, b.plain)
    assert np.array_equal(a.counts, b.counts) and a.main_month == b.main_month
    assert pa.table(a.columns).equals(pa.table(b.columns))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.text("0123456789", min_size=1, max_size=12),
                          st.text("0123456789", max_size=12)), min_size=1, max_size=40))
def test_decimals_are_the_correctly_rounded_doubles(values):
    """The kernel converts decimals itself (an exact division, or strtod past 2^53 or 22 decimals):
    each must be the correctly rounded double, bit for bit, as Python's float() and Arrow's cast give."""
    texts = [("-" if neg else "") + whole + ("." + frac if frac else "") for neg, whole, frac in values]
    rows = []
    for text in texts:
        fields = SAMPLE[0].split(b"\t")
        fields[34] = text.encode()  # AvgTone
        fields[1] = b"20201113"
        rows.append(b"\t".join(fields))
    block = b"\n".join(rows) + b"\n"
    fb = gdelt_fast.fast_block(memoryview(block), GDELT2.plan, gdelt_fast.codes_array(None))
    assert len(fb.plain) == 0 and len(fb.kept_lines) == len(texts)
    got = fb.columns["avg_tone"].to_numpy(zero_copy_only=False)
    want = np.array([float(t) for t in texts])
    assert got.view(np.int64).tolist() == want.view(np.int64).tolist()
    assert pa.array(texts).cast(pa.float64()).equals(fb.columns["avg_tone"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")),
                          st.binary(max_size=6),
                          st.sampled_from([b"\t", b"\n", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80",
                                           b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\xe0\x80\xaf"])),
                max_size=60),
       st.integers(0, 200))
def test_the_lanes_utf8_check_is_pythons(pieces, pad):
    """The pass checks UTF-8 itself: a block is refused (None) exactly when Python's codec refuses it,
    wherever the sequences fall against the 64-byte steps."""
    block = b"x" * pad + b"".join(pieces)
    try:
        block.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    fb = gdelt_fast.fast_block(memoryview(block), GDELT2.plan, gdelt_fast.codes_array(RT))
    assert (fb is not None) == valid


# Values the lane must not take itself (the plain reader decides), or must take exactly right
ODD_VALUES = [b"", b"0", b"-0", b"007", b"+5", b"0x1F", b"1e5", b"1.", b".5", b"-1.25", b"nan", b"inf",
              b"128", b"-129", b"2147483648", b"99999999999999999999", b"1" * 30, b"0.1234567890123456789",
              b"-0.0749063670411898", b"12 ", b" 12", b"\xc3\xa9", b"RUS", b"TUR", b"20200230", b"20201301",
              b"00010101", b"20201113", b"20201113235960", b"20201113240000", b"20201113000000", b"2020111",
              b"\r", b"a\rb", b"\xef\xbb\xbf1"]


@st.composite
def odd_row(draw, rows: list[bytes]):
    fields = draw(st.sampled_from(rows)).split(b"\t")
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["value", "value", "drop", "add"]))
        i = draw(st.integers(0, len(fields) - 1))
        if kind == "value":
            fields[i] = draw(st.sampled_from(ODD_VALUES))
        elif kind == "drop":
            del fields[i]
        else:
            fields.insert(i, draw(st.sampled_from(ODD_VALUES)))
    return b"\t".join(fields)


def odd_file(rows):
    return st.fixed_dictionaries({
        "real": st.lists(st.integers(0, len(rows) - 1), max_size=30),
        "odd": st.lists(odd_row(rows), max_size=10),
        "blank": st.integers(0, 2),
        "seed": st.integers(0, 2**32 - 1),
        "crlf": st.booleans(),
        "final_newline": st.booleans(),
    })


def write(path: Path, rows, spec, zipped: bool = False) -> None:
    rnd = random.Random(spec["seed"])
    items = [rows[i] for i in spec["real"]]
    for value in spec["odd"] + [b""] * spec["blank"]:
        items.insert(rnd.randint(0, len(items)), value)
    eol = b"\r\n" if spec["crlf"] else b"\n"
    data = eol.join(items) + (eol if items and spec["final_newline"] else b"")
    if zipped:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(path.stem, data)
    else:
        path.write_bytes(data)


@pytest.mark.parametrize("countries", [RT, None], ids=["RUS-TUR", "all"])
@pytest.mark.parametrize("source, rows", [(GDELT2, SAMPLE), (GDELT1, SAMPLE1)], ids=["gdelt2", "gdelt1"])
@SETTINGS
@given(data=st.data())
def test_mangled_files_match_the_plain_reader(tmp_path, monkeypatch, source, rows, countries, data):
    path = tmp_path / "odd.export.CSV"
    write(path, rows, data.draw(odd_file(rows)))
    assert_same(source, path, countries, monkeypatch)


@SETTINGS
@given(data=st.data(), block=st.integers(200, 5000))
def test_block_boundaries_do_not_change_the_result(tmp_path, monkeypatch, data, block):
    """Small blocks: lines are cut at block ends; some blocks go through the lane, some not."""
    path = tmp_path / "blocks.export.CSV.zip"
    write(path, SAMPLE, data.draw(odd_file(SAMPLE)), zipped=True)
    expected = outcome(GDELT2, path, RT, True, monkeypatch)
    monkeypatch.setattr(gdelt, "BLOCK_SIZE", block)
    monkeypatch.setattr(gdelt_fast, "MIN_BLOCK", block // 2)
    got = outcome(GDELT2, path, RT, False, monkeypatch)
    if isinstance(expected, str):
        assert got == expected
    else:
        assert got[0].equals(expected[0]) and got[1:] == expected[1:]


def test_lines_shorter_than_the_guess(tmp_path, monkeypatch):
    """Thousands of blank and short lines: more lines than the first guess of the outputs' size."""
    data = b"\n".join([b"x"] * 3000 + SAMPLE[:5] + [b""] * 5000 + SAMPLE[5:10]) + b"\n"
    path = tmp_path / "short.export.CSV"
    path.write_bytes(data)
    events, rejects, totals, rows = assert_same(GDELT2, path, None, monkeypatch)
    assert events.num_rows == 10 and len(rejects) == 3000 and rows == 3010


def test_codes_the_lane_cannot_search_go_to_the_plain_reader():
    assert gdelt_fast.codes_array(frozenset({"RUS", "TUR"})).tolist() == [list(b"RUS"), list(b"TUR")]
    assert gdelt_fast.codes_array(None).shape == (0, 3)
    assert gdelt_fast.codes_array(frozenset({"RUSGOV"})) is None


def test_ingest_through_the_lane_stores_what_the_plain_reader_stores(tmp_path, monkeypatch):
    """A whole ingest (de-duplication, parts, totals, quarantine) both ways."""
    bad = tmp_path / "in" / "20201116.export.CSV"
    bad.parent.mkdir()
    lines = list(SAMPLE[:40])
    lines[3] = lines[3].replace(b"\t", b"\t\t", 1)  # 62 columns
    lines[9] = lines[9].replace(b"\t042\t", b"\t042\r\t")
    bad.write_bytes(b"\n".join(lines) + b"\n")
    inputs = [*sorted(KARABAKH.iterdir()), bad]
    stores = {}
    for plain in ("1", "0"):
        monkeypatch.setenv("DYADWATCH_PLAIN_READER", plain)
        store = Store(tmp_path / f"store-{plain}")
        report = store.ingest(inputs, countries=RT, workers=1)  # in this process: MIN_BLOCK holds
        assert not report.failed
        stores[plain] = (
            store.events().sort_by("event_id"),
            store.quarantine().sort_by([("source_file", "ascending"), ("source_line", "ascending")]),
            store.daily_totals().sort_by([("source", "ascending"), ("day", "ascending")]),
        )
    for a, b in zip(stores["1"], stores["0"]):
        assert a.equals(b)
    assert stores["0"][0].num_rows > 1000


def test_work_arrays_are_not_shared_with_what_a_block_returns():
    """The kernel's outputs are reused by the next block: what a block returned must not change."""
    text = b"\n".join(SAMPLE) + b"\n"
    codes = gdelt_fast.codes_array(None)
    first = gdelt_fast.fast_block(memoryview(text), GDELT2.plan, codes)
    before = {k: v for k, v in first.columns.items()}
    snapshot = pa.table(before)
    other = b"\n".join(reversed(SAMPLE)) + b"\n"
    gdelt_fast.fast_block(memoryview(other), GDELT2.plan, codes)
    assert pa.table(before).equals(snapshot)
    assert np.array_equal(first.starts[:2], [0, len(SAMPLE[0]) + 1])


@pytest.fixture
def fresh_kernel(monkeypatch):
    """No kernel loaded yet (restored after the test)."""
    native.load.cache_clear()
    gdelt_fast._kernel.cache_clear()
    gdelt_fast.ready.cache_clear()
    yield
    monkeypatch.undo()
    native.load.cache_clear()
    gdelt_fast._kernel.cache_clear()
    gdelt_fast.ready.cache_clear()


def test_the_kernel_comes_from_the_build_with_no_compiler_at_run_time(fresh_kernel, monkeypatch, tmp_path):
    """The package's build of the kernel loads with no C compiler anywhere (nothing is compiled at run
    time), and reads as the plain reader does."""
    path = sorted(KARABAKH.iterdir())[0]
    expected = outcome(GDELT2, path, RT, True, monkeypatch)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("CC", "false")
    assert gdelt_fast.ready()
    got = outcome(GDELT2, path, RT, False, monkeypatch)
    assert got[0].equals(expected[0]) and got[1:] == expected[1:]


def test_without_a_kernel_the_plain_reader_does_everything(fresh_kernel, monkeypatch, tmp_path):
    """A platform without a build of the kernel (an empty library folder): one warning, the same result."""
    path = sorted(KARABAKH.iterdir())[0]
    expected = outcome(GDELT2, path, RT, True, monkeypatch)
    monkeypatch.setenv("DYADWATCH_NATIVE_DIR", str(tmp_path / "empty"))
    with pytest.warns(RuntimeWarning, match="compiled GDELT reader is not available"):
        got = outcome(GDELT2, path, RT, False, monkeypatch)
    assert got[0].equals(expected[0]) and got[1:] == expected[1:]
