"""``foveal predict``'s output: one row per file with the top-k classes, or the reason it could not be read."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from typing import IO

import numpy as np

from core.evaluation.metrics import LOW_CONFIDENCE
from core.models.familiar import UNFAMILIAR_WORDS
from core.models.predict import ImageFile, Predictions
from core.paths import printable


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


def write_rows_csv(rows: list[dict], out: IO[str], top_k: int) -> None:
    columns = ["path", "predicted_class", "confidence", "low_confidence", "unfamiliar", "unfamiliar_score"]
    for rank in range(1, top_k + 1):
        columns += [f"top{rank}_class", f"top{rank}_probability"]
    w = csv.DictWriter(out, fieldnames=columns + ["error"], extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in rows:
        row = {**row, "path": printable(row["path"]), "error": printable(row["error"])}  # bytes that are not UTF-8
        w.writerow({k: (f"{v:.6f}" if isinstance(v, float) else _bool(k, v) if isinstance(v, bool) else v)
                    for k, v in row.items()})


def _bool(column: str, value: bool) -> str | int:
    """``unfamiliar`` is written true/false; the older flags keep their 1/0."""
    return ("true" if value else "false") if column == "unfamiliar" else int(value)


def print_rows(rows: list[dict], out: IO[str] | None = None) -> None:
    """A short human-readable line per file."""
    out = out or sys.stdout
    for row in rows:
        row = {**row, "path": printable(row["path"]), "error": printable(row["error"])}
        if row["error"]:
            out.write(f"{row['path']}: not read: {row['error']}\n")
            continue
        tops = []
        rank = 1
        while f"top{rank}_class" in row:
            tops.append(f"{row[f'top{rank}_class']} {row[f'top{rank}_probability']:.1%}")
            rank += 1
        flag = "  (low confidence)" if row["low_confidence"] else ""
        if row.get("unfamiliar") is True:
            flag += f"  ⚠ {UNFAMILIAR_WORDS}"
        out.write(f"{row['path']}: {', '.join(tops)}{flag}\n")
