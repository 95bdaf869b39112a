"""The report as plain data: sections of paragraphs, tables, figures and galleries, rendered to HTML and PDF."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Table:
    header: list[str] | None  # None: a table of name/value rows, without a header row
    rows: list[list[str]]
    #: Column widths as fractions of the page (None: a name/value table gets 35% / 65%, others share evenly).
    widths: list[float] | None = None
    #: A form: the values are fields a person fills in by hand, so each row leaves room to write.
    form: bool = False


@dataclass
class Figure:
    png: bytes
    caption: str
    width: float = 0.9  # fraction of the page width


@dataclass
class Gallery:
    items: list[tuple[bytes, str]]  # (png, caption)


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)  # str (a paragraph) | Table | Figure | Gallery
    #: Start a new page (the PDF; printing the HTML too): the appendix after the pages a reader reads first.
    new_page: bool = False


@dataclass
class Report:
    title: str
    subtitle: str
    sections: list[Section]
