"""Splitting images into train, validation and test sets: stratified by class and fixed by the seed."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from foveal.core.data.scan import DatasetSummary, ImageRecord
from foveal.core.errors import DatasetError, listing

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


def make_split(summary: DatasetSummary, val_fraction: float, test_fraction: float, seed: int,
               groups: dict[str, str] | None = None) -> Split:
    """Split the usable images; a pre-split folder keeps its own splits.

    With ``groups`` (relative path → group, see core.split.groups), all images of a group land in the same split
    (see :func:`make_group_split`).

    Within each class, images are shuffled by ``seed`` and cut by the fractions (each non-zero fraction gets at
    least one image), so the same seed on the same files always gives the same split.

    Raises
    ------
    DatasetError
        If a class has too few images to appear in every split.
    """
    if summary.layout == "pre-split":
        return _given_split(summary, val_fraction, seed)
    if groups is not None:
        return make_group_split(summary.images, summary.classes, val_fraction, test_fraction, seed, groups)
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


# ---- group-aware splits --------------------------------------------------------------------------------------

def _require_groups(records, groups: dict[str, str], n_splits: int, what: str) -> None:
    """Refuse, saying how groups are found, when ``records`` hold fewer than ``n_splits`` groups."""
    g = [groups[r.rel] for r in records]
    n_groups = len(set(g))
    if n_groups < n_splits:
        named = listing(f"'{x}'" for x in sorted({x.split(":", 1)[-1] for x in g}))  # ids carry a kind: "name:P01"
        example = records[0].rel.rsplit("/", 1)[-1] if records else "P01_slice3.png"
        raise DatasetError(
            f"Only {n_groups} group(s) of images ({named}); {what} needs at least {n_splits}. The grouping decides "
            f"which images belong to one patient or specimen: by file name the group is the text before the first "
            f"'_' (for '{example}' that is '{example.split('_')[0]}'), or the first group of a pattern such as "
            "--group-pattern '^(P\\d+)' (in the window: Keep together → pattern). Check the grouping, or use "
            "fewer folds or larger validation/test fractions.")


def _group_folds(records, classes, groups: dict[str, str], n_splits: int, seed: int, what: str):
    """scikit-learn's StratifiedGroupKFold over ``records``: folds of whole groups, stratified by class."""
    from sklearn.model_selection import StratifiedGroupKFold

    _require_groups(records, groups, n_splits, what)
    g = [groups[r.rel] for r in records]
    index = {c: i for i, c in enumerate(classes)}
    y = [index[r.label] for r in records]
    if max(np.bincount(y)) < n_splits:
        # More folds than images in any one class: scikit-learn cannot stratify (it refuses), so the folds keep
        # groups whole without stratifying; the balance achieved still goes into run.json.
        from sklearn.model_selection import GroupKFold

        folds = GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed % (2**32))
        return list(folds.split(np.zeros(len(records)), y, g))
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed % (2**32))
    with warnings.catch_warnings():  # "least populated class has fewer members than n_splits": expected with
        warnings.simplefilter("ignore", UserWarning)  # rare classes; the balance achieved goes into run.json
        return list(folds.split(np.zeros(len(records)), y, g))


def make_group_split(records, classes, val_fraction: float, test_fraction: float, seed: int,
                     groups: dict[str, str]) -> Split:
    """Train/validation/test with every group in one split, stratified by class as far as groups allow.

    Groups are assigned largest first, each to the split furthest below its target count of the group's classes
    (:func:`core.split.balance.assign_groups`); the seed orders groups of equal size. A split needs at least
    ``round(1 / test_fraction)`` groups for its test part and ``round((1 - test_fraction) / val_fraction)`` for
    validation, as k folds would.
    """
    from foveal.core.split.balance import assign_groups

    records = sorted(records, key=lambda r: r.rel)
    if test_fraction > 0:
        _require_groups(records, groups, max(2, round(1 / test_fraction)), f"a {test_fraction:.0%} test split")
    _require_groups(records, groups, max(2, round((1 - test_fraction) / val_fraction)),
                    f"a {val_fraction:.0%} validation split")
    where = assign_groups([groups[r.rel] for r in records], [r.label for r in records],
                          {"val": val_fraction, "test": test_fraction}, seed)
    return Split(*(tuple(r for r, s in zip(records, where, strict=True) if s == name) for name in SPLITS))


def group_kfold(records, classes, k: int, seed: int, groups: dict[str, str] | None, val_fraction: float):
    """``k`` cross-validation splits: each fold is the test split once; validation is carved from the rest.

    Without groups every image is its own group (plain stratified k-fold).
    """
    records = sorted(records, key=lambda r: r.rel)
    groups = groups or {r.rel: r.rel for r in records}
    out = []
    for train_idx, test_idx in _group_folds(records, classes, groups, k, seed, f"{k}-fold cross-validation"):
        rest = [records[i] for i in train_idx]
        inner = make_group_split(rest, classes, val_fraction / (1 - 1 / k), 0.0, seed, groups)
        out.append(Split(inner.train, inner.val, tuple(sorted((records[i] for i in test_idx), key=lambda r: r.rel))))
    return out


def fold_indices(records, classes, k: int, seed: int, groups: dict[str, str] | None = None):
    """``k`` stratified folds of ``records`` as ``(indices kept, indices held out)``, whole groups in one fold
    (without groups every image is its own group)."""
    groups = groups or {r.rel: r.rel for r in records}
    return _group_folds(list(records), classes, groups, k, seed, f"{k}-fold cross-validation")


def split_balance(split: Split, classes) -> dict[str, dict[str, float]]:
    """Share of each class in each split (what a group-aware split achieved), and the split's size."""
    out = {}
    for name in SPLITS:
        part = split.of(name)
        n = len(part)
        out[name] = {"n": n, **{c: (sum(r.label == c for r in part) / n if n else 0.0) for c in classes}}
    return out


def leaking_groups(split: Split, groups: dict[str, str]) -> list[str]:
    """Groups with images in more than one split (empty for any group-aware split)."""
    where: dict[str, set[str]] = {}
    for name in SPLITS:
        for r in split.of(name):
            where.setdefault(groups.get(r.rel, r.rel), set()).add(name)
    return sorted(g for g, s in where.items() if len(s) > 1)
