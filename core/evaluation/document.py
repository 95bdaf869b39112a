"""The report as plain data: sections of paragraphs, tables, figures and galleries, rendered to HTML and PDF."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


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


@dataclass
class Report:
    title: str
    subtitle: str
    sections: list[Section]
