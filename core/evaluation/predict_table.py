"""``foveal predict``'s output: one row per file with the top-k classes, or the reason it could not be read.

An image that looks unlike the training images (core.models.familiar) gets no answer in words: the terminal says
so, with the model's guess beside it marked as a guess; the CSV keeps the guess in its columns with
``unfamiliar=true``. Every yes/no column is written ``true``/``false``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from typing import IO

import numpy as np

from foveal.core.evaluation.metrics import LOW_CONFIDENCE
from foveal.core.io import open_atomic, standard_output
from foveal.core.models.familiar import NO_ANSWER_WORDS
from foveal.core.models.predict import ImageFile, Predictions
from foveal.core.paths import printable


def prediction_rows(files: Sequence[ImageFile], result: Predictions, classes: Sequence[str], top_k: int = 3,
                    low_confidence: float = LOW_CONFIDENCE) -> list[dict]:
    """Rows in input order: path, predicted class, confidence, low-confidence flag, top-k, error."""
    k = min(top_k, len(classes))
    rows: dict[int, dict] = {}
    flags, scores = result.unfamiliar, result.unfamiliar_scores
    for j, (probs, i) in enumerate(zip(result.probs, result.indices, strict=True)):
        order = np.argsort(probs)[::-1][:k]
        row = {"path": files[i].path, "predicted_class": classes[order[0]], "confidence": float(probs[order[0]]),
               "low_confidence": bool(probs[order[0]] < low_confidence), "error": "",
               "unfamiliar": bool(flags[j]) if flags is not None else "",
               "unfamiliar_score": float(scores[j]) if scores is not None else "",
               "probs": [float(v) for v in probs]}
        for rank, c in enumerate(order, 1):
            row[f"top{rank}_class"], row[f"top{rank}_probability"] = classes[c], float(probs[c])
        rows[i] = row
    for i, reason in result.failed:
        rows[i] = {"path": files[i].path, "predicted_class": "", "confidence": "", "low_confidence": "",
                   "unfamiliar": "", "unfamiliar_score": "", "error": reason}
    return [rows[i] for i in sorted(rows)]


def ranks_in(rows: Sequence[dict]) -> int:
    """How many ranks (``top1`` … ``topN``) the rows hold: the CSV has as many, never empty ones."""
    n = 0
    for row in rows:
        while f"top{n + 1}_class" in row:
            n += 1
    return n


def save_rows_csv(rows: list[dict], target: str | os.PathLike[str], top_k: int) -> None:
    """The rows as CSV to a file (written atomically, through the write chokepoint) or, for ``-``, to standard
    output (a full disk behind it is a message, a reader that went away ends the command quietly)."""
    if os.fspath(target) == "-":
        with standard_output() as out:
            write_rows_csv(rows, out, top_k)
        return
    with open_atomic(target, "w", newline="") as fh:
        write_rows_csv(rows, fh, top_k)


def write_rows_csv(rows: list[dict], out: IO[str], top_k: int) -> None:
    """The rows as CSV to an open text stream: path, prediction, flags, the top-k classes, the error."""
    columns = ["path", "predicted_class", "confidence", "low_confidence", "unfamiliar", "unfamiliar_score"]
    for rank in range(1, top_k + 1):
        columns += [f"top{rank}_class", f"top{rank}_probability"]
    w = csv.DictWriter(out, fieldnames=columns + ["error"], extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in rows:
        row = {**row, "path": printable(row["path"]), "error": printable(row["error"])}  # bytes that are not UTF-8
        w.writerow({k: (f"{v:.6f}" if isinstance(v, float) else _bool(v) if isinstance(v, bool) else v)
                    for k, v in row.items()})


def _bool(value: bool) -> str:
    """Every yes/no column (``low_confidence``, ``unfamiliar``) is written the same way: true or false."""
    return "true" if value else "false"


def print_rows(rows: list[dict], out: IO[str] | None = None) -> None:
    """A short human-readable line per file, to ``out`` or standard output (:func:`core.io.standard_output`)."""
    with standard_output(out) as stream:
        for row in rows:
            stream.write(_row_line(row))


def _row_line(row: dict) -> str:
    row = {**row, "path": printable(row["path"]), "error": printable(row["error"])}
    if row["error"]:
        return f"{row['path']}: not read: {row['error']}\n"
    tops = []
    rank = 1
    while f"top{rank}_class" in row:
        tops.append(f"{row[f'top{rank}_class']} {row[f'top{rank}_probability']:.1%}")
        rank += 1
    if row.get("unfamiliar") is True:  # no answer: the guess is said as a guess, never as the answer
        return f"{row['path']}: {NO_ANSWER_WORDS} (the model's guess, not an answer: {', '.join(tops)})\n"
    flag = "  (low confidence)" if row["low_confidence"] else ""
    return f"{row['path']}: {', '.join(tops)}{flag}\n"
