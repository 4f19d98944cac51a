"""The store: counts on real data, idempotency, duplicate ids, totals, atomicity, quarantine."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections import Counter
from pathlib import Path

import pytest

import dyadwatch
from dyadwatch.knowledge.schema import EVENT_SCHEMA
from dyadwatch.store import COMPACT_ROW_GROUP, Store
from dyadwatch.store.catalog import Catalog

from conftest import GEORGIA, KARABAKH, RAW

RUS_TUR = frozenset({"RUS", "TUR"})


def raw_rows(zip_path: Path) -> list[list[str]]:
    with zipfile.ZipFile(zip_path) as zf:
        text = zf.read(zf.namelist()[0]).decode("utf-8")
    return [line.split("\t") for line in text.splitlines() if line]


def test_karabakh_counts_and_idempotent(store_dir):
    store = dyadwatch.open(store_dir)
    first = store.ingest([KARABAKH])
    assert (first.rows_read, first.rows_kept, first.rows_stored, first.rows_rejected) == (9354, 9354, 9354, 0)
    assert len(first.files) == 3 and not first.failed
    dyad = store.events(dyad="RUS-TUR")
    assert dyad.num_rows == 57
    assert dyad.schema == EVENT_SCHEMA
    assert set(zip(dyad["actor1_country"].to_pylist(), dyad["actor2_country"].to_pylist())) == {
        ("RUS", "TUR"), ("TUR", "RUS")
    }
    parts_before = sorted(p.name for p in store_dir.rglob("*.parquet"))
    manifest_before = store.manifest().num_rows

    again = store.ingest([KARABAKH])
    assert len(again.files) == 0 and len(again.skipped) == 3 and again.rows_stored == 0
    assert sorted(p.name for p in store_dir.rglob("*.parquet")) == parts_before
    assert store.manifest().num_rows == manifest_before == 3
    assert store.status()["events"] == 9354
    assert store.events().num_rows == 9354


def test_duplicate_event_ids_are_stored_once(store_dir, tmp_path):
    store = Store(store_dir)
    store.ingest([KARABAKH / "20201113.export.CSV.zip"])
    # another file (different bytes) repeating 10 already-stored events plus one new event id
    rows = raw_rows(KARABAKH / "20201113.export.CSV.zip")[:10]
    new = list(rows[0])
    new[0] = "999999999999"
    overlap = tmp_path / "overlap.export.CSV"
    overlap.write_text("\n".join("\t".join(r) for r in [*rows, new, rows[3]]) + "\n")
    report = store.ingest([overlap])
    assert report.rows_kept == 12
    assert report.rows_stored == 1
    assert store.events().num_rows == 2824 + 1
    ids = store.events()["event_id"].to_pylist()
    assert len(ids) == len(set(ids))


def test_duplicate_ids_in_one_batch_keep_the_first_row_by_file_and_line(store_dir, tmp_path):
    rows = raw_rows(KARABAKH / "20201113.export.CSV.zip")[:4]
    folder = tmp_path / "dups"
    folder.mkdir()

    def variant(row, tone):
        row = list(row)
        row[34] = tone  # AvgTone: tells the copies apart
        return "\t".join(row)

    # one id three times: twice in b (lines 2 and 3), once in a (line 3); a sorts first, so a's wins
    same = rows[0]
    (folder / "b.export.CSV").write_text("\n".join([
        variant(rows[1], "1"), variant(same, "2"), variant(same, "3"),
    ]) + "\n")
    (folder / "a.export.CSV").write_text("\n".join([
        variant(rows[2], "4"), variant(rows[3], "5"), variant(same, "6"),
    ]) + "\n")
    store = Store(store_dir)
    report = store.ingest([folder], workers=2)
    assert report.rows_kept == 6 and report.rows_stored == 4
    events = store.events()
    tone = dict(zip(events["event_id"].to_pylist(), events["avg_tone"].to_pylist()))
    assert tone[int(same[0])] == 6.0
    got = {(r["source_file"], r["source_line"]) for r in events.select(["source_file", "source_line"]).to_pylist()}
    assert got == {("a.export.CSV", 1), ("a.export.CSV", 2), ("a.export.CSV", 3), ("b.export.CSV", 1)}
    stored = dict(zip(store.manifest()["name"].to_pylist(), store.manifest()["rows_stored"].to_pylist()))
    assert stored == {"a.export.CSV": 3, "b.export.CSV": 1}


def test_country_filter_keeps_totals_of_all_events(store_dir):
    store = Store(store_dir)
    report = store.ingest([KARABAKH], countries=RUS_TUR)
    assert report.rows_read == 9354 and report.rows_stored == 1025
    events = store.events()
    assert events.num_rows == 1025
    assert all(
        "RUS" in pair or "TUR" in pair
        for pair in zip(events["actor1_country"].to_pylist(), events["actor2_country"].to_pylist())
    )
    # totals count every row by event date, independently of the filter
    expected = Counter()
    for z in sorted(KARABAKH.glob("*.zip")):
        for r in raw_rows(z):
            expected[dt.date(int(r[1][:4]), int(r[1][4:6]), int(r[1][6:8]))] += 1
    totals = store.daily_totals()
    assert dict(zip(totals["day"].to_pylist(), totals["events"].to_pylist())) == dict(expected)
    assert sum(expected.values()) == 9354
    status = store.status()
    assert status["filters"] == ["RUS,TUR"]
    assert status["sources"][0]["rows_filtered"] == 9354 - 1025
    assert status["sources"][0]["all_events_total"] == 9354


def test_georgia_v1(store_dir):
    store = Store(store_dir)
    report = store.ingest([GEORGIA])
    assert (report.rows_read, report.rows_stored, report.rows_rejected) == (105438, 105438, 0)
    status = store.status()["sources"][0]
    assert status["source"] == "gdelt1" and status["files"] == 23
    # March 2013 is missing from the sample; events are partitioned by event date
    months = {p.parent.name for p in (store_dir / "events" / "source=gdelt1").rglob("*.parquet")}
    assert "month=3" in months  # earlier years' March is there


def test_ragged_v1_sample_loads_fully(store_dir):
    store = Store(store_dir)
    report = store.ingest([RAW / "events1.csv"])
    assert (report.rows_read, report.rows_stored, report.rows_rejected) == (100, 100, 0)
    events = store.events()
    urls = events["source_url"].to_pylist()
    assert sum(u is None for u in urls) == 40  # the 57-column backfile rows have no SOURCEURL


def test_date_range_and_api_conveniences(store_dir):
    store = Store(store_dir)
    store.ingest([KARABAKH])
    # independent count: RUS-TUR rows with SQLDATE on 2020-11-14
    expected = sum(
        1
        for z in sorted(KARABAKH.glob("*.zip"))
        for r in raw_rows(z)
        if {r[7], r[17]} == {"RUS", "TUR"} and r[1] == "20201114"
    )
    day = store.events(dyad=("TUR", "RUS"), start="2020-11-14", end=dt.date(2020, 11, 14))
    assert day.num_rows == expected
    assert set(day["event_date"].to_pylist()) <= {dt.date(2020, 11, 14)}
    assert store.to_pandas(dyad="RUS-TUR").shape == (57, len(EVENT_SCHEMA))
    assert store.to_polars(dyad="RUS-TUR").shape == (57, len(EVENT_SCHEMA))


def test_quarantine_and_unreadable_file(store_dir, tmp_path):
    rows = raw_rows(KARABAKH / "20201113.export.CSV.zip")[:5]
    bad = [list(r) for r in rows]
    bad[1][1] = "20201340"
    bad[3] = bad[3][:60]
    f = tmp_path / "mixed.export.CSV"
    f.write_text("\n".join("\t".join(r) for r in bad) + "\n")
    truncated = tmp_path / "20201114.export.CSV.zip"
    data = (KARABAKH / "20201114.export.CSV.zip").read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    store = Store(store_dir)
    report = store.ingest([f, truncated])
    assert report.rows_stored == 3
    assert [x.name for x in report.failed] == ["20201114.export.CSV.zip"]
    assert "20201114.export.CSV.zip" in report.failed[0].error and "\n" not in report.failed[0].error
    q = store.quarantine().to_pylist()
    assert [(r["source_file"], r["source_line"], r["reason"]) for r in q] == [
        ("mixed.export.CSV", 2, "bad SQLDATE '20201340'"),
        ("mixed.export.CSV", 4, "expected 61 columns, found 60"),
    ]
    assert q[1]["raw"] == "\t".join(bad[3])
    # the unreadable file is not in the manifest, so a rerun retries it
    assert store.manifest()["name"].to_pylist() == ["mixed.export.CSV"]


def test_killed_commit_leaves_nothing_visible_and_rerun_completes(store_dir, monkeypatch):
    store = Store(store_dir)

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Catalog, "record", boom)
    with pytest.raises(KeyboardInterrupt):
        store.ingest([KARABAKH])
    assert list(store_dir.glob("events/**/*.parquet"))  # parts were written ...
    assert Store(store_dir).part_paths() == []  # ... but are not visible
    monkeypatch.undo()
    report = Store(store_dir).ingest([KARABAKH])
    assert report.rows_stored == 9354
    assert Store(store_dir).events().num_rows == 9354
    files_on_disk = sorted(str(p.resolve()) for p in store_dir.glob("events/**/*.parquet"))
    assert files_on_disk == Store(store_dir).part_paths()  # the orphans were cleaned up


def test_empty_store_errors(store_dir):
    with pytest.raises(dyadwatch.StoreError, match="no dyadwatch store here"):
        Store(store_dir).events()


def _event_rows(store: Store) -> list[tuple]:
    t = store.events()
    return sorted(zip(*(t[c].to_pylist() for c in ("source", "event_id", "event_date", "actor1_country",
                                                     "actor2_country", "event_code", "source_url"))))


def test_compact_one_sorted_part_per_month_same_events(store_dir):
    import pyarrow.parquet as pq

    store = Store(store_dir)
    for f in sorted(KARABAKH.glob("*.zip")):  # three ingests: three parts in each month they touch
        store.ingest([f])
    before = _event_rows(store)
    with store.catalog.open() as con:
        months = con.execute("SELECT count(DISTINCT (source, year, month)), count(*) FROM parts").fetchone()
    assert months[1] > months[0]

    report = store.compact()
    assert (report.months_compacted, report.parts_before, report.rows) == (months[0], months[1], 9354)
    assert _event_rows(store) == before
    parts = store.part_paths()
    assert len(parts) == months[0]
    assert sorted(str(p.resolve()) for p in store_dir.glob("events/**/*.parquet")) == parts  # old files gone
    for p in parts:
        meta = pq.ParquetFile(p).metadata
        assert all(meta.row_group(i).num_rows <= COMPACT_ROW_GROUP for i in range(meta.num_row_groups))

    again = store.compact()  # idempotent
    assert again.months_compacted == 0 and again.months_kept == months[0]
    assert store.part_paths() == parts

    # ingest after compaction: the new rows join; the next compaction folds them in
    store.ingest([RAW / "events1.csv"])
    total = store.status()["events"]
    assert total > 9354
    store.compact()
    assert store.status()["events"] == total
    assert len(store.part_paths()) == len({Path(p).parent for p in store.part_paths()})  # one per month


def test_compacted_parts_sorted_by_countries(store_dir):
    import pyarrow.parquet as pq

    store = Store(store_dir)
    store.ingest([KARABAKH])
    store.compact()
    for p in store.part_paths():
        t = pq.read_table(p, columns=["actor1_country", "actor2_country", "event_date", "event_id"])
        rows = list(zip(*(t[c].to_pylist() for c in t.column_names)))
        # ORDER BY with DuckDB's default NULLS LAST: None sorts after every code
        key = [tuple((v is None, v) for v in r) for r in rows]
        assert key == sorted(key)


def test_killed_compaction_changes_nothing_visible(store_dir, monkeypatch):
    store = Store(store_dir)
    for f in sorted(KARABAKH.glob("*.zip")):
        store.ingest([f])
    before, parts = _event_rows(store), store.part_paths()
    real = Catalog.open
    calls = {"n": 0}

    def dies_at_the_swap(self, write=False):
        if write:
            calls["n"] += 1
            if calls["n"] == 2:  # the first write is the orphan clean-up, the second the first swap
                raise KeyboardInterrupt
        return real(self, write)

    monkeypatch.setattr(Catalog, "open", dies_at_the_swap)
    with pytest.raises(KeyboardInterrupt):
        store.compact()
    monkeypatch.undo()
    assert Store(store_dir).part_paths() == parts and _event_rows(Store(store_dir)) == before
    assert len(list(store_dir.glob("events/**/*.parquet"))) > len(parts)  # the unrecorded new part
    Store(store_dir).compact()
    assert _event_rows(Store(store_dir)) == before
    assert sorted(str(p.resolve()) for p in store_dir.glob("events/**/*.parquet")) == Store(store_dir).part_paths()
