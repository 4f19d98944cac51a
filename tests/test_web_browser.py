"""The dashboard in a real browser: `dyadwatch serve` started as a user would (a subprocess on a free loopback
port) over the hand-made shift fixture, driven by Playwright with Debian's /usr/bin/chromium (never a
downloaded browser). Every page loads with no console error or warning, no failed request and nothing
fetched from anywhere but the server; a dyad is picked in the form, the marked shift of January 2020 is
clicked in the chart and its evidence rows appear; hostile text from the data stays text. Screenshots go
to the test's tmp_path."""

from __future__ import annotations

import re

import httpx
import pytest

from conftest import CHROMIUM
from test_web_support import HOSTILE_NAME, HOSTILE_URL, Server, build_shift_store

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (apt-get install chromium)")

PAGES = {"/": "overview", "/theatres": "theatres", "/compare": "compare", "/contacts": "contacts",
         "/claims": "claims", "/events": "events", "/brief": "brief"}


@pytest.fixture(scope="module")
def fixture_server(tmp_path_factory):
    store, fx = build_shift_store(tmp_path_factory.mktemp("web-browser"))
    server = Server(store.root)
    yield server, fx
    log = server.stop()
    assert "Traceback" not in log, log[-3000:]


class Watched:
    """A page with its console messages, page errors, failed requests and every URL it asked for."""

    def __init__(self, browser, base: str):
        self.base = base
        self.context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} {r.failure}"))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def open(self, path: str, **query) -> None:
        url = self.base + path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
        self.page.goto(url, wait_until="load")
        self.ready()

    def ready(self) -> None:
        self.page.wait_for_selector("body[data-ready='1']", timeout=60_000)

    def check_clean(self, downloads: tuple[str, ...] = ()) -> None:
        """No console error or warning, no page error, no failed request (but the navigations that became
        the downloads asked for, which Chromium reports as aborted), nothing from another origin."""
        allowed = {f"request failed: {self.base}{d} net::ERR_ABORTED" for d in downloads}
        assert [p for p in self.problems if p not in allowed] == []
        foreign = [u for u in self.requests if not (u.startswith(self.base + "/") or u.startswith("data:")
                                                     or u.startswith("blob:"))]
        assert foreign == []  # offline: nothing from a CDN or anywhere else

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser, fixture_server):
    server, _ = fixture_server
    w = Watched(browser, server.base)
    yield w
    w.close()


def api(server, path: str, **params) -> dict:
    return httpx.get(f"{server.base}/api/{path}", params=params, timeout=60).json()


def test_every_page_loads_cleanly(watched, fixture_server, tmp_path):
    server, fx = fixture_server
    for path, name in PAGES.items():
        watched.open(path, dyad="RUS-TUR")
        page = watched.page
        assert page.locator("#page-error").is_hidden(), page.locator("#page-error").inner_text()
        assert page.locator("h1").inner_text().endswith("Russia – Turkey")
        assert page.locator("nav a[aria-current='page']").inner_text() == page.locator("h1").inner_text().split(":")[0]
        assert page.locator("#store-status").inner_text() == \
            f"store · {sum(len(v) for v in fx.lines.values()):,} events, 2019-01-01 to 2020-12-22"
        if name == "overview":
            assert page.locator("#chart-tracks svg.marks").count() == 1
            assert page.locator("#chart-tracks").get_attribute("data-shifts") == "2"
            assert page.locator("#summary dd").first.inner_text() == "307"
            assert page.locator("#shifts-table tbody tr").count() == 3
        elif name == "theatres":
            assert page.locator("#chart-theatres svg.marks").count() == 1
            syria = page.locator("#theatre-table tr[data-theatre='syria'] td").all_inner_texts()
            # every fifth event of a month is placed in Idlib (i % 5 == 4)
            want = sum(len([i for i in range(n) if i % 5 == 4]) for n in
                       [4, 6, 5, 3, 6, 4, 5, 6, 4, 5, 3, 5, 20, 22, 18, 21, 19, 23, 20, 22, 19, 21, 20, 22])
            assert syria[0] == "Syria" and syria[1] == str(want)
        elif name == "compare":
            assert page.locator("#chart-compare svg.marks").count() == 1
            rows = page.locator("#compare-table tbody tr")
            assert rows.count() == 5  # TUR, CHN, IND, IRN, PRK
            assert page.locator("#compare-table tr[data-partner='TUR'] td").nth(1).inner_text() == "307"
            assert page.locator("#compare-table tr[data-partner='CHN'] td").nth(1).inner_text() == str(24 * 3)
        elif name == "contacts":
            assert page.locator("#chart-contacts-year svg.marks").count() == 1
            assert page.locator("#chart-contacts-timeline svg.marks").count() == 1
            cells = page.locator("#contacts-table tbody tr").first.locator("td").all_inner_texts()
            assert cells[:4] == ["2020-03-10", "call", "VLADIMIR PUTIN–RECEP TAYYIP ERDOGAN", "2"]
            assert page.locator("#contacts-table a.source").first.get_attribute("href") == \
                "https://news.example/2020/03/10/putin-erdogan-call"
        elif name == "claims":
            claims = api(server, "claims", dyad="RUS-TUR")
            scenarios = api(server, "scenarios", dyad="RUS-TUR")
            assert page.locator("#claims-list article.card").count() == claims["total"]
            assert page.locator("#scenarios-list li[data-signpost]").count() == scenarios["total"]
            first = claims["items"][0]
            card = page.locator(f"#claims-list article[data-claim='{first['id']}']")
            assert card.get_attribute("data-verdict") == first["verdict"]
        elif name == "events":
            assert page.locator("#events-count").inner_text().startswith("307 event rows")
            assert page.locator("#events-table tbody tr").count() == 50
        elif name == "brief":
            assert page.locator("#brief-html").get_attribute("href") == "/api/brief?dyad=RUS-TUR&format=html"
        page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
    watched.check_clean()


def test_pick_a_dyad_then_click_the_marked_shift(watched, fixture_server, tmp_path):
    server, fx = fixture_server
    watched.open("/", dyad="RUS-CHN")
    page = watched.page
    assert page.locator("#chart-tracks").get_attribute("data-shifts") == "0"  # RUS-CHN is flat: 3 a month
    page.fill("form.picker input[name='dyad']", "RUS-TUR")
    with page.expect_navigation():
        page.click("form.picker button[type='submit']")
    watched.ready()
    assert "dyad=RUS-TUR" in page.url
    assert page.locator("h1").inner_text() == "Overview: Russia – Turkey"
    markers = page.locator("#chart-tracks .shifts_marks path")
    assert markers.count() == 2  # January 2020 (PELT and z) and February 2020 (z)
    boxes = sorted((markers.nth(i).bounding_box()["x"], i) for i in range(markers.count()))
    assert page.locator("#evidence").is_hidden()
    markers.nth(boxes[0][1]).click()  # the earlier month
    page.wait_for_selector("#evidence-table[data-state='ready']")
    assert page.locator("#evidence").is_visible()
    assert page.locator("#evidence-h").inner_text() == "Evidence: January 2020"
    assert page.locator("#evidence").get_attribute("data-period") == "2020-01-01"
    shifts = page.locator("#evidence-shifts li").all_inner_texts()
    assert shifts[0].startswith("changepoint: PELT") and shifts[1].startswith("zscore: z=15.22")
    ids = [int(x) for x in page.locator("#evidence-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.eventId)")]
    assert ids == fx.top(2020, 1)  # the month's five most-reported events, most reported first
    first = page.locator("#evidence-table tbody tr").first
    link = first.locator("a.source")
    assert link.get_attribute("href") == fx.urls[ids[0]]
    assert link.get_attribute("rel") == "noopener noreferrer nofollow"
    page.screenshot(path=str(tmp_path / "overview-evidence.png"), full_page=True)
    # the table's button shows the other month
    page.click("#shifts-table button[data-period='2020-02-01']")
    page.wait_for_selector("#evidence[data-period='2020-02-01'] #evidence-table[data-state='ready']")
    assert page.locator("#evidence-h").inner_text() == "Evidence: February 2020"
    ids = [int(x) for x in page.locator("#evidence-table tbody tr").evaluate_all("rs => rs.map(r => r.dataset.eventId)")]
    assert ids == fx.top(2020, 2)
    # another indicator and period redraw without errors, and the choice is kept in the URL
    page.select_option("#indicator", "net_cooperation")
    expect(page.locator("#chart-tracks")).to_have_attribute("data-state", "drawn")
    page.select_option("#by", "quarter")
    expect(page.locator("#chart-tracks")).to_have_attribute("data-state", "drawn")
    assert "indicator=net_cooperation" in page.url and "by=quarter" in page.url
    watched.check_clean()


def test_hostile_text_from_the_data_stays_text(watched, fixture_server):
    server, fx = fixture_server
    watched.open("/events", dyad="RUS-TUR", q="onerror")
    page = watched.page
    page.wait_for_selector("#events-table[data-state='ready']")
    rows = page.locator("#events-table tbody tr")
    assert rows.count() == 1 and rows.first.get_attribute("data-event-id") == str(fx.hostile_id)
    assert HOSTILE_NAME in rows.first.locator("td").nth(2).inner_text()
    assert page.locator("#events-table img").count() == 0
    assert rows.first.locator("a").count() == 0  # a javascript: URL is not made a link
    assert rows.first.locator(".no-link").inner_text() == HOSTILE_URL
    assert page.evaluate("window.__pwned") is None
    watched.check_clean()


def test_events_filters_and_pages(watched, fixture_server):
    server, _ = fixture_server
    watched.open("/events", dyad="RUS-TUR")
    page = watched.page
    conflict = api(server, "events", dyad="RUS-TUR", quad="3,4")["total"]
    for q in ("1", "2"):
        page.uncheck(f"#event-filters input[name='quad'][value='{q}']")
    expect(page.locator("#events-count")).to_have_text(re.compile(f"^{conflict} event rows"))
    assert "quad=3%2C4" in page.url or "quad=3,4" in page.url
    page.select_option("#direction", "TUR>RUS")
    want = api(server, "events", dyad="RUS-TUR", quad="3,4", direction="TUR>RUS")["total"]
    expect(page.locator("#events-count")).to_have_text(re.compile(f"^{want} event rows"))
    for q in ("1", "2"):
        page.check(f"#event-filters input[name='quad'][value='{q}']")
    page.select_option("#direction", "both")
    expect(page.locator("#events-count")).to_have_text(re.compile("^307 event rows"))
    first_page = page.locator("#events-table tbody tr").first.get_attribute("data-event-id")
    page.click("#next-page")
    expect(page.locator("#page-label")).to_have_text("page 2 of 7")
    assert page.locator("#events-table tbody tr").first.get_attribute("data-event-id") != first_page
    hrefs = page.locator("#events-table a.source").evaluate_all("as => as.map(a => a.href)")
    assert hrefs and all(h.startswith("https://news.example/") for h in hrefs)
    watched.check_clean()


def test_brief_downloads(watched, fixture_server, tmp_path):
    watched.open("/brief", dyad="RUS-TUR")
    page = watched.page
    with page.expect_download(timeout=120_000) as d:
        page.click("#brief-html")
    html = tmp_path / "brief.html"
    d.value.save_as(html)
    assert d.value.suggested_filename == "brief-RUS-TUR.html"
    assert "Russia and Turkey" in html.read_text(encoding="utf-8")
    with page.expect_download(timeout=120_000) as d:
        page.click("#brief-pdf")
    pdf = tmp_path / "brief.pdf"
    d.value.save_as(pdf)
    assert d.value.suggested_filename == "brief-RUS-TUR.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    watched.check_clean(downloads=("/api/brief?dyad=RUS-TUR&format=html", "/api/brief?dyad=RUS-TUR&format=pdf"))
