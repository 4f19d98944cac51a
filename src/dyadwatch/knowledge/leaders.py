"""The leaders file (`data/leaders.yaml`, docs/leaders.md): who counts as a leader of each country,
with the spellings event coders use and the dates in office. `load_leaders` reads and validates it
(one line naming the file and entry at fault); `leaders_table` gives the `leaders` relation the
measures join on.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pyarrow as pa
import yaml

from .codebook import countries
from .taxonomy import TaxonomyError

ROLES = ("head_of_state", "head_of_government", "foreign_minister")

LEADERS_SCHEMA = pa.schema(
    [
        pa.field("country", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("role", pa.string(), nullable=False),
        pa.field("start", pa.date32(), nullable=False),
        pa.field("end", pa.date32()),
        pa.field("spelling", pa.string(), nullable=False),
    ]
)

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_PERSON_KEYS = {"name", "spellings", "terms"}
_TERM_KEYS = {"role", "from", "to", "note"}


# -- the leaders file ------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so a bad date gets our message rather than PyYAML's."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def default_leaders_path() -> Path:
    return Path(str(resources.files("dyadwatch").joinpath("data", "leaders.yaml")))


def load_leaders(path: str | Path | None = None) -> pa.Table:
    """Read and validate a leaders file (default: the one shipped in the package).

    Returns one row per (term, spelling): country, name, role, start, end (null = in office), spelling.
    Raises TaxonomyError with one line naming the file and the entry at fault.
    """
    if path is None:
        return _default_leaders()
    return _load(Path(path))


@lru_cache(maxsize=1)
def _default_leaders() -> pa.Table:
    return _load(default_leaders_path())


def _load(path: Path) -> pa.Table:
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TaxonomyError(f"{where}: cannot read ({exc.strerror or exc})") from None
    try:
        doc = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark else ""
        raise TaxonomyError(f"{where}{at}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(doc, dict):
        raise TaxonomyError(f"{where}: expected a mapping with version and countries")
    if doc.get("version") != 1:
        raise TaxonomyError(f"{where}: version must be 1, found {doc.get('version')!r}")
    unknown = set(doc) - {"version", "countries"}
    if unknown:
        raise TaxonomyError(f"{where}: unknown top-level key {sorted(map(str, unknown))[0]!r} (expected version, countries)")
    body = doc.get("countries")
    if not isinstance(body, dict) or not body:
        raise TaxonomyError(f"{where}: countries must map CAMEO country codes to lists of leaders")

    rows: dict[str, list] = {k: [] for k in LEADERS_SCHEMA.names}
    seen: dict[tuple[str, str], list[tuple[str, dt.date, dt.date | None]]] = {}
    for code, people in body.items():
        at_c = f"{where}: countries.{code}"
        if not isinstance(code, str) or code != code.strip().upper() or code not in countries():
            raise TaxonomyError(f"{at_c}: not a CAMEO country code (e.g. RUS, TUR, CHN)")
        if not isinstance(people, list) or not people:
            raise TaxonomyError(f"{at_c}: expected a list of leaders")
        names: set[str] = set()
        for i, person in enumerate(people, 1):
            at = f"{at_c}[{i}]"
            if not isinstance(person, dict):
                raise TaxonomyError(f"{at}: expected name, spellings, terms")
            name = person.get("name")
            if not isinstance(name, str) or not name.strip():
                raise TaxonomyError(f"{at}: missing name")
            at = f"{at} ({name})"
            extra = set(person) - _PERSON_KEYS
            if extra:
                raise TaxonomyError(f"{at}: unknown key {sorted(map(str, extra))[0]!r} (expected name, spellings, terms)")
            if name in names:
                raise TaxonomyError(f"{at}: listed twice in {code}; put all terms under one entry")
            names.add(name)
            spellings = _spellings(person, name, at)
            terms = person.get("terms")
            if not isinstance(terms, list) or not terms:
                raise TaxonomyError(f"{at}: missing terms (a list of role, from, to)")
            for j, term in enumerate(terms, 1):
                at_t = f"{at} terms[{j}]"
                role, start, end = _term(term, at_t)
                for s in spellings:
                    for other, o_start, o_end in seen.get((code, s), []):
                        if other != name and start <= (o_end or dt.date.max) and o_start <= (end or dt.date.max):
                            raise TaxonomyError(
                                f"{at_t}: spelling {s!r} is also {other}'s in an overlapping term; "
                                "a spelling must name one person at a time"
                            )
                    seen.setdefault((code, s), []).append((name, start, end))
                    for k, v in zip(LEADERS_SCHEMA.names, (code, name, role, start, end, s)):
                        rows[k].append(v)
    return pa.table(rows, schema=LEADERS_SCHEMA)


def _spellings(person: dict, name: str, at: str) -> list[str]:
    extra = person.get("spellings", [])
    if extra is None:
        extra = []
    if not isinstance(extra, list):
        raise TaxonomyError(f"{at}: spellings must be a list")
    out = []
    for s in [name, *extra]:
        if not isinstance(s, str) or not s.strip():
            raise TaxonomyError(f"{at}: empty spelling {s!r}")
        if s != s.strip() or s != s.upper() or "  " in s:
            raise TaxonomyError(f"{at}: spelling {s!r} must be upper case with single spaces, as the event data writes it")
        if s in out:
            raise TaxonomyError(f"{at}: spelling {s!r} listed twice")
        out.append(s)
    return out


def _term(term, at: str) -> tuple[str, dt.date, dt.date | None]:
    if not isinstance(term, dict):
        raise TaxonomyError(f"{at}: expected {{role, from, to}}")
    extra = set(term) - _TERM_KEYS
    if extra:
        raise TaxonomyError(f"{at}: unknown key {sorted(map(str, extra))[0]!r} (expected role, from, to, note)")
    for key in ("role", "from", "to"):
        if key not in term:
            raise TaxonomyError(f"{at}: missing {key}" + (" (null if still in office)" if key == "to" else ""))
    role = term["role"]
    if role not in ROLES:
        raise TaxonomyError(f"{at}: unknown role {role!r} (known: {', '.join(ROLES)})")
    start = _date(term["from"], "from", at)
    if start is None:
        raise TaxonomyError(f"{at}: from cannot be null")
    end = _date(term["to"], "to", at)
    if end is not None and end < start:
        raise TaxonomyError(f"{at}: to {end} is before from {start}")
    return role, start, end


def _date(value, key: str, at: str) -> dt.date | None:
    if value is None:
        return None
    text = str(value)
    if _DATE.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise TaxonomyError(f"{at}: bad date {text!r} for {key} (use YYYY-MM-DD)")


# the leaders as the frame joins on them: one row per (country, name spelling, term)
LEADER_TERMS_SCHEMA = pa.schema([("country", pa.string()), ("spelling", pa.string()),
                                 ("term_start", pa.date32()), ("term_end", pa.date32())])


def leaders_table(path=None) -> pa.Table:
    """Leaders in the shape the measures join on (relation `leaders`): one row per (country, name
    spelling, term)."""
    t = load_leaders(path)
    return pa.table({
        "country": t.column("country"), "spelling": t.column("spelling"),
        "term_start": t.column("start"), "term_end": t.column("end"),
    }).cast(LEADER_TERMS_SCHEMA)
