"""Splitting images into train, validation and test sets: stratified by class and fixed by the seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.data.scan import DatasetSummary, ImageRecord
from core.errors import DatasetError

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Split:
    """Image records per split, in a fixed order."""

    train: tuple[ImageRecord, ...]
    val: tuple[ImageRecord, ...]
    test: tuple[ImageRecord, ...]

    def of(self, name: str) -> tuple[ImageRecord, ...]:
        return getattr(self, name)

    def to_dict(self) -> dict[str, list[dict[str, str]]]:
        """File list per split (paths relative to the dataset folder) with each file's class."""
        return {name: [{"file": r.rel, "class": r.label} for r in self.of(name)] for name in SPLITS}


def make_split(summary: DatasetSummary, val_fraction: float, test_fraction: float, seed: int) -> Split:
    """Split the usable images; a pre-split folder keeps its own splits.

    Within each class, images are shuffled by ``seed`` and cut by the fractions (each non-zero fraction gets at
    least one image), so the same seed on the same files always gives the same split.

    Raises
    ------
    DatasetError
        If a class has too few images to appear in every split.
    """
    if summary.layout == "pre-split":
        return _given_split(summary, val_fraction, seed)
    out: dict[str, list[ImageRecord]] = {s: [] for s in SPLITS}
    for label in summary.classes:
        records = sorted((r for r in summary.images if r.label == label), key=lambda r: r.rel)
        parts = _cut(records, val_fraction, test_fraction, seed, label)
        for name in SPLITS:
            out[name].extend(parts[name])
    return Split(*(tuple(sorted(out[s], key=lambda r: r.rel)) for s in SPLITS))


def _cut(records: list[ImageRecord], val_fraction: float, test_fraction: float, seed: int,
         label: str) -> dict[str, list[ImageRecord]]:
    n = len(records)
    need = 1 + (val_fraction > 0) + (test_fraction > 0)
    if n < need:
        raise DatasetError(f"Class '{label}' has only {n} image(s); Foveal needs at least {need} per class "
                           "(one each for training, validation and test). Add images or remove the class folder.")
    rng = np.random.default_rng([seed, _stable_hash(label)])
    order = rng.permutation(n)
    n_test = max(1, round(n * test_fraction)) if test_fraction > 0 else 0
    n_val = max(1, round(n * val_fraction)) if val_fraction > 0 else 0
    n_val = min(n_val, n - n_test - 1)
    shuffled = [records[i] for i in order]
    return {"test": shuffled[:n_test], "val": shuffled[n_test:n_test + n_val], "train": shuffled[n_test + n_val:]}


def _given_split(summary: DatasetSummary, val_fraction: float, seed: int) -> Split:
    given = {s: [r for r in summary.images if r.split == s] for s in SPLITS}
    if not given["val"]:  # carve validation out of train, stratified
        train, val = [], []
        for label in summary.classes:
            records = sorted((r for r in given["train"] if r.label == label), key=lambda r: r.rel)
            if not records:
                continue
            parts = _cut(records, val_fraction, 0.0, seed, label)
            train += parts["train"]
            val += parts["val"]
        given["train"], given["val"] = train, val
    return Split(*(tuple(sorted(given[s], key=lambda r: r.rel)) for s in SPLITS))


def _stable_hash(text: str) -> int:
    """A hash that does not change between Python processes (unlike ``hash``)."""
    import zlib

    return zlib.crc32(text.encode("utf-8"))
