"""What labelling holds and writes: suggestions, answers, rounds, and the rows of ``labels.csv``.

``labels.csv`` records, for every image of the new dataset folder, where it came from, its label, what the model
suggested and with which confidence, whether the person accepted or changed the suggestion, and when. It is
rewritten whole and atomically after every answer (core.io), so the file on disk is always complete.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from foveal.core.errors import ConfigError
from foveal.core.paths import printable

#: The labels file in the new dataset folder.
LABELS_CSV = "labels.csv"
#: Its columns, in order.
COLUMNS = ("source", "label", "status", "suggested", "confidence", "when", "file")
#: The columns a labels file written by hand or by another tool must have.
REQUIRED = ("source", "label")
#: The largest labels file read (bytes): a million rows of long paths.
MAX_CSV_BYTES = 512 * 1024**2


class Status(StrEnum):
    """How an image got its label (the ``status`` column)."""

    ACCEPTED = "accepted"
    CHANGED = "changed"
    SKIPPED = "skipped"
    UNSURE = "unsure"
    FROM_DATASET = "from dataset"


@dataclass(frozen=True)
class Suggestion:
    """An unlabelled image, what the model suggests for it, and why it is asked about."""

    path: str
    suggested: str
    confidence: float
    probabilities: tuple[float, ...]
    unfamiliar: bool
    why: str


@dataclass(frozen=True)
class Answer:
    """One answer as the session holds it (one row of labels.csv)."""

    source: str
    label: str | None
    status: str
    suggested: str
    confidence: float
    when: str
    copy: str | None


@dataclass(frozen=True)
class Round:
    """One fit of the model: on how many labelled images, and its cross-validated accuracy with its interval."""

    n_labelled: int
    accuracy: float | None
    low: float | None
    high: float | None
    plain: str


@dataclass(frozen=True)
class LabelRow:
    """One row of a labels file; every column but ``source`` and ``label`` may be empty in a hand-written one."""

    source: str
    label: str | None
    status: str = ""
    suggested: str = ""
    confidence: float | None = None
    when: str = ""
    file: str = ""
    line: int = 0  # the row's line in the file (1 is the header), for messages

    def cells(self) -> list[str]:
        """The row as labels.csv writes it."""
        confidence = "" if self.confidence is None else f"{self.confidence:.4f}"
        return [printable(self.source), self.label or "", self.status, self.suggested, confidence, self.when,
                self.file]


@dataclass(frozen=True)
class ImportSummary:
    """What :func:`core.labelling.importer.import_labels` made: the folder, images per class, rows used."""

    out: Path
    counts: dict[str, int] = field(default_factory=dict)
    from_dataset: int = 0
    from_labels: int = 0
    without_label: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


#: The columns of the mislabel marks the Evaluate view exports (core.evaluation.review.export_marks_csv), read
#: as a labels file: each marked image goes to the class the model predicted ("corrected"); where the right class
#: is a third one, edit its model_predicts cell first.
REVIEW_MARKS = {"path": "source", "model_predicts": "label", "labelled_as": "suggested"}


def labels_csv_text(rows: list[LabelRow]) -> str:
    """The text of labels.csv holding ``rows`` (header first)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(row.cells() for row in rows)
    return buf.getvalue()


def read_labels_csv(path: str | os.PathLike[str]) -> list[LabelRow]:
    """The rows of a labels file (Foveal's own, or one with at least ``source`` and ``label`` columns).

    Raises :class:`ConfigError` naming the file (and the row) and the fix when it cannot be read."""
    p = Path(path)
    text = _read_text(p)
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if all(c in header for c in REVIEW_MARKS) and not any(c in header for c in REQUIRED):
        header = [REVIEW_MARKS.get(h, h) for h in header]  # a review's marks: each to the class the model said
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ConfigError(f"{printable(p)} has no {' and no '.join(repr(c) for c in missing)} column. Its first "
                          "line must name the columns, at least: source,label (source: the image's path, absolute "
                          "or relative to the labels file's folder).")
    reader.fieldnames = header
    rows = []
    for record in reader:
        line = reader.line_num
        if None in record:
            raise ConfigError(f"{printable(p)}, line {line}: more cells than the header names. Quote cells that "
                              "hold commas, or remove the extra cells.")
        rows.append(_row(p, record, line))
    return rows


def _read_text(p: Path) -> str:
    """The labels file's text; a missing, huge, binary or non-UTF-8 file is a ConfigError saying so."""
    try:
        if not p.is_file():
            raise ConfigError(f"{printable(p)} is not a file. Give the labels file (CSV with columns source,label).")
        if p.stat().st_size > MAX_CSV_BYTES:
            raise ConfigError(f"{printable(p)} is larger than {MAX_CSV_BYTES // 1024**2} MB: not a labels file. "
                              "Give the CSV with columns source,label.")
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{printable(p)} cannot be read ({exc.strerror or exc}). Check the file and its "
                          "permissions.") from None
    if b"\0" in data:
        raise ConfigError(f"{printable(p)} is not a text file. Give the labels file (CSV with columns source,label).")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{printable(p)} is not UTF-8 text. Save it as UTF-8 CSV and try again.") from None


def _row(p: Path, record: dict, line: int) -> LabelRow:
    """One parsed row; a missing source or a confidence that is not a number is a ConfigError naming the row."""
    source = (record.get("source") or "").strip()
    if not source:
        raise ConfigError(f"{printable(p)}, line {line}: the source cell is empty. Give each row the image's path.")
    raw = (record.get("confidence") or "").strip()
    try:
        confidence = float(raw) if raw else None
    except ValueError:
        raise ConfigError(f"{printable(p)}, line {line}: the confidence {raw!r} is not a number. Write a number "
                          "between 0 and 1, or leave the cell empty.") from None
    label = (record.get("label") or "").strip() or None
    return LabelRow(source, label, (record.get("status") or "").strip(), (record.get("suggested") or "").strip(),
                    confidence, (record.get("when") or "").strip(), (record.get("file") or "").strip(), line)
