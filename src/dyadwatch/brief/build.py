"""From gathered data (data.py) to the brief's sections and statements (model.py).

Rules that keep the brief honest:
- every number comes from the measures API; every statement about events cites the most-reported
  events behind it (footnotes numbered in reading order, one per event);
- a trend needs MIN_TREND_MONTHS months with data, a shift needs what the detectors need, a balance of
  cooperation and conflict needs MIN_EVENTS events; below that a section says there is not enough data
  instead of describing noise;
- zero is reported as zero, and a month the store holds no file for is "no data", not zero.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Iterable

from ..measures.contacts import ECHO_WINDOW_DAYS
from . import charts
from .data import BriefData, EventRef, country_name, event_description
from .model import Brief, Bullets, Cell, Chart, Footnote, Paragraph, Section, Statement, Table

MIN_TREND_MONTHS = 6  # a trend compares two halves of at least 3 months each
MIN_SHIFT_MONTHS = 6  # PELT needs two segments of 3 months; the z-score test 6 earlier months (7 in all)
MIN_EVENTS = 5  # below this a balance of cooperation and conflict is not described
MIN_COMPARE_TREND_MONTHS = 3  # the partner comparison's trend (measures.compare)
TREND_WORD = 0.25  # |relative change| at which a trend is called a rise or a fall
REFS_PER_STATEMENT = 3
TOP_EVENTS = 5
MAX_SHIFT_ITEMS = 16
MAX_CONTACT_ITEMS = 60

TRACK_TITLES = {
    "economy_energy": "Economy and energy",
    "leaders": "Leader politics",
    "security_arms": "Security, the Black Sea and arms",
    "diplomacy": "Diplomacy",
    "friction": "Friction",
}
TRACK_ORDER = ("economy_energy", "leaders", "security_arms", "diplomacy", "friction")
BLACK_SEA = "ukraine_black_sea"
INDICATOR_LABELS = {
    "events": "unique events", "share_of_all": "the share of all events", "net_cooperation": "net cooperation",
    "goldstein_mean": "the mean Goldstein score", "records": "records", "articles": "articles",
    "mean_tone": "the mean tone",
}
QUAD_LABELS = ("verbal cooperation", "material cooperation", "verbal conflict", "material conflict")


# -- formatting ------------------------------------------------------------------------------------


def share(v: float | None) -> str:
    if v is None:
        return "n/a"
    p = v * 100
    return f"{p:.3f}%" if 0 < p < 0.1 else f"{p:.2f}%"


def pct(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "n/a"


def signed(v: float | None, digits: int = 2) -> str:
    return "n/a" if v is None else f"{v:+.{digits}f}"


def month_name(d: dt.date) -> str:
    return d.strftime("%B %Y")


def day_text(d: dt.date | None) -> str:
    return d.isoformat() if d else "undated"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def value_text(indicator: str, v: float | None) -> str:
    if v is None:
        return "n/a"
    if indicator == "share_of_all":
        return share(v)
    if indicator in ("net_cooperation", "goldstein_mean", "mean_tone"):
        return signed(v)
    return f"{v:,.1f}" if v != round(v) else f"{int(v):,}"


def actor_text(name: str | None, country: str | None) -> str:
    cname = country_name(country) if country else None
    if not name:
        return cname or "unnamed actor"
    pretty = name.title()
    if cname and pretty.lower() != cname.lower():
        return f"{pretty} ({country})"
    return pretty


def event_text(e: EventRef) -> str:
    """One line naming an event: who did what to whom, where."""
    what = event_description(e.event_code)
    where = f" in {e.place}" if e.place else ""
    return f"{actor_text(e.actor1, e.actor1_country)} → {actor_text(e.actor2, e.actor2_country)}: {what}{where}"


# -- footnotes -------------------------------------------------------------------------------------


class Citations:
    """Footnote numbers in the order events are first cited; one footnote per event id."""

    def __init__(self, data: BriefData):
        self.data = data
        self.numbers: dict[int, int] = {}
        self.footnotes: list[Footnote] = []

    def _add(self, e: EventRef) -> int:
        if e.event_id in self.numbers:
            return self.numbers[e.event_id]
        n = len(self.footnotes) + 1
        code = f" ({e.event_code})" if e.event_code else ""
        desc = (f"{actor_text(e.actor1, e.actor1_country)} → {actor_text(e.actor2, e.actor2_country)}: "
                f"{event_description(e.event_code)}{code}")
        if e.place:
            desc += f"; {e.place}"
        if e.articles:
            desc += f"; {plural(e.articles, 'article')}"
        self.footnotes.append(Footnote(n, e.event_id, e.date, e.url, e.source, desc))
        self.numbers[e.event_id] = n
        return n

    def cite(self, events: Iterable[EventRef], limit: int | None = REFS_PER_STATEMENT) -> list[int]:
        out: list[int] = []
        for e in events:
            if limit is not None and len(out) >= limit:
                break
            n = self._add(e)
            if n not in out:
                out.append(n)
        return out

    def cite_ids(self, ids: Iterable[int], limit: int | None = REFS_PER_STATEMENT) -> list[int]:
        ids = [int(i) for i in ids if i is not None]
        if limit is not None:
            ids = ids[:limit]
        found = self.data.events.lookup(ids)
        return self.cite([found[i] for i in ids if i in found], limit=None)

    def cite_evidence(self, evidence, limit: int | None = REFS_PER_STATEMENT) -> list[int]:
        """Evidence as claims / scenarios give it: dicts (or objects) with event_id, date, url."""
        items = []
        for ev in (evidence or []):
            get = ev.get if isinstance(ev, dict) else (lambda k, _e=ev: getattr(_e, k, None))
            if get("event_id") is None:
                continue
            items.append((int(get("event_id")), get("date"), get("url")))
        if limit is not None:
            items = items[:limit]
        found = self.data.events.lookup([i for i, _, _ in items])
        refs = []
        for event_id, date, url in items:
            e = found.get(event_id)
            if e is None:
                if isinstance(date, str):
                    try:
                        date = dt.date.fromisoformat(date[:10])
                    except ValueError:
                        date = None
                e = EventRef(event_id=event_id, source=None, date=date, url=url)
            n = self._add(e)
            if n not in refs:
                refs.append(n)
        return refs


# -- the monthly indicator rows --------------------------------------------------------------------


def rows(data: BriefData, track: str = "all", theatre: str = "all", direction: str = "both") -> list[dict]:
    return [r for r in data.monthly if r["track"] == track and r["theatre"] == theatre and r["direction"] == direction]


def total(rs: list[dict]) -> dict:
    """Sum monthly rows into one for the whole range (unique events are per day, so they add up)."""
    events = sum(r["events"] for r in rs)
    quads = [sum(r[f"quad{q}"] for r in rs) for q in (1, 2, 3, 4)]
    all_events = sum(r["all_events"] or 0 for r in rs)
    records = sum(r["records"] for r in rs)
    tone_w = [(r["mean_tone"], r["events"]) for r in rs if r["mean_tone"] is not None and r["events"]]
    return {
        "events": events, "records": records, "articles": sum(r["articles"] for r in rs), "all_events": all_events,
        "share_of_all": records / all_events if all_events else None, "quads": quads,
        "net_cooperation": (quads[0] + quads[1] - quads[2] - quads[3]) / events if events else None,
        "goldstein_mean": sum(r["goldstein_sum"] for r in rs) / events if events else None,
        "mean_tone": sum(t * n for t, n in tone_w) / sum(n for _, n in tone_w) if tone_w else None,
    }


def months_with_data(data: BriefData) -> list[dt.date]:
    return sorted({r["period"] for r in data.monthly if r["all_events"] is not None})


# -- the builder -----------------------------------------------------------------------------------


class Builder:
    def __init__(self, data: BriefData):
        self.d = data
        self.c = Citations(data)
        self.a, self.b = data.a, data.b
        self.A, self.B = data.names
        self.out_dir, self.in_dir = f"{self.a}>{self.b}", f"{self.b}>{self.a}"
        self.months = months_with_data(data)
        self.all = total(rows(data))
        self.track_names = [c.name for c in data.taxonomy.tracks]
        self.labels = {c.name: c.label for c in (*data.taxonomy.tracks, *data.taxonomy.theatres)}
        self.regional = [c.name for c in data.taxonomy.theatres if c.regional]
        self.home = [c.name for c in data.taxonomy.theatres if not c.regional]

    # small helpers ------------------------------------------------------------------------------

    def top(self, n: int = REFS_PER_STATEMENT, **kw) -> list[EventRef]:
        return self.d.events.top(n, **kw)

    def cite_top(self, n: int = REFS_PER_STATEMENT, **kw) -> list[int]:
        return self.c.cite(self.top(n, **kw))

    def top_events_list(self, title: str, n: int = TOP_EVENTS, **kw) -> Bullets | None:
        events = self.top(n, **kw)
        if not events:
            return None
        items = [Statement(f"{event_text(e)} ({plural(e.articles or 0, 'article')})", self.c.cite([e]),
                           label=day_text(e.date)) for e in events]
        return Bullets(items, title=title)

    def range_text(self) -> str:
        if self.d.start and self.d.end:
            return f"from {self.d.start.isoformat()} to {self.d.end.isoformat()}"
        return "over the whole store"

    def not_enough_months(self, what: str, need: int) -> Statement:
        k = len(self.months)
        return Statement(f"Not enough data for {what}: the range holds {plural(k, 'month')} with data "
                         f"and {what} needs at least {need}.", kind="no_data")

    # statements shared by tracks and theatres ---------------------------------------------------

    def volume(self, track: str = "all", theatre: str = "all", what: str = "on this track") -> Statement:
        t = total(rows(self.d, track, theatre))
        out = total(rows(self.d, track, theatre, self.out_dir))["events"]
        inc = total(rows(self.d, track, theatre, self.in_dir))["events"]
        if not t["events"]:
            return Statement(f"No event between {self.A} and {self.B} {what} {self.range_text()}.", kind="empty")
        text = (f"{plural(t['events'], 'unique event')} {what} ({pct(t['events'], self.all['events'])} of the "
                f"dyad's {self.all['events']:,}), {plural(t['records'], 'record')} in "
                f"{plural(t['articles'], 'article')}: {out:,} {self.A} → {self.B}, {inc:,} {self.B} → {self.A}.")
        return Statement(text, self.cite_top(track=track, theatre=theatre))

    def balance(self, track: str = "all", theatre: str = "all") -> Statement:
        t = total(rows(self.d, track, theatre))
        n = t["events"]
        if n == 0:
            return Statement("No events, so no balance of cooperation and conflict.", kind="empty")
        if n < MIN_EVENTS:
            return Statement(f"Only {plural(n, 'event')}: too few to describe the balance of cooperation and "
                             f"conflict (the brief needs {MIN_EVENTS}).", kind="no_data")
        q = t["quads"]
        mix = ", ".join(f"{QUAD_LABELS[i]} {pct(q[i], n)}" for i in range(4))
        coop = self.top(1, track=track, theatre=theatre, quads=(1, 2))
        conf = self.top(1, track=track, theatre=theatre, quads=(3, 4))
        text = (f"Net cooperation {signed(t['net_cooperation'])} ({mix}); mean Goldstein score "
                f"{signed(t['goldstein_mean'])}, mean tone {signed(t['mean_tone'])}.")
        if coop:
            text += f" Most reported cooperation: {event_text(coop[0])}, {day_text(coop[0].date)}."
        if conf:
            text += f" Most reported conflict: {event_text(conf[0])}, {day_text(conf[0].date)}."
        return Statement(text, self.c.cite(coop + conf))

    def trend(self, track: str = "all", theatre: str = "all") -> Statement:
        months = [r for r in rows(self.d, track, theatre) if r["all_events"] is not None]
        if len(months) < MIN_TREND_MONTHS:
            return self.not_enough_months("a trend", MIN_TREND_MONTHS)
        n = sum(r["events"] for r in months)
        if n < MIN_EVENTS:
            return Statement(f"Only {plural(n, 'event')} over {len(months)} months: too few for a trend (the brief "
                             f"needs {MIN_EVENTS}).", kind="no_data")
        half = len(months) // 2
        first, last = months[:half], months[-half:]
        m1 = sum(r["events"] for r in first) / half
        m2 = sum(r["events"] for r in last) / half
        s1 = sum(r["records"] for r in first) / sum(r["all_events"] for r in first)
        s2 = sum(r["records"] for r in last) / sum(r["all_events"] for r in last)
        change = (s2 - s1) / s1 if s1 else None
        if change is None:
            word = "rose from nothing" if s2 else "stayed at zero"
        elif change >= TREND_WORD:
            word = "rose"
        elif change <= -TREND_WORD:
            word = "fell"
        else:
            word = "held roughly level"
        rel = f" ({change:+.0%})" if change is not None else ""
        span = lambda ms: f"{ms[0]['period']:%Y-%m}..{ms[-1]['period']:%Y-%m}"  # noqa: E731
        text = (f"Over {len(months)} months with data the volume {word}: {m1:.1f} events a month in {span(first)}, "
                f"{m2:.1f} in {span(last)}; as a share of all events {share(s1)} → {share(s2)}{rel}.")
        refs = (self.cite_top(2, track=track, theatre=theatre, months=(last[0]["period"], last[-1]["period"]))
                or self.cite_top(2, track=track, theatre=theatre, months=(first[0]["period"], first[-1]["period"]))
                or self.cite_top(2, track=track, theatre=theatre))
        return Statement(text, refs)

    def shift_evidence(self, s: dict, track: str) -> list[int]:
        """The events `dyadwatch shifts` lists for the shift's month; when that month has none on the track
        (a drop to zero), the most-reported events of the three months before it: the level that changed."""
        refs = self.c.cite_ids(s.get("evidence_event_ids") or [])
        if refs:
            return refs
        p = s["period"]
        lo = dt.date(p.year - (1 if p.month <= 3 else 0), (p.month - 4) % 12 + 1, 1)
        before = p - dt.timedelta(days=1)
        return self.cite_top(track=track, months=(lo, dt.date(before.year, before.month, 1)))

    def shift_statement(self, s: dict, track_label: str | None = None, track: str = "all") -> Statement:
        ind = INDICATOR_LABELS.get(s["indicator"], s["indicator"])
        where = f" on the {track_label} track" if track_label else ""
        up = s["direction"] == "up"
        if s["method"] == "zscore":
            text = (f"{ind[0].upper() + ind[1:]}{where} {'jumped' if up else 'dropped'} to "
                    f"{value_text(s['indicator'], s['after'])} against a mean of "
                    f"{value_text(s['indicator'], s['before'])} over the preceding months (z = {s['magnitude']:+.1f}).")
        else:
            text = (f"{ind[0].upper() + ind[1:]}{where} changed level {'upwards' if up else 'downwards'}: a mean of "
                    f"{value_text(s['indicator'], s['before'])} a month before, "
                    f"{value_text(s['indicator'], s['after'])} from this month on (changepoint).")
        return Statement(text, self.shift_evidence(s, track), label=month_name(s["period"]))

    # sections ----------------------------------------------------------------------------------

    def abstract(self) -> list[Statement]:
        out = []
        n = self.all["events"]
        if n == 0:
            out.append(Statement(f"The store holds no event between {self.A} and {self.B} {self.range_text()}; "
                                 "nothing below describes the relationship.", kind="no_data"))
            return out
        out.append(Statement(
            f"{plural(n, 'unique event')} between {self.A} and {self.B} {self.range_text()} "
            f"({plural(self.all['records'], 'record')}, {share(self.all['share_of_all'])} of all events the store "
            f"saw), net cooperation {signed(self.all['net_cooperation'])}.", self.cite_top()))
        by_track = sorted(((total(rows(self.d, t))["events"], t) for t in self.track_names), reverse=True)
        if by_track and by_track[0][0]:
            k, t = by_track[0]
            out.append(Statement(f"The busiest track is {self.labels[t].lower()} ({pct(k, n)} of events).",
                                 self.cite_top(1, track=t)))
        reg = sorted(((total(rows(self.d, "all", th))["events"], th) for th in self.regional), reverse=True)
        if reg and reg[0][0]:
            k, th = reg[0]
            out.append(Statement(f"The leading regional theatre is {self.labels[th]} ({plural(k, 'event')}).",
                                 self.cite_top(1, theatre=th)))
        nc = len(self.d.contacts)
        if nc:
            firm = sum(1 for c in self.d.contacts if c["corroborated"])
            out.append(Statement(f"{plural(nc, 'leader-level contact')} (calls, visits, meetings; {firm} of them "
                                 "corroborated) are in the data.",
                                 self.c.cite_ids([c["event_ids"][0] for c in self.d.contacts], limit=3)))
        if len(self.months) < MIN_SHIFT_MONTHS:
            out.append(Statement(f"With {plural(len(self.months), 'month')} of data the brief reports levels only: "
                                 "too little data for trends or shifts.", kind="no_data"))
        return out

    def key_shifts(self) -> Section:
        sec = Section("key-shifts", "Key shifts")
        all_rows = rows(self.d)
        shift_months = [s["period"] for s in self.d.shifts.get("all", [])]
        if not self.all["events"]:
            pass  # nothing to draw: the summary and the coverage section say so
        elif len(self.months) >= 3:
            by_month = {r["period"]: r for r in all_rows if r["all_events"] is not None or r["events"]}
            periods = sorted(set(by_month) | set(self.d.coverage.months))
            missing = [p for p in periods if p not in by_month]
            svg = charts.indicator_lines(periods, [by_month[p]["events"] if p in by_month else 0 for p in periods],
                                         [by_month[p]["net_cooperation"] if p in by_month else None for p in periods],
                                         shift_months, missing=missing,
                                         title=f"{self.A}–{self.B}: unique events and net cooperation per month",
                                         name="indicators")
            caption = "Unique events per month (top) and net cooperation (bottom); dashed lines mark shifts"
            caption += ", grey bands months without data." if missing else "."
        else:
            days = self.d.events.daily()
            net = self._daily_net()
            svg = charts.indicator_lines([d for d, _ in days], [n for _, n in days], [net.get(d) for d, _ in days], [],
                                         title=f"{self.A}–{self.B}: unique events and net cooperation per day",
                                         daily=True, name="indicators")
            caption = (f"Per day, because the range holds only {plural(len(self.months), 'month')} of data: "
                       "too few monthly points for a line.")
        if self.all["events"]:
            sec.add(Chart("indicators", "Indicators", svg, caption, self.cite_top()))
        if len(self.months) < MIN_SHIFT_MONTHS:
            sec.say(f"Not enough data to detect shifts: the range holds {plural(len(self.months), 'month')} with "
                    f"data; the changepoint test needs two stretches of at least 3 months ({MIN_SHIFT_MONTHS} in "
                    "all) and the z-score test 6 earlier months (7 in all).", kind="no_data")
            return sec
        items = [self.shift_statement(s) for s in self.d.shifts.get("all", [])]
        for t in self.track_names:
            items += [self.shift_statement(s, self.labels[t].lower(), t) for s in self.d.shifts.get(t, [])]
        if not items:
            sec.say(f"No shift over {plural(len(self.months), 'month')}: no month's unique events, share of all "
                    "events, net cooperation or Goldstein mean departs from the months before it (|z| ≥ 3 against "
                    "the 12 prior months), and no lasting change of level (PELT changepoints), overall or on any "
                    "track.", kind="finding")
            return sec
        sec.say(f"{plural(len(items), 'shift')} found by the two detectors of `dyadwatch shifts` (z-score flags "
                "against the 12 prior months; PELT changepoints). Each cites the most-reported events of its month "
                "(for a drop to none, of the three months before).", kind="note")
        shown = sorted(items, key=lambda s: dt.datetime.strptime(s.label, "%B %Y"))[:MAX_SHIFT_ITEMS]
        sec.add(Bullets(shown))
        if len(items) > len(shown):
            sec.say(f"{len(items) - len(shown)} more: run `dyadwatch shifts --dyad {self.a}-{self.b}`.", kind="note")
        return sec

    def _daily_net(self) -> dict[dt.date, float]:
        con = self.d.events.con
        got = con.execute(
            "SELECT event_date, (sum(CASE WHEN quad_class IN (1, 2) THEN 1 ELSE 0 END) - "
            "sum(CASE WHEN quad_class IN (3, 4) THEN 1 ELSE 0 END)) / count(*) FROM brief_events "
            "WHERE partner = ? GROUP BY 1", [self.b]).fetchall()
        return {d: float(v) for d, v in got}

    def track_section(self, track: str) -> Section:
        title = TRACK_TITLES.get(track, self.labels[track])
        sec = Section(f"track-{track}", title)
        cat = self.d.taxonomy.track(track)
        sec.say(f"What counts: {cat.description}", kind="note")
        vol = self.volume(track)
        sec.add(Paragraph([vol]))
        if track == "leaders":
            sec.add(Paragraph([self.contacts_summary()]))
        if track == "security_arms" and BLACK_SEA in self.labels:
            sec.add(Paragraph([self.black_sea()]))
        if vol.kind in ("no_data", "empty"):
            return sec
        sec.add(Paragraph([self.balance(track)]))
        sec.add(Paragraph([self.trend(track)]))
        if len(self.months) >= MIN_SHIFT_MONTHS:
            found = self.d.shifts.get(track, [])
            if found:
                sec.add(Bullets([self.shift_statement(s, track=track) for s in found], title="Shifts in monthly events"))
            else:
                sec.say(f"No shift in monthly unique events on this track over {plural(len(self.months), 'month')}.",
                        kind="empty")
        block = self.top_events_list("Most-reported events", track=track)
        if block:
            sec.add(block)
        return sec

    def contacts_summary(self) -> Statement:
        cs = self.d.contacts
        if not cs:
            return Statement(f"No leader-level contact (a call, visit or meeting between named leaders of {self.A} "
                             f"and {self.B}) is in the data {self.range_text()}.", kind="empty")
        kinds = defaultdict(int)
        for c in cs:
            kinds[c["kind"]] += 1
        last = cs[-1]
        firm = sum(1 for c in cs if c["corroborated"])
        text = (f"{plural(len(cs), 'leader-level contact')} ({firm} corroborated by two or more distinct reports): "
                f"{kinds['call']} calls, {kinds['visit']} visits, {kinds['meeting']} meetings; "
                f"the latest a {last['kind']} on {last['day'].isoformat()} "
                f"({last['leaders'].title()}).")
        return Statement(text, self.c.cite_ids([last["event_ids"][0]] + [c["event_ids"][0] for c in cs[:-1]][-2:]))

    def black_sea(self) -> Statement:
        label = self.labels[BLACK_SEA]
        t = total(rows(self.d, "all", BLACK_SEA))
        sec_t = total(rows(self.d, "security_arms", BLACK_SEA))
        if not t["events"]:
            return Statement(f"No event in the range is located in {label}.", kind="empty")
        return Statement(f"{plural(t['events'], 'event')} located in {label}, {sec_t['events']:,} of them on the "
                         f"security track.", self.cite_top(theatre=BLACK_SEA))

    def theatres(self) -> Section:
        sec = Section("theatres", "Regional theatres")
        n = self.all["events"]
        counts = [(th, total(rows(self.d, "all", th))["events"]) for th in self.regional]
        if any(k for _, k in counts):
            svg = charts.horizontal_bars([self.labels[th] for th, _ in counts], [k for _, k in counts],
                                         title="Unique events per regional theatre", xlabel="unique events",
                                         annotations=[str(k) for _, k in counts], name="theatres")
            sec.add(Chart("theatres", "Regional theatres", svg,
                          "Unique events by where GDELT locates the action (a theatre may overlap another).",
                          self.c.cite([e for th, k in counts if k for e in self.top(1, theatre=th)], limit=None)))
        for th in self.home:
            h = total(rows(self.d, "all", th))["events"]
            if n:
                sec.say(f"{plural(h, 'event')} of {n:,} ({pct(h, n)}) are located in {self.A} or {self.B} themselves "
                        f"({self.labels[th].lower()}: often where a statement was made, not a regional theatre).",
                        self.cite_top(1, theatre=th))
        ranked = sorted([c for c in counts if c[1]], key=lambda c: -c[1])
        if not ranked:
            sec.say(f"No event in the range is located in any regional theatre "
                    f"({', '.join(self.labels[th] for th in self.regional)}).", kind="empty")
            return sec
        sec.say("Ranked by unique events: " + "; ".join(f"{self.labels[th]} {k:,} ({pct(k, n)})" for th, k in ranked)
                + ".", self.c.cite([e for th, _ in ranked[:3] for e in self.top(1, theatre=th)]))
        empty = [self.labels[th] for th, k in counts if not k]
        if empty:
            sec.say(f"No event in the range is located in: {', '.join(empty)}.", kind="empty")
        if len(self.months) < MIN_TREND_MONTHS:
            sec.add(Paragraph([self.not_enough_months("a trend per theatre", MIN_TREND_MONTHS)]))
        for th, k in ranked:
            sub = Section(f"theatre-{th}", self.labels[th])
            sub.add(Paragraph([self.volume("all", th, what=f"located in {self.labels[th]}")]))
            sub.add(Paragraph([self.balance("all", th)]))
            if len(self.months) >= MIN_TREND_MONTHS:
                sub.add(Paragraph([self.trend("all", th)]))
            block = self.top_events_list("Most-reported events", n=3, theatre=th)
            if block:
                sub.add(block)
            sec.subsections.append(sub)
        return sec

    def comparison(self) -> Section:
        sec = Section("comparison", f"{self.A} and its other partners")
        rows_ = self.d.compare
        if not rows_:
            sec.say("No partners to compare.", kind="no_data")
            return sec
        names = [country_name(r["partner"]) for r in rows_]
        shares = [(r["share_of_all"] or 0.0) * 100 for r in rows_]
        highlight = next((i for i, r in enumerate(rows_) if r["partner"] == self.b), None)
        svg = charts.horizontal_bars(
            names, shares, title=f"{self.A}'s partners: share of all events (%)", xlabel="% of all events",
            highlight=highlight, name="partners",
            annotations=[f"{share(r['share_of_all'])}, net coop. {signed(r['net_cooperation'])}" for r in rows_])
        sec.add(Chart("partners", "Partner comparison", svg,
                      f"Records between {self.A} and each partner as a share of every event the store saw in the range.",
                      self.c.cite([e for r in rows_ if r["events"] for e in self.top(1, partner=r["partner"])],
                                  limit=None)))
        me = next((r for r in rows_ if r["partner"] == self.b), None)
        if me is not None and me["events"]:
            n = len(rows_)
            parts = [f"{self.B} ranks {me['rank_share_of_all']} of {n} of {self.A}'s partners compared by share of all "
                     f"events ({share(me['share_of_all'])})"]
            if me["rank_net_cooperation"] is not None:
                parts.append(f"{me['rank_net_cooperation']} by net cooperation ({signed(me['net_cooperation'])})")
            if me["rank_leader_contacts_per_year"] is not None and me["leader_contacts_per_year"]:
                parts.append(f"{me['rank_leader_contacts_per_year']} by leader contacts per year "
                             f"({me['leader_contacts_per_year']:.1f})")
            sec.say(", ".join(parts) + ".", self.cite_top(2, partner=self.b))
        elif me is not None:
            sec.say(f"No event between {self.A} and {self.B} in the range, so no rank.", kind="empty")
        filtered = self.filtered_out(r["partner"] for r in rows_)
        none = [country_name(r["partner"]) for r in rows_ if not r["events"] and r["partner"] not in filtered]
        if none:
            sec.say(f"No event in the range between {self.A} and: {', '.join(none)}.", kind="empty")
        if filtered:
            sec.say(f"Files were ingested with a country filter ({'; '.join(self.filters())}) that drops the events "
                    f"of {', '.join(country_name(c) for c in filtered)}: their numbers here are not measurements.",
                    kind="missing")
        if len(self.months) < MIN_COMPARE_TREND_MONTHS:
            sec.add(Paragraph([self.not_enough_months("the partners' trend", MIN_COMPARE_TREND_MONTHS)]))
        else:
            trends = [(country_name(r["partner"]), r["trend"]) for r in rows_ if r["trend"] is not None]
            if trends:
                sec.say("Trend of each partner's share of all events (relative change per year, least squares): "
                        + "; ".join(f"{nm} {t:+.0%}" for nm, t in trends) + ".", self.cite_top(1, partner=self.b))
        cols = ["Partner", "Events", "Share of all", "Diplomacy", "Economy", "Security", "Friction", "Net coop.",
                "Contacts / year", "Trend / year"]
        table_rows = []
        for r in rows_:
            refs = self.cite_top(2, partner=r["partner"]) if r["events"] else []
            table_rows.append([
                Cell(country_name(r["partner"]), refs), Cell(f"{r['events']:,}", numeric=True),
                Cell(share(r["share_of_all"]), numeric=True),
                *[Cell(pct(round((r.get(f"{t}_share") or 0) * 1000), 1000) if r["events"] else "–", numeric=True)
                  for t in ("diplomacy", "economy_energy", "security_arms", "friction")],
                Cell(signed(r["net_cooperation"]), numeric=True),
                Cell("n/a" if r["leader_contacts_per_year"] is None else f"{r['leader_contacts_per_year']:.1f}",
                     numeric=True),
                Cell("n/a" if r["trend"] is None else f"{r['trend']:+.0%}", numeric=True),
            ])
        sec.add(Table(f"{self.A} and its partners {self.range_text()} (track columns: share of the partner's "
                      "events; trend needs 3 months)", cols, table_rows))
        return sec

    def filters(self) -> list[str]:
        return [f for f in self.d.coverage.filters if f != "all"]

    def filtered_out(self, codes: Iterable[str]) -> list[str]:
        kept: set[str] | None = None
        for f in self.filters():
            kept = set(f.split(",")) if kept is None else kept & set(f.split(","))
        if kept is None:
            return []
        return [c for c in codes if c not in kept and c != self.a]

    def contacts(self) -> Section:
        sec = Section("contacts", "Leader contacts per year")
        per_year = self.d.contacts_per_year
        cs = self.d.contacts
        if not cs:
            sec.say(f"No leader-level contact between {self.A} and {self.B} is in the data {self.range_text()}. "
                    "This is an absence in the coverage, not proof that none took place.", kind="empty")
            return sec
        svg = charts.contacts_per_year([r["year"] for r in per_year], [r["calls"] for r in per_year],
                                       [r["visits"] for r in per_year], [r["meetings"] for r in per_year],
                                       title=f"{self.A}–{self.B} leader contacts per year", name="contacts")
        by_year: dict[int, list[int]] = defaultdict(list)
        for c in cs:
            by_year[c["year"]].append(c["event_ids"][0])
        sec.add(Chart("contacts", "Leader contacts per year", svg,
                      "Calls, visits and meetings between named leaders, all contacts (one per encounter: echo "
                      "reports on later days folded in).",
                      self.c.cite_ids([c["event_ids"][0] for c in cs[-REFS_PER_STATEMENT:]])))
        table_rows = [[Cell(str(r["year"]), self.c.cite_ids(by_year.get(r["year"], []), limit=None)),
                       Cell(str(r["calls"]), numeric=True), Cell(str(r["visits"]), numeric=True),
                       Cell(str(r["meetings"]), numeric=True), Cell(str(r["total"]), numeric=True),
                       Cell(str(r["corroborated"]), numeric=True)]
                      for r in per_year]
        sec.add(Table("Leader contacts per year, all and corroborated (footnotes: one event per contact)",
                      ["Year", "Calls", "Visits", "Meetings", "Total", "Corroborated"], table_rows))
        items = [Statement(f"{c['kind']}: {c['leaders'].title()} ({plural(c['events'], 'event')}"
                           + (f", {plural(c['articles'], 'article')}" if c["articles"] else "")
                           + f", {plural(c['reports'], 'distinct report')}"
                           + (f" over {plural(len(c['days_reported']), 'day')}" if len(c["days_reported"]) > 1 else "")
                           + f"; {c['confidence']})",
                           self.c.cite_ids(c["event_ids"]), label=c["day"].isoformat())
                 for c in cs[-MAX_CONTACT_ITEMS:]]
        latest = f" (the latest {MAX_CONTACT_ITEMS})" if len(cs) > MAX_CONTACT_ITEMS else ""
        sec.add(Bullets(items, title="Each contact" + latest))
        if len(per_year) < 2:
            sec.say("One year of data: no change from year to year can be read.", kind="no_data")
        sec.say("Counting rule (docs/leaders.md): both actors are named leaders in office; a contact is one "
                "encounter: on a day at most one call and one in-person encounter (its kind the most specific "
                f"code), reports on the next {ECHO_WINDOW_DAYS} days folded in as echoes unless they have coverage "
                "of their own (and, in person, another place); announcements never count; a call is recognised "
                "by a phone-like article address, which is a heuristic. Counts are of all contacts; "
                "'corroborated' ones have two or more distinct reports.", kind="note")
        return sec

    def claims(self) -> Section:
        sec = Section("claims", "Claims check")
        res = self.d.claims
        if not res.available:
            sec.say(f"The claims check is unavailable: {res.error}.", kind="no_data")
            return sec
        if not res.results:
            sec.say("No claims to check.", kind="no_data")
            return sec
        verdicts = defaultdict(int)
        for r in res.results:
            verdicts[r.get("verdict")] += 1
        sec.say(f"{plural(len(res.results), 'claim')} from the seed paper checked against the data: "
                + ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items(), key=lambda kv: str(kv[0]))) + ".",
                kind="note")
        items = []
        for r in res.results:
            text = f"“{r.get('text') or r.get('quote') or r.get('id')}”"
            if r.get("detail"):
                text += f" {r['detail']}"
            kind = "no_data" if r.get("verdict") == "not enough data" else "verdict"
            items.append(Statement(text, self.c.cite_evidence(r.get("evidence")), kind=kind,
                                   label=str(r.get("verdict") or "no verdict").capitalize()))
        sec.add(Bullets(items))
        return sec

    def scenarios(self) -> Section:
        sec = Section("scenarios", "Scenarios and signposts")
        res = self.d.scenarios
        if not res.available:
            sec.say(f"Scenarios and signposts are unavailable: {res.error}.", kind="no_data")
            return sec
        if not res.results:
            sec.say("No scenarios to evaluate.", kind="no_data")
            return sec
        groups: dict[str, list[dict]] = {}
        titles: dict[str, str] = {}
        for r in res.results:
            sid = str(_pick(r, "scenario_id", "scenario", "id") or "scenario")
            titles.setdefault(sid, str(_pick(r, "scenario_title", "title", "scenario") or sid))
            groups.setdefault(sid, []).append(r)
        for sid, rs in groups.items():
            sub = Section(f"scenario-{_slug(sid)}", titles[sid])
            lit = sum(1 for r in rs if r.get("status") == "lit")
            sub.say(f"{lit} of {plural(len(rs), 'signpost')} lit.", kind="note")
            items = []
            for r in rs:
                text = str(_pick(r, "signpost_text", "signpost", "text", "signpost_id") or "")
                if r.get("detail"):
                    text += f": {r['detail']}"
                kind = "no_data" if r.get("status") == "not enough data" else "verdict"
                items.append(Statement(text, self.c.cite_evidence(r.get("evidence")), kind=kind,
                                       label=str(r.get("status") or "unknown").capitalize()))
            sub.add(Bullets(items))
            sec.subsections.append(sub)
        return sec

    def coverage(self) -> Section:
        cov = self.d.coverage
        sec = Section("coverage", "Data coverage and caveats")
        for s in cov.sources:
            sec.say(f"Source {s['source']}: {plural(s['files'], 'file')}, {s['rows_read']:,} rows read, "
                    f"{s['events']:,} events stored, events dated {s['first_event'] or '-'} to {s['last_event'] or '-'}, "
                    f"per-day totals for {plural(s['days_with_totals'], 'day')} ({s['all_events_total']:,} events "
                    "before any country filter).", kind="note")
        req = self.d.requested
        asked = (f"The brief was asked for {req[0].isoformat() if req[0] else 'the start of the data'} to "
                 f"{req[1].isoformat() if req[1] else 'the end of the data'}")
        if cov.days:
            sec.say(f"{asked}; the store has data for {plural(len(cov.days), 'day')} of it, "
                    f"{min(cov.days).isoformat()} to {max(cov.days).isoformat()}, {sum(cov.days.values()):,} events "
                    f"in all, of which {self.all['records']:,} records ({plural(self.all['events'], 'unique event')}) "
                    f"are between {self.A} and {self.B}.", kind="note")
        else:
            sec.say(f"{asked}; the store has no data at all in that range.", kind="no_data")
        if cov.months_without_data:
            sec.say(f"No data for {len(cov.months_without_data)} of the {len(cov.months)} months in the range: "
                    + ", ".join(m.strftime("%Y-%m") for m in cov.months_without_data)
                    + ". Those months are missing, not quiet: no number in this brief counts them as zero.",
                    kind="missing")
        elif len(cov.months) == 1:
            sec.say("The one month in the range has data.", kind="note")
        elif cov.months:
            sec.say(f"Every one of the {len(cov.months):,} months in the range has data.", kind="note")
        if cov.days_without_data:
            shown = ", ".join(d.isoformat() for d in cov.days_without_data[:20])
            more = f" and {len(cov.days_without_data) - 20} more" if len(cov.days_without_data) > 20 else ""
            sec.say(f"{plural(len(cov.days_without_data), 'day')} inside that span with no event in any file: "
                    f"{shown}{more}.", kind="missing")
        if cov.incomplete_days:
            shown = ", ".join(f"{d.isoformat()} ({n}/96)" for d, n in cov.incomplete_days[:20])
            more = f" and {len(cov.incomplete_days) - 20} more" if len(cov.incomplete_days) > 20 else ""
            sec.say(f"GDELT 2.0 publishes 96 files a day; {plural(len(cov.incomplete_days), 'day')} of the range "
                    f"have fewer in the store: {shown}{more}.", kind="missing")
        if len(self.months) < MIN_SHIFT_MONTHS:
            sec.say(f"Not enough data for trends or shifts: {plural(len(self.months), 'month')} with data; trends "
                    f"need {MIN_TREND_MONTHS}, shifts {MIN_SHIFT_MONTHS}. The sections above report levels only.",
                    kind="no_data")
        rejected = len(cov.quarantine)
        if rejected:
            by_file: dict[str, int] = defaultdict(int)
            for q in cov.quarantine:
                by_file[q["source_file"]] += 1
            was = "was" if rejected == 1 else "were"
            sec.say(f"{plural(rejected, 'row')} could not be read and {was} quarantined (`dyadwatch quarantine`), "
                    f"in {plural(len(by_file), 'file')}; the good rows around them were kept.", kind="missing")
            sec.add(Table("Quarantined rows (first 20)", ["File", "Line", "Reason"],
                          [[Cell(q["source_file"]), Cell(str(q["source_line"]), numeric=True), Cell(q["reason"])]
                           for q in cov.quarantine[:20]]))
        else:
            sec.say("No row was rejected at ingest.", kind="note")
        if self.filters():
            sec.say(f"Files were ingested with a country filter ({'; '.join(self.filters())}): events without an actor "
                    "of those countries were not stored, though the per-day totals count every event.", kind="note")
        files = cov.files
        if files:
            if len(files) <= 20:
                sec.add(Table("Files in the store", ["File", "Source", "Rows read", "Kept", "Rejected"],
                              [[Cell(f["name"]), Cell(f["source"]), Cell(f"{f['rows_read']:,}", numeric=True),
                                Cell(f"{f['rows_kept']:,}", numeric=True), Cell(f"{f['rows_rejected']:,}", numeric=True)]
                               for f in files]))
            else:
                by_month: dict[str, list[dict]] = defaultdict(list)
                for f in files:
                    by_month[(f["name"] or "")[:6]].append(f)
                sec.add(Table("Files in the store, by the month in their name", ["Month", "Files", "Rows read",
                                                                                  "Rejected"],
                              [[Cell(f"{k[:4]}-{k[4:6]}" if k.isdigit() else k), Cell(str(len(v)), numeric=True),
                                Cell(f"{sum(f['rows_read'] for f in v):,}", numeric=True),
                                Cell(f"{sum(f['rows_rejected'] for f in v):,}", numeric=True)]
                               for k, v in sorted(by_month.items())]))
        sec.add(Bullets([
            Statement("Events are counted once per source, day, actor pair, CAMEO code and location country "
                      "(docs/taxonomy.md): GDELT repeats an event in every file and article that reports it.",
                      kind="note"),
            Statement("Event data measure what the news reported, machine-coded: volume follows media attention, "
                      "and coding errors (wrong actor, wrong country) are part of the counts.", kind="note"),
            Statement("Locations come from GDELT's geocoder, which often picks where something was said (a capital) "
                      "rather than where it happened.", kind="note"),
            Statement(f"Tracks and theatres follow the taxonomy in {cov.taxonomy_path} (docs/taxonomy.md); they "
                      "overlap by design.", kind="note"),
            Statement("Footnotes cite each unique event by its smallest GDELT event id, with that record's own date "
                      "and article address; `dyadwatch events` shows the row.", kind="note"),
        ], title="Caveats"))
        return sec

    def build(self) -> Brief:
        d = self.d
        abstract = self.abstract()
        sections = [self.key_shifts()]
        tracks = Section("tracks", "Tracks")
        if self.all["events"]:
            outgoing = [total(rows(d, t, "all", self.out_dir))["events"] for t in self.ordered_tracks()]
            incoming = [total(rows(d, t, "all", self.in_dir))["events"] for t in self.ordered_tracks()]
            svg = charts.track_mix([TRACK_TITLES.get(t, self.labels[t]) for t in self.ordered_tracks()], outgoing,
                                   incoming, (self.A, self.B), title="Unique events per track and direction",
                                   name="track-mix")
            tracks.add(Chart("track-mix", "Track mix", svg, "An event can be on several tracks; each is counted on each.",
                             self.c.cite([e for t in self.ordered_tracks() for e in self.top(1, track=t)], limit=None)))
        for t in self.ordered_tracks():
            tracks.subsections.append(self.track_section(t))
        sections += [tracks, self.theatres(), self.comparison(), self.contacts(), self.claims(), self.scenarios(),
                     self.coverage()]
        src = ", ".join(sorted({s["source"] for s in d.coverage.sources})) or "no source"
        return Brief(
            title=f"{self.A} and {self.B}: what the event data show",
            subtitle=(f"A dyadwatch brief on {self.a}-{self.b} {self.range_text()}, from {src} "
                      f"({plural(sum(s['files'] for s in d.coverage.sources), 'file')})."),
            dyad=f"{self.a}-{self.b}", names=(self.A, self.B), start=d.start, end=d.end, partners=list(d.partners),
            sections=sections, footnotes=self.c.footnotes, abstract=abstract,
        )

    def ordered_tracks(self) -> list[str]:
        return [t for t in TRACK_ORDER if t in self.track_names] + [t for t in self.track_names if t not in TRACK_ORDER]


def _pick(r: dict, *keys):
    for k in keys:
        if r.get(k) not in (None, ""):
            return r[k]
    return None


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-") or "x"


def build(data: BriefData) -> Brief:
    return Builder(data).build()
