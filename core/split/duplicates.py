"""Copies of an image, and keeping each set of copies in one split.

Two checks find copies, and Foveal says which found what:

- **identical files** (the same bytes saved twice) are found by the scan (:mod:`core.data.digests`);
- **the same picture** resized, re-encoded or re-saved is found by comparing the pictures: a perceptual hash and a
  small thumbnail (:mod:`core.split.copysets`, :mod:`core.split.hashes`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from foveal.core.data.scan import ImageRecord
from foveal.core.split.copysets import THRESHOLD, copy_sets
from foveal.core.split.hashes import THUMB_SIDE, image_signatures


def near_duplicate_groups(records: Sequence[ImageRecord], threshold: int = THRESHOLD, *, root: str | None = None,
                          on_progress: Callable[[int, int], None] | None = None) -> list[tuple[str, ...]]:
    """Sets (relative paths, sorted) of images that are each the same picture as every other member; images
    without a copy are left out. With the dataset folder ``root``, signatures of unchanged files come from the
    user's cache (:mod:`core.split.hashes`)."""
    signatures = image_signatures(records, root, on_progress=on_progress)
    readable = sorted((r.rel, s) for r, s in zip(records, signatures, strict=True) if s is not None)
    if len(readable) < 2:
        return []
    hashes = np.array([s.phash for _, s in readable], dtype=np.uint64)
    thumbs = np.frombuffer(b"".join(s.thumb for _, s in readable), dtype=np.uint8).reshape(-1, THUMB_SIDE ** 2)
    return sorted(tuple(readable[i][0] for i in members) for members in copy_sets(hashes, thumbs,
                                                                                    threshold=threshold))


def merge_duplicates(groups: dict[str, str], duplicates: Sequence[Sequence[str]]) -> dict[str, str]:
    """Groups where every set of duplicates lies in one group (so a split keeps duplicates together)."""
    parent: dict[str, str] = {g: g for g in groups.values()}

    def find(g: str) -> str:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    for dup in duplicates:
        present = [groups[rel] for rel in dup if rel in groups]
        for other in present[1:]:
            parent[find(other)] = find(present[0])
    return {rel: find(g) for rel, g in groups.items()}


def duplicates_across_splits(split, duplicates: Sequence[Sequence[str]]) -> list[dict[str, str]]:
    """Duplicate sets that span more than one split: ``{file: split}`` for each."""
    where = {r.rel: name for name in ("train", "val", "test") for r in split.of(name)}
    out = []
    for dup in duplicates:
        placed = {rel: where[rel] for rel in dup if rel in where}
        if len(set(placed.values())) > 1:
            out.append(placed)
    return out


def copies_in_test(across: Sequence[Mapping[str, str]]) -> list[str]:
    """The test images that have a copy in the training or validation split (``across``: from
    :func:`duplicates_across_splits`)."""
    out: list[str] = []
    for placed in across:
        if "test" in placed.values() and set(placed.values()) - {"test"}:
            out += sorted(f for f, s in placed.items() if s == "test")
    return out


def copies_warning(split_info: Mapping[str, Any] | None) -> str | None:
    """Words for beside a test accuracy that copies inflate (None: no test image has a copy elsewhere), from the
    split's description as :mod:`core.split.plan` makes it."""
    info = split_info or {}
    return copies_words(info.get("duplicates_across_splits") or [], from_split_file=bool(info.get("split_file")))


def copies_words(across: Sequence[Mapping[str, str]], *, from_split_file: bool) -> str | None:
    """:func:`copies_warning` from the sets of copies that span splits, and whether a split file fixed the split
    (then the fix is to that file)."""
    found = copies_in_test(across)
    if not found:
        return None
    fix = ("Fix the split file so each set of copies is in one split" if from_split_file else
           "Train again with copies kept together (the default) to measure it honestly")
    return (f"{len(found)} test image(s) have a copy (the same picture, resized or re-saved) among the training or "
            f"validation images, so this accuracy may be higher than on new images. {fix}: "
            + ", ".join(found[:3]) + (", …" if len(found) > 3 else "") + ".")
