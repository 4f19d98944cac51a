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
