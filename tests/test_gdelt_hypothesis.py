"""Property tests for the GDELT parser: random bytes never crash it, and no row is ever lost.

Accounting used throughout (a "line" is a physical line of the file; blank means empty or a lone CR):

* without a country filter every non-blank line is either an event or quarantined, never both;
* with a filter every non-blank line is either counted in the per-day totals or quarantined, and the
  events are exactly the unfiltered events that pass the filter (non-candidate lines are checked only for
  UTF-8 and their event date, so the filtered quarantine is a subset of the unfiltered one).
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dyadwatch.sources.gdelt as gdelt
from dyadwatch.knowledge.schema import EVENT_SCHEMA
from dyadwatch.sources.base import InputError, InputFile, filter_countries
from dyadwatch.sources.gdelt import GDELT1, GDELT2

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RAW = SHARED / "gdelt" / "samples-raw"
RT = frozenset({"RUS", "TUR"})

SAMPLE = RAW.joinpath("events.csv").read_bytes().split(b"\n")[:-1]  # 100 real GDELT 2.0 rows
SAMPLE1 = RAW.joinpath("events1.csv").read_bytes().split(b"\n")[:-1]  # 100 real GDELT 1.0 rows
assert len(SAMPLE) == len(SAMPLE1) == 100

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gdelt-hypothesis")


def read(source, path: Path, countries=None):
    events, rejects, totals, rows = [], [], Counter(), 0
    for chunk in source.read(InputFile(path), countries):
        assert chunk.events.schema == EVENT_SCHEMA
        lines = [r.line for r in chunk.rejects]
        assert lines == sorted(lines)
        events.append(chunk.events)
        rejects += [(r.line, r.reason) for r in chunk.rejects]
        for day, n in zip(chunk.totals["day"].to_pylist(), chunk.totals["events"].to_pylist()):
            totals[day] += n
        rows += chunk.rows_read
    return pa.concat_tables(events), rejects, totals, rows


def physical_lines(data: bytes) -> list[bytes]:
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark opening the file is ignored
        data = data[3:]
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline ending the last line does not start another
    return lines


def nonblank_numbers(data: bytes) -> set[int]:
    return {i for i, line in enumerate(physical_lines(data), 1) if line not in (b"", b"\r")}


def check_accounting(source, path: Path, data: bytes):
    """The invariants of the module docstring; returns the unfiltered (events, rejects)."""
    nonblank = nonblank_numbers(data)
    try:
        events, rejects, totals, rows = read(source, path)
    except InputError as exc:
        assert not nonblank, "only a file without any row may be refused as a whole"
        assert str(path) in str(exc) and "\n" not in str(exc)
        with pytest.raises(InputError):
            read(source, path, RT)
        return None, None
    event_lines = events["source_line"].to_pylist()
    reject_lines = [line for line, _ in rejects]
    assert rows == len(nonblank) == events.num_rows + len(rejects)
    assert len(set(event_lines)) == len(event_lines) and len(set(reject_lines)) == len(reject_lines)
    assert set(event_lines) | set(reject_lines) == nonblank
    assert not set(event_lines) & set(reject_lines)
    assert sum(totals.values()) == events.num_rows

    f_events, f_rejects, f_totals, f_rows = read(source, path, RT)
    assert f_rows == rows
    assert sum(f_totals.values()) + len(f_rejects) == f_rows
    assert set(f_rejects) <= set(rejects)
    assert f_events.equals(filter_countries(events, RT))
    assert all(f_totals[d] >= n for d, n in totals.items())
    return events, rejects


# ------------------------------------------------------------------------------------------------
# Random bytes
# ------------------------------------------------------------------------------------------------

TOKENS = [b"\t", b"\n", b"\r", b"\r\n", b"\t\t", b"20201113", b"20200231", b"RUS", b"TUR", b"\tRUS\t",
          b"042", b"-1.5", b"x", b"\xff", b"\xd0", b"\xc3\xa9", b"0x10", b"nan", b"\x00", b" ", b"\xef\xbb\xbf"]

soup = st.lists(
    st.one_of(st.sampled_from(TOKENS), st.binary(max_size=12), st.sampled_from(SAMPLE[:20])), max_size=40
).map(b"".join)


@SETTINGS
@given(data=st.binary(max_size=2000))
def test_random_bytes_never_crash(workdir, data):
    path = workdir / "random.export.CSV"
    path.write_bytes(data)
    check_accounting(GDELT2, path, data)


@SETTINGS
@given(data=soup)
def test_random_tokens_and_row_pieces_never_crash(workdir, data):
    path = workdir / "soup.export.CSV"
    path.write_bytes(data)
    for source in (GDELT2, GDELT1):
        check_accounting(source, path, data)


@SETTINGS
@given(data=soup, block=st.integers(min_value=1, max_value=3000))
def test_block_size_does_not_change_the_result(workdir, data, block):
    path = workdir / "blocks.export.CSV"
    path.write_bytes(data)

    def outcome(countries):
        try:
            events, rejects, totals, rows = read(GDELT2, path, countries)
            return events, rejects, totals, rows
        except InputError as exc:
            return str(exc)

    expected = [outcome(None), outcome(RT)]
    saved = gdelt.BLOCK_SIZE
    gdelt.BLOCK_SIZE = block
    try:
        got = [outcome(None), outcome(RT)]
    finally:
        gdelt.BLOCK_SIZE = saved
    for exp, res in zip(expected, got):
        if isinstance(exp, str):
            assert res == exp
        else:
            assert res[0].equals(exp[0]) and res[1:] == exp[1:]


# ------------------------------------------------------------------------------------------------
# Real rows, some mangled
# ------------------------------------------------------------------------------------------------

no_newline = st.binary(max_size=80).map(lambda b: b.replace(b"\n", b" "))
# garbage for one field: random bytes, or values known to be tricky (stray CR, bad UTF-8, numbers Arrow
# reads but GDELT never writes, out-of-range numbers, impossible dates)
GARBAGE = [b"\r", b"a\rb", b"\xff", b"\xe2\x82", b"nan", b"inf", b"0x1F", b"+5", b"99999999999", b"1e999",
           b"20200231", b"2020 1 1", b" ", b"RUS", b"TUR", b"\xef\xbb\xbf"]
no_tab_newline = st.one_of(
    st.binary(max_size=20).map(lambda b: b.replace(b"\n", b" ").replace(b"\t", b" ")), st.sampled_from(GARBAGE)
)


@st.composite
def mangled(draw, rows: list[bytes]) -> bytes:
    base = draw(st.sampled_from(rows)).split(b"\t")
    kind = draw(st.sampled_from(["bytes", "remove", "add", "garbage", "empty", "bom"]))
    if kind == "bytes":
        return draw(no_newline)
    if kind == "bom":  # a byte order mark opening a line that is not the file's first
        return b"\xef\xbb\xbf" + b"\t".join(base)
    i = draw(st.integers(0, len(base) - 1))
    if kind == "remove":
        return b"\t".join(base[:i] + base[i + 1 :])
    if kind == "add":
        return b"\t".join(base[:i] + [draw(no_tab_newline)] + base[i:])
    base[i] = draw(no_tab_newline) if kind == "garbage" else b""
    return b"\t".join(base)


def mangled_file(rows: list[bytes]):
    return st.fixed_dictionaries(
        {
            "keep": st.lists(st.integers(0, len(rows) - 1), unique=True, max_size=15),
            "bad": st.lists(mangled(rows), max_size=8),
            "blank": st.integers(0, 3),
            "seed": st.integers(0, 2**32 - 1),
            "crlf": st.booleans(),
            "final_newline": st.booleans(),
        }
    )


def build(rows: list[bytes], spec) -> tuple[bytes, dict[int, bytes], dict[int, bytes]]:
    """The file, {line: untouched real row}, {line: mangled row} (line numbers 1-based)."""
    rnd = random.Random(spec["seed"])
    items = [("real", rows[i]) for i in spec["keep"]]
    for kind, value in [("bad", b) for b in spec["bad"]] + [("blank", b"")] * spec["blank"]:
        items.insert(rnd.randint(0, len(items)), (kind, value))
    eol = b"\r\n" if spec["crlf"] else b"\n"
    data = eol.join(v for _, v in items) + (eol if items and spec["final_newline"] else b"")
    real = {n: v for n, (k, v) in enumerate(items, 1) if k == "real"}
    bad = {n: v for n, (k, v) in enumerate(items, 1) if k == "bad"}
    return data, real, bad


@pytest.mark.parametrize("source, rows", [(GDELT2, SAMPLE), (GDELT1, SAMPLE1)], ids=["gdelt2", "gdelt1"])
@SETTINGS
@given(data=st.data())
def test_mangled_rows_never_lose_real_rows(workdir, source, rows, data):
    spec = data.draw(mangled_file(rows))
    content, real, bad = build(rows, spec)
    path = workdir / f"mangled-{source.name}.export.CSV"
    path.write_bytes(content)
    events, rejects = check_accounting(source, path, content)
    if events is None:  # refused as a whole: only possible when nothing but blank lines was written
        assert not real and not nonblank_numbers(content)
        return
    by_line = dict(zip(events["source_line"].to_pylist(), events["event_id"].to_pylist()))
    rejected = dict(rejects)
    for line, row in real.items():  # every untouched real row is an event, at its line
        assert line not in rejected
        assert by_line[line] == int(row.split(b"\t")[0])
    nonblank = nonblank_numbers(content)
    for line, row in bad.items():  # a mangled row is quarantined at its line, or (still valid) kept
        if line not in nonblank:
            continue  # drew an empty line (or a lone CR): blank, so neither
        assert (line in rejected) != (line in by_line), (line, row)
    # only mangled lines are quarantined
    assert set(rejected) <= set(bad)
    # with a filter, the untouched real rows that involve RUS or TUR are kept, at their lines
    f_events, _, _, _ = read(source, path, RT)
    expected = {
        line for line, row in real.items() if {row.split(b"\t")[7], row.split(b"\t")[17]} & {b"RUS", b"TUR"}
    }
    assert expected <= set(f_events["source_line"].to_pylist())


@SETTINGS
@given(spec=mangled_file(SAMPLE))
def test_mangled_rows_zipped_match_plain(workdir, spec):
    import zipfile

    content, _, _ = build(SAMPLE, spec)
    plain = workdir / "z.export.CSV"
    plain.write_bytes(content)
    zipped = workdir / "z.export.CSV.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("z.export.CSV", content)
    try:
        p = read(GDELT2, plain)
    except InputError:
        with pytest.raises(InputError, match="z.export.CSV.zip"):
            read(GDELT2, zipped)
        return
    z = read(GDELT2, zipped)
    assert set(z[0]["source_file"].to_pylist()) <= {"z.export.CSV.zip"}
    assert z[0].drop(["source_file"]).equals(p[0].drop(["source_file"])) and z[1:] == p[1:]
