"""The fast paths of ingest give the same result as the plain ones.

Reading: a zip member is inflated whole (or streamed above `WHOLE_LIMIT`); candidate lines are found
with polars' substring search (or RE2 for small blocks and many codes); the per-day totals of the lines
not parsed come from reading each line's SQLDATE at the place the block's first line puts it (or line
by line). Storing: the staged events are taken in ranking order and repeated ids dropped as they come,
then ids already stored are dropped by looking only at the row groups whose id range overlaps.
Each pair must agree exactly, on real files and on mangled ones.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dyadwatch.sources.gdelt as gdelt
import dyadwatch.store.pipeline as store_mod
from dyadwatch.sources.reading import reader_init
from dyadwatch.sources.base import InputError, InputFile
from dyadwatch.sources.gdelt import GDELT1, GDELT2
from dyadwatch.store import Store

from conftest import GEORGIA, KARABAKH, RAW
from conftest import read_outcome as outcome

RT = frozenset({"RUS", "TUR"})
MANY = frozenset({"RUS", "TUR", "GEO", "ARM", "AZE", "IRN", "USA", "UKR"})  # more codes than memmem takes
SAMPLE = (RAW / "events.csv").read_bytes().split(b"\n")[:-1]  # 100 real GDELT 2.0 rows


def same(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return a[0].equals(b[0]) and a[1:] == b[1:]


def mangled_file(tmp_path: Path, zipped: bool) -> Path:
    """Real rows with bad ones among them: wrong width, bad date, other id widths, bad UTF-8, CRLF."""
    lines = list(SAMPLE[:60])
    cols = lines[3].split(b"\t")
    lines[3] = b"\t".join(cols[:-1])  # 60 columns
    cols = lines[7].split(b"\t")
    cols[1] = b"20200231"
    lines[7] = b"\t".join(cols)
    cols = lines[14].split(b"\t")  # the TUR row: id of another width
    cols[0] = b"7" + cols[0]
    lines[14] = b"\t".join(cols)
    lines[20] = lines[20].replace(b"\t", b"\t\xff", 1)
    lines[30] = b"12345"  # no date at all
    lines[31] = b""
    data = b"\r\n".join(lines) + b"\r\n"
    path = tmp_path / ("m.export.CSV.zip" if zipped else "m.export.CSV")
    if zipped:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("m.export.CSV", data)
    else:
        path.write_bytes(data)
    return path


def test_polars_and_re2_candidates_agree(tmp_path, monkeypatch):
    files = [*sorted(KARABAKH.glob("*.zip")), mangled_file(tmp_path, True), RAW / "events.csv"]
    for countries in (RT, frozenset({"RUS"}), frozenset({"GEO", "ARM", "AZE"}), MANY):
        monkeypatch.setattr(gdelt, "_MEMMEM_MIN_LINES", 10**9)  # RE2 everywhere
        re2 = [outcome(GDELT2, p, countries) for p in files]
        monkeypatch.setattr(gdelt, "_MEMMEM_MIN_LINES", 0)  # polars wherever the codes allow
        memmem = [outcome(GDELT2, p, countries) for p in files]
        for p, a, b in zip(files, re2, memmem):
            assert same(a, b), (p.name, sorted(countries))
    assert memmem[0][0].num_rows > 0


def test_streamed_members_match_whole_reads(tmp_path, monkeypatch):
    plain = mangled_file(tmp_path, False)
    zipped = mangled_file(tmp_path, True)
    stored = tmp_path / "s.export.CSV.zip"
    with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("s.export.CSV", b"\n".join(SAMPLE[:30]) + b"\n")
    cases = [(GDELT2, p) for p in [*sorted(KARABAKH.glob("*.zip")), plain, zipped, stored]]
    cases += [(GDELT1, sorted(GEORGIA.glob("*.zip"))[0]), (GDELT1, RAW / "events1.csv")]
    for source, path in cases:
        for countries in (None, RT):
            whole = outcome(source, path, countries)
            monkeypatch.setattr(gdelt, "WHOLE_LIMIT", 0)
            streamed = outcome(source, path, countries)
            monkeypatch.undo()
            assert same(whole, streamed), (path.name, countries)
            assert not isinstance(whole, str)
    # a member that does not inflate, either way, is one error naming the file
    data = bytearray(zipped.read_bytes())
    with zipfile.ZipFile(zipped) as zf:
        info = zf.infolist()[0]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for k in range(8):
        data[start + info.compress_size // 2 + k] ^= 0xA5
    bad = tmp_path / "bad.export.CSV.zip"
    bad.write_bytes(bytes(data))
    for limit in (gdelt.WHOLE_LIMIT, 0):
        monkeypatch.setattr(gdelt, "WHOLE_LIMIT", limit)
        with pytest.raises(InputError, match="bad.export.CSV.zip") as exc:
            list(GDELT2.read(InputFile(bad), RT))
        assert "\n" not in str(exc.value)


# lines of a block: real rows, rows with ids of other widths, and pieces around the SQLDATE
line_part = st.one_of(
    st.sampled_from(SAMPLE[:10]),
    st.sampled_from([b"1234567890\t20201113\t202011", b"123\t20201113\tx", b"\t20201113\t2", b"1\t2020111\t",
                     b"12345678901234567890123\t20201113\t", b"410412347\t20200231\tx", b"410412347\t2020 1 1\tx",
                     b"410412347\t00000101\tx", b"410412347\t20201113", b"410412347\t20201113\t", b"", b"\t\t\t",
                     b"410412347\t20201113\t\xff"]),
    st.binary(max_size=30).map(lambda b: b.replace(b"\n", b" ")),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(line_part, min_size=1, max_size=30))
def test_counted_dates_match_the_line_by_line_read(lines):
    block = b"\n".join(lines) + b"\n"
    arr = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    starts = np.r_[0, ends[:-1] + 1]
    days, counts, unreadable = gdelt._count_event_dates(arr, starts, ends)
    dates = gdelt._event_dates(arr, starts, ends).to_pylist()
    assert sorted(unreadable.tolist()) == [i for i, d in enumerate(dates) if d is None]
    got = Counter()
    for d, n in zip(days.to_pylist(), counts.tolist()):
        got[d] += n
    assert got == Counter(d for d in dates if d is not None)


def test_reader_init_is_harmless():
    reader_init()  # tunes malloc in a reader process; calling it twice, or here, changes no result
    reader_init()
    assert outcome(GDELT2, RAW / "events.csv", RT)[0].num_rows == 1


# ------------------------------------------------------------------------------------------------
# Storing
# ------------------------------------------------------------------------------------------------


def rows_of(zip_path: Path) -> list[list[str]]:
    with zipfile.ZipFile(zip_path) as zf:
        text = zf.read(zf.namelist()[0]).decode("utf-8")
    return [line.split("\t") for line in text.splitlines() if line]


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join("\t".join(r) for r in rows) + "\n")
    return path


def tone(row: list[str], value: str) -> list[str]:
    row = list(row)
    row[34] = value  # AvgTone tells copies of one event id apart
    return row


def stored_tones(store: Store) -> dict[int, float]:
    events = store.events()
    return dict(zip(events["event_id"].to_pylist(), events["avg_tone"].to_pylist()))


def test_same_name_files_rank_by_line_then_content(store_dir, tmp_path):
    rows = rows_of(KARABAKH / "20201113.export.CSV.zip")[:6]
    x, y = rows[0], rows[1]
    # two files named a.export.CSV in two folders: id x at line 2 in one and line 1 in the other (the
    # line wins); id y at line 3 in both (then the content, by MD5, decides)
    write_rows(tmp_path / "p" / "a.export.CSV", [rows[2], tone(x, "1"), tone(y, "3")])
    write_rows(tmp_path / "q" / "a.export.CSV", [tone(x, "2"), rows[3], tone(y, "4")])
    import hashlib

    md5 = {d: hashlib.md5((tmp_path / d / "a.export.CSV").read_bytes()).hexdigest() for d in "pq"}
    first = min(md5, key=md5.get)
    store = Store(store_dir)
    report = store.ingest([tmp_path / "p", tmp_path / "q"], workers=2)
    assert report.rows_kept == 6 and report.rows_stored == 4
    got = stored_tones(store)
    assert got[int(x[0])] == 2.0
    assert got[int(y[0])] == (3.0 if first == "p" else 4.0)


def test_repeated_ids_out_of_name_order_and_across_batches(store_dir, tmp_path, monkeypatch):
    rows = rows_of(KARABAKH / "20201113.export.CSV.zip")[:40]
    # b's ids are all below a's, and a repeats some of them: the runs of seen ids overlap
    write_rows(tmp_path / "in" / "b.export.CSV", [tone(r, "1") for r in rows[:20]])
    write_rows(tmp_path / "in" / "a.export.CSV", [tone(r, "2") for r in rows[10:40]])
    store = Store(store_dir)
    report = store.ingest([tmp_path / "in"], workers=2)
    assert report.rows_stored == 40
    got = stored_tones(store)
    assert [got[int(r[0])] for r in rows] == [1.0] * 10 + [2.0] * 30  # a sorts first
    stored = dict(zip(store.manifest()["name"].to_pylist(), store.manifest()["rows_stored"].to_pylist()))
    assert stored == {"a.export.CSV": 30, "b.export.CSV": 10}

    # one file per batch: ids already stored are found through the parts' row-group statistics
    monkeypatch.setattr(store_mod, "BATCH_FILES", 1)
    write_rows(tmp_path / "more" / "c.export.CSV", [tone(r, "3") for r in rows[30:]] + [tone(rows[0], "3")])
    extra = rows_of(KARABAKH / "20201114.export.CSV.zip")[:5]
    write_rows(tmp_path / "more" / "d.export.CSV", [tone(r, "4") for r in rows[35:] + extra])
    again = store.ingest([tmp_path / "more"], workers=2)
    assert again.rows_kept == 11 + 10 and again.rows_stored == 5
    got = stored_tones(store)
    assert [got[int(r[0])] for r in rows] == [1.0] * 10 + [2.0] * 30
    assert [got[int(r[0])] for r in extra] == [4.0] * 5
    ids = store.events()["event_id"].to_pylist()
    assert len(ids) == len(set(ids)) == 45
    stored = dict(zip(store.manifest()["name"].to_pylist(), store.manifest()["rows_stored"].to_pylist()))
    assert stored["c.export.CSV"] == 0 and stored["d.export.CSV"] == 5
    # the rewritten part is the one recorded; nothing else is left in the events folder
    on_disk = sorted(str(p.resolve()) for p in store_dir.glob("events/**/*.parquet"))
    assert on_disk == store.part_paths()
    assert store.status()["events"] == 45


def test_event_date_partitions_and_totals_of_a_big_file(store_dir, tmp_path, monkeypatch):
    """Many blocks, dates in several months: parts per month, totals of every line."""
    monkeypatch.setattr(gdelt, "BLOCK_SIZE", 256 << 10)
    rows = rows_of(KARABAKH / "20201113.export.CSV.zip")
    out = []
    for i, r in enumerate(rows * 3):
        r = list(r)
        r[0] = str(10**9 + i)
        if i % 7 == 0:
            r[1] = "20201031"
        if i % 11 == 0:
            r[1] = "20191113"
        out.append(r)
    path = write_rows(tmp_path / "big.export.CSV", out)
    store = Store(store_dir)
    report = store.ingest([path], countries=RT)
    expected = Counter(dt.date(int(r[1][:4]), int(r[1][4:6]), int(r[1][6:8])) for r in out)
    totals = store.daily_totals()
    assert dict(zip(totals["day"].to_pylist(), totals["events"].to_pylist())) == dict(expected)
    kept = [r for r in out if r[7] in RT or r[17] in RT]
    assert report.rows_stored == len(kept) > 0
    months = {(p.parent.parent.name, p.parent.name) for p in store_dir.glob("events/**/*.parquet")}
    assert months == {(f"year={y}", f"month={m}") for y, m in {(int(r[1][:4]), int(r[1][4:6])) for r in kept}}
