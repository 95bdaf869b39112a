"""A run's split as run.json holds it (:class:`RunSplit` of :class:`SplitRow`), and the check that each of its paths
names a file inside the dataset folder (:class:`Confined`), which reports also use before they open a file."""

from __future__ import annotations

import ntpath
import os
import stat
from dataclasses import dataclass, field

from foveal.core.records import Record, shown

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SplitRow(Record):
    """One image of a split: its path inside the dataset folder (``/`` between parts) and its class."""

    file: str
    label: str = field(metadata={"key": "class"})


@dataclass(frozen=True)
class RunSplit(Record):
    """The images of each split, as training used them."""

    train: tuple[SplitRow, ...]
    val: tuple[SplitRow, ...]
    test: tuple[SplitRow, ...]

    def of(self, name: str) -> tuple[SplitRow, ...]:
        """The rows of the split called ``name`` (train, val or test)."""
        return {"train": self.train, "val": self.val, "test": self.test}[name]



def split_problem(split: RunSplit, root: str, classes: tuple[str, ...]) -> str | None:
    """Why a split entry does not name a file inside the dataset folder and one of the run's classes (None: each
    does)."""
    known, confined = set(classes), Confined(root)
    for name in SPLITS:
        for i, row in enumerate(split.of(name)):
            key = f"split.{name}[{i}]"
            if row.label not in known:
                return f"'{key}.class' ({shown(row.label)}) is not one of the classes"
            outside = confined.problem(row.file)
            if outside:
                return f"'{key}.file' ({shown(row.file)}) {outside}"
    return None


def outside_reason(rel: str, root: str) -> str | None:
    """Why ``rel`` does not name a file inside the folder ``root`` (None: it does); see :class:`Confined`."""
    return Confined(root).problem(rel)


class Confined:
    """Checks paths relative to one dataset folder, as a run folder holds them, resolving each folder once.

    A run folder's paths are relative to its dataset folder, with ``/`` between parts: an absolute path, a drive
    (``C:\\x``), a ``..`` or ``.`` part, an empty part, a NUL character, or a link that leads out of the folder
    (where the file exists) would let a run folder made elsewhere have Foveal read, and show in a report, files
    from anywhere on this computer. The scan never follows a link out of the dataset folder either.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        real = os.path.realpath(root)
        self._prefix = real.rstrip(os.sep) + os.sep
        self._real_root = real
        self._folders: dict[str, str] = {}  # folder part of a path → where it really is

    def problem(self, rel: str) -> str | None:
        """Why ``rel`` does not name a file inside the folder (None: it does, or it would if it existed)."""
        if not rel or "\0" in rel:
            return "is empty or holds a NUL character"
        if rel[0] in "/\\" or ntpath.splitdrive(rel)[0]:
            return "is an absolute path, not one inside the dataset folder"
        if any(part in ("", ".", "..") for part in rel.split("/")) or ".." in rel.split("\\"):
            return "is not a plain path inside the dataset folder (it has an empty, '.' or '..' part)"
        folder, _, name = rel.rpartition("/")
        real_folder = self._folders.get(folder)
        if real_folder is None:
            real_folder = self._folders[folder] = os.path.realpath(os.path.join(self.root, folder))
        full = os.path.join(real_folder, name)
        try:
            is_link = stat.S_ISLNK(os.lstat(full).st_mode)
        except OSError:
            is_link = False  # not there (moved, deleted): nothing to read, so nothing read from elsewhere
        real = os.path.realpath(full) if is_link else full
        if real != self._real_root and not real.startswith(self._prefix):
            return f"leads out of the dataset folder (to {real})"
        return None

