"""BigQuery export files (sources.bigquery): built from the real shipped GDELT rows in BigQuery's
documented export layouts (tests/bq_exports.py), they must ingest to exactly the rows a file ingest
of the same events gives, with the same per-day totals once the totals file is ingested beside them."""

from __future__ import annotations

import gzip
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import bq_exports as bx
from conftest import GEORGIA, KARABAKH
from dyadwatch.sources import detect
from dyadwatch.sources.base import InputError, InputFile
from dyadwatch.sources.bigquery import REQUIRED, WANTED, BigQueryExport, BigQueryTotals
from dyadwatch.store import Store
from test_cli import run

RUS_TUR = frozenset({"RUS", "TUR"})
ZIPS = sorted(KARABAKH.glob("*.export.CSV.zip"))
COLUMNS = list(WANTED)
SHUFFLED = random.Random(21).sample(COLUMNS, len(COLUMNS))  # any order: BigQuery keeps the query's


def _events(store: Store) -> pa.Table:
    """The stored events without where they came from (a file name and line differ by nature)."""
    return store.events().drop_columns(["source_file", "source_line"]).sort_by("event_id")


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """The file ingest of GDELT's own three zips (RUS, TUR), and the same rows as BigQuery holds them."""
    d = tmp_path_factory.mktemp("real")
    store = Store(d / "files")
    report = store.ingest(ZIPS, countries=RUS_TUR)
    assert (report.rows_read, report.rows_kept, report.rows_rejected) == (9354, 1025, 0)
    rows = bx.gdelt_rows(ZIPS)
    return store, rows, bx.of_countries(rows, set(RUS_TUR)), d


WRITERS = {
    "e.csv": lambda rows, p: bx.write_csv(rows, COLUMNS, p),
    "e.csv.gz": lambda rows, p: bx.write_csv(rows, SHUFFLED, p, gzipped=True),
    "e.json": lambda rows, p: bx.write_json(rows, SHUFFLED, p),
    "e.json.gz": lambda rows, p: bx.write_json(rows, COLUMNS, p, gzipped=True),
    "e.parquet": lambda rows, p: bx.write_parquet(rows, SHUFFLED, p),
    "e.avro": lambda rows, p: bx.write_avro(rows, COLUMNS, p),
}


@pytest.mark.parametrize("name", list(WRITERS))
def test_export_ingests_to_the_rows_of_a_file_ingest(real, tmp_path, name):
    files, rows, chosen, _ = real
    assert len(rows) == 9354 and len(chosen) == 1025
    export = WRITERS[name](chosen, tmp_path / name)
    totals = bx.write_csv(bx.totals_rows(rows), ["source", "day", "events"], tmp_path / "totals.csv")
    store = Store(tmp_path / "s")
    report = store.ingest([export, totals], countries=RUS_TUR)
    assert not report.failed
    by_name = {f.name: f for f in report.files}
    assert (by_name[name].source, by_name[name].rows_read, by_name[name].rows_kept) == ("gdelt2", 1025, 1025)
    assert by_name[name].totals.num_rows == 0  # a filtered export: no totals of its own
    days = len({r["SQLDATE"] for r in rows})
    assert (by_name["totals.csv"].rows_kept, by_name["totals.csv"].totals.num_rows) == (0, days)
    assert report.rows_stored == 1025
    assert _events(store).equals(_events(files))
    assert store.daily_totals().equals(files.daily_totals())
    assert sum(store.daily_totals()["events"].to_pylist()) == 9354
    # the line of each row: a CSV's header is line 1; elsewhere row k is line k
    first = 2 if ".csv" in name else 1
    lines = store.events().sort_by("source_line")["source_line"].to_pylist()
    assert lines == list(range(first, first + 1025))
    # idempotent: the same file again is skipped, nothing changes
    again = store.ingest([export, totals], countries=RUS_TUR)
    assert len(again.skipped) == 2 and again.rows_stored == 0
    assert store.daily_totals().equals(files.daily_totals())


def test_totals_file_in_every_format_gives_the_same_days(real, tmp_path):
    files, rows, _, _ = real
    t = bx.totals_rows(rows)
    cols = ["day", "events", "source"]
    paths = [bx.write_json(t, cols, tmp_path / "t.json.gz", gzipped=True), bx.write_parquet(t, cols, tmp_path / "t.parquet"),
             bx.write_avro(t, cols, tmp_path / "t.avro")]
    for p in paths:
        src = detect(InputFile(p))
        assert isinstance(src, BigQueryTotals) and src.name == "gdelt2"
        store = Store(tmp_path / p.name.replace(".", "_"))
        store.ingest([p])
        assert store.daily_totals().equals(files.daily_totals()), p.name
        assert store.events().num_rows == 0


def test_detect_tells_exports_from_gdelt_files(real, tmp_path):
    _, rows, chosen, _ = real
    for name, write in WRITERS.items():
        src = detect(InputFile(write(chosen, tmp_path / name)))
        assert isinstance(src, BigQueryExport) and src.name == "gdelt2" and src.version == 2, name
    assert detect(InputFile(ZIPS[0])).name == "gdelt2"  # GDELT's own files as before
    assert type(detect(InputFile(ZIPS[0]))).__name__ == "GdeltSource"


def test_gdelt1_export_is_told_by_its_8_digit_dateadded(tmp_path):
    month = GEORGIA / "201106.export.CSV.zip"
    files = Store(tmp_path / "files")
    report = files.ingest([month], countries=RUS_TUR)
    rows = bx.gdelt_rows([month], version=1)
    assert report.rows_read == len(rows) and report.rows_rejected == 0
    chosen = bx.of_countries(rows, set(RUS_TUR))
    assert report.rows_kept == len(chosen) > 0
    v1 = [c for c in COLUMNS if not c.endswith("ADM2Code")]
    export = bx.write_parquet(chosen, v1, tmp_path / "v1.parquet")
    src = detect(InputFile(export))
    assert (src.name, src.version) == ("gdelt1", 1)
    store = Store(tmp_path / "s")
    store.ingest([export, bx.write_csv(bx.totals_rows(rows, "gdelt1"), ["source", "day", "events"],
                                       tmp_path / "t.csv")], countries=RUS_TUR)
    assert _events(store).equals(_events(files))
    assert store.daily_totals().equals(files.daily_totals())
    assert set(store.events()["source"].to_pylist()) == {"gdelt1"}


def test_a_subset_of_columns_in_any_order(real, tmp_path):
    files, _, chosen, _ = real
    cols = ["EventCode", "DATEADDED", "Actor2CountryCode", "QuadClass", "SQLDATE", "GLOBALEVENTID", "Actor1CountryCode"]
    store = Store(tmp_path / "s")
    store.ingest([bx.write_parquet(chosen, cols, tmp_path / "few.parquet")])
    got, want = _events(store), _events(files)
    kept = ["event_id", "source", "event_date", "date_added", "actor1_country", "actor2_country", "event_code",
            "quad_class"]
    assert got.select(kept).equals(want.select(kept))
    assert got["goldstein"].null_count == got["source_url"].null_count == got.num_rows == 1025


def test_bad_rows_are_quarantined_with_file_and_line(real, tmp_path):
    _, _, chosen, _ = real
    rows, others = [dict(r) for r in chosen[:5]], [dict(r) for r in chosen[5:10]]  # other event ids
    for r in (rows, others):
        r[1]["SQLDATE"] = 20201340  # no 40th of the month
        r[3]["AvgTone"] = "n/a"  # written as text where a FLOAT belongs
    csv_path = bx.write_csv(rows, COLUMNS, tmp_path / "bad.csv")
    text = csv_path.read_text().splitlines()
    text.insert(3, "1,2,3")  # a row of three fields: line 4
    csv_path.write_text("\n".join(text) + "\n")
    json_path = bx.write_json(others, COLUMNS, tmp_path / "bad.json")
    lines = json_path.read_text().splitlines()
    lines.insert(2, '{"GLOBALEVENTID": "1", ')  # cut short: line 3
    json_path.write_text("\n".join(lines) + "\n")
    store = Store(tmp_path / "s")
    report = store.ingest([csv_path, json_path])
    assert not report.failed
    q = [(r["source_file"], r["source_line"], r["reason"]) for r in store.quarantine().to_pylist()]
    assert q == [
        ("bad.csv", 3, "bad SQLDATE '20201340'"),
        ("bad.csv", 4, f"expected {len(COLUMNS)} columns, found 3"),
        ("bad.csv", 6, "bad AvgTone 'n/a'"),
        ("bad.json", 2, "bad SQLDATE '20201340'"),
        ("bad.json", 3, "not a JSON object"),
        ("bad.json", 5, "bad AvgTone 'n/a'"),
    ]
    raw = {r["source_line"]: r["raw"] for r in store.quarantine().to_pylist() if r["source_file"] == "bad.json"}
    assert raw[3] == '{"GLOBALEVENTID": "1", '
    assert json.loads(raw[2])["SQLDATE"] == "20201340"
    # the good rows around them are kept, each with its own line
    got = sorted((r["source_file"], r["source_line"]) for r in store.events().to_pylist())
    assert got == [("bad.csv", 2), ("bad.csv", 5), ("bad.csv", 7), ("bad.json", 1), ("bad.json", 4), ("bad.json", 6)]
    by_file = {f.name: (f.rows_read, f.rows_kept, f.rows_rejected) for f in report.files}
    assert by_file == {"bad.csv": (6, 3, 3), "bad.json": (6, 3, 3)}


def test_bad_values_in_a_typed_export(real, tmp_path):
    _, _, chosen, _ = real
    table = bx.arrow_table(chosen[:4], COLUMNS)
    ids = table["GLOBALEVENTID"].to_pylist()
    ids[2] = None
    table = table.set_column(0, "GLOBALEVENTID", pa.array(ids, pa.int64()))
    pq.write_table(table, tmp_path / "bad.parquet")
    store = Store(tmp_path / "s")
    store.ingest([tmp_path / "bad.parquet"])
    q = store.quarantine().to_pylist()
    assert [(r["source_file"], r["source_line"], r["reason"]) for r in q] == [("bad.parquet", 3, "missing GLOBALEVENTID")]
    assert json.loads(q[0]["raw"])["SQLDATE"] == str(chosen[2]["SQLDATE"])
    assert sorted(store.events()["source_line"].to_pylist()) == [1, 2, 4]


def test_totals_file_bad_rows(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("source,day,events\ngdelt2,20201113,10\ngdelt2,2020-11-14,5\ngdelt1,20201115,3\n"
                 "gdelt2,20201131,4\ngdelt2,20201115,x\n")
    store = Store(tmp_path / "s")
    store.ingest([p])
    q = [(r["source_line"], r["reason"]) for r in store.quarantine().to_pylist()]
    assert q == [(4, "source 'gdelt1' is not the file's (gdelt2): one source per totals file"),
                 (5, "bad day '20201131'"), (6, "bad events 'x'")]
    assert [(str(r["day"]), r["events"]) for r in store.daily_totals().to_pylist()] == [("2020-11-13", 10), ("2020-11-14", 5)]


def test_an_export_without_a_required_column_fails_in_one_line(real, tmp_path):
    _, _, chosen, _ = real
    path = bx.write_csv(chosen, [c for c in COLUMNS if c != "QuadClass"], tmp_path / "noquad.csv")
    with pytest.raises(InputError, match="without the column.s. QuadClass"):
        detect(InputFile(path))
    r = run("ingest", str(path), "--store", str(tmp_path / "s"))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "noquad.csv" in lines[0] and "QuadClass" in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert set(REQUIRED) <= set(COLUMNS)


def test_corrupt_exports_fail_in_one_line(real, tmp_path):
    _, _, chosen, _ = real
    pq_path = bx.write_parquet(chosen, COLUMNS, tmp_path / "cut.parquet")
    pq_path.write_bytes(pq_path.read_bytes()[:2000])
    gz = tmp_path / "cut.csv.gz"
    gz.write_bytes(gzip.compress(bx.write_csv(chosen, COLUMNS, tmp_path / "x.csv").read_bytes())[:3000])
    for p in (pq_path, gz):
        r = run("ingest", str(p), "--store", str(tmp_path / "s"))
        assert r.returncode == 1, r.stdout
        errors = [l for l in r.stderr.splitlines() if l.strip()]
        assert len(errors) == 1 and p.name in errors[0] and "Traceback" not in r.stderr, r.stderr


def test_cli_says_a_filtered_export_has_no_totals(real, tmp_path):
    _, rows, chosen, _ = real
    export = bx.write_parquet(chosen, COLUMNS, tmp_path / "e.parquet")
    r = run("ingest", str(export), "--store", str(tmp_path / "s"), "--countries", "RUS,TUR")
    assert r.returncode == 0, r.stderr
    assert "1,025 rows read, 1,025 kept, 1,025 new events stored" in r.stdout
    assert "gave events but no per-day totals (e.parquet" in r.stdout
    assert "dyadwatch fetch bigquery --print-sql" in r.stdout
    totals = bx.write_csv(bx.totals_rows(rows), ["source", "day", "events"], tmp_path / "t.csv")
    r = run("ingest", str(totals), "--store", str(tmp_path / "s"))
    assert r.returncode == 0 and "no per-day totals" not in r.stdout
    status = json.loads(run("status", "--json", "--store", str(tmp_path / "s")).stdout)
    (gdelt2,) = status["sources"]
    days = len({r["SQLDATE"] for r in rows})
    assert (gdelt2["events"], gdelt2["all_events_total"], gdelt2["days_with_totals"]) == (1025, 9354, days)
