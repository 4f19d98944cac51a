"""The HTML brief opened in headless Chromium (Playwright driving the system's /usr/bin/chromium, never a
downloaded browser): it loads with no console error, fetches nothing but itself, shows every chart and
section, every footnote link lands on its reference, and a screenshot is saved."""

from __future__ import annotations

from pathlib import Path

import pytest

from dyadwatch.brief import build_brief, render_html
from dyadwatch.store import Store

from conftest import CHROMIUM, KARABAKH
from test_brief import CALL_URL, SECTION_TITLES, Fixture


sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (apt-get install chromium)")


def open_brief(browser, path: Path):
    page = browser.new_page(viewport={"width": 1000, "height": 1400})
    problems, requests = [], []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri(), wait_until="load")
    return page, problems, requests


@pytest.fixture(scope="module")
def fixture_html(tmp_path_factory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("browser-fixture")
    files = Fixture().build().write(root / "files")
    store = Store(root / "store")
    store.ingest([str(p) for p in files], workers=1)
    brief = build_brief(store, "RUS-TUR", None, "2021-10-31", ["TUR", "CHN", "IND", "IRN"])
    path = root / "brief.html"
    path.write_text(render_html(brief), encoding="utf-8")
    return path, brief


def test_brief_opens_cleanly_and_footnotes_land(browser, fixture_html, tmp_path):
    path, brief = fixture_html
    page, problems, requests = open_brief(browser, path)
    try:
        assert problems == []
        assert requests == [path.as_uri()]  # self-contained: nothing else is fetched
        headings = page.locator("h1, h2, h3, h4").all_inner_texts()
        for title in SECTION_TITLES:
            assert title in headings
        assert page.locator("figure.chart svg").count() == len(brief.charts())
        for box in page.locator("figure.chart svg").evaluate_all("els => els.map(e => e.getBoundingClientRect().width)"):
            assert box > 300  # drawn, not collapsed
        # every footnote marker points at an element that exists, and each reference holds its URL
        missing = page.evaluate("""() => [...document.querySelectorAll('a.ref')]
            .map(a => a.getAttribute('href').slice(1)).filter(id => !document.getElementById(id))""")
        assert missing == []
        urls = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('ol.references li')]
            .map(li => [li.id, li.querySelector('a.ref-url') ? li.querySelector('a.ref-url').href : null]))""")
        for f in brief.footnotes:
            assert urls[f.anchor] == f.url
        call = next(f for f in brief.footnotes if f.url == CALL_URL)
        page.locator(f'a.ref[href="#{call.anchor}"]').first.click()
        assert page.evaluate("location.hash") == f"#{call.anchor}"
        shot = tmp_path / "brief.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 50_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        page.close()


def test_little_data_brief_opens_cleanly(browser, tmp_path):
    store = Store(tmp_path / "store")
    store.ingest([str(KARABAKH)])
    path = tmp_path / "brief.html"
    path.write_text(render_html(build_brief(store, "RUS-TUR")), encoding="utf-8")
    page, problems, requests = open_brief(browser, path)
    try:
        assert problems == [] and requests == [path.as_uri()]
        flags = page.locator(".flag").all_inner_texts()
        assert flags.count("NOT ENOUGH DATA") + flags.count("Not enough data") >= 5
        page.screenshot(path=str(tmp_path / "little.png"), full_page=True)
    finally:
        page.close()
