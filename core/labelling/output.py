"""The new dataset folder labelling grows: class sub-folders of hard links (or copies) and ``labels.csv``.

Every write passes through core.io's chokepoint: a path inside a protected folder (the labelled dataset, the
unlabelled folder) is refused there. A file is placed first and its row written after, so labels.csv never names a
file that is not there; labels.csv is rewritten whole and atomically after every change.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from foveal.core.errors import ConfigError
from foveal.core.io import atomic_path, check_target, make_dirs, os_errors, write_text
from foveal.core.labelling.records import LABELS_CSV, LabelRow, labels_csv_text
from foveal.core.paths import is_inside, portable_file_name, printable


def check_out(out: str | os.PathLike[str], *inputs: str | os.PathLike[str]) -> Path:
    """``out`` as a Path, after refusing it inside (or around) any of the input folders, or a file in the way."""
    p = Path(os.path.abspath(os.path.expanduser(os.fspath(out))))
    for folder in inputs:
        if is_inside(p, folder) or is_inside(folder, p):
            raise ConfigError(f"The new dataset folder {printable(p)} overlaps {printable(folder)}, which Foveal "
                              "only reads. Choose a new folder outside both the labelled and the unlabelled folders.")
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{printable(p)} is a file, not a folder. Choose a new folder for the grown dataset.")
    return p


def existing_rows(out: Path) -> list[LabelRow] | None:
    """The rows of ``out``'s labels.csv (None: ``out`` is missing or empty). A folder holding anything else is
    refused: the grown dataset goes into a new folder."""
    from foveal.core.labelling.records import read_labels_csv

    if not out.is_dir() or not any(out.iterdir()):
        return None
    if not (out / LABELS_CSV).is_file():
        raise ConfigError(f"{printable(out)} is not empty and holds no {LABELS_CSV}. Choose a new (or empty) folder "
                          "for the grown dataset, or the folder of a labelling to go on with.")
    return read_labels_csv(out / LABELS_CSV)


class DatasetWriter:
    """Places images into ``out/<class>/`` (hard link where the file system allows, else a copy) and keeps
    labels.csv; names are portable and never clash (a suffix is added)."""

    def __init__(self, out: Path) -> None:
        self.out = make_dirs(out)
        self._taken: set[str] = set()
        for sub in (d for d in self.out.iterdir() if d.is_dir()):
            self._taken |= {f"{sub.name}/{f.name}".casefold() for f in sub.iterdir()}

    def place(self, source: str, label: str) -> Path:
        """Hard-link or copy ``source`` into the class folder of ``label``; the new file's path."""
        folder = make_dirs(self.out / label)
        target = check_target(folder / self._free_name(label, os.path.basename(source)), "file")
        try:
            os.link(source, target)
        except OSError:  # another file system, or one without hard links: a copy
            with atomic_path(target) as tmp, os_errors(target):
                shutil.copyfile(source, tmp)
        return target

    def remove(self, path: str | os.PathLike[str]) -> None:
        """Delete a file this writer placed (undo)."""
        target = check_target(path, "file")
        with os_errors(target):
            target.unlink(missing_ok=True)
        self._taken.discard(self.relative(target).casefold())

    def relative(self, path: str | os.PathLike[str]) -> str:
        """``path`` relative to the folder, with "/" (labels.csv's ``file`` column)."""
        return Path(os.path.relpath(path, self.out)).as_posix()

    def write_rows(self, rows: list[LabelRow]) -> None:
        """Rewrite labels.csv atomically."""
        write_text(self.out / LABELS_CSV, labels_csv_text(rows))

    def _free_name(self, label: str, name: str) -> str:
        """A portable file name not yet taken in the class folder (case ignored, as on Windows and macOS)."""
        name = portable_file_name(printable(name).replace("\\", "_"))
        stem, ext = os.path.splitext(name)
        candidate, k = name, 1
        while f"{label}/{candidate}".casefold() in self._taken:
            k += 1
            candidate = f"{stem}-{k}{ext}"
        self._taken.add(f"{label}/{candidate}".casefold())
        return candidate
