"""Split files: the JSON a run or a project fixes its split with, and the ``file,class,split`` CSV."""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from foveal.core.data.scan import DatasetSummary
from foveal.core.errors import ConfigError, DatasetError
from foveal.core.io import open_atomic, write_json
from foveal.core.jsonfile import read_json_file
from foveal.core.split.make import SPLITS, Split

#: A split as files: ``{"train": [relative paths], "val": [...], "test": [...]}``.
SplitFiles = Mapping[str, Sequence[str]]


def split_files(split: Split | SplitFiles) -> dict[str, list[str]]:
    """The relative paths of each split, from a :class:`Split` or a mapping of file lists."""
    if isinstance(split, Split):
        return {s: [r.rel for r in split.of(s)] for s in SPLITS}
    return {s: list(split.get(s, [])) for s in SPLITS}


def write_split_file(path: str | os.PathLike, split: Split | SplitFiles, **extra: Any) -> None:
    """Write ``{"split": {...}, **extra}`` atomically (what ``split_file`` and a project's split.json hold)."""
    write_json(path, {"split": split_files(split), **extra})


def run_split(run_dir: str | os.PathLike) -> dict[str, list[str]]:
    """The split a run that has just finished used, from its run.json (read as any split file is)."""
    return read_split_file(Path(run_dir) / "run.json")


#: The largest split file read: a run.json with 100,000 images in its split is a few MB.
MAX_SPLIT_FILE_BYTES = 256 << 20


def read_split_file(path: str | os.PathLike) -> dict[str, list[str]]:
    """The file lists a split file (a split JSON, a run.json or a project's split.json) gives, its shape checked:
    ``{"split": {"train": [...], ...}}`` or ``{"train": [...], ...}``, each entry a path or ``{"file": path}``."""
    fix = "Give a split file written by Foveal (`foveal split --json`, a run's run.json or a project's split.json)."
    data = read_json_file(path, what="split file", fix=fix, max_bytes=MAX_SPLIT_FILE_BYTES, error=ConfigError)
    given = data.get("split", data) if isinstance(data, dict) else None
    if not isinstance(given, dict):
        raise ConfigError(f"The split file {path} holds no split (a JSON object with train, val and test lists). "
                          f"{fix}")
    out: dict[str, list[str]] = {}
    for name in SPLITS:
        rows = given.get(name, [])
        files = [row.get("file") if isinstance(row, dict) else row for row in rows] if isinstance(rows, list) else None
        if files is None or not all(isinstance(f, str) and f and "\x00" not in f for f in files):
            raise ConfigError(f"The split file {path} is damaged: its '{name}' list is not a list of file names. "
                              f"{fix}")
        out[name] = [str(f) for f in files]
    return out


def split_from_file(summary: DatasetSummary, path: str) -> tuple[Split, list[str]]:
    """The split a file fixes; images not in it are left out (and said), listed images that are gone too."""
    given = read_split_file(path)
    by_rel = {r.rel: r for r in summary.images}
    parts, notes, listed = {}, [], set()
    for name in SPLITS:
        files = given[name]
        listed.update(files)
        missing = [f for f in files if f not in by_rel]
        if missing:
            notes.append(f"{len(missing)} {name} file(s) of the split file are no longer in the folder")
        parts[name] = tuple(sorted((by_rel[f] for f in files if f in by_rel), key=lambda r: r.rel))
    new = sorted(set(by_rel) - listed)
    if new:
        notes.append(f"{len(new)} image(s) in the folder are not in the split file and were left out")
    if not parts["train"] or not parts["val"]:
        raise DatasetError(f"The split file {path} leaves no training or no validation images for this folder. "
                           "Make a new split.")
    return Split(parts["train"], parts["val"], parts["test"]), notes


def write_split_csv(split: Split, path_or_stream: str | os.PathLike | IO[str]) -> None:
    """``file,class,split`` for every image, to a file (written atomically) or an open text stream."""
    if isinstance(path_or_stream, str | os.PathLike):
        with open_atomic(path_or_stream, "w", newline="") as fh:
            write_split_csv(split, fh)
        return
    w = csv.writer(path_or_stream, lineterminator="\n")
    w.writerow(["file", "class", "split"])
    for name in SPLITS:
        for r in split.of(name):
            w.writerow([r.rel, r.label, name])
