"""Images the scan called usable that a run could not read after all (deleted, truncated or replaced while it ran;
a format this installation cannot decode), counted per class and split.

A run must never report a result that rests on fewer images than it says. A class that loses more than half of its
images in a split stops the run with a message: without them, what the run measures about that class is not
what the user thinks it is. A smaller loss is said beside the headline, in run.json, the terminal and the window.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from foveal.core.data.scan import ImageRecord
from foveal.core.errors import DatasetError, listing
from foveal.core.split.make import SPLITS, Split

#: A class that loses more than this share of its images in one split stops the run.
MOST = 0.5
_SPLIT_WORDS = {"train": "training", "val": "validation", "test": "test"}


@dataclass(frozen=True)
class Lost:
    """The images of class ``label`` in ``split`` that could not be read, out of ``of`` in that split."""

    label: str
    split: str
    files: tuple[str, ...]
    of: int
    changed: bool = True  # one of them is gone, or its size or time differs from the scan's
    reason: str = ""  # why the first of them could not be read

    @property
    def most(self) -> bool:
        """More than half of them (all of them included): the run cannot go on."""
        return len(self.files) > self.of * MOST

    def words(self) -> str:
        """``"2 of 3 training images of 'a' (a_001.png, a_002.png)"``."""
        return (f"{len(self.files)} of {self.of} {_SPLIT_WORDS[self.split]} images of '{self.label}' "
                f"({listing(self.files, 3)})")

    def to_dict(self) -> dict:
        return {"class": self.label, "split": self.split, "lost": len(self.files), "of": self.of,
                "files": list(self.files)}


def lost_images(split: Split, failed: Sequence[tuple[str, str]]) -> list[Lost]:
    """Per class and split, the images of ``split`` among ``failed`` (``(file, reason)``; repeats counted once),
    in split then class order."""
    where = {r.rel: (name, r.label) for name in SPLITS for r in split.of(name)}
    records = {r.rel: r for name in SPLITS for r in split.of(name)}
    reasons = dict(reversed(failed))
    of: dict[tuple[str, str], int] = {}
    for key in where.values():
        of[key] = of.get(key, 0) + 1
    files: dict[tuple[str, str], list[str]] = {}
    for rel, _reason in failed:
        found = where.get(rel)
        if found is not None and rel not in files.setdefault(found, []):
            files[found].append(rel)
    order = {name: i for i, name in enumerate(SPLITS)}
    return [Lost(label, name, tuple(sorted(rels)), of[(name, label)], any(_changed(records[r]) for r in rels),
                 reasons[sorted(rels)[0]])
            for (name, label), rels in sorted(files.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])) if rels]


def _changed(record: ImageRecord) -> bool:
    """The file is gone, or its size or modification time is not what the scan saw."""
    try:
        st = os.stat(record.path)
    except OSError:
        return True
    return st.st_size != record.size_bytes or abs(st.st_mtime - record.mtime) > 1e-3


def stop_if_lost(split: Split, failed: Sequence[tuple[str, str]]) -> list[Lost]:
    """The images of ``split`` among ``failed``, per class and split (:func:`lost_images`).

    Raises
    ------
    DatasetError
        When a class lost more than half of its images in any split: the message names the class, how many, a
        few files with the first reason, and the fix.
    """
    lost = lost_images(split, failed)
    worst = [x for x in lost if x.most]
    if not worst:
        return lost
    first = worst[0]
    reason = dict(failed).get(first.files[0], "")
    raise DatasetError(
        f"{'; '.join(x.words() for x in worst)} could not be read during the run"
        f"{f' (the first: {reason})' if reason else ''}. The scan found them usable, so they were moved, "
        "changed or deleted while the run read them, or this installation cannot decode them. Without them the "
        f"run would not measure '{first.label}' fairly, so it stopped. Restore the files (or remove them from the "
        "dataset folder) and train again.")


def lost_warning(lost: Sequence[Lost]) -> str | None:
    """The words said beside the headline when some images (a minority of every class) could not be read."""
    if not lost:
        return None
    n = sum(len(x.files) for x in lost)
    if not any(x.changed for x in lost):  # as the scan saw them: damaged where only decoding looks
        return (f"Warning: {n} image(s) the scan found usable could not be decoded (damaged inside: "
                f"{lost[0].reason}) and were left out: {'; '.join(x.words() for x in lost)}. The result rests on "
                "the images that were read; copy those files again from the source and train again for a result on "
                "all of them.")
    return (f"Warning: {n} image(s) the scan found usable could not be read during the run and were left out: "
            f"{'; '.join(x.words() for x in lost)}. The result rests on the images that were read; check those "
            "files (were they changed while the run read them?) and train again for a result on all of them.")
