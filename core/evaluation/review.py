"""Images the user marked as mislabelled while reviewing errors: kept in the run folder (``review.json``),
exported as CSV for the user to act on. Foveal never moves or renames the user's files."""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

from foveal.core.io import open_atomic, write_json

REVIEW_FILE = "review.json"


def read_marks(run_dir: str | os.PathLike[str]) -> dict[str, dict]:
    """Marked files (relative to the dataset folder) → ``{"true", "predicted", "marked"}``."""
    import json

    path = Path(run_dir) / REVIEW_FILE
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {row["file"]: row for row in data.get("mislabelled", [])}


def set_mark(run_dir: str | os.PathLike[str], file: str, marked: bool, *, true: str = "", predicted: str = "",
             note: str = "") -> dict[str, dict]:
    """Mark (or unmark) ``file`` as mislabelled; the change is saved at once (atomically). Returns all marks."""
    marks = read_marks(run_dir)
    if marked:
        marks[file] = {"file": file, "true": true, "predicted": predicted, "note": note,
                       "marked": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    else:
        marks.pop(file, None)
    rows = [marks[k] for k in sorted(marks)]
    write_json(Path(run_dir) / REVIEW_FILE, {"format": "foveal-review", "version": 1, "mislabelled": rows})
    return marks


def export_marks_csv(run_dir: str | os.PathLike[str], out: str | os.PathLike[str], dataset_root: str = "") -> int:
    """Write the marked files as CSV (file, full path, labelled as, model says, note); return how many."""
    marks = read_marks(run_dir)
    with open_atomic(out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "path", "labelled_as", "model_predicts", "note", "marked"])
        for key in sorted(marks):
            m = marks[key]
            w.writerow([key, os.path.join(dataset_root, key) if dataset_root else key, m.get("true", ""),
                        m.get("predicted", ""), m.get("note", ""), m.get("marked", "")])
    return len(marks)
