"""Whole groups assigned to training, validation and test so that each split keeps every class near its share.

A group (one patient, or a set of copies of one picture) must stay in one split, so a split of groups can only
approach the class balance a split of single images gets. :func:`assign_groups` goes through the groups largest
first and gives each to the split furthest below its target count of the group's classes; :class:`Balance` says
whether the result is stratified (:data:`TOLERANCE`) and, when it is not, the share of each class in each split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "val", "test")
_IN = {"train": "training", "val": "validation", "test": "test"}

#: A class may be this far from its share of all images in a split (or one image's worth of that split, when that
#: is more) and the split still counts as stratified.
TOLERANCE = 0.05


def assign_groups(groups: Sequence[str], labels: Sequence[str], fractions: Mapping[str, float],
                  seed: int) -> list[str]:
    """The split of each image (``groups[i]``, ``labels[i]``: image i's group and class), every group in one split.

    ``fractions`` gives the share of the images each split should get (training: the rest). Groups go largest
    first, equal sizes in an order fixed by ``seed``, each to the split where it most lowers the distance of the
    class counts from their targets (a chi-square), with a bonus for a class's first image in a split."""
    classes = sorted(set(labels))
    cls = {c: k for k, c in enumerate(classes)}
    have: dict[str, dict[int, int]] = {}
    for g, label in zip(groups, labels, strict=True):
        counts = have.setdefault(g, {})
        counts[cls[label]] = counts.get(cls[label], 0) + 1
    share = {"val": fractions.get("val", 0.0), "test": fractions.get("test", 0.0)}
    share["train"] = 1.0 - share["val"] - share["test"]
    used = [s for s in SPLITS if share[s] > 0]
    totals = np.bincount([cls[c] for c in labels], minlength=len(classes)).tolist()
    target = {s: [share[s] * t for t in totals] for s in used}
    count = {s: [0] * len(classes) for s in used}
    names = sorted(have)
    rank = dict(zip(names, np.random.default_rng(seed).permutation(len(names)).tolist(), strict=True))
    where: dict[str, str] = {}
    for g in sorted(names, key=lambda g: (-sum(have[g].values()), rank[g])):
        best = min(used, key=lambda s: (_cost(count[s], target[s], have[g]), used.index(s)))
        where[g] = best
        for c, n in have[g].items():
            count[best][c] += n
    return [where[g] for g in groups]


def _cost(count: list[int], target: list[float], have: dict[int, int]) -> float:
    """How much adding ``have`` (class → images) to a split changes its chi-square distance from ``target``, less
    one for each class that the split is still missing and should hold."""
    cost = 0.0
    for c, n in have.items():
        t = target[c]
        cost += ((count[c] + n - t) ** 2 - (count[c] - t) ** 2) / max(t, 1.0)
        if count[c] == 0 and t > 0:
            cost -= 1.0
    return cost


@dataclass(frozen=True)
class Balance:
    """The class shares a split achieved, against the shares of all its images."""

    #: Images in each split that holds any.
    sizes: dict[str, int]
    #: Each class's share of each split that holds images.
    shares: dict[str, dict[str, float]]
    #: Each class's share of all images.
    overall: dict[str, float]
    #: Images of each class in all.
    totals: dict[str, int]

    @classmethod
    def of(cls, labels_by_split: Mapping[str, Sequence[str]], classes: Sequence[str]) -> Balance:
        """The balance of a split given as the class of each image in each split."""
        sizes = {s: len(labels_by_split.get(s, ())) for s in SPLITS if labels_by_split.get(s)}
        counts = {s: {c: 0 for c in classes} for s in sizes}
        for s in sizes:
            for label in labels_by_split[s]:
                counts[s][label] += 1
        totals = {c: sum(counts[s][c] for s in sizes) for c in classes}
        n = sum(sizes.values()) or 1
        return cls(sizes, {s: {c: counts[s][c] / sizes[s] for c in classes} for s in sizes},
                   {c: totals[c] / n for c in classes}, totals)

    def off(self) -> list[tuple[str, str]]:
        """``(split, class)`` where the class is further from its overall share than the tolerance allows, or
        missing though it has an image for each split."""
        out = []
        for s, n in self.sizes.items():
            allowed = max(TOLERANCE, 1.0 / n) + 1e-9
            for c, share in self.shares[s].items():
                missing = share == 0 and self.totals[c] >= len(self.sizes)
                if missing or abs(share - self.overall[c]) > allowed:
                    out.append((s, c))
        return out

    @property
    def stratified(self) -> bool:
        """Every class within the tolerance of its share in every split, and none missing that could be there."""
        return not self.off()

    def worst(self) -> float:
        """The largest distance of a class's share in a split from its overall share (0 to 1)."""
        return max((abs(self.shares[s][c] - self.overall[c]) for s in self.sizes for c in self.overall), default=0.0)

    def words(self) -> str:
        """The classes off their share, in words: "test: 'AbdomenCT' 61% (14% of all images), 'Hand' none (14%)"."""
        parts = []
        for s in self.sizes:
            off = [c for split, c in self.off() if split == s]
            if off:
                parts.append(f"{_IN[s]} ({self.sizes[s]} images): " + ", ".join(
                    f"'{c}' {_pct(self.shares[s][c])} ({_pct(self.overall[c], zero='0%')} of all images)"
                    for c in off))
        return "; ".join(parts)


def _pct(x: float, zero: str = "none") -> str:
    return zero if x == 0 else f"{x:.0%}" if x >= 0.005 else "<1%"
