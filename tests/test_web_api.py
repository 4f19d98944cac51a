"""The JSON API through FastAPI's TestClient: exact values on the real Karabakh sample and on the hand-made
shift fixture (test_web_support), paging and its cap, strict validation (codes, dates, names), SQL
injection strings, error bodies that are one JSON line and never a traceback, and the cache following
the store."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from dyadwatch.measures import api as measures
from dyadwatch.store import Store

from conftest import KARABAKH
from test_web_support import AFTER, BASE, CALL_URL, HOSTILE_URL, build_shift_store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from dyadwatch.web import create_app  # noqa: E402
from dyadwatch.web.api import MAX_PAGE  # noqa: E402

INJECTIONS = ["RUS-TUR' OR '1'='1", "RUS-TUR; DROP TABLE parts; --", "RUS' --", "1 OR 1=1", "' UNION SELECT * FROM files --",
              "RUS-TUR\x00", "%27%20OR%201=1", "RUS-TUR)) OR ((1=1"]


@pytest.fixture(scope="module")
def karabakh_store(tmp_path_factory) -> Store:
    store = Store(tmp_path_factory.mktemp("web-karabakh") / "store")
    store.ingest([str(KARABAKH)])
    return store


@pytest.fixture(scope="module")
def kb(karabakh_store):
    with TestClient(create_app(karabakh_store), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def shift_store(tmp_path_factory):
    return build_shift_store(tmp_path_factory.mktemp("web-shifts"))


@pytest.fixture(scope="module")
def fx(shift_store):
    store, fixture = shift_store
    with TestClient(create_app(store), raise_server_exceptions=False) as c:
        yield c, fixture


def error_of(r, status: int) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"]
    assert "Traceback" not in r.text and 'File "' not in r.text
    return body["error"]


# -- exact values -------------------------------------------------------------------------------------


def test_events_of_the_karabakh_sample(kb):
    r = kb.get("/api/events", params={"dyad": "RUS-TUR"})
    assert r.status_code == 200
    page = r.json()
    assert page["total"] == 57  # as `dyadwatch events --dyad RUS-TUR` (tests/test_cli.py)
    assert (page["limit"], page["offset"], page["next_offset"]) == (100, 0, None)
    assert len(page["items"]) == 57
    assert {(e["actor1_country"], e["actor2_country"]) for e in page["items"]} == {("RUS", "TUR"), ("TUR", "RUS")}
    # the direction filter splits the 57 and the order is date, source, id
    one = kb.get("/api/events", params={"dyad": "TUR-RUS", "direction": "RUS>TUR"}).json()
    other = kb.get("/api/events", params={"dyad": "RUS-TUR", "direction": "TUR>RUS"}).json()
    assert one["total"] + other["total"] == 57 and one["total"] > 0 and other["total"] > 0
    keys = [(e["event_date"], e["source"], e["event_id"]) for e in page["items"]]
    assert keys == sorted(keys)


def test_events_filters_quad_text_and_ids(kb, karabakh_store):
    rows = karabakh_store.events(dyad="RUS-TUR").to_pylist()
    conflict = kb.get("/api/events", params={"dyad": "RUS-TUR", "quad": "3,4"}).json()
    assert conflict["total"] == sum(1 for e in rows if e["quad_class"] in (3, 4))
    host = next(e["source_url"] for e in rows if e["source_url"])
    domain = host.split("/")[2]
    by_text = kb.get("/api/events", params={"dyad": "RUS-TUR", "q": domain.upper()}).json()
    assert by_text["total"] == sum(1 for e in rows if e["source_url"] and domain in e["source_url"].lower())
    ids = [rows[0]["event_id"], rows[5]["event_id"]]
    by_id = kb.get("/api/events", params={"dyad": "RUS-TUR", "ids": f"{ids[0]},{ids[1]}"}).json()
    assert sorted(e["event_id"] for e in by_id["items"]) == sorted(ids)
    assert kb.get("/api/events", params={"dyad": "RUS-TUR", "from": "2020-11-14", "to": "2020-11-14"}).json()["total"] == \
        sum(1 for e in rows if e["event_date"].isoformat() == "2020-11-14")


def test_indicators_both_directions_40_events(kb):
    r = kb.get("/api/indicators", params={"dyad": "RUS-TUR", "track": "all", "direction": "both"})
    page = r.json()
    assert page["total"] == 1
    row = page["items"][0]
    assert (row["period"], row["track"], row["theatre"], row["direction"]) == ("2020-11-01", "all", "all", "both")
    assert row["events"] == 40 and row["records"] == 57  # 57 RUS-TUR rows are 40 unique events
    assert row["all_events"] == 9354
    assert row["share_of_all"] == pytest.approx(57 / 9354)
    # every track plus all, three directions, by default
    full = kb.get("/api/indicators", params={"dyad": "RUS-TUR"}).json()
    assert full["total"] == 6 * 3
    assert {r["track"] for r in full["items"]} == {"all", "diplomacy", "economy_energy", "security_arms", "friction",
                                                   "leaders"}


def test_api_rows_equal_the_python_api(kb, karabakh_store):
    """The API serves what the measures return, row for row (no second implementation)."""
    want = measures.indicators(karabakh_store, "RUS-TUR", by="month", tracks="each", theatres="each").to_pylist()
    got = kb.get("/api/indicators", params={"dyad": "RUS-TUR", "track": "each", "theatre": "each",
                                           "limit": MAX_PAGE}).json()["items"]
    assert len(got) == len(want) > 0
    for g, w in zip(got, want):
        assert g["period"] == w["period"].isoformat()
        assert {k: g[k] for k in ("track", "theatre", "direction", "events", "records", "quad3")} == \
            {k: w[k] for k in ("track", "theatre", "direction", "events", "records", "quad3")}
    cmp = kb.get("/api/compare", params={"focal": "RUS", "partners": "TUR,CHN"}).json()
    want = measures.compare(karabakh_store, "RUS", ["TUR", "CHN"]).to_pylist()
    assert [(r["partner"], r["events"], r["records"]) for r in cmp["items"]] == \
        [(r["partner"], r["events"], r["records"]) for r in want]
    assert cmp["items"][0]["partner"] == "TUR" and cmp["items"][0]["events"] == 40


def test_status(kb, karabakh_store):
    s = kb.get("/api/status").json()
    assert s["events"] == 9354 and s["files"] == 3
    assert s["store"] == karabakh_store.root.name  # the folder's name, not a path on the server
    assert s["admin"] is False and s["page_size_cap"] == MAX_PAGE
    assert s["sources"][0]["first_event"] == "2020-11-13" and s["sources"][0]["last_event"] == "2020-11-15"


def test_shift_fixture_indicators_shifts_and_evidence(fx):
    c, fixture = fx
    page = c.get("/api/indicators", params={"dyad": "RUS-TUR", "track": "all", "direction": "both"}).json()
    got = [(r["period"], r["events"]) for r in page["items"]]
    # 2020-01 has the hostile row too, 2020-03 the call (two directions: two events), 2020-06 the visit
    extra = {1: 1, 3: 2, 6: 1}
    want = [(f"2019-{m:02d}-01", n) for m, n in enumerate(BASE, 1)] + \
        [(f"2020-{m:02d}-01", n + extra.get(m, 0)) for m, n in enumerate(AFTER, 1)]
    assert got == want
    shifts = c.get("/api/shifts", params={"dyad": "RUS-TUR", "indicator": "events"}).json()
    found = [(s["period"], s["method"]) for s in shifts["items"]]
    # PELT: mean 4.667 (2019) -> 20.917 (2020), the change at January; z-scores: January (21 vs mean 4.667,
    # sd 1.073: z = 15.2) and February (22 vs the 12 months before it, mean 6.083, sd 4.814: z = 3.31)
    assert found == [("2020-01-01", "changepoint"), ("2020-01-01", "zscore"), ("2020-02-01", "zscore")]
    jan = shifts["items"][0]
    assert jan["evidence_event_ids"] == fixture.top(2020, 1)
    assert jan["before"] == pytest.approx(56 / 12) and jan["after"] == pytest.approx((sum(AFTER) + 4) / 12)
    # the evidence rows by id, as the overview asks for them
    ev = c.get("/api/events", params={"dyad": "RUS-TUR", "ids": ",".join(map(str, jan["evidence_event_ids"]))}).json()
    assert sorted(e["event_id"] for e in ev["items"]) == sorted(fixture.top(2020, 1))
    assert all(e["source_url"] == fixture.urls[e["event_id"]] for e in ev["items"])


def test_shift_fixture_events_contacts_claims(fx):
    c, fixture = fx
    page = c.get("/api/events", params={"dyad": "RUS-TUR", "limit": 1}).json()
    assert page["total"] == sum(BASE) + sum(AFTER) + 4 == 307
    hostile = c.get("/api/events", params={"dyad": "RUS-TUR", "ids": str(fixture.hostile_id)}).json()["items"][0]
    assert hostile["source_url"] == HOSTILE_URL  # served as data; the page shows it as text
    contacts = c.get("/api/contacts", params={"dyad": "RUS-TUR"}).json()
    assert [(r["day"], r["kind"], r["event_ids"], r["urls"]) for r in contacts["items"]] == [
        ("2020-03-10", "call", fixture.call_ids, [CALL_URL]),
        ("2020-06-25", "visit", [fixture.next_id - 1], ["https://news.example/erdogan-visit"])]
    per_year = c.get("/api/contacts", params={"dyad": "RUS-TUR", "per_year": "true"}).json()["items"]
    assert [(r["year"], r["calls"], r["visits"], r["meetings"], r["total"]) for r in per_year if r["total"]] == \
        [(2020, 1, 1, 0, 2)]
    claims = c.get("/api/claims", params={"dyad": "RUS-TUR"}).json()
    assert claims["total"] == len(claims["items"]) > 0
    assert sum(claims["counts"].values()) == claims["total"]
    assert {i["verdict"] for i in claims["items"]} <= {"supported", "contradicted", "not enough data"}
    scen = c.get("/api/scenarios", params={"dyad": "RUS-TUR"}).json()
    assert scen["total"] == sum(s["signposts"] for s in scen["scenarios"]) > 0


# -- paging -------------------------------------------------------------------------------------------


def test_paging_walks_every_row_once(fx):
    c, _ = fx
    seen, offset = [], 0
    while offset is not None:
        p = c.get("/api/events", params={"dyad": "RUS-TUR", "limit": 40, "offset": offset}).json()
        assert p["total"] == 307 and len(p["items"]) <= 40
        seen += [e["event_id"] for e in p["items"]]
        offset = p["next_offset"]
    assert len(seen) == len(set(seen)) == 307
    past = c.get("/api/events", params={"dyad": "RUS-TUR", "offset": 5000}).json()
    assert past["items"] == [] and past["total"] == 307 and past["next_offset"] is None
    ind = c.get("/api/indicators", params={"dyad": "RUS-TUR", "limit": 7, "offset": 70}).json()
    assert ind["total"] == 24 * 6 * 3 and len(ind["items"]) == 7 and ind["next_offset"] == 77


@pytest.mark.parametrize("path", ["events", "indicators", "contacts", "shifts", "claims", "scenarios"])
def test_page_size_cap_is_a_422_naming_the_cap(kb, path):
    msg = error_of(kb.get(f"/api/{path}", params={"dyad": "RUS-TUR", "limit": MAX_PAGE + 1}), 422)
    assert msg == f"limit {MAX_PAGE + 1} is above the page-size cap of {MAX_PAGE}: ask for more pages with offset"
    assert kb.get(f"/api/{path}", params={"dyad": "RUS-TUR", "limit": MAX_PAGE}).status_code == 200
    error_of(kb.get(f"/api/{path}", params={"dyad": "RUS-TUR", "limit": 0}), 422)
    error_of(kb.get(f"/api/{path}", params={"dyad": "RUS-TUR", "offset": -1}), 422)


# -- validation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dyad, status, text", [
    ("RUS-XXX", 400, "unknown CAMEO country code 'XXX'"),
    ("RUS-RUS", 400, "names the same country twice"),
    ("RUSTUR", 422, "dyad 'RUSTUR' should be two CAMEO country codes"),
    ("", 422, "dyad"),
])
def test_bad_dyads(kb, dyad, status, text):
    for path in ("events", "indicators", "shifts", "contacts", "claims", "scenarios", "brief"):
        assert text in error_of(kb.get(f"/api/{path}", params={"dyad": dyad}), status)


def test_missing_dyad(kb):
    assert error_of(kb.get("/api/events"), 422) == "dyad is required"


@pytest.mark.parametrize("value", ["2020-13-01", "2020-02-30", "20201113", "2020-W46-5", "2020-11-13T00:00",
                                   "13/11/2020", "1605225600", "2020-1-5", " 2020-11-13"])
def test_dates_are_parsed_strictly(kb, value):
    msg = error_of(kb.get("/api/events", params={"dyad": "RUS-TUR", "from": value}), 400 if len(value) <= 10 else 422)
    assert "from" in msg


def test_period_and_names(kb):
    assert error_of(kb.get("/api/events", params={"dyad": "RUS-TUR", "from": "2020-11-15", "to": "2020-11-13"}),
                    400) == "to 2020-11-13 is before from 2020-11-15"
    assert "unknown track 'nope'" in error_of(kb.get("/api/indicators", params={"dyad": "RUS-TUR", "track": "nope"}), 400)
    assert "unknown theatre" in error_of(kb.get("/api/indicators", params={"dyad": "RUS-TUR", "theatre": "mars"}), 400)
    assert "unknown indicator" in error_of(kb.get("/api/shifts", params={"dyad": "RUS-TUR", "indicator": "x"}), 400)
    assert "by" in error_of(kb.get("/api/indicators", params={"dyad": "RUS-TUR", "by": "week"}), 422)
    assert "direction" in error_of(kb.get("/api/events", params={"dyad": "RUS-TUR", "direction": "CHN>TUR"}), 400)
    assert "quad" in error_of(kb.get("/api/events", params={"dyad": "RUS-TUR", "quad": "5"}), 400)
    assert "at most 100" in error_of(kb.get("/api/events", params={"dyad": "RUS-TUR",
                                                                   "ids": ",".join(str(i) for i in range(101))}), 400)
    assert "focal" in error_of(kb.get("/api/compare", params={"focal": "ZZZ"}), 400)
    assert "partners include the focal" in error_of(kb.get("/api/compare", params={"partners": "TUR,RUS"}), 400)
    assert "at most 20" in error_of(kb.get("/api/compare", params={"partners": ",".join(["TUR", "CHN", "IND"] * 7)}), 400)
    assert "threshold" in error_of(kb.get("/api/shifts", params={"dyad": "RUS-TUR", "threshold": "nan"}), 422)
    assert "source" in error_of(kb.get("/api/events", params={"dyad": "RUS-TUR", "source": "x"}), 422)


@pytest.mark.parametrize("evil", INJECTIONS)
def test_sql_injection_strings_are_refused_or_inert(kb, karabakh_store, evil):
    """Codes are checked against the codebook before any query; free text is a bound parameter."""
    for path, param in (("events", "dyad"), ("indicators", "dyad"), ("shifts", "dyad"), ("contacts", "dyad"),
                        ("compare", "focal"), ("compare", "partners"), ("indicators", "track"),
                        ("indicators", "theatre"), ("events", "ids"), ("events", "quad"), ("events", "from")):
        params = {"dyad": "RUS-TUR", param: evil}
        r = kb.get(f"/api/{path}", params=params)
        assert r.status_code in (400, 422), (path, param, r.text)
        error_of(r, r.status_code)
    # free text goes into the query as a parameter: it matches nothing, and the store is intact
    r = kb.get("/api/events", params={"dyad": "RUS-TUR", "q": evil[:100]})
    assert r.status_code == 200 and r.json()["total"] == 0
    assert kb.get("/api/events", params={"dyad": "RUS-TUR"}).json()["total"] == 57
    assert karabakh_store.status()["events"] == 9354


def test_unknown_paths_and_methods_are_json_errors(kb):
    assert error_of(kb.get("/api/nothing"), 404) == "not found: /api/nothing"
    assert error_of(kb.post("/api/events", params={"dyad": "RUS-TUR"}), 405) == "method POST not allowed here"
    # no admin token: the write endpoints do not exist
    assert error_of(kb.post("/api/admin/ingest", content=b"x"), 404) == "not found: /api/admin/ingest"
    assert error_of(kb.post("/api/admin/fetch", json={"from": "2020-11-13", "to": "2020-11-13"}), 404)
    assert kb.get("/docs").status_code == 404  # the interactive docs load scripts from a CDN: off
    schema = kb.get("/openapi.json").json()
    assert set(schema["paths"]) == {"/api/status", "/api/indicators", "/api/events", "/api/contacts", "/api/compare",
                                    "/api/shifts", "/api/claims", "/api/scenarios", "/api/brief"}


def test_unexpected_errors_are_500_json_without_traceback(karabakh_store, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr(measures, "contacts", boom)
    with TestClient(create_app(karabakh_store), raise_server_exceptions=False) as c:
        r = c.get("/api/contacts", params={"dyad": "RUS-TUR"})
    msg = error_of(r, 500)
    assert msg == "internal error: the server's log has the details"
    assert "secret" not in r.text and "RuntimeError" not in r.text


def test_missing_store_is_503(tmp_path):
    with TestClient(create_app(tmp_path / "none"), raise_server_exceptions=False) as c:
        assert "no dyadwatch store here" in error_of(c.get("/api/status"), 503)
        assert "no dyadwatch store here" in error_of(c.get("/api/events", params={"dyad": "RUS-TUR"}), 503)
        assert "no dyadwatch store here" in error_of(c.get("/api/indicators", params={"dyad": "RUS-TUR"}), 503)
        assert str(tmp_path) not in c.get("/api/status").text


def test_headers_cors_off_and_host_check(karabakh_store, kb):
    r = kb.get("/api/status", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "no-store"
    page = kb.get("/")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "unsafe-eval" not in page.headers["content-security-policy"]
    with TestClient(create_app(karabakh_store, allowed_hosts=("127.0.0.1", "localhost"))) as c:
        assert c.get("/api/status", headers={"Host": "127.0.0.1:8000"}).status_code == 200
        assert "unexpected Host" in error_of(c.get("/api/status", headers={"Host": "evil.example"}), 400)
    with TestClient(create_app(karabakh_store, cors_origins=("https://ok.example",))) as c:
        r = c.get("/api/status", headers={"Origin": "https://ok.example"})
        assert r.headers["access-control-allow-origin"] == "https://ok.example"
        assert "access-control-allow-origin" not in c.get("/api/status", headers={"Origin": "https://x.example"}).headers


def test_cache_serves_repeats_and_follows_the_store(tmp_path):
    store = Store(tmp_path / "store")
    store.ingest([str(KARABAKH / "20201113.export.CSV.zip")])
    with TestClient(create_app(store)) as c:
        first = c.get("/api/events", params={"dyad": "RUS-TUR", "limit": 1}).json()["total"]
        hits = c.get("/api/status").json()["cache"]["hits"]
        assert c.get("/api/events", params={"dyad": "RUS-TUR", "limit": 1}).json()["total"] == first
        assert c.get("/api/status").json()["cache"]["hits"] > hits
        store.ingest([str(KARABAKH / "20201114.export.CSV.zip")])  # the catalog changes: a new key
        second = c.get("/api/events", params={"dyad": "RUS-TUR", "limit": 1}).json()["total"]
    assert second > first
    with TestClient(create_app(store, cache_size=0)) as c:
        assert c.get("/api/events", params={"dyad": "RUS-TUR", "limit": 1}).json()["total"] == second
        assert c.get("/api/status").json()["cache"]["entries"] == 0


def test_pages_render_with_their_query(kb):
    for path in ("/", "/theatres", "/compare", "/contacts", "/claims", "/events", "/brief"):
        r = kb.get(path, params={"dyad": "tur-rus", "from": "2020-11-13"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        ctx = json.loads(r.text.split('id="dw-context">', 1)[1].split("</script>", 1)[0])
        assert (ctx["dyad"], ctx["from"], ctx["to"]) == ("TUR-RUS", "2020-11-13", "")
    bad = kb.get("/", params={"dyad": "<script>alert(1)</script>", "from": "20201113"})
    assert bad.status_code == 200
    assert "<script>alert(1)</script>" not in bad.text  # escaped, and reported as an error on the page
    assert "is not a date" in bad.text and "should be two CAMEO country codes" in bad.text


def test_brief_html_download(kb):
    r = kb.get("/api/brief", params={"dyad": "RUS-TUR"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["content-disposition"] == 'attachment; filename="brief-RUS-TUR.html"'
    assert "Russia and Turkey" in r.text


def test_brief_pdf_without_chromium_is_a_clear_503(kb, monkeypatch):
    monkeypatch.setenv("DYADWATCH_CHROMIUM", "/nonexistent/chromium")
    msg = error_of(kb.get("/api/brief", params={"dyad": "RUS-TUR", "format": "pdf"}), 503)
    assert "PDF output needs Chromium" in msg and "HTML brief works without it" in msg
    page = kb.get("/api/brief", params={"dyad": "RUS-TUR", "format": "pdf"}, headers={"Accept": "text/html"})
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
    assert "PDF output needs Chromium" in page.text
    assert kb.get("/api/status").json()["pdf"] is False


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="chromium is not installed")
def test_brief_pdf_download(kb):
    r = kb.get("/api/brief", params={"dyad": "RUS-TUR", "format": "pdf"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF-")
    assert r.headers["content-disposition"] == 'attachment; filename="brief-RUS-TUR.pdf"'


def test_result_cache_computes_once_bounds_and_forgets_failures():
    import threading
    import time

    from dyadwatch.web.cache import ResultCache

    cache, calls = ResultCache(2), []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return "v"

    threads = [threading.Thread(target=lambda: cache.get("k", slow)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1  # eight concurrent requests, one computation
    assert cache.info() == {"size": 2, "entries": 1, "hits": 7, "misses": 1}

    def fail():
        raise ValueError("no")

    with pytest.raises(ValueError):
        cache.get("bad", fail)
    assert cache.get("bad", lambda: "ok") == "ok"  # a failure is not cached
    cache.get("third", lambda: 3)
    assert cache.info()["entries"] == 2 and cache.get("k", lambda: "recomputed") == "recomputed"  # LRU: k went
    off = ResultCache(0)
    assert [off.get("k", lambda: n) for n in (1, 2)] == [1, 2]
