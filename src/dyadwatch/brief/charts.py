"""The brief's charts: matplotlib (Agg), written as SVG text that can sit inline in the HTML.

Output is deterministic: a fixed `svg.hashsalt` per chart, no date in the metadata, text kept as text
(`svg.fonttype: none`, so the browser's own sans-serif draws it and the PDF's text layer holds it).
Every id inside a chart is prefixed with the chart's name, so several charts can share one HTML page
without clashing ids. Each function takes plain Python data and returns an `<svg>` string.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import matplotlib

matplotlib.use("Agg")  # no display, ever

from matplotlib import rc_context  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

INK = "#222222"
MUTED = "#777777"
A_COLOUR = "#1f5f8b"  # first country of the dyad (its outgoing events)
B_COLOUR = "#c0392b"  # second country
SHIFT_COLOUR = "#d35400"
KIND_COLOURS = {"calls": "#1f5f8b", "visits": "#27ae60", "meetings": "#8e44ad"}

STYLE = {
    "svg.hashsalt": "dyadwatch",
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 8.5,
    "axes.edgecolor": "#999999",
    "axes.labelcolor": INK,
    "axes.titlesize": 9.5,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": INK,
    "ytick.color": INK,
    "legend.frameon": False,
    "legend.fontsize": 8,
}

_DECL = re.compile(r"^.*?(?=<svg\b)", re.S)
_ID = re.compile(r'\bid="([^"]+)"')


def to_svg(fig: Figure, name: str) -> str:
    """The figure as an inline-ready <svg> element: no XML declaration or DOCTYPE, ids prefixed."""
    buf = io.StringIO()
    with rc_context({"svg.hashsalt": f"dyadwatch-{name}"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "dyadwatch"})
    svg = _DECL.sub("", buf.getvalue(), count=1).strip()
    ids = set(_ID.findall(svg))
    prefix = f"{name}-"

    def rename(m: re.Match) -> str:
        return m.group(0).replace(m.group(1), prefix + m.group(1)) if m.group(1) in ids else m.group(0)

    svg = _ID.sub(rename, svg)
    svg = re.sub(r'(xlink:href|href)="#([^"]+)"', lambda m: f'{m.group(1)}="#{prefix}{m.group(2)}"'
                 if m.group(2) in ids else m.group(0), svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})" if m.group(1) in ids else m.group(0), svg)
    # a chart is a picture with a name: screen readers get the title, not the path data
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{name.replace("-", " ")}" ', 1)
    return svg


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100)
    fig.patch.set_alpha(0)
    return fig


def _month_label(d: dt.date) -> str:
    return d.strftime("%Y-%m")


def indicator_lines(periods: list[dt.date], events: list[int], net: list[float | None], shifts: list[dt.date], *,
                    title: str, daily: bool = False, missing: list[dt.date] = (), name: str = "indicators") -> str:
    """Unique events per month (or per day) and net cooperation, with shift months marked and months
    without data greyed out (they are unknown, not zero)."""
    with rc_context(STYLE):
        fig = _figure(7.0, 3.9)
        ax1 = fig.add_subplot(2, 1, 1)
        ax2 = fig.add_subplot(2, 1, 2, sharex=ax1)
        x = list(range(len(periods)))
        ax1.bar(x, events, color=A_COLOUR, width=0.7, label="unique events")
        ax1.set_ylabel("events")
        nx = [i for i, v in zip(x, net) if v is not None]
        ny = [v for v in net if v is not None]
        ax2.axhline(0, color="#bbbbbb", linewidth=0.8)
        ax2.plot(nx, ny, color=INK, marker="o", markersize=3, linewidth=1.2)
        ax2.set_ylim(-1.05, 1.05)
        ax2.set_ylabel("net cooperation")
        shaded = False
        for m in missing:
            if m in periods:
                i = periods.index(m)
                for ax in (ax1, ax2):
                    ax.axvspan(i - 0.5, i + 0.5, color="#e6e6e6", linewidth=0,
                               label="no data" if ax is ax1 and not shaded else None)
                shaded = True
        marked = False
        for s in sorted(set(shifts)):
            if s in periods:
                i = periods.index(s)
                for ax in (ax1, ax2):
                    ax.axvline(i, color=SHIFT_COLOUR, linestyle="--", linewidth=1.0,
                               label="shift" if ax is ax1 and not marked else None)
                marked = True
        top = 1.0
        if marked or shaded:  # a line of its own under the title: never over a bar or the title
            fig.suptitle(title, x=0.01, y=0.99, ha="left", va="top", fontsize=9.5, fontweight="bold")
            handles, labels_ = ax1.get_legend_handles_labels()
            fig.legend(handles, labels_, loc="upper left", bbox_to_anchor=(0.01, 0.93), ncol=3)
            top = 0.87
        else:
            ax1.set_title(title, loc="left")
        labels = [p.isoformat() if daily else _month_label(p) for p in periods]
        step = max(1, len(labels) // 12)
        ax2.set_xticks(x[::step])
        ax2.set_xticklabels(labels[::step], rotation=45 if len(labels) > 6 else 0, ha="right" if len(labels) > 6 else "center")
        for label in ax1.get_xticklabels():
            label.set_visible(False)
        if len(x) == 1:
            ax2.set_xlim(-1, 1)
        fig.tight_layout(rect=(0, 0, 1, top))
        return to_svg(fig, name)


def track_mix(labels: list[str], outgoing: list[int], incoming: list[int], names: tuple[str, str], *,
              title: str, name: str = "track-mix") -> str:
    """Unique events per track, split by direction (stacked horizontal bars)."""
    with rc_context(STYLE):
        fig = _figure(7.0, 0.45 * max(len(labels), 2) + 1.0)
        ax = fig.add_subplot(1, 1, 1)
        y = list(range(len(labels)))[::-1]
        ax.barh(y, outgoing, color=A_COLOUR, label=f"{names[0]} → {names[1]}")
        ax.barh(y, incoming, left=outgoing, color=B_COLOUR, label=f"{names[1]} → {names[0]}")
        for yi, o, i in zip(y, outgoing, incoming):
            ax.text(o + i, yi, f" {o + i}", va="center", color=INK)
        ax.set_yticks(y)
        ax.set_yticklabels(labels)
        ax.set_xlabel("unique events")
        ax.set_title(title, loc="left")
        ax.set_xlim(0, max([o + i for o, i in zip(outgoing, incoming)] + [1]) * 1.15)
        ax.legend(loc="lower right")
        fig.tight_layout()
        return to_svg(fig, name)


def horizontal_bars(labels: list[str], values: list[float], *, title: str, xlabel: str, highlight: int | None = None,
                    annotations: list[str] | None = None, name: str = "bars") -> str:
    """One bar per label (partners, theatres), optionally one highlighted, optionally annotated."""
    with rc_context(STYLE):
        fig = _figure(7.0, 0.42 * max(len(labels), 2) + 1.0)
        ax = fig.add_subplot(1, 1, 1)
        y = list(range(len(labels)))[::-1]
        colours = [B_COLOUR if i == highlight else A_COLOUR for i in range(len(labels))]
        ax.barh(y, values, color=colours)
        top = max(values + [0.0]) or 1.0
        for yi, v, note in zip(y, values, annotations or [""] * len(values)):
            ax.text(v + top * 0.01, yi, f"{note}", va="center", color=INK)
        ax.set_yticks(y)
        ax.set_yticklabels(labels)
        ax.set_xlabel(xlabel)
        ax.set_xlim(0, top * 1.35)
        ax.set_title(title, loc="left")
        fig.tight_layout()
        return to_svg(fig, name)


def contacts_per_year(years: list[int], calls: list[int], visits: list[int], meetings: list[int], *, title: str,
                      name: str = "contacts") -> str:
    """Leader contacts per year, stacked by kind."""
    with rc_context(STYLE):
        fig = _figure(7.0, 2.6)
        ax = fig.add_subplot(1, 1, 1)
        x = list(range(len(years)))
        bottom = [0] * len(years)
        for label, values in (("calls", calls), ("visits", visits), ("meetings", meetings)):
            ax.bar(x, values, bottom=bottom, color=KIND_COLOURS[label], width=0.6, label=label)
            bottom = [b + v for b, v in zip(bottom, values)]
        for xi, total in zip(x, bottom):
            ax.text(xi, total, f"{total}", ha="center", va="bottom", color=INK)
        ax.set_xticks(x)
        ax.set_xticklabels([str(y) for y in years])
        ax.set_ylabel("contacts")
        ax.set_ylim(0, max(bottom + [1]) * 1.25)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_title(title, loc="left")
        ax.legend(loc="upper left", ncol=3)
        if len(x) == 1:
            ax.set_xlim(-1, 1)
        fig.tight_layout()
        return to_svg(fig, name)
