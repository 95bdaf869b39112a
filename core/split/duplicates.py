"""Near-duplicate images: the same picture resized, re-encoded or re-saved, found by perceptual hashes.

Exact copies are found by the scan (byte digests). Here each image gets ImageHash's perceptual hash (a 64-bit
DCT hash of the decoded picture); two images within ``threshold`` differing bits are duplicates. Candidates are
found through hash bands (two hashes within 4 bits share one of 5 bands exactly), so this stays near-linear in
the number of images.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from core.data.scan import ImageRecord
from core.errors import ImageDecodeError

#: Hashes differing in at most this many of 64 bits are the same picture (resizing and JPEG re-encoding
#: change a few bits; different pictures differ in about 32).
THRESHOLD = 4
_BANDS = THRESHOLD + 1


def perceptual_hash(path: str) -> int | None:
    """The 64-bit perceptual hash of an image file (decoded by Foveal's decoder), or None if unreadable."""
    import imagehash
    from PIL import Image

    from core.data.decode import decode_image

    try:
        pixels = decode_image(path, size=128)
    except ImageDecodeError:
        return None
    bits = imagehash.phash(Image.fromarray(pixels)).hash.flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def near_duplicate_groups(records: Sequence[ImageRecord], threshold: int = THRESHOLD, *,
                          on_progress: Callable[[int, int], None] | None = None) -> list[tuple[str, ...]]:
    """Groups (relative paths, sorted) of images that are the same picture; singletons are left out."""
    hashes: list[int | None] = [None] * len(records)
    with ThreadPoolExecutor(max(2, os.cpu_count() or 2), thread_name_prefix="foveal-phash") as pool:
        for done, (i, h) in enumerate(pool.map(lambda i: (i, perceptual_hash(records[i].path)), range(len(records))),
                                      1):
            hashes[i] = h
            if on_progress is not None and (done % 64 == 0 or done == len(records)):
                on_progress(done, len(records))
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
