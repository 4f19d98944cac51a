from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
KARABAKH = SHARED / "gdelt" / "v2-2020-11-karabakh"
GEORGIA = SHARED / "gdelt" / "v1-georgia-2011-2013"
RAW = SHARED / "gdelt" / "samples-raw"
ICEWS = SHARED / "icews"


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


# Debian's Chromium, driven by Playwright for the browser tests (never a downloaded browser)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    # Playwright gives the browser a fresh temporary profile of its own (it refuses --user-data-dir here)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield b
        b.close()
