"""``foveal label-import``: a new dataset folder from a dataset's classes plus the rows of a labels file.

The labels file may come from a labelling session, be written by hand or by another tool: it needs at least the
columns ``source`` and ``label`` (source: the image's path, absolute or relative to the labels file's folder). A
row without a label (skipped, unsure) is recorded but places no image; a label that is not yet a class makes a new
class folder. Nothing is written until every row has been checked.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import replace
from pathlib import Path

from foveal.core.errors import ConfigError, DatasetError
from foveal.core.labelling.output import DatasetWriter, check_out
from foveal.core.labelling.records import LABELS_CSV, ImportSummary, LabelRow, Status, read_labels_csv
from foveal.core.paths import name_problem, printable, protect

#: What a hand-written row without a status is recorded as.
IMPORTED = "imported"
#: What a row that gives one of the dataset's own images another class is recorded as.
CORRECTED = "corrected"


def import_labels(dataset: str | os.PathLike[str], labels_csv: str | os.PathLike[str],
                  out: str | os.PathLike[str]) -> ImportSummary:
    """Build ``out``: ``dataset``'s images in their class folders, then each labelled row of ``labels_csv``
    (hard links where the file system allows, else copies), and its labels.csv. Raises ConfigError naming the
    file and row, and the fix, before anything is written."""
    from foveal.core.data.scan import scan_dataset

    summary = scan_dataset(dataset)  # protected from writes from here on
    if not summary.images:
        raise DatasetError(f"{printable(summary.root)} holds no usable images in class folders. Choose the dataset "
                           "folder (one sub-folder per class) that the labels add to.")
    rows = _resolved(read_labels_csv(labels_csv), Path(labels_csv))
    folders = sorted({os.path.dirname(r.source) for r in rows})
    for folder in folders:
        protect(folder)
    target = check_out(out, summary.root, *folders)
    if target.is_dir() and any(target.iterdir()):
        raise ConfigError(f"{printable(target)} is not empty. Choose a new (or empty) folder for the dataset.")
    # A row about one of the dataset's own images corrects its class (a suspected mislabel reviewed): the image is
    # placed once, in the class the row gives; a row without a label leaves it where it was.
    corrections = {os.path.realpath(r.source): r for r in rows if r.label is not None}
    writer = DatasetWriter(target)
    written: list[LabelRow] = []
    for record in summary.images:
        fix = corrections.pop(os.path.realpath(record.path), None)
        label = fix.label if fix is not None and fix.label is not None else record.label
        copy = writer.place(record.path, label)
        written.append(LabelRow(record.path, label, Status.FROM_DATASET if fix is None else fix.status or CORRECTED,
                                suggested=record.label if fix is not None else "",
                                when=fix.when if fix is not None else "", file=writer.relative(copy)))
    inside = {os.path.realpath(rec.path) for rec in summary.images}
    rows = [r for r in rows if os.path.realpath(r.source) not in inside]
    for r in rows:
        copy_name = writer.relative(writer.place(r.source, r.label)) if r.label is not None else ""
        written.append(replace(r, status=r.status or IMPORTED, file=copy_name))
    writer.write_rows(written)
    counts = Counter(r.label for r in written if r.label is not None)
    return ImportSummary(writer.out, dict(sorted(counts.items())), len(summary.images),
                         sum(r.label is not None for r in rows), sum(r.label is None for r in rows))


def _resolved(rows: list[LabelRow], csv_path: Path) -> list[LabelRow]:
    """The rows with absolute sources, each checked: the file exists, the label can be a folder name, and no image
    is given two labels."""
    base = csv_path.resolve().parent
    seen: dict[str, LabelRow] = {}
    out = []
    for r in rows:
        source = os.path.abspath(os.path.join(base, os.path.expanduser(r.source)))
        where = f"{printable(csv_path)}, line {r.line}"
        if not os.path.isfile(source):
            raise ConfigError(f"{where}: {printable(source)} is not a file. Correct the path (absolute, or relative "
                              f"to {printable(base)}), or remove the row.")
        if r.label is not None:
            _check_label(r.label, where)
        earlier = seen.get(source)
        if earlier is not None and earlier.label != r.label:
            raise ConfigError(f"{where}: {printable(source)} is labelled {r.label!r} here and {earlier.label!r} on "
                              f"line {earlier.line}. Keep one row per image.")
        if earlier is None:
            seen[source] = r
            out.append(replace(r, source=source))
    return out


def _check_label(label: str, where: str) -> None:
    """A label becomes a folder name: it must be one on every system."""
    problem = name_problem(label)
    if problem or label in (".", "..") or any(ch in label for ch in '/\\:*?"<>|') or label != label.strip(" ."):
        why = f"the name {problem}" if problem else "it cannot be a folder name on every system"
        raise ConfigError(f"{where}: the label {printable(label)!r} cannot be used ({why}). Use letters, digits, "
                          "spaces, - and _ in class names.")


__all__ = ["CORRECTED", "IMPORTED", "LABELS_CSV", "import_labels"]
