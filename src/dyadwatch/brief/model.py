"""The brief as data: sections of blocks (paragraphs, lists, tables, charts), each statement carrying the
numbers of the footnotes behind it, and the numbered references those footnotes resolve to.

Rendering (HTML, Markdown, PDF) reads this model and nothing else; building it (`build.py`) reads the
measures and nothing else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterator, Union


class BriefError(Exception):
    """A brief cannot be made (no store, unknown dyad, no browser for the PDF, ...): one line for the user."""


@dataclass(frozen=True)
class Footnote:
    """One numbered reference: a source article, named by the event coded from it."""

    number: int
    event_id: int
    date: dt.date | None
    url: str | None
    source: str | None
    description: str  # who did what to whom, where ("Russia → Turkey: Make a visit (042); Moscow, Russia")

    @property
    def anchor(self) -> str:
        return f"ref-{self.number}"


@dataclass
class Statement:
    """One finding, number or caveat, with the footnotes it rests on.

    kind: "finding" (a figure from the data), "empty" (the data hold no such event), "no_data" (there is
    not enough data to say), "missing" (data the store lacks: months, days, unreadable rows), "note"
    (method or context), "verdict" (claims and signposts)."""

    text: str
    refs: list[int] = field(default_factory=list)
    kind: str = "finding"
    label: str | None = None  # an optional lead-in in bold ("Supported", "2021-07")


@dataclass
class Paragraph:
    statements: list[Statement]
    type: str = "paragraph"


@dataclass
class Bullets:
    items: list[Statement]
    title: str | None = None
    type: str = "bullets"


@dataclass
class Cell:
    text: str
    refs: list[int] = field(default_factory=list)
    numeric: bool = False


@dataclass
class Table:
    caption: str
    columns: list[str]
    rows: list[list[Cell]]
    type: str = "table"


@dataclass
class Chart:
    name: str  # file-safe: the SVG's file name in Markdown output, the id prefix inline
    title: str
    svg: str  # an <svg> element, no XML declaration
    caption: str
    refs: list[int] = field(default_factory=list)
    type: str = "chart"


Block = Union[Paragraph, Bullets, Table, Chart]


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    subsections: list["Section"] = field(default_factory=list)

    def add(self, block: Block) -> Block:
        self.blocks.append(block)
        return block

    def say(self, text: str, refs: list[int] | None = None, kind: str = "finding", label: str | None = None) -> Statement:
        """Add a one-statement paragraph."""
        s = Statement(text, list(refs or []), kind, label)
        self.blocks.append(Paragraph([s]))
        return s

    def walk(self) -> Iterator["Section"]:
        yield self
        for sub in self.subsections:
            yield from sub.walk()


@dataclass
class Brief:
    title: str
    subtitle: str
    dyad: str  # "RUS-TUR"
    names: tuple[str, str]  # ("Russia", "Turkey")
    start: dt.date | None  # the range the numbers cover
    end: dt.date | None
    partners: list[str]
    sections: list[Section]
    footnotes: list[Footnote]
    abstract: list[Statement] = field(default_factory=list)

    def section(self, section_id: str) -> Section:
        for top in self.sections:
            for s in top.walk():
                if s.id == section_id:
                    return s
        raise KeyError(section_id)

    def statements(self) -> Iterator[tuple[Section, Statement]]:
        """Every statement with its section, in reading order (abstract first, then sections)."""
        for s in self.abstract:
            yield None, s  # type: ignore[misc]
        for top in self.sections:
            for sec in top.walk():
                for block in sec.blocks:
                    if isinstance(block, Paragraph):
                        for s in block.statements:
                            yield sec, s
                    elif isinstance(block, Bullets):
                        for s in block.items:
                            yield sec, s

    def charts(self) -> list[Chart]:
        return [b for top in self.sections for sec in top.walk() for b in sec.blocks if isinstance(b, Chart)]

    def footnote(self, number: int) -> Footnote:
        return self.footnotes[number - 1]
