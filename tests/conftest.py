from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from dyadwatch.sources.base import InputError, InputFile

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
KARABAKH = SHARED / "gdelt" / "v2-2020-11-karabakh"
GEORGIA = SHARED / "gdelt" / "v1-georgia-2011-2013"
RAW = SHARED / "gdelt" / "samples-raw"
ICEWS = SHARED / "icews"


def read_outcome(source, path: Path, countries):
    """Everything a read of one file yields, in order: (events, [(line, reason, raw)], {day: events},
    rows read); or the one-line error."""
    try:
        chunks = list(source.read(InputFile(path), countries))
    except InputError as exc:
        return str(exc)
    events = pa.concat_tables([c.events for c in chunks])
    rejects = [(r.line, r.reason, r.raw) for c in chunks for r in c.rejects]
    totals = Counter()
    for c in chunks:
        for day, n in zip(c.totals["day"].to_pylist(), c.totals["events"].to_pylist()):
            totals[day] += n
    return events, rejects, totals, sum(c.rows_read for c in chunks)


def run_json(script: str, *args: str, env: dict | None = None):
    """Run `script` in a fresh Python (`python -c script args...`; it must succeed) and return the JSON
    of the last line it prints: for what only a new process shows, such as which modules it imported."""
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


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
