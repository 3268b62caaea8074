"""The brief's content as plain data: sections of paragraphs, lists, tables, quotes and charts.

The HTML file, the page fragment and the Markdown brief are drawn from one :class:`BriefView`
by two small templates, so they carry the same facts; only the charts are HTML-only (each
chart's figures are in a table beside it). Every string here is plain text from the analysis
and the CRM: the templates escape it for their format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from worker.refine.summary import FirstScreen


@dataclass(frozen=True)
class Link:
    """Text that links to an anchor in the brief."""

    text: str
    anchor: str

    def __str__(self) -> str:
        return self.text


Cell = str | Link


@dataclass(frozen=True)
class Paragraph:
    """A paragraph; ``parts`` are text and links, joined as they are."""

    parts: tuple[Cell, ...]
    muted: bool = False
    kind: Literal["p"] = "p"

    @classmethod
    def of(cls, *parts: Cell, muted: bool = False) -> Paragraph:
        """A paragraph from text and links."""
        return cls(tuple(parts), muted)


@dataclass(frozen=True)
class Bullets:
    """A list of sentences."""

    items: tuple[str, ...]
    kind: Literal["list"] = "list"


@dataclass(frozen=True)
class Table:
    """A table: header, rows, which columns are numbers (right-aligned).

    ``collapsed`` tables are folded away (HTML ``<details>``) behind ``title``; ``row_anchors``
    give rows an id to link to.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    numeric: frozenset[int] = frozenset()
    title: str | None = None
    collapsed: bool = False
    anchor: str | None = None
    row_anchors: tuple[str | None, ...] = ()
    kind: Literal["table"] = "table"

    def anchor_of(self, index: int) -> str | None:
        """The anchor of row ``index``, if any."""
        return self.row_anchors[index] if index < len(self.row_anchors) else None


@dataclass(frozen=True)
class Quote:
    """A customer's words and where they come from."""

    text: str
    source: str
    kind: Literal["quote"] = "quote"


@dataclass(frozen=True)
class Chart:
    """An inline SVG chart (HTML only); its figures are always in a table of the same section."""

    key: str
    kind: Literal["chart"] = "chart"


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a section."""

    text: str
    anchor: str | None = None
    kind: Literal["heading"] = "heading"


@dataclass(frozen=True)
class Glossary:
    """Terms and what they mean, in plain words."""

    items: tuple[tuple[str, str], ...]
    kind: Literal["glossary"] = "glossary"


Block = Paragraph | Bullets | Table | Quote | Chart | Heading | Glossary


@dataclass(frozen=True)
class Section:
    """A numbered section: its anchor, title, one line on what it shows, and its content."""

    anchor: str
    title: str
    explain: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class BriefView:
    """The whole brief: title, one line of context, the first screen, then the sections."""

    title: str
    meta: str
    screen: FirstScreen
    notes: tuple[str, ...]
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def texts(self) -> list[str]:
        """Every string a rendering must show (for checking that renderings carry the same facts)."""
        out = [self.title, self.meta, *self.screen.facts(), *self.notes]
        for section in self.sections:
            out += [section.title, section.explain]
            for block in section.blocks:
                out += _block_texts(block)
        return [t for t in out if t]


def _block_texts(block: Block) -> Sequence[str]:
    if isinstance(block, Paragraph):
        return ["".join(str(p) for p in block.parts)]
    if isinstance(block, Bullets):
        return list(block.items)
    if isinstance(block, Table):
        return [*block.columns, *(str(c) for row in block.rows for c in row), *([block.title] if block.title else [])]
    if isinstance(block, Quote):
        return [block.text, block.source]
    if isinstance(block, Heading):
        return [block.text]
    if isinstance(block, Glossary):
        return [t for pair in block.items for t in pair]
    return []
