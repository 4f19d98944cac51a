"""`dyadwatch synth`: exact row counts, GDELT's names and zips, reproducibility, the volume curve, rows
resampled from the real sample, and an ingest of the output that stores every row."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dyadwatch.cli import app
from dyadwatch.store import Store
from dyadwatch.acquire.synth import FIRST_ID, SynthError, load_sample, plan, synth

from conftest import KARABAKH, REPO

D = dt.date
NAME = re.compile(r"^(\d{14})\.export\.CSV\.zip$")


def lines_of(folder: Path) -> dict[str, list[list[bytes]]]:
    out = {}
    for p in sorted(folder.glob("*.zip")):
        with zipfile.ZipFile(p) as zf:
            (member,) = zf.infolist()
            assert member.filename == p.name[:-4]  # 20201101001500.export.CSV inside ...CSV.zip
            assert member.compress_type == zipfile.ZIP_DEFLATED
            text = zf.read(member)
        assert text.endswith(b"\n")
        out[p.name] = [line.split(b"\t") for line in text.split(b"\n")[:-1]]
    return out


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.zip"))}


@pytest.fixture(scope="module")
def two_days(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("synth") / "two-days"
    report = synth(20_000, D(2020, 11, 13), D(2020, 11, 14), out, seed=7, jobs=2)
    return out, report


def test_exact_rows_names_and_columns(two_days):
    out, report = two_days
    files = lines_of(out)
    assert report.rows == 20_000 == sum(len(v) for v in files.values())
    assert report.files == len(files)
    # one file per 15-minute slot of the two days, but the odd slot GDELT did not publish (outages)
    stamps = [dt.datetime.strptime(NAME.match(n)[1], "%Y%m%d%H%M%S") for n in files]
    assert 180 <= len(stamps) <= 192
    assert all(s.minute % 15 == 0 and s.second == 0 for s in stamps)
    assert min(stamps) >= dt.datetime(2020, 11, 13) and max(stamps) <= dt.datetime(2020, 11, 14, 23, 45)
    ids = []
    for name, rows in files.items():
        stamp = NAME.match(name)[1].encode()
        for f in rows:
            assert len(f) == 61
            assert f[59] == stamp  # DATEADDED is the file's slot
            assert f[1][:6] == f[2] and f[1][:4] == f[3]  # SQLDATE, MonthYear, Year agree
            ids.append(int(f[0]))
    # GLOBALEVENTID counts up from GDELT 2.0's first id, in slot order
    assert ids == list(range(FIRST_ID, FIRST_ID + 20_000))


def test_same_seed_same_bytes_whatever_the_workers(two_days, tmp_path):
    out, _ = two_days
    again = synth(20_000, D(2020, 11, 13), D(2020, 11, 14), tmp_path / "again", seed=7, jobs=1)
    assert again.rows == 20_000
    assert digest(tmp_path / "again") == digest(out)
    other = synth(20_000, D(2020, 11, 13), D(2020, 11, 14), tmp_path / "other", seed=8, jobs=1)
    assert other.rows == 20_000 and digest(tmp_path / "other") != digest(out)


def test_rows_are_resampled_from_the_real_sample(two_days):
    out, _ = two_days
    sample = {}
    for p in sorted(KARABAKH.glob("*.zip")):
        with zipfile.ZipFile(p) as zf:
            for line in zf.read(zf.infolist()[0]).split(b"\n"):
                if line:
                    f = line.rstrip(b"\r").split(b"\t")
                    sample.setdefault("actors", set()).add(tuple(f[5:25] + f[35:59]))
                    sample.setdefault("event", set()).add(tuple(f[25:31]))
                    sample.setdefault("report", set()).add((f[29], *f[31:35], f[60]))
    rows = [f for v in lines_of(out).values() for f in v]
    # every block of every row is a real row's: actors with their places, the event, the reporting (of
    # an event of the same quad class, so tone follows the kind of event)
    assert all(tuple(f[5:25] + f[35:59]) in sample["actors"] for f in rows)
    assert all(tuple(f[25:31]) in sample["event"] for f in rows)
    assert all((f[29], *f[31:35], f[60]) in sample["report"] for f in rows)
    # ... but rows are not copies: copies of the sample's 9,354 rows would give at most 9,354 distinct
    # (actors, event) pairs in 20,000 rows (0.47); the real exports themselves have 0.61-0.65 a file
    assert len({(tuple(f[5:25]), tuple(f[25:31])) for f in rows}) > 0.52 * len(rows)
    # the sample's mix survives: 11 % of its rows have a Russian or Turkish actor
    share = np.mean([f[7] in (b"RUS", b"TUR") or f[17] in (b"RUS", b"TUR") for f in rows])
    assert 0.09 < share < 0.13


def test_zips_compress_like_the_real_exports(tmp_path):
    """A real export's events come article by article (half the rows share the previous row's URL, and
    re-reports follow their event closely), so its zip is 7.5x smaller than its text; rows drawn one by
    one compress 3.9x, which makes them twice as slow to inflate as GDELT's own files."""
    real_text = real_zip = 0
    for p in sorted(KARABAKH.glob("*.zip")):
        with zipfile.ZipFile(p) as zf:
            real_text, real_zip = real_text + zf.infolist()[0].file_size, real_zip + zf.infolist()[0].compress_size
    assert 7.4 < real_text / real_zip < 7.6
    r = synth(20_000, D(2020, 11, 13), D(2020, 11, 13), tmp_path / "one", seed=3, files=1, jobs=1)
    assert abs(r.text_bytes / r.zip_bytes / (real_text / real_zip) - 1) < 0.05
    (rows,) = lines_of(tmp_path / "one").values()
    same_url = np.mean([a[60] == b[60] for a, b in zip(rows, rows[1:])])
    assert 0.4 < same_url < 0.65  # the sample: 0.53-0.56; rows drawn one by one: ~0.001


def test_repeats_and_late_reports(two_days):
    out, _ = two_days
    repeated = late = total = 0
    for name, rows in lines_of(out).items():
        day = NAME.match(name)[1][:8].encode()
        seen = set()
        for f in rows:
            key = (f[1], *f[5:31], *f[35:59])
            repeated += key in seen
            seen.add(key)
            late += f[1] != day
            total += 1
    assert 0.22 < repeated / total < 0.32  # 30 % re-report an earlier row of their file
    assert 0.08 < late / total < 0.12  # 10 % are dated before the day GDELT saw them


def test_volume_rises_and_dips_like_gdelt():
    p = plan(10_000_000, D(2015, 2, 18), D(2025, 12, 31), seed=0)
    assert int(p.rows.sum()) == 10_000_000
    when = np.datetime64(p.start, "s") + (p.slots * 900).astype("timedelta64[s]")
    months = when.astype("datetime64[M]")
    per_month = {m: int(p.rows[months == m].sum()) for m in np.unique(months)}
    per_slot = {m: per_month[m] / (months == m).sum() for m in per_month}
    M = lambda s: np.datetime64(s, "M")  # noqa: E731
    assert per_slot[M("2016-09")] > 1.3 * per_slot[M("2019-06")]  # the 2016 peak, the decline after
    assert per_slot[M("2020-03")] > 1.1 * per_slot[M("2020-01")]  # the news of March 2020
    assert per_slot[M("2022-03")] > 1.1 * per_slot[M("2022-01")]  # ... and of February 2022
    assert per_slot[M("2025-12")] < 0.6 * per_slot[M("2016-09")]
    # weekends are quieter; 15-minute slots cover the range but outages leave holes
    weekday = (when.astype("datetime64[D]").astype(np.int64) + 3) % 7
    assert p.rows[weekday >= 5].mean() < 0.85 * p.rows[weekday < 5].mean()
    all_slots = ((D(2025, 12, 31) - D(2015, 2, 18)).days + 1) * 96
    assert 0.98 * all_slots < len(p.slots) < all_slots


def test_files_option_spaces_files_evenly(tmp_path):
    r = synth(3_000, D(2021, 1, 1), D(2021, 1, 30), tmp_path / "k", seed=1, files=12)
    files = lines_of(tmp_path / "k")
    assert r.files == len(files) == 12 and sum(len(v) for v in files.values()) == 3_000
    days = sorted(int(NAME.match(n)[1][6:8]) for n in files)
    assert days[0] <= 3 and days[-1] >= 28 and max(np.diff(days)) <= 4
    with pytest.raises(SynthError, match="more than --rows"):
        plan(5, D(2021, 1, 1), D(2021, 1, 2), files=6)
    with pytest.raises(SynthError, match="before --start"):
        plan(5, D(2021, 1, 2), D(2021, 1, 1))


def test_sample_must_be_gdelt2(tmp_path):
    bad = tmp_path / "bad.export.CSV"
    bad.write_text("1\t2\t3\n")
    with pytest.raises(SynthError, match=r"bad.export.CSV line 1: 3 columns"):
        load_sample(bad)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SynthError, match="no GDELT 2.0 exports"):
        load_sample(tmp_path / "empty")
    with pytest.raises(SynthError, match="no such file or folder"):
        load_sample(tmp_path / "missing")


def test_ingest_of_the_output_stores_every_row(two_days, tmp_path):
    out, _ = two_days
    store = Store(tmp_path / "store")
    report = store.ingest([out])
    assert (report.rows_read, report.rows_kept, report.rows_stored, report.rows_rejected) == (20_000,) * 3 + (0,)
    assert not report.failed and not report.problems
    assert store.status()["events"] == 20_000
    assert int(sum(store.daily_totals()["events"].to_pylist())) == 20_000
    # late reports land in earlier month partitions, as a real ingest's do
    years_months = {tuple(p.split("/")[-3:-1]) for p in store.part_paths()}
    assert ("year=2020", "month=11") in years_months and len(years_months) >= 3


def test_cli_and_bench_front(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["synth", "--rows", "2500", "--start", "2020-11-13", "--end", "2020-11-13",
                              "--out", str(tmp_path / "cli"), "--seed", "3"])
    assert res.exit_code == 0, res.output
    assert re.search(r"wrote \d+ files \(20201113\d{6}\.export\.CSV\.zip \.\. 20201113\d{6}\.export\.CSV\.zip\), "
                     r"2,500 rows", res.output)
    bad = runner.invoke(app, ["synth", "--rows", "0", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 1 and "error: --rows must be at least 1" in bad.output
    # bench/make_gdelt_input.py is a front to the same generator: the same files for the same arguments
    subprocess.run([sys.executable, str(REPO / "bench" / "make_gdelt_input.py"), "--rows", "2000", "--files", "4",
                    "--days", "2", "--start", "2020-11-13", "--out", str(tmp_path / "bench"), "--seed", "5",
                    "--jobs", "1"], check=True, capture_output=True)
    synth(2000, D(2020, 11, 13), D(2020, 11, 14), tmp_path / "direct", seed=5, files=4, jobs=1)
    assert digest(tmp_path / "bench") == digest(tmp_path / "direct") and len(digest(tmp_path / "bench")) == 4
    counts = Counter(len(v) for v in lines_of(tmp_path / "bench").values())
    assert sum(k * v for k, v in counts.items()) == 2000
