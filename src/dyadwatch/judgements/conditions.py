"""The condition language shared by claims and scenarios: what is measured, over which months, and how a
condition is decided: it holds, it does not, or there is not enough data to say. docs/claims.md
explains every rule and why.

A condition names a measure (an indicator column of `api.indicators`, a count of leader contacts, or a
column of `api.compare`), where to read it (track, theatre, direction) and one of five kinds:

- compare: the measure over one window against the same (or another) selection over a second window;
- change: the windows before and after a date (the month of the date is left out of both);
- level: the measure over a window against a fixed value;
- record: the latest window is the lowest (highest) of every window of that length since a month;
- rank: the subject's rank among the focal state's partners (api.compare), theatres or tracks.

Windows are whole months. A window's value is the measure taken over the window as one period: counts
per month of data (contacts per year of data), ratios pooled over the window's events.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from ..knowledge.codebook import CodeError, country_code, parse_dyad
from ..measures.compare import DEFAULT_PARTNERS, compare_schema
from ..measures.indicators import INDICATORS
from ..knowledge.taxonomy import Taxonomy, TaxonomyError, load_taxonomy


class ConditionError(TaxonomyError):
    """A claims or scenarios file is malformed: one line naming the file and the entry."""


KINDS = ("compare", "change", "level", "record", "rank")
# contact measures -> the contact kinds they count (api.contacts)
CONTACT_MEASURES = {"calls": ("call",), "visits": ("visit",), "meetings": ("meeting",),
                    "contacts": ("call", "visit", "meeting")}
# counts of independent units: a difference needs the exact Poisson test
TESTED = {"events", "quad1", "quad2", "quad3", "quad4", *CONTACT_MEASURES}
# ratios over the window's events: each window needs min_events events; tolerance in the measure's units
PER_EVENT = {"quad1_share": 0.05, "quad2_share": 0.05, "quad3_share": 0.05, "quad4_share": 0.05,
             "net_cooperation": 0.05, "goldstein_mean": 0.5, "mean_tone": 0.5}
RELATIVE_CHANGE = 0.10  # every other measure: a change must exceed 10% of the earlier (second) value
COVERED_DAY = 0.05  # a day has data when the store saw at least 5% of its busiest day's rows
AMONG = ("partners", "theatres", "tracks")
OPS = {"<": lambda x, y: x < y, "<=": lambda x, y: x <= y, ">": lambda x, y: x > y, ">=": lambda x, y: x >= y}
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_DIRECTION = re.compile(r"^[A-Z]{3}>[A-Z]{3}$")


# -- rules -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    """When there is enough data, and how big a change must be (docs/claims.md, "Verdict rules")."""

    min_months: float = 3.0  # months of data each window needs ...
    min_coverage: float = 0.5  # ... and this share of its calendar months
    min_events: int = 10  # unique events (or contacts): both windows together for counts, each for ratios
    alpha: float = 0.05  # one-sided exact Poisson test on counts
    min_change: float | None = None  # None: the measure's default (RELATIVE_CHANGE or PER_EVENT)
    min_windows: int = 3  # record: earlier windows with enough data
    evidence: int = 3  # most-reported events per window

    def tolerance(self, measure: str, reference: float | None) -> float:
        if measure in PER_EVENT:
            return self.min_change if self.min_change is not None else PER_EVENT[measure]
        share = self.min_change if self.min_change is not None else RELATIVE_CHANGE
        return share * abs(reference or 0.0)


_RULE_TYPES = {f.name: f for f in fields(Rules)}


def parse_rules(body, at: str, base: Rules | None = None) -> Rules:
    base = base or Rules()
    if body is None:
        return base
    if not isinstance(body, dict):
        raise ConditionError(f"{at}: rules must map names to numbers ({', '.join(_RULE_TYPES)})")
    values = {f.name: getattr(base, f.name) for f in fields(Rules)}
    for key, value in body.items():
        if key not in _RULE_TYPES:
            raise ConditionError(f"{at}: unknown rule {key!r} (known: {', '.join(_RULE_TYPES)})")
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
        if key in ("min_events", "min_windows", "evidence"):
            ok = ok and float(value).is_integer()
        if key in ("alpha", "min_coverage"):
            ok = ok and value <= 1
        if not ok:
            raise ConditionError(f"{at}: rule {key} has invalid value {value!r}")
        values[key] = int(value) if key in ("min_events", "min_windows", "evidence") else float(value)
    return Rules(**values)


# -- what is measured, and when ----------------------------------------------------------------------


@dataclass(frozen=True)
class Selector:
    measure: str
    track: str = "all"
    theatre: str = "all"
    direction: str = "both"

    @property
    def contacts(self) -> bool:
        return self.measure in CONTACT_MEASURES

    def label(self) -> str:
        if self.contacts:
            return f"{self.measure} per year"
        per_month = self.measure not in PER_EVENT and self.measure != "share_of_all"
        parts = [self.measure + (" per month" if per_month else "")]
        if self.track != "all":
            parts.append(f"track {self.track}")
        if self.theatre != "all":
            parts.append(f"theatre {self.theatre}")
        if self.direction != "both":
            parts.append(self.direction)
        return ", ".join(parts)


def month_start(d: dt.date) -> dt.date:
    return d.replace(day=1)


def add_months(m: dt.date, n: int) -> dt.date:
    k = m.year * 12 + m.month - 1 + n
    return dt.date(k // 12, k % 12 + 1, 1)


def month_end(m: dt.date) -> dt.date:
    return m.replace(day=calendar.monthrange(m.year, m.month)[1])


def month_range(m0: dt.date, m1: dt.date) -> list[dt.date]:
    out, m = [], m0
    while m <= m1:
        out.append(m)
        m = add_months(m, 1)
    return out


def span(m0: dt.date, m1: dt.date) -> str:
    return f"{m0:%Y-%m}" if m0 == m1 else f"{m0:%Y-%m}..{m1:%Y-%m}"


@dataclass(frozen=True)
class Window:
    """Whole months: fixed (first..last; an open end is the data's), or the last `recent` months of data
    ending `skip` months before the latest month with data."""

    first: dt.date | None = None
    last: dt.date | None = None
    recent: int | None = None
    skip: int = 0

    def resolve(self, first_data: dt.date | None, latest: dt.date | None) -> tuple[dt.date, dt.date] | None:
        if self.recent is not None:
            if latest is None:
                return None
            end = add_months(latest, -self.skip)
            return add_months(end, 1 - self.recent), end
        m0 = self.first or first_data
        m1 = self.last or latest
        if m0 is None or m1 is None:
            return None
        return m0, m1


_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$")


def _month_bounds(value, at: str, what: str) -> tuple[dt.date, dt.date]:
    """A year, quarter, month or day as written -> its first and last month."""
    text = str(value).strip()
    try:
        if isinstance(value, int) and not isinstance(value, bool) or _YEAR.match(text):
            y = int(text)
            if 1900 <= y <= 2100:
                return dt.date(y, 1, 1), dt.date(y, 12, 1)
        elif q := _QUARTER.match(text):
            m0 = dt.date(int(q[1]), 3 * int(q[2]) - 2, 1)
            return m0, add_months(m0, 2)
        elif _MONTH.match(text):
            m = dt.date.fromisoformat(text + "-01")
            return m, m
        elif _DAY.match(text):
            m = month_start(dt.date.fromisoformat(text))
            return m, m
    except ValueError:
        pass
    raise ConditionError(f"{at}: {what} {text!r} is not a year (2024), quarter (2024-Q4), month (2024-11) "
                         "or day (2024-11-27)")


def parse_window(spec, at: str, what: str = "window") -> Window:
    if isinstance(spec, dict):
        if "last" in spec:
            extra = set(spec) - {"last", "skip"}
            if extra:
                raise ConditionError(f"{at}: {what} with last takes only skip, not {sorted(map(str, extra))[0]!r}")
            n, skip = spec["last"], spec.get("skip", 0)
            for k, v, lo in (("last", n, 1), ("skip", skip, 0)):
                if not isinstance(v, int) or isinstance(v, bool) or v < lo:
                    raise ConditionError(f"{at}: {what}.{k} must be a whole number of months (>= {lo})")
            return Window(recent=n, skip=skip)
        extra = sorted(str(k) for k in set(spec) - {"from", "to"})
        if extra:
            raise ConditionError(f"{at}: {what} takes from/to or last/skip, not {extra[0]!r}")
        if not spec:
            raise ConditionError(f"{at}: {what} is empty (give from/to or last/skip)")
        first = _month_bounds(spec["from"], at, f"{what}.from")[0] if spec.get("from") is not None else None
        last = _month_bounds(spec["to"], at, f"{what}.to")[1] if spec.get("to") is not None else None
        if first and last and last < first:
            raise ConditionError(f"{at}: {what} ends ({last:%Y-%m}) before it starts ({first:%Y-%m})")
        return Window(first=first, last=last)
    if spec is None:
        raise ConditionError(f"{at}: missing {what}")
    first, last = _month_bounds(spec, at, what)
    return Window(first=first, last=last)


@dataclass(frozen=True)
class Side:
    window: Window
    selector: Selector


@dataclass(frozen=True)
class Condition:
    """One parsed condition (a claim, or a scenario's signpost)."""

    kind: str
    selector: Selector
    rules: Rules
    first: Side | None = None  # compare
    second: Side | None = None
    op: str | None = None  # compare, level, rank
    value: float | None = None  # level: threshold; rank: the rank
    at: dt.date | None = None  # change: the month of the date
    months: int | None = None  # change: window length each side; record: window length
    window: Window | None = None  # level, rank
    extreme: str | None = None  # record: low / high
    since: dt.date | None = None  # record
    among: str | None = None  # rank
    subject: str | None = None  # rank: partner code, theatre or track (default: the dyad's second state)
    partners: tuple[str, ...] = ()
    where: str = ""

    def selectors(self) -> list[Selector]:
        out = [self.selector]
        out += [s.selector for s in (self.first, self.second) if s is not None]
        return out

    def describe(self) -> str:
        if self.kind == "rank":
            sel = self.selector
            who = self.subject or "partner"
            return f"rank of {who} among {self.among} by {sel.measure}" + (
                "" if self.among == "partners" else f" ({sel.label()})")
        if self.first and self.second and self.first.selector != self.second.selector:
            return f"{self.first.selector.label()} vs {self.second.selector.label()}"
        return self.selector.label()


COMMON_KEYS = {"kind", "measure", "track", "theatre", "direction", "rules"}
KIND_KEYS = {
    "compare": {"first", "second", "op"},
    "change": {"at", "months", "change"},
    "level": {"window", "op", "value"},
    "record": {"months", "extreme", "since"},
    "rank": {"among", "subject", "partners", "window", "op", "value"},
}


def partner_metrics(taxonomy: Taxonomy) -> tuple[str, ...]:
    names = compare_schema([f"{c.name}_share" for c in taxonomy.tracks]).names
    return tuple(n for n in names if n not in ("focal", "partner", "months") and not n.startswith("rank_"))


def parse_condition(body: dict, at: str, taxonomy: Taxonomy, rules: Rules, ignore: set[str] = frozenset()) -> Condition:
    """Validate one condition (the keys of a claim or signpost other than `ignore`)."""
    kind = body.get("kind")
    if kind not in KINDS:
        raise ConditionError(f"{at}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    allowed = COMMON_KEYS | KIND_KEYS[kind] | set(ignore)
    extra = sorted(str(k) for k in set(body) - allowed)
    if extra:
        raise ConditionError(f"{at}: unknown key {extra[0]!r} for kind {kind} (expected {', '.join(sorted(allowed))})")
    rules = parse_rules(body.get("rules"), at, rules)
    tracks = tuple(c.name for c in taxonomy.tracks)
    theatres = tuple(c.name for c in taxonomy.theatres)

    def selector(src: dict, base: Selector | None = None, where: str = at) -> Selector:
        measure = src.get("measure", base.measure if base else None)
        track = src.get("track", base.track if base else "all")
        theatre = src.get("theatre", base.theatre if base else "all")
        direction = src.get("direction", base.direction if base else "both")
        if measure is None:
            raise ConditionError(f"{where}: missing measure")
        if kind == "rank" and body.get("among", "partners") == "partners":
            known = partner_metrics(taxonomy)
            if measure not in known:
                raise ConditionError(f"{where}: unknown measure {measure!r} for a rank among partners "
                                     f"(choose from {', '.join(known)})")
        elif measure not in INDICATORS and not (measure in CONTACT_MEASURES and kind != "rank"):
            known = list(INDICATORS) + (list(CONTACT_MEASURES) if kind != "rank" else [])
            raise ConditionError(f"{where}: unknown measure {measure!r} (choose from {', '.join(known)})")
        if track != "all" and track not in tracks:
            raise ConditionError(f"{where}: unknown track {track!r} (choose from all, {', '.join(tracks)})")
        if theatre != "all" and theatre not in theatres:
            raise ConditionError(f"{where}: unknown theatre {theatre!r} (choose from all, {', '.join(theatres)})")
        if direction != "both" and not (isinstance(direction, str) and _DIRECTION.match(direction)):
            raise ConditionError(f"{where}: direction must be both or like RUS>TUR, not {direction!r}")
        sel = Selector(str(measure), str(track), str(theatre), str(direction))
        if sel.contacts and (sel.track, sel.theatre, sel.direction) != ("all", "all", "both"):
            raise ConditionError(f"{where}: {measure} counts leader contacts: no track, theatre or direction")
        return sel

    sel = selector(body)
    out: dict = {"kind": kind, "selector": sel, "rules": rules, "where": at}
    if kind == "compare":
        for name in ("first", "second"):
            spec = body.get(name)
            if isinstance(spec, dict) and "window" in spec:
                extra = set(spec) - {"window", "track", "theatre", "direction"}
                if extra:
                    raise ConditionError(f"{at}: {name} takes window, track, theatre, direction, "
                                         f"not {sorted(map(str, extra))[0]!r}")
                out[name] = Side(parse_window(spec["window"], at, f"{name}.window"),
                                 selector(spec, sel, f"{at}: {name}"))
            else:
                out[name] = Side(parse_window(spec, at, name), sel)
        out["op"] = _op(body, at, ("<", ">"))
    elif kind == "change":
        out["at"] = _month_bounds(_required(body, "at", at), at, "at")[0]
        out["months"] = _months(body.get("months", 12), at, "months")
        change = body.get("change")
        if change not in ("fell", "rose"):
            raise ConditionError(f"{at}: change must be fell or rose, not {change!r}")
        out["op"] = "<" if change == "fell" else ">"
    elif kind == "level":
        out["window"] = parse_window(_required(body, "window", at), at)
        out["op"] = _op(body, at, tuple(OPS))
        out["value"] = _number(_required(body, "value", at), at, "value")
    elif kind == "record":
        out["months"] = _months(body.get("months", 6), at, "months")
        extreme = body.get("extreme")
        if extreme not in ("low", "high"):
            raise ConditionError(f"{at}: extreme must be low or high, not {extreme!r}")
        out["extreme"] = extreme
        if body.get("since") is not None:
            out["since"] = _month_bounds(body["since"], at, "since")[0]
    else:  # rank
        among = body.get("among", "partners")
        if among not in AMONG:
            raise ConditionError(f"{at}: among must be one of {', '.join(AMONG)}, not {among!r}")
        out["among"] = among
        subject = body.get("subject")
        if among == "partners":
            if sel != Selector(sel.measure):
                raise ConditionError(f"{at}: a rank among partners is over all events: no track, theatre or direction")
            partners = body.get("partners", list(DEFAULT_PARTNERS))
            if not isinstance(partners, list) or not partners:
                raise ConditionError(f"{at}: partners must be a list of CAMEO country codes")
            try:
                out["partners"] = tuple(country_code(str(p)) for p in partners)
                out["subject"] = country_code(str(subject)) if subject is not None else None
            except CodeError as exc:
                raise ConditionError(f"{at}: {exc}") from None
        else:
            names = theatres if among == "theatres" else tracks
            what = among[:-1]
            if subject not in names:
                raise ConditionError(f"{at}: subject must be a {what} ({', '.join(names)}), not {subject!r}")
            if getattr(sel, what) != "all":
                raise ConditionError(f"{at}: a rank among {among} cannot also fix the {what}")
            if among == "theatres" and not taxonomy.theatre(subject).regional:
                raise ConditionError(f"{at}: {subject} is not a regional theatre (regional: false)")
            out["subject"] = subject
        if body.get("window") is not None:
            out["window"] = parse_window(body["window"], at)
        out["op"] = _op(body, at, ("<=", ">="))
        rank = body.get("value")
        if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
            raise ConditionError(f"{at}: value must be a rank (1 = highest)")
        out["value"] = rank
    return Condition(**out)


def _required(body: dict, key: str, at: str):
    if body.get(key) is None:
        raise ConditionError(f"{at}: missing {key}")
    return body[key]


def _op(body: dict, at: str, allowed: tuple[str, ...]) -> str:
    op = body.get("op")
    if op not in allowed:
        raise ConditionError(f"{at}: op must be one of {', '.join(repr(o) for o in allowed)}, not {op!r}")
    return op


def _months(value, at: str, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConditionError(f"{at}: {key} must be a whole number of months (>= 1)")
    return value


def _number(value, at: str, key: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ConditionError(f"{at}: {key} must be a number")
    return float(value)


# -- files -------------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text: windows and dates get our messages, not PyYAML's."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_document(path: str | Path, section: str) -> tuple[dict, str]:
    """Read a claims or scenarios file: a mapping with version 1, optional source and rules, and `section`."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConditionError(f"{where}: cannot read ({exc.strerror or exc})") from None
    try:
        doc = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark else ""
        raise ConditionError(f"{where}{at}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(doc, dict):
        raise ConditionError(f"{where}: expected a mapping with version, source, rules and {section}")
    if doc.get("version") not in (1, "1"):
        raise ConditionError(f"{where}: version must be 1, found {doc.get('version')!r}")
    extra = sorted(str(k) for k in set(doc) - {"version", "source", "rules", section})
    if extra:
        raise ConditionError(f"{where}: unknown top-level key {extra[0]!r} "
                             f"(expected version, source, rules, {section})")
    if not isinstance(doc.get(section), list) or not doc[section]:
        raise ConditionError(f"{where}: {section} must be a non-empty list")
    return doc, where


def entry_text(body: dict, key: str, at: str, required: bool = True) -> str:
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ConditionError(f"{at}: missing {key} (a non-empty text)")
    return " ".join(value.split())


def entry_id(body, at: str, seen: set[str]) -> tuple[str, str]:
    """The entry's id, checked, and the location prefix naming it."""
    if not isinstance(body, dict):
        raise ConditionError(f"{at}: expected a mapping with id, text, kind, ...")
    ident = body.get("id")
    if not isinstance(ident, str) or not _ID.match(ident):
        raise ConditionError(f"{at}: id must be lower-case letters, digits, - or _, not {ident!r}")
    where = f"{at} ({ident})"
    if ident in seen:
        raise ConditionError(f"{where}: id used twice")
    seen.add(ident)
    return ident, where


# -- evaluation --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """How one condition came out: holds True / False, or None for not enough data."""

    holds: bool | None
    numbers: dict
    detail: str
    evidence: list[dict] = field(default_factory=list)
    measure: str = ""


class Context:
    """What the conditions read, computed once per dyad: monthly indicators for every track and theatre
    used, leader contacts, the months of data, and the dyad's unique events for evidence."""

    def __init__(self, store, con, a: str, b: str, taxonomy: Taxonomy, conditions: list[Condition],
                 start: dt.date | None, end: dt.date | None, source: str | None, engine: str = "duckdb"):
        from ..engines import as_engine
        from ..measures import contacts as _contacts
        from ..measures import indicators as _indicators
        from ..measures.frame import totals_where

        con = as_engine(con)  # an Engine, or a DuckDB connection
        self.store, self.con, self.a, self.b, self.engine = store, con, a, b, engine
        self.taxonomy, self.start, self.end, self.source = taxonomy, start, end, source
        tracks, theatres = {"all"}, {"all"}
        for c in conditions:
            for s in c.selectors():
                tracks.add(s.track)
                theatres.add(s.theatre)
            if c.among == "theatres":
                theatres.update(t.name for t in taxonomy.theatres if t.regional)
            if c.among == "tracks":
                tracks.update(t.name for t in taxonomy.tracks)
        table = _indicators.indicators(con, a, b, by="month", tracks=sorted(tracks), theatres=sorted(theatres),
                                       start=start, end=end, source=source, taxonomy=taxonomy)
        self.monthly: dict[tuple, dict[dt.date, dict]] = {}
        for r in table.to_pylist():
            self.monthly.setdefault((r["track"], r["theatre"], r["direction"]), {})[r["period"]] = r
        where, params = totals_where(source, start, end)
        rows = con.rows(
            f"""WITH t AS (SELECT source, day, sum(events) AS n FROM daily_totals{where} GROUP BY 1, 2),
                     top AS (SELECT source, max(n) AS peak FROM t GROUP BY 1)
                SELECT CAST(date_trunc('month', day) AS DATE) AS month, count(DISTINCT day) AS days
                FROM t JOIN top USING (source) WHERE t.n > 0 AND t.n >= ? * top.peak GROUP BY 1""",
            [*params, COVERED_DAY])
        self.coverage = {m: days / calendar.monthrange(m.year, m.month)[1] for m, days in rows}
        self.first_month = min(self.coverage) if self.coverage else None
        self.latest = max(self.coverage) if self.coverage else None
        self.contacts = None
        if any(s.contacts for c in conditions for s in c.selectors()):
            self.contacts = _contacts.leader_contacts(con, a, b, start=start, end=end, source=source).to_pylist()

    # -- one window

    def measure(self, sel: Selector, m0: dt.date, m1: dt.date) -> dict:
        """The selector over months m0..m1 as one period: value, units (events or contacts behind it),
        months of data and calendar months."""
        months = month_range(m0, m1)
        cover = sum(self.coverage.get(m, 0.0) for m in months)
        out = {"window": span(m0, m1), "months": round(cover, 4), "calendar_months": len(months)}
        if sel.contacts:
            kinds = CONTACT_MEASURES[sel.measure]
            n = sum(1 for c in self.contacts or [] if c["kind"] in kinds and m0 <= c["day"] <= month_end(m1))
            return {**out, "value": n * 12 / cover if cover else None, "count": n, "units": n}
        self._direction(sel)
        series = self.monthly.get((sel.track, sel.theatre, sel.direction), {})
        rows = [series[m] for m in months if m in series]
        tot = {k: sum(r[k] or 0 for r in rows) for k in ("events", "records", "articles", "quad1", "quad2", "quad3",
                                                        "quad4", "goldstein_sum")}
        all_events = sum(r["all_events"] or 0 for r in rows)
        ev = tot["events"]
        m = sel.measure
        if m in tot:
            value = tot[m] / cover if cover else None
        elif m == "all_events":
            value = all_events / cover if cover else None
        elif m == "share_of_all":
            value = tot["records"] / all_events if all_events else None
        elif m.endswith("_share"):
            value = tot[m[:-6]] / ev if ev else None
        elif m == "net_cooperation":
            value = (tot["quad1"] + tot["quad2"] - tot["quad3"] - tot["quad4"]) / ev if ev else None
        elif m == "goldstein_mean":
            value = tot["goldstein_sum"] / ev if ev else None
        else:  # mean_tone: the months' means weighted by their events
            toned = [(r["mean_tone"], r["events"]) for r in rows if r["mean_tone"] is not None and r["events"]]
            n = sum(e for _, e in toned)
            value = sum(t * e for t, e in toned) / n if n else None
        out = {**out, "value": value, "units": ev}
        if m in tot:
            out["count"] = tot[m]
        return out

    def _direction(self, sel: Selector) -> None:
        if sel.direction != "both" and sel.direction not in (f"{self.a}>{self.b}", f"{self.b}>{self.a}"):
            raise ValueError(f"direction {sel.direction} is not a direction of the dyad {self.a}-{self.b}")

    def evidence(self, sel: Selector, m0: dt.date, m1: dt.date, n: int, label: str) -> list[dict]:
        """The n most-reported unique events (contacts) of the window, as the shifts' evidence is chosen."""
        if n <= 0:
            return []
        lo, hi = m0, month_end(m1)
        if sel.contacts:
            kinds = CONTACT_MEASURES[sel.measure]
            hits = [c for c in self.contacts or [] if c["kind"] in kinds and lo <= c["day"] <= hi]
            hits.sort(key=lambda c: (-(c["articles"] or 0), c["day"], c["event_ids"][0]))
            return [{"window": label, "event_id": c["event_ids"][0], "date": c["day"],
                     "url": c["urls"][0] if c["urls"] else None, "articles": c["articles"], "kind": c["kind"],
                     "leaders": c["leaders"]} for c in hits[:n]]
        where, params = ["event_date >= ?", "event_date <= ?"], [lo, hi]
        if sel.track != "all":
            where.append(f'"track:{sel.track}"')
        if sel.theatre != "all":
            where.append(f'"theatre:{sel.theatre}"')
        if sel.direction != "both":
            where.append("direction = ?")
            params.append(sel.direction)
        rows = self.con.rows(
            f"""SELECT event_id, event_date, source_url, articles, direction, event_code FROM unique_events
                WHERE {' AND '.join(where)} ORDER BY articles DESC, event_id LIMIT {int(n)}""", params)
        return [{"window": label, "event_id": r[0], "date": r[1], "url": r[2], "articles": r[3], "direction": r[4],
                 "event_code": r[5]} for r in rows]


def _fmt(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:.3g}" if abs(v) < 10 else f"{v:,.1f}"
    return f"{int(v):,}"


def _enough(w: dict, rules: Rules) -> str | None:
    """Why a window lacks data (None if it has enough)."""
    need = max(rules.min_months, rules.min_coverage * w["calendar_months"])
    if w["months"] + 1e-9 < need:
        return (f"{w['window']} has {_fmt(w['months'])} months of data (needs {_fmt(rules.min_months)} and "
                f"{rules.min_coverage:.0%} of its {w['calendar_months']})")
    return None


def _units_name(sel: Selector) -> str:
    return "leader contacts" if sel.measure == "contacts" else (sel.measure if sel.contacts else "events")


def binomial_tail(k: int, n: int, p: float, lower: bool) -> float:
    """P(X <= k) (lower) or P(X >= k) for X ~ Binomial(n, p), summed in log space."""
    ks = range(0, k + 1) if lower else range(max(k, 0), n + 1)
    if not ks:
        return 0.0
    lp, lq = math.log(p), math.log1p(-p)
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq for i in ks]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(x - top) for x in logs))


def poisson_p(c1: int, e1: float, c2: int, e2: float, op: str) -> float:
    """One-sided exact test that the rate c1/e1 is below (op '<') or above (op '>') c2/e2: given the
    total, the first count is binomial with p = e1 / (e1 + e2) if the rates are equal."""
    return binomial_tail(c1, c1 + c2, e1 / (e1 + e2), lower=(op == "<"))


def decide_two(sel: Selector, rules: Rules, op: str, x: dict, y: dict, names: tuple[str, str],
               sel_y: Selector | None = None) -> tuple[bool | None, str, dict]:
    """x (first / after) against y (second / before): the verdict rules of docs/claims.md."""
    sel_y = sel_y or sel
    nx, ny = names
    numbers = {f"{nx}_{k}": v for k, v in x.items()} | {f"{ny}_{k}": v for k, v in y.items()}
    for w in (x, y):
        why = _enough(w, rules)
        if why:
            return None, f"not enough data: {why}", numbers
    m = sel.measure
    units = _units_name(sel)
    if m in PER_EVENT:
        for w in (x, y):
            if w["units"] < rules.min_events:
                return None, (f"not enough data: {w['units']} {units} in {w['window']} "
                              f"(needs {rules.min_events} in each window)"), numbers
    elif x["units"] + y["units"] < rules.min_events:
        return None, (f"not enough data: {x['units'] + y['units']} {units} in the two windows "
                      f"(needs {rules.min_events})"), numbers
    if x["value"] is None or y["value"] is None:
        return None, "not enough data: the measure is undefined in a window", numbers
    diff = x["value"] - y["value"]
    tol = rules.tolerance(m, y["value"])
    numbers |= {"difference": diff, "tolerance": tol}
    what = sel.label() if sel == sel_y else m
    desc = f"{what}: {_fmt(x['value'])} ({_side(x, sel)}) vs {_fmt(y['value'])} ({_side(y, sel_y)})"
    if abs(diff) <= tol:
        return False, f"{desc}: no clear difference (|{_fmt(diff)}| within the tolerance {_fmt(tol)})", numbers
    if not OPS[op](diff, 0):
        return False, f"{desc}: the opposite of the claim", numbers
    if m in TESTED:
        p = poisson_p(int(x["count"]), x["months"], int(y["count"]), y["months"], op)
        numbers["p_value"] = p
        if p >= rules.alpha:
            why = f"{desc} as claimed, but within chance (p={p:.2g} >= {rules.alpha:g})"
            return None, f"not enough data: {why}", numbers
        return True, f"{desc}, p={p:.2g}", numbers
    return True, desc, numbers


def _side(w: dict, sel: Selector) -> str:
    noun = sel.measure if "count" in w and sel.measure != "contacts" else "events"
    noun = "leader contacts" if sel.measure == "contacts" else noun
    return f"{w['window']}: {_fmt(w.get('count', w['units']))} {noun}, {_fmt(w['months'])} months of data"


def evaluate_condition(ctx: Context, c: Condition) -> Outcome:
    kind_fn = {"compare": _compare, "change": _change, "level": _level, "record": _record, "rank": _rank}[c.kind]
    return kind_fn(ctx, c)


def _nodata(c: Condition, why: str, numbers: dict | None = None) -> Outcome:
    return Outcome(None, numbers or {}, f"not enough data: {why}", [], c.describe())


def _two(ctx: Context, c: Condition, sides: list[tuple[str, Selector, tuple[dt.date, dt.date]]]) -> Outcome:
    (nx, sx, wx), (ny, sy, wy) = sides
    x, y = ctx.measure(sx, *wx), ctx.measure(sy, *wy)
    holds, detail, numbers = decide_two(sx, c.rules, c.op, x, y, (nx, ny), sy)
    evidence = [e for name, s, w in sides for e in ctx.evidence(s, *w, c.rules.evidence, name)]
    return Outcome(holds, numbers, detail, evidence, c.describe())


def _compare(ctx: Context, c: Condition) -> Outcome:
    sides = []
    for name, side in (("first", c.first), ("second", c.second)):
        w = side.window.resolve(ctx.first_month, ctx.latest)
        if w is None:
            return _nodata(c, "the store holds no data in range")
        sides.append((name, side.selector, w))
    return _two(ctx, c, sides)


def _change(ctx: Context, c: Condition) -> Outcome:
    before = (add_months(c.at, -c.months), add_months(c.at, -1))
    after = (add_months(c.at, 1), add_months(c.at, c.months))
    return _two(ctx, c, [("after", c.selector, after), ("before", c.selector, before)])


def _level(ctx: Context, c: Condition) -> Outcome:
    w = c.window.resolve(ctx.first_month, ctx.latest)
    if w is None:
        return _nodata(c, "the store holds no data in range")
    x = ctx.measure(c.selector, *w)
    numbers = {**x, "threshold": c.value}
    why = _enough(x, c.rules)
    if why:
        return _nodata(c, why, numbers)
    if c.selector.measure in PER_EVENT and x["units"] < c.rules.min_events:
        return _nodata(c, f"{x['units']} events in {x['window']} (needs {c.rules.min_events})", numbers)
    if x["value"] is None:
        return _nodata(c, "the measure is undefined in the window", numbers)
    holds = OPS[c.op](x["value"], c.value)
    detail = (f"{c.selector.label()}: {_fmt(x['value'])} ({_side(x, c.selector)}) "
              f"{'' if holds else 'not '}{c.op} {_fmt(c.value)}")
    return Outcome(holds, numbers, detail, ctx.evidence(c.selector, *w, c.rules.evidence, "window"), c.describe())


def _record(ctx: Context, c: Condition) -> Outcome:
    if ctx.latest is None:
        return _nodata(c, "the store holds no data in range")
    last = (add_months(ctx.latest, 1 - c.months), ctx.latest)
    x = ctx.measure(c.selector, *last)
    numbers = {f"latest_{k}": v for k, v in x.items()}
    rules, per_event = c.rules, c.selector.measure in PER_EVENT

    def usable(w: dict) -> bool:
        return not _enough(w, rules) and w["value"] is not None and (not per_event or w["units"] >= rules.min_events)

    if not usable(x):
        why = _enough(x, rules) or f"{x['units']} events in {x['window']} (needs {rules.min_events})"
        return _nodata(c, why, numbers)
    since = max(c.since or ctx.first_month, ctx.first_month)
    earlier = []
    end = add_months(since, c.months - 1)
    while end < last[0]:
        w = ctx.measure(c.selector, add_months(end, 1 - c.months), end)
        if usable(w):
            earlier.append(w)
        end = add_months(end, 1)
    numbers["windows_compared"] = len(earlier)
    if len(earlier) < rules.min_windows:
        return _nodata(c, f"{len(earlier)} earlier {c.months}-month windows with enough data "
                          f"(needs {rules.min_windows})", numbers)
    pick = min if c.extreme == "low" else max
    best = pick(earlier, key=lambda w: w["value"])
    numbers |= {"previous_extreme": best["value"], "previous_extreme_window": best["window"]}
    holds = x["value"] < best["value"] if c.extreme == "low" else x["value"] > best["value"]
    word = "lowest" if c.extreme == "low" else "highest"
    detail = (f"{c.selector.label()}: {_fmt(x['value'])} in {x['window']} "
              f"{'is' if holds else 'is not'} the {word} of {len(earlier) + 1} {c.months}-month windows "
              f"(previous {word} {_fmt(best['value'])} in {best['window']})")
    m0 = dt.date.fromisoformat(best["window"][:7] + "-01")
    evidence = ctx.evidence(c.selector, *last, rules.evidence, "latest")
    evidence += ctx.evidence(c.selector, m0, add_months(m0, c.months - 1), rules.evidence, "previous_extreme")
    return Outcome(holds, numbers, detail, evidence, c.describe())


def _rank(ctx: Context, c: Condition) -> Outcome:
    window = c.window or Window()
    w = window.resolve(ctx.first_month, ctx.latest)
    if w is None:
        return _nodata(c, "the store holds no data in range")
    rules, sel = c.rules, c.selector
    cover = ctx.measure(Selector("events"), *w)
    numbers = {"window": cover["window"], "months": cover["months"], "calendar_months": cover["calendar_months"]}
    why = _enough(cover, rules)
    if why:
        return _nodata(c, why, numbers)
    evidence_sel = Selector("events")
    if c.among == "partners":
        from ..measures import api

        subject = c.subject or ctx.b
        partners = list(dict.fromkeys([subject, *(p for p in c.partners if p != ctx.a)]))
        table = api.compare(ctx.store, ctx.a, partners, start=max(w[0], ctx.start or w[0]),
                            end=min(month_end(w[1]), ctx.end or month_end(w[1])), source=ctx.source,
                            taxonomy=ctx.taxonomy, engine=ctx.engine)
        rows = {r["partner"]: r for r in table.to_pylist()}
        values = {p: rows[p][sel.measure] for p in partners}
        units = rows[subject]["events"]
        if subject != ctx.b:
            evidence_sel = None
    else:
        what = c.among[:-1]
        names = [t.name for t in (ctx.taxonomy.theatres if what == "theatre" else ctx.taxonomy.tracks)
                 if what == "track" or t.regional]
        got = {n: ctx.measure(Selector(sel.measure, **{"track": sel.track, "theatre": sel.theatre,
                                                      "direction": sel.direction, what: n}), *w) for n in names}
        values = {n: g["value"] for n, g in got.items()}
        subject = c.subject
        units = got[subject]["units"]
        evidence_sel = Selector("events", **{"track": sel.track, "theatre": sel.theatre, "direction": sel.direction,
                                             what: subject})
    numbers |= {"subject": subject, "subject_events": units, "values": values}
    if units < rules.min_events:
        return _nodata(c, f"{units} events for {subject} in {numbers['window']} (needs {rules.min_events})", numbers)
    v = values.get(subject)
    if v is None:
        return _nodata(c, f"{sel.measure} is undefined for {subject}", numbers)
    ranked = [x for x in values.values() if x is not None]
    best = 1 + sum(1 for x in ranked if x > v)  # competition rank, as api.compare's
    worst = sum(1 for x in ranked if x >= v)
    # a tie never helps the claim: "top N" must hold however the tie is broken, and so must "not above N"
    rank = worst if c.op == "<=" else best
    holds = OPS[c.op](rank, c.value)
    numbers |= {"rank": best, "rank_if_ties_break_against": rank, "of": len(ranked), "value": v}
    tie = f" (tied: ranks {best}-{worst})" if worst > best else ""
    detail = (f"{subject} ranks {best}{tie} of {len(ranked)} {c.among} by {sel.measure} in {numbers['window']} "
              f"({_fmt(v)}); the claim needs rank {c.op} {int(c.value)}")
    evidence = ctx.evidence(evidence_sel, *w, rules.evidence, "window") if evidence_sel else []
    return Outcome(holds, numbers, detail, evidence, c.describe().replace("rank of partner", f"rank of {subject}"))


def evaluate(store, conditions: list[Condition], dyad="RUS-TUR", start=None, end=None, *, source: str | None = None,
             taxonomy=None, engine: str = "duckdb") -> list[Outcome]:
    """Evaluate conditions on one dyad, reading the store once: the entry point of claims and scenarios.
    `engine`: "duckdb" or "spark" (dyadwatch.engines)."""
    from ..engines import open_engine
    from ..measures import api
    from ..measures.frame import default_taxonomy

    a, b = parse_dyad(dyad) if isinstance(dyad, str) else tuple(dyad)
    start, end = _date(start, "start"), _date(end, "end")
    tax = default_taxonomy(taxonomy)
    for c in conditions:  # a file checked against the shipped taxonomy may name what yours lacks
        for s in c.selectors():
            if s.track != "all":
                tax.track(s.track)
            if s.theatre != "all":
                tax.theatre(s.theatre)
    st = api._open(store)
    with open_engine(st, engine) as con:
        ctx = Context(st, con, a, b, tax, conditions, start, end, source, engine)
        return [evaluate_condition(ctx, c) for c in conditions]


def _date(value, what: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"bad {what} date {value!r}: use YYYY-MM-DD") from None


def default_path(kind: str) -> Path:
    from importlib import resources

    return Path(str(resources.files("dyadwatch").joinpath("data", kind, "seed-paper.yaml")))


def taxonomy_for(taxonomy) -> Taxonomy:
    return taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
