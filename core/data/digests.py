"""Byte-identical files: found by size first, then by a digest of the bytes of the files that share a size."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from foveal.core.data.scan import ImageRecord


def exact_duplicates(records: Sequence[ImageRecord]) -> tuple[tuple[str, ...], ...]:
    """Groups of byte-identical files. Only files of equal size are hashed, so this costs little."""
    by_size: dict[int, list[ImageRecord]] = defaultdict(list)
    for r in records:
        by_size[r.size_bytes].append(r)
    by_hash: dict[bytes, list[str]] = defaultdict(list)
    for same in by_size.values():
        if len(same) < 2:
            continue
        for r in same:
            by_hash[file_digest(r.path)].append(r.rel)
    return tuple(tuple(sorted(g)) for g in sorted(by_hash.values()) if len(g) > 1)


def file_digest(path: str) -> bytes:
    """BLAKE2b digest of a file's bytes."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()
