"""Near-duplicate images: the same picture resized, re-encoded or re-saved, found by perceptual hashes.

Exact copies are found by the scan (byte digests). Here each image gets ImageHash's perceptual hash (a 64-bit
DCT hash of the decoded picture); two images within ``threshold`` differing bits are duplicates. Candidates are
found through hash bands (two hashes within 4 bits share one of 5 bands exactly), so this stays near-linear in
the number of images.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from foveal.core.data.scan import ImageRecord
from foveal.core.split.hashes import image_hashes

#: Hashes differing in at most this many of 64 bits are the same picture (resizing and JPEG re-encoding
#: change a few bits; different pictures differ in about 32).
THRESHOLD = 4
_BANDS = THRESHOLD + 1


def near_duplicate_groups(records: Sequence[ImageRecord], threshold: int = THRESHOLD, *, root: str | None = None,
                          on_progress: Callable[[int, int], None] | None = None) -> list[tuple[str, ...]]:
    """Groups (relative paths, sorted) of images that are the same picture; singletons are left out. With the
    dataset folder ``root``, hashes of unchanged files come from the user's cache (:mod:`core.split.hashes`)."""
    hashes = image_hashes(records, root, on_progress=on_progress)
    parent = list(range(len(records)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in _candidate_pairs(hashes):
        if bin(hashes[a] ^ hashes[b]).count("1") <= threshold:
            parent[find(a)] = find(b)
    members: dict[int, list[str]] = defaultdict(list)
    for i, r in enumerate(records):
        if hashes[i] is not None:
            members[find(i)].append(r.rel)
    return sorted(tuple(sorted(g)) for g in members.values() if len(g) > 1)


def _candidate_pairs(hashes: list[int | None]):
    """Index pairs sharing at least one of the hash's bands (every pair within THRESHOLD bits does)."""
    width = -(-64 // _BANDS)
    seen: set[tuple[int, int]] = set()
    for band in range(_BANDS):
        buckets: dict[int, list[int]] = defaultdict(list)
        for i, h in enumerate(hashes):
            if h is not None:
                buckets[(h >> (band * width)) & ((1 << width) - 1)].append(i)
        for ids in buckets.values():
            for x in range(len(ids)):
                for y in range(x + 1, len(ids)):
                    pair = (ids[x], ids[y])
                    if pair not in seen:
                        seen.add(pair)
                        yield pair


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
