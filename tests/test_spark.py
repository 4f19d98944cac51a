"""The Spark engine against the DuckDB one on the same fixture: the same events from ingest, and
exactly the same indicators, shift series, partner comparison, contacts and claims from the measures
(`Table.equals`: every value, every bit). One local SparkSession serves the whole module.

The fixture: the three real Karabakh exports, two years of synthetic exports (`dyadwatch synth`), and a
hand-made export holding repeated ids (of another file and within itself), a row that cannot be read,
and leader-level contacts (real rows with Putin and Erdogan as the actors), plus an empty file."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import zipfile
from pathlib import Path

import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from dyadwatch.judgements import claims, scenarios
from dyadwatch.measures import api
from dyadwatch.store import Store
from dyadwatch.acquire.synth import synth

from conftest import KARABAKH

pytest.importorskip("pyspark")
from dyadwatch.engines import EngineError  # noqa: E402
from dyadwatch.engines.spark_engine import require_spark  # noqa: E402

try:
    require_spark()
except EngineError as exc:  # pragma: no cover - CI has Java 17
    pytest.skip(str(exc), allow_module_level=True)

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")

D = dt.date
PARTNERS = ["TUR", "CHN", "IND", "IRN", "PRK", "AZE", "ARM"]
MANIFEST = ["md5", "name", "path", "size", "source", "rows_read", "rows_kept", "rows_stored", "rows_rejected",
            "rows_filtered", "countries"]


@pytest.fixture(scope="module")
def spark():
    from dyadwatch.engines.spark_engine import session

    s = session("local[2]")
    yield s
    s.stop()


def raw_rows(zip_path: Path) -> list[list[str]]:
    with zipfile.ZipFile(zip_path) as zf:
        text = zf.read(zf.namelist()[0]).decode("utf-8")
    return [line.split("\t") for line in text.splitlines() if line]


def messy_export(path: Path) -> None:
    """Repeats of another file's ids, an id twice in this file, a bad date, and leader contacts."""
    rows = raw_rows(KARABAKH / "20201113.export.CSV.zip")
    out = [list(r) for r in rows[:10]]  # ids 20201113 already holds: not stored again
    fresh = list(rows[20])
    fresh[0] = "999999000001"
    out += [fresh, list(fresh)]  # a new id, twice: the first line's row is kept
    out[-1][34] = "-9.5"  # ... and the copy differs, so keeping the wrong one would show
    bad = list(rows[21])
    bad[0], bad[1] = "999999000002", "20201331"
    out.append(bad)  # no 31st of the 13th month: quarantined
    rus_tur = [r for r in rows if {r[7], r[17]} == {"RUS", "TUR"}]
    for k, (code, day, url) in enumerate([
        ("042", "20201112", "https://news.example/putin-visits-ankara"),
        ("041", "20201113", "https://news.example/putin-erdogan-phone-call"),
        ("040", "20201113", "https://news.example/putin-erdogan-consult"),
        ("044", "20201110", "https://news.example/leaders-meet-in-sochi"),
    ]):
        r = list(rus_tur[k])
        r[0], r[1], r[2], r[3] = f"99999900010{k}", day, day[:6], day[:4]
        r[5], r[6], r[7] = "RUSGOV", "VLADIMIR PUTIN", "RUS"
        r[15], r[16], r[17] = "TURGOV", "RECEP TAYYIP ERDOGAN", "TUR"
        r[26], r[27], r[28], r[29] = code, code, code[:2], "1"
        r[60] = url
        out.append(r)
    path.write_text("\n".join("\t".join(r) for r in out) + "\n")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs") / "in"
    synth(30_000, D(2019, 6, 1), D(2021, 5, 31), folder, seed=11, files=60, jobs=1)
    for p in sorted(KARABAKH.glob("*.zip")):
        shutil.copy(p, folder / p.name)
    messy_export(folder / "zz-messy.export.CSV")
    (folder / "zz-empty.export.CSV").write_text("")
    return folder


@pytest.fixture(scope="module")
def stores(spark, inputs, tmp_path_factory) -> dict:
    from dyadwatch.engines.spark_ingest import ingest

    root = tmp_path_factory.mktemp("stores")
    duck, sp = Store(root / "duckdb"), Store(root / "spark")
    return {"duckdb": duck, "spark": sp, "reports": (duck.ingest([inputs]), ingest(sp, [inputs], spark=spark))}


def test_ingest_stores_the_same_events_catalog_and_layout(stores):
    duck, sp = stores["duckdb"], stores["spark"]
    rd, rs = stores["reports"]
    assert (rd.rows_read, rd.rows_kept, rd.rows_stored, rd.rows_rejected) == \
        (rs.rows_read, rs.rows_kept, rs.rows_stored, rs.rows_rejected)
    assert rd.rows_read == 30_000 + 9354 + 17 and rd.rows_rejected == 1
    # 30,000 + 9,354 rows; the messy file adds 6 new ids (one of them twice, one unreadable row)
    assert rd.rows_stored == 30_000 + 9354 + 5
    assert [Path(f.path).name for f in rd.failed] == [Path(f.path).name for f in rs.failed] == ["zz-empty.export.CSV"]
    events = duck.events()
    assert events.num_rows == rd.rows_stored
    assert sp.events().equals(events)
    assert events.filter(pc.equal(events["event_id"], 999999000001))["avg_tone"].to_pylist() != [-9.5]
    assert sp.manifest().select(MANIFEST).sort_by("name").equals(duck.manifest().select(MANIFEST).sort_by("name"))
    assert sp.quarantine().equals(duck.quarantine()) and sp.quarantine().num_rows == 1
    assert sp.daily_totals().equals(duck.daily_totals())
    # the same partitions with the same rows in each, in the layout either engine reads
    def layout(st):
        with st.catalog.open() as con:
            return con.execute("SELECT source, year, month, sum(rows) FROM parts GROUP BY ALL ORDER BY ALL").fetchall()
    assert layout(sp) == layout(duck) and len(layout(duck)) >= 24


def test_indicators_are_identical(stores):
    duck, sp = stores["duckdb"], stores["spark"]
    want = api.indicators(duck, "RUS-TUR", by="month", tracks="all,each", theatres="all,each")
    assert want.num_rows > 1000 and pc.sum(want["events"]).as_py() > 0
    assert api.indicators(sp, "RUS-TUR", by="month", tracks="all,each", theatres="all,each", engine="spark").equals(want)
    # each engine reads what the other wrote
    want = api.indicators(duck, "RUS-TUR", by="year")
    assert api.indicators(duck, "RUS-TUR", by="year", engine="spark").equals(want)
    assert api.indicators(sp, "RUS-TUR", by="year", engine="duckdb").equals(want)


def test_shift_series_and_shifts_are_identical(stores):
    duck, sp = stores["duckdb"], stores["spark"]
    names = ("events", "share_of_all", "net_cooperation", "goldstein_mean", "mean_tone", "quad1_share")
    want = api.monthly_series(duck, "RUS-TUR", indicators_=names)
    assert want.num_rows >= 24  # two years of synthetic months, and the real November 2020
    assert api.monthly_series(sp, "RUS-TUR", indicators_=names, engine="spark").equals(want)
    shifts = api.shifts(duck, "RUS-TUR", threshold=2.0)
    assert api.shifts(sp, "RUS-TUR", threshold=2.0, engine="spark").equals(shifts)
    assert shifts.num_rows > 0  # the real Karabakh week stands out of the synthetic months


def test_partner_comparison_is_identical(stores):
    duck, sp = stores["duckdb"], stores["spark"]
    want = api.compare(duck, "RUS", PARTNERS)
    assert want.num_rows == len(PARTNERS) and all(t is not None for t in want["trend"].to_pylist())
    assert api.compare(sp, "RUS", PARTNERS, engine="spark").equals(want)


def test_contacts_are_identical(stores):
    duck, sp = stores["duckdb"], stores["spark"]
    want = api.contacts(duck, "RUS-TUR")
    # a meeting on the 10th and, two days later, a single report of a visit: one in-person encounter (an
    # echo folded in; its kind the most specific, a visit); on the 13th a call, with the consultation that
    # day counted toward it
    assert [(r["day"], r["kind"], r["days_reported"]) for r in want.to_pylist()] == [
        (D(2020, 11, 10), "visit", [D(2020, 11, 10), D(2020, 11, 12)]), (D(2020, 11, 13), "call", [D(2020, 11, 13)])]
    assert api.contacts(sp, "RUS-TUR", engine="spark").equals(want)
    assert api.contacts_per_year(sp, "RUS-TUR", engine="spark").equals(api.contacts_per_year(duck, "RUS-TUR"))


def test_claims_and_scenarios_are_identical(stores):
    duck, sp = stores["duckdb"], stores["spark"]
    want = claims.verdicts_table(claims.check(duck, None, "RUS-TUR"))
    assert want.num_rows > 5
    assert claims.verdicts_table(claims.check(sp, None, "RUS-TUR", engine="spark")).equals(want)
    want = scenarios.signposts_table(scenarios.evaluate(duck, None, "RUS-TUR"))
    assert scenarios.signposts_table(scenarios.evaluate(sp, None, "RUS-TUR", engine="spark")).equals(want)


def test_cli_engine_spark(stores, inputs, tmp_path):
    from dyadwatch.cli import app

    runner = CliRunner()
    duck, sp = stores["duckdb"], stores["spark"]
    args = ["indicators", "--dyad", "RUS-TUR", "--track", "all,diplomacy", "--format", "csv"]
    want = runner.invoke(app, [*args, "--store", str(duck.root)])
    got = runner.invoke(app, [*args, "--store", str(sp.root), "--engine", "spark"])
    assert want.exit_code == got.exit_code == 0, got.output
    assert got.output == want.output and want.output.count("\n") > 50
    # ingest as a user would: a part on DuckDB, the rest on Spark, then again (nothing new)
    mixed = tmp_path / "mixed"
    first = runner.invoke(app, ["ingest", str(inputs / "20201113.export.CSV.zip"), "--store", str(mixed)])
    assert first.exit_code == 0
    rest = runner.invoke(app, ["ingest", str(inputs), "--store", str(mixed), "--engine", "spark"])
    assert rest.exit_code == 1  # the empty file is named, the rest ingested
    assert "zz-empty.export.CSV: empty file" in rest.output and "skipped 1 already in the store" in rest.output
    assert Store(mixed).events().equals(duck.events())
    again = runner.invoke(app, ["ingest", str(inputs), "--store", str(mixed), "--engine", "spark"])
    assert "ingested 0 file(s), skipped 64 already in the store" in again.output
    assert Store(mixed).events().equals(duck.events())


def test_spark_batches_and_stored_ids(spark, inputs, tmp_path):
    """Small batches: ids a later batch repeats are found among the stored ones, as in one batch."""
    from dyadwatch.engines.spark_ingest import ingest

    karabakh = sorted(inputs.glob("20201113*.zip")) + [inputs / "zz-messy.export.CSV"]
    one = Store(tmp_path / "one")
    one.ingest(karabakh)
    small = Store(tmp_path / "small")
    report = ingest(small, karabakh, spark=spark, batch_files=1)
    assert report.rows_stored == one.status()["events"] == 2824 + 5
    assert small.events().equals(one.events())
    assert small.manifest().select(MANIFEST).sort_by("name").equals(one.manifest().select(MANIFEST).sort_by("name"))


def test_duckdb_path_never_imports_spark(stores, tmp_path):
    """pyspark stays optional: the default engine does not load it (run in a fresh interpreter)."""
    import subprocess

    code = ("import sys; from typer.testing import CliRunner; from dyadwatch.cli import app; "
            f"r = CliRunner().invoke(app, ['compare', 'RUS', '--store', {str(stores['duckdb'].root)!r}]); "
            "assert r.exit_code == 0, r.output; "
            "assert 'pyspark' not in sys.modules and 'py4j' not in sys.modules, 'spark imported'; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


def test_a_store_without_parts(spark, tmp_path):
    """A store whose every row was filtered out still answers, with the same (empty) tables."""
    store = Store(tmp_path / "none")
    report = store.ingest([KARABAKH / "20201113.export.CSV.zip"], countries=frozenset({"ZZZ"}))
    assert report.rows_stored == 0 and store.part_paths() == []
    want = api.indicators(store, "RUS-TUR")
    assert want.num_rows == 6 * 3 and pc.sum(want["events"]).as_py() == 0  # the month, zero events
    assert api.indicators(store, "RUS-TUR", engine="spark").equals(want)
    assert api.compare(store, "RUS", ["TUR"], engine="spark").equals(api.compare(store, "RUS", ["TUR"]))
