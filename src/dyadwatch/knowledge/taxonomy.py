"""The taxonomy (tracks, theatres, the unique-event rule) as data, compiled to SQL predicates.

The rules live in `data/taxonomy.yaml`; this module only validates them and turns each into a boolean
SQL expression over one event row, in the SQL that DuckDB and Spark both accept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from .codebook import _lookup_rows
from .schema import EVENT_COLUMNS


class TaxonomyError(ValueError):
    """The taxonomy file is malformed: one line naming the file and the entry."""


CONDITIONS = {
    "event_code", "quad_class", "either_actor_type", "both_actors_type", "both_leaders",
    "place_country", "place_continent", "place_name_contains", "place_home", "not",
}
_CODE = re.compile(r"^[0-9]{2,4}$")
_FIPS = re.compile(r"^[A-Z]{2}$")
_TYPE = re.compile(r"^[A-Z]{3,5}$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Category:
    """A track or a theatre: a name, a label for people, and its rule compiled to SQL."""

    name: str
    label: str
    description: str
    rule: tuple[dict, ...]
    regional: bool = True


@dataclass(frozen=True)
class Taxonomy:
    version: int
    unique_event_key: tuple[str, ...]
    tracks: tuple[Category, ...]
    theatres: tuple[Category, ...]
    path: str

    @property
    def uses_leaders(self) -> bool:
        return any(_mentions(c.rule, "both_leaders") for c in (*self.tracks, *self.theatres))

    def track(self, name: str) -> Category:
        return _pick(self.tracks, name, "track")

    def theatre(self, name: str) -> Category:
        return _pick(self.theatres, name, "theatre")


def _pick(items: tuple[Category, ...], name: str, kind: str) -> Category:
    for c in items:
        if c.name == name:
            return c
    raise TaxonomyError(f"unknown {kind} {name!r}: choose from all, {', '.join(c.name for c in items)}")


def _mentions(rule, key: str) -> bool:
    return any(key in alt or ("not" in alt and key in alt["not"]) for alt in rule)


@lru_cache(maxsize=None)
def continent_fips() -> dict[str, tuple[str, ...]]:
    """GeoNames continent -> FIPS country codes (GDELT's action-geo codes)."""
    out: dict[str, list[str]] = {}
    for r in _lookup_rows("countryInfo.txt"):
        if r.get("fips"):
            out.setdefault(r["Continent"], []).append(r["fips"])
    return {k: tuple(sorted(v)) for k, v in out.items()}


@lru_cache(maxsize=None)
def iso3_to_fips() -> dict[str, str]:
    return {r["ISO3"]: r["fips"] for r in _lookup_rows("countryInfo.txt") if r.get("fips")}


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read and validate a taxonomy file (default: the one shipped in the package)."""
    if path is None:
        src = resources.files("dyadwatch").joinpath("data", "taxonomy.yaml")
        text, where = src.read_text(encoding="utf-8"), "taxonomy.yaml"
    else:
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise TaxonomyError(f"{where}: cannot read ({exc.strerror or exc})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark else ""
        raise TaxonomyError(f"{where}{at}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(doc, dict):
        raise TaxonomyError(f"{where}: expected a mapping with version, unique_event_key, tracks, theatres")
    if doc.get("version") != 1:
        raise TaxonomyError(f"{where}: version must be 1, found {doc.get('version')!r}")
    key = doc.get("unique_event_key")
    if not isinstance(key, list) or not key or any(k not in EVENT_COLUMNS for k in key):
        raise TaxonomyError(f"{where}: unique_event_key must list event columns, found {key!r}")
    for required in ("source", "event_date", "event_code"):
        if required not in key:
            raise TaxonomyError(f"{where}: unique_event_key must include {required}")
    return Taxonomy(1, tuple(key), _categories(doc, "tracks", where), _categories(doc, "theatres", where), where)


def _categories(doc: dict, section: str, where: str) -> tuple[Category, ...]:
    entries = doc.get(section)
    if not isinstance(entries, dict) or not entries:
        raise TaxonomyError(f"{where}: {section} must be a mapping of name -> definition")
    out = []
    for name, body in entries.items():
        at = f"{where}: {section}.{name}"
        if not isinstance(name, str) or not _NAME.match(name) or name == "all":
            raise TaxonomyError(f"{at}: names are lower_case words (and 'all' is reserved)")
        if not isinstance(body, dict) or "rule" not in body:
            raise TaxonomyError(f"{at}: needs a rule")
        rule = body["rule"]
        if isinstance(rule, dict):
            rule = [rule]
        if not isinstance(rule, list) or not rule:
            raise TaxonomyError(f"{at}: rule must be a list of alternatives")
        for i, alt in enumerate(rule, 1):
            _check_alternative(alt, f"{at}.rule[{i}]")
        regional = body.get("regional", True)
        if not isinstance(regional, bool):
            raise TaxonomyError(f"{at}: regional takes true or false")
        out.append(Category(name, str(body.get("label", name)), str(body.get("description", "")), tuple(rule),
                            regional))
    return tuple(out)


def _check_alternative(alt, at: str, nested: bool = False) -> None:
    if not isinstance(alt, dict) or not alt:
        raise TaxonomyError(f"{at}: expected conditions like quad_class: [1]")
    for cond, value in alt.items():
        if cond not in CONDITIONS or (nested and cond == "not"):
            raise TaxonomyError(f"{at}: unknown condition {cond!r} (known: {', '.join(sorted(CONDITIONS))})")
        if cond == "not":
            _check_alternative(value, f"{at}.not", nested=True)
        elif cond in ("both_leaders", "place_home"):
            if value is not True:
                raise TaxonomyError(f"{at}: {cond} takes true")
        else:
            if not isinstance(value, list) or not value:
                raise TaxonomyError(f"{at}: {cond} takes a list")
            check = {
                "event_code": lambda v: isinstance(v, str) and _CODE.match(v),
                "quad_class": lambda v: v in (1, 2, 3, 4),
                "either_actor_type": lambda v: isinstance(v, str) and _TYPE.match(v),
                "both_actors_type": lambda v: isinstance(v, str) and _TYPE.match(v),
                "place_country": lambda v: isinstance(v, str) and _FIPS.match(v),
                "place_continent": lambda v: v in continent_fips(),
                "place_name_contains": lambda v: isinstance(v, str) and v.strip() and "'" not in v,
            }[cond]
            bad = [v for v in value if not check(v)]
            if bad:
                hint = " (write codes in quotes to keep leading zeros)" if cond == "event_code" else ""
                raise TaxonomyError(f"{at}: {cond} has invalid value(s) {bad!r}{hint}")


# ---------------------------------------------------------------- compiling to SQL


def _quoted(values) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def _types(actor: str) -> list[str]:
    return [f"{actor}_type{i}" for i in (1, 2, 3)]


def _has_type(actor: str, types: list[str]) -> str:
    real = [t for t in types if t != "STATE"]
    parts = [f"{c} IN ({_quoted(real)})" for c in _types(actor)] if real else []
    if "STATE" in types:  # the country itself, no role: RUS rather than RUSGOV
        parts.append("(" + " AND ".join(f"{c} IS NULL" for c in _types(actor)) + ")")
    return "(" + " OR ".join(parts) + ")"


def condition_sql(cond: str, value) -> str:
    if cond == "event_code":
        return "(" + " OR ".join(f"event_code LIKE '{v}%'" for v in value) + ")"
    if cond == "quad_class":
        return f"quad_class IN ({', '.join(str(int(v)) for v in value)})"
    if cond == "either_actor_type":
        return f"({_has_type('actor1', value)} OR {_has_type('actor2', value)})"
    if cond == "both_actors_type":
        return f"({_has_type('actor1', value)} AND {_has_type('actor2', value)})"
    if cond == "both_leaders":
        return "(actor1_leader AND actor2_leader)"
    if cond == "place_country":
        return f"action_geo_country IN ({_quoted(value)})"
    if cond == "place_continent":
        codes = sorted({c for v in value for c in continent_fips()[v]})
        return f"action_geo_country IN ({_quoted(codes)})"
    if cond == "place_name_contains":
        return "(" + " OR ".join(f"action_geo_fullname LIKE '%{v}%'" for v in value) + ")"
    if cond == "place_home":
        # the row carries its dyad's own FIPS codes (a dyad query may cover several partners)
        return "(action_geo_country = home_fips_1 OR action_geo_country = home_fips_2)"
    if cond == "not":
        return "NOT " + alternative_sql(value)
    raise TaxonomyError(f"unknown condition {cond!r}")


def alternative_sql(alt: dict) -> str:
    # coalesce: a missing field (NULL) means the condition does not hold, never NULL
    return "(" + " AND ".join(f"coalesce({condition_sql(k, v)}, FALSE)" for k, v in alt.items()) + ")"


def rule_sql(category: Category) -> str:
    """A boolean SQL expression over an event row plus actor1_leader / actor2_leader and
    home_fips_1 / home_fips_2 (the FIPS codes of the dyad's two countries)."""
    return "(" + " OR ".join(alternative_sql(alt) for alt in category.rule) + ")"


CAMEO_NOT_ISO3 = {"ROM": "ROU"}  # CAMEO kept Romania's old ISO code


def fips_of(country: str) -> str | None:
    """FIPS 10-4 code (GDELT's geo code) of a CAMEO country code, via its ISO3 code; None for regions."""
    return iso3_to_fips().get(CAMEO_NOT_ISO3.get(country, country))
