"""CAMEO / GDELT codebooks shipped with the package (data/lookups/), loaded once."""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources


def _lookup_rows(name: str) -> list[dict[str, str]]:
    text = resources.files("dyadwatch").joinpath("data", "lookups", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines(), delimiter="\t"))


@lru_cache(maxsize=None)
def countries() -> dict[str, str]:
    """CAMEO actor country code -> name (includes regions such as EUR, MEA)."""
    return {r["CODE"].strip(): r["LABEL"].strip() for r in _lookup_rows("cameoCountry.txt")}


class CodeError(ValueError):
    """A country or dyad code the codebook does not know."""


def country_code(code: str) -> str:
    c = code.strip().upper()
    if c not in countries():
        raise CodeError(f"unknown CAMEO country code {code!r} (e.g. RUS, TUR, CHN, IND, IRN, PRK)")
    return c


def parse_countries(text: str | None) -> frozenset[str] | None:
    """'RUS,TUR' -> {'RUS', 'TUR'}; None or '' -> None (no filter)."""
    if not text:
        return None
    return frozenset(country_code(c) for c in text.split(",") if c.strip())


def parse_dyad(text: str) -> tuple[str, str]:
    """'RUS-TUR' -> ('RUS', 'TUR'). A dyad is two distinct countries; direction does not matter."""
    parts = text.replace("_", "-").split("-")
    if len(parts) != 2:
        raise CodeError(f"dyad {text!r} should be two CAMEO country codes joined by '-', e.g. RUS-TUR")
    a, b = (country_code(p) for p in parts)
    if a == b:
        raise CodeError(f"dyad {text!r} names the same country twice")
    return a, b
