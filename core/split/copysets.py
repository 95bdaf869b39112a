"""Sets of copies of one picture, from image signatures (:mod:`core.split.hashes`): NumPy only, no files.

Two images are **the same picture** when both checks agree:

1. their perceptual hashes differ in at most :data:`THRESHOLD` of 64 bits (resizing and JPEG re-encoding change a
   few bits; different pictures differ in about 32), and
2. their 8×8 grey thumbnails correlate at least :data:`MIN_CORRELATION` (brightness and contrast aside).

The hash alone is not enough on medical images: neighbouring slices of a scan and low-detail chest X-rays often
share a hash though they are different pictures; the thumbnail tells most of them apart (the numbers are in
``benchmarks/bench_duplicates.py``).

A **copy set** is a group of images that are each the same picture as every other member (complete link, grown
from a leader: the first image by name that has a copy), never a chain A≈B≈C in which A and C differ: chaining is
what once swallowed most of a class of adjacent slices into one set.

Candidates come from hash bands (two hashes within 4 bits share one of 5 bands exactly). Images with the same
signature count once. A band value shared by many images (low-detail pictures) would make the pairs grow with the
square of their number, so within one band value each image is compared only with its :data:`WINDOW` nearest
images in hash order, where identical and nearly identical hashes lie next to each other: the work stays linear in
the number of images.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Hashes differing in at most this many of 64 bits may be the same picture.
THRESHOLD = 4
#: The least correlation of two 8×8 grey thumbnails of the same picture (JPEG re-encoding and resizing keep it above
#: 0.99 in nearly every case measured; neighbouring slices mostly fall below it).
MIN_CORRELATION = 0.99
#: Within one band value, each image is compared with at most this many images on either side in hash order.
WINDOW = 32
#: A thumbnail whose grey levels spread less than this (standard deviation) is flat: a blank picture, compared by
#: its mean grey level, since a correlation of noise means nothing.
FLAT_SPREAD = 1.0
#: Two thumbnails whose mean grey levels are more than this apart are not the same picture unless they correlate.
FLAT_LEVELS = 4.0
#: Thumbnails differing by at most this much (root mean square of grey levels, brightness aside) are the same
#: picture whatever their correlation: that is the rounding of whole grey levels, and the correlation of a
#: low-contrast picture with its JPEG copy is mostly that rounding.
ROUNDING_RMS = 0.6


def hash_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Differing bits of two arrays of 64-bit hashes (element by element)."""
    x = np.bitwise_xor(a.astype(np.uint64), b.astype(np.uint64))
    count = getattr(np, "bitwise_count", None)  # NumPy 2; a byte table before
    if count is not None:
        return count(x).astype(np.int64)
    return _BYTE_BITS[x.view(np.uint8).reshape(-1, 8)].sum(axis=1)


_BYTE_BITS = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


class Pictures:
    """Signatures as arrays, and the two checks on them."""

    def __init__(self, hashes: np.ndarray, thumbs: np.ndarray, threshold: int = THRESHOLD,
                 min_correlation: float = MIN_CORRELATION) -> None:
        self.hashes = np.asarray(hashes, dtype=np.uint64)
        grey = np.asarray(thumbs, dtype=np.float32).reshape(len(self.hashes), -1)
        self.mean = grey.mean(axis=1)
        self.centred = grey - self.mean[:, None]
        spread = np.sqrt((self.centred**2).mean(axis=1))
        self.flat = spread < FLAT_SPREAD
        self.unit = self.centred / np.where(self.flat, 1.0, spread * np.sqrt(grey.shape[1]))[:, None]
        self.threshold, self.min_correlation = threshold, min_correlation

    def same(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Whether images ``a[k]`` and ``b[k]`` are the same picture (both checks), for each k."""
        close = hash_distance(self.hashes[a], self.hashes[b]) <= self.threshold
        corr = np.einsum("ij,ij->i", self.unit[a], self.unit[b])
        level = np.abs(self.mean[a] - self.mean[b]) <= FLAT_LEVELS
        rounding = np.sqrt(((self.centred[a] - self.centred[b]) ** 2).mean(axis=1)) <= ROUNDING_RMS
        correlated = ~(self.flat[a] | self.flat[b]) & (corr >= self.min_correlation)
        alike = np.where(self.flat[a] & self.flat[b], level, correlated | (level & rounding))
        return close & alike

    def edges(self, window: int = WINDOW) -> np.ndarray:
        """Pairs ``(i, j)``, i < j, that are the same picture, found through the hash bands (each image compared
        with at most ``window`` others on either side per band)."""
        n = len(self.hashes)
        bands = self.threshold + 1
        width = -(-64 // bands)
        found = []
        for band in range(bands):
            key = (self.hashes >> np.uint64(band * width)) & np.uint64((1 << width) - 1)
            order = np.lexsort((self.hashes, key))
            key = key[order]
            for step in range(1, min(window, n - 1) + 1):
                run = np.flatnonzero(key[:-step] == key[step:])
                if not len(run):
                    break  # no band value is shared by more than `step` images
                a, b = order[run], order[run + step]
                ok = self.same(a, b)
                found.append(np.stack([np.minimum(a, b)[ok], np.maximum(a, b)[ok]], axis=1))
        if not found:
            return np.zeros((0, 2), dtype=np.int64)
        return np.unique(np.concatenate(found), axis=0)


def copy_sets(hashes: Sequence[int] | np.ndarray, thumbs: np.ndarray, *, threshold: int = THRESHOLD,
              min_correlation: float = MIN_CORRELATION, window: int = WINDOW) -> list[list[int]]:
    """Sets (indices, ascending) of images that are each the same picture as every other member; images without a
    copy are left out. Give the images in a fixed order (by name): the first image of a set is its leader."""
    hashes = np.asarray(hashes, dtype=np.uint64)
    thumbs = np.asarray(thumbs).reshape(len(hashes), -1)
    if len(hashes) < 2:
        return []
    # Identical signatures are one picture: compared once, as the first of them.
    both = np.concatenate([hashes.view(np.uint8).reshape(-1, 8), thumbs.astype(np.uint8)], axis=1)
    _, first, inverse = np.unique(both, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    pictures = Pictures(hashes[first], thumbs[first], threshold, min_correlation)
    node_sets = _grow(pictures, pictures.edges(window), first)
    members: dict[int, list[int]] = {}
    for i, node in enumerate(inverse):
        members.setdefault(int(node), []).append(i)
    grouped = {node for nodes in node_sets for node in nodes}
    out = [sorted(i for node in nodes for i in members[node]) for nodes in node_sets]
    out += [m for node, m in members.items() if len(m) > 1 and node not in grouped]
    return sorted(out)


def _grow(pictures: Pictures, edges: np.ndarray, first: np.ndarray) -> list[set[int]]:
    """Complete-link sets from a leader: in the images' order, each image without a set that has a copy leads a
    new one; its copies join, nearest first, when they are the same picture as every member so far."""
    n = len(first)
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges.tolist():
        neighbours[a].append(b)
        neighbours[b].append(a)
    taken = np.zeros(n, dtype=bool)
    out: list[set[int]] = []
    for leader in np.argsort(first, kind="stable").tolist():  # the images' own order
        if taken[leader] or not neighbours[leader]:
            continue
        free = np.array([j for j in neighbours[leader] if not taken[j]], dtype=np.int64)
        if not len(free):
            continue
        near = hash_distance(np.full(len(free), pictures.hashes[leader]), pictures.hashes[free])
        members = [leader]
        for j in free[np.lexsort((first[free], near))].tolist():
            if pictures.same(np.array(members), np.full(len(members), j)).all():
                members.append(j)
        if len(members) > 1:
            taken[members] = True
            out.append(set(members))
    return out
