"""The dyad index: built by compaction, sorted by country pair, unioned with parts ingested later,
ignored when stale, and never the cause of a row seen twice or missed."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dyadwatch.store import dyad_index
from dyadwatch.store import Store

from conftest import KARABAKH, RAW

# counted independently of dyadwatch, with awk over the three zips (columns 8 and 18 of GDELT 2.0):
# every row has two different actor countries; 57 are RUS-TUR, 178 ARM-AZE, 242 CHN-USA
KARABAKH_ROWS, RUS_TUR, ARM_AZE, CHN_USA = 9354, 57, 178, 242


def pair_counts(store: Store, *pairs: tuple[str, str]) -> list[int]:
    con = store.connect()
    try:
        return [con.execute(f"SELECT count(*) FROM {dyad_index.DYAD_ROWS} WHERE pair_lo = ? AND pair_hi = ?",
                            list(p)).fetchone()[0] for p in pairs]
    finally:
        con.close()


def rows_of(store: Store) -> list[tuple]:
    con = store.connect()
    try:
        return sorted(con.execute(f"SELECT source, event_id, pair_lo, pair_hi FROM {dyad_index.DYAD_ROWS}").fetchall())
    finally:
        con.close()


def index_state(store: Store) -> dyad_index.IndexState:
    return store.catalog.index_state()[0]


def test_compaction_builds_a_pair_sorted_index(store_dir):
    store = Store(store_dir)
    store.ingest([KARABAKH])
    assert index_state(store).path is None  # no index before the first compaction
    assert pair_counts(store, ("RUS", "TUR"), ("ARM", "AZE"), ("CHN", "USA")) == [RUS_TUR, ARM_AZE, CHN_USA]

    report = store.compact()
    assert report.index_built and report.index_rows == KARABAKH_ROWS
    state = index_state(store)
    assert state.path and len(state.covered) == len(store.part_paths())
    files = sorted(Path(state.path).glob("pair_lo=*/*.parquet"))
    assert len(files) == len({p.parent for p in files}) > 10  # one file per pair_lo
    total = 0
    for f in files:  # each file sorted by pair, date, source, id; its pair_lo in the folder name
        lo = f.parent.name.removeprefix("pair_lo=")
        t = pq.read_table(f, columns=["pair_hi", "event_date", "source", "event_id"])
        keys = list(zip(*(t[c].to_pylist() for c in t.column_names)))
        assert keys == sorted(keys) and all(lo < hi for hi, *_ in keys)
        total += len(keys)
    assert total == KARABAKH_ROWS
    # everything is read from the index now: the same counts
    assert pair_counts(store, ("RUS", "TUR"), ("ARM", "AZE"), ("CHN", "USA")) == [RUS_TUR, ARM_AZE, CHN_USA]

    again = store.compact()  # nothing new: neither months nor the index are rebuilt
    assert not again.index_built and index_state(store).path == state.path


def test_parts_ingested_after_the_index_are_read_from_the_parts(store_dir):
    store = Store(store_dir)
    store.ingest([KARABAKH])
    store.compact()
    indexed = rows_of(store)
    store.ingest([RAW / "events.csv"])  # 100 real GDELT 2.0 rows of another day
    con = store.connect()
    try:
        new = con.execute(
            "SELECT count(*) FROM events WHERE actor1_country IS NOT NULL AND actor2_country IS NOT NULL "
            "AND actor1_country <> actor2_country AND source_file LIKE '%events.csv'").fetchone()[0]
    finally:
        con.close()
    assert new > 0
    after = rows_of(store)
    assert len(after) == len(indexed) + new and len(set(after)) == len(after)  # none twice
    assert set(indexed) <= set(after)
    store.compact()  # folds the new part in and rebuilds the index from all parts
    assert index_state(store).rows == len(after) and rows_of(store) == after


def test_a_stale_index_is_ignored(store_dir, monkeypatch):
    store = Store(store_dir)
    first, second, third = sorted(KARABAKH.glob("*.zip"))
    store.ingest([first, second])
    store.compact()
    before = rows_of(store)
    store.ingest([third])  # a second part in the indexed month 2020-11
    with_new = rows_of(store)
    assert len(with_new) == KARABAKH_ROWS

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    # killed after the months were swapped but before the new index was recorded: the old index
    # names parts that are gone, so readers fall back to the parts
    monkeypatch.setattr(dyad_index, "build", killed)
    with pytest.raises(KeyboardInterrupt):
        store.compact()
    monkeypatch.undo()
    assert index_state(store).path is None
    assert rows_of(store) == with_new and set(before) <= set(with_new)
    report = store.compact()  # months already compact, but no usable index: it is rebuilt
    assert report.months_compacted == 0 and report.index_built
    assert rows_of(store) == with_new


def test_an_unrecorded_index_file_is_deleted_by_the_next_write(store_dir):
    store = Store(store_dir)
    store.ingest([KARABAKH])
    store.compact()
    orphan = store_dir / dyad_index.INDEX_DIR / "dyads-deadbeef" / "pair_lo=RUS"
    orphan.mkdir(parents=True)
    (orphan / "data_0.parquet").write_bytes(b"PAR1")
    store.ingest([RAW / "events.csv"])
    assert not orphan.parent.exists()
    assert sorted(p.name for p in (store_dir / dyad_index.INDEX_DIR).iterdir()) == [Path(index_state(store).path).name]


def test_an_empty_store_compacts_without_an_index(store_dir):
    store = Store(store_dir)
    store.ingest([RAW / "events.csv"])
    with store.catalog.open(write=True) as con:  # a store whose parts were all removed
        con.execute("DELETE FROM parts")
    report = store.compact()
    assert report.index_rows == 0 and index_state(store).path is None
    assert rows_of(store) == []


def test_measures_and_events_read_the_index_and_give_the_same_answers(store_dir, tmp_path):
    """The same store with and without its index: identical indicators, comparison and dyad events,
    and with the index the frame's scan reads the index file (EXPLAIN names it)."""

    from dyadwatch.measures import api
    from dyadwatch.measures.frame import DYAD_ROWS, default_taxonomy, dyad_rows_sql

    store = Store(store_dir)
    store.ingest([KARABAKH])
    plain_events = store.events(dyad="TUR-RUS")
    plain_ind = api.indicators(store, "RUS-TUR")
    plain_cmp = api.compare(store, "RUS", ["TUR", "ARM", "AZE"])
    store.compact()
    assert index_state(store).path

    events = store.events(dyad="TUR-RUS")
    assert events.num_rows == RUS_TUR and events.equals(plain_events)
    assert api.indicators(store, "RUS-TUR").equals(plain_ind)
    assert api.compare(store, "RUS", ["TUR", "ARM", "AZE"]).equals(plain_cmp)

    sql, params = dyad_rows_sql(default_taxonomy(None), "RUS", ["TUR", "ARM"], relation=DYAD_ROWS)
    assert sql.count("pair_lo = 'RUS' AND pair_hi = 'TUR'") == 1 and sql.count("pair_lo = 'ARM' AND pair_hi = 'RUS'") == 1
    from dyadwatch.engines.duckdb_engine import DuckDBEngine

    con = store.connect()
    try:
        eng = DuckDBEngine(con, owned=False)  # the frame picks dyad_rows only when the engine has it
        assert eng.has_relation(DYAD_ROWS) and eng.has_relation("events") and not eng.has_relation("nothing")
        plan = "\n".join(r[1] for r in con.execute("EXPLAIN " + sql, params).fetchall())
        both = con.execute(
            "SELECT count(*) FROM events WHERE (actor1_country = 'ARM' AND actor2_country = 'RUS') "
            "OR (actor1_country = 'RUS' AND actor2_country = 'ARM') "
            "OR (actor1_country = 'RUS' AND actor2_country = 'TUR') "
            "OR (actor1_country = 'TUR' AND actor2_country = 'RUS')").fetchone()[0]
        assert con.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0] == both > RUS_TUR
    finally:
        con.close()
    assert "pair_lo = 'RUS'" in plan and "pair_hi = 'TUR'" in plan  # pushed into the Parquet scan


def test_contacts_read_the_pair_from_the_index_and_count_the_same(tmp_path):
    """Leader contacts (alone and inside the comparison) read the pair's rows from the index once there is
    one, instead of the whole store or the frame's kept rows: the same 22 contacts either way
    (test_claims' store A: 12 calls and 10 meetings of Putin and Erdogan)."""
    from dyadwatch.measures import api
    from dyadwatch.measures.frame import PAIR_EVENTS, connect, has_dyad_index, pair_events

    from test_claims import build_contacts_store

    store, _ = build_contacts_store(tmp_path)
    before = api.contacts(store, "RUS-TUR")
    before_cmp = api.compare(store, "RUS", ["TUR", "FRA"])
    assert before.num_rows == 22 and before_cmp.column("leader_contacts").to_pylist() == [22, 0]
    con = connect(store)
    try:
        # no index yet: a pair's read would scan the parts, so contacts read `events` and the
        # comparison keeps its rows
        assert not has_dyad_index(con) and pair_events(con, "TUR", "RUS") == "events"
    finally:
        con.close()

    store.compact()
    assert index_state(store).path
    assert api.contacts(store, "RUS-TUR").equals(before)
    assert api.compare(store, "RUS", ["TUR", "FRA"]).equals(before_cmp)
    con = connect(store)
    try:
        assert has_dyad_index(con) and pair_events(con, "RUS", "TUR") == PAIR_EVENTS
        assert con.execute(f"SELECT count(*) FROM {PAIR_EVENTS}").fetchone()[0] == 22
    finally:
        con.close()
