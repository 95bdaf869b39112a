"""The split a run uses: fixed by a file, group-aware, keeping copies together, or plain stratified; and what it
achieved (class balance per split, leaks, copies found by each check), for run.json.

A split that keeps groups or copies together and cannot keep every class near its share says so before training,
with each class's share per split (``info["grouping_warning"]``, ``info["stratified"]``). With
``balance_over_copies`` it splits the sets of copies that break the balance apart instead (largest first), and
says how many (``info["copy_sets_split_apart"]``); a patient's images are never split apart."""

from __future__ import annotations

import numbers
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any

from foveal.core.data.scan import DatasetSummary
from foveal.core.errors import ConfigError, DatasetError
from foveal.core.split.balance import TOLERANCE, Balance
from foveal.core.split.files import split_from_file
from foveal.core.split.make import SPLITS, Split, leaking_groups, make_split, split_balance

#: The largest seed: NumPy's legacy seeding (which keras.utils.set_random_seed and scikit-learn's random_state
#: use) takes 0 to 2**32 - 1.
SEED_MAX = 2**32 - 1


@dataclass(frozen=True)
class SplitSpec:
    """How to split: the split settings of a run (:meth:`core.training.config.TrainConfig.split_spec`)."""

    val_fraction: float
    test_fraction: float
    seed: int
    #: Keep images of one patient/specimen together: "none", "dicom" (PatientID) or "filename" (see group_pattern).
    group_by: str
    #: Filename grouping: a regular expression whose first group names the group (default: text before first _).
    group_pattern: str | None
    #: Keep each set of near-duplicates (perceptual hashes) in one split.
    keep_duplicates_together: bool
    #: A JSON file fixing the split (``{"train": [files], "val": [...], "test": [...]}``, e.g. a project's).
    split_file: str | None
    #: When keeping copies together leaves a class off its share in a split, split the sets of copies that cause
    #: it apart (largest first) so the split stays stratified; the copies then in two splits are reported.
    balance_over_copies: bool = False

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid split setting."""
        from foveal.core.split.groups import GroupRule

        if not (0 <= self.val_fraction < 1 and 0 <= self.test_fraction < 1
                and self.val_fraction + self.test_fraction < 0.9):  # NaN fails every comparison: refused too
            raise ConfigError(f"validation and test fractions must each be at least 0 and less than 1, and leave "
                              f"at least 10% for training (together less than 0.9). Received: "
                              f"val_fraction={self.val_fraction}, test_fraction={self.test_fraction}")
        if not self.val_fraction > 0:
            raise ConfigError("a validation split is needed to pick the best epoch: val_fraction must be more than "
                              f"0 and less than 0.9. Received: val_fraction={self.val_fraction}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral) or not 0 <= self.seed <= SEED_MAX:
            raise ConfigError(f"seed must be a whole number between 0 and {SEED_MAX}. Received: seed={self.seed!r}")
        GroupRule(self.group_by, self.group_pattern).validate()
        if self.split_file is not None and not os.path.isfile(self.split_file):
            what = "is not a regular file" if os.path.exists(self.split_file) else "does not exist"
            raise ConfigError(f"The split file {self.split_file} {what}. Give the project's split file, or "
                              "leave split_file empty to make a new split.")


def prepare_split(summary: DatasetSummary, spec: SplitSpec,
                  copies: tuple[list[tuple[str, ...]], list[tuple[str, ...]]] | None = None,
                  ) -> tuple[Split, dict[str, Any]]:
    """``(split, info)`` for a run; ``info`` says how it was made and what it achieved. ``copies`` are the sets
    :func:`copies_found` gives, when the caller has them already.

    Copies are always looked for (signatures are cached per file, see :mod:`core.split.hashes`), so that copies
    that still span splits are known and said beside the accuracy they inflate, whether or not the split kept
    them together."""
    from foveal.core.split.duplicates import duplicates_across_splits

    info: dict[str, Any] = {"group_by": spec.group_by, "group_pattern": spec.group_pattern,
                            "keep_duplicates_together": spec.keep_duplicates_together, "split_file": spec.split_file,
                            "balance_over_copies": spec.balance_over_copies, "seed": spec.seed,
                            "val_fraction": spec.val_fraction, "test_fraction": spec.test_fraction}
    groups: dict[str, str] | None = None
    identical, pictures = copies if copies is not None else copies_found(summary)
    duplicates = copy_sets(identical, pictures)
    info.update(n_duplicate_sets=len(identical) + len(pictures), n_identical_file_sets=len(identical),
                n_picture_copy_sets=len(pictures))
    if spec.split_file:
        split, notes = split_from_file(summary, spec.split_file)
        info["notes"] = notes
    else:
        groups = split_groups(summary, spec, duplicates)
        hint = _grouping_hint(summary, spec)
        try:
            split = make_split(summary, spec.val_fraction, spec.test_fraction, spec.seed, groups)
        except DatasetError as exc:
            raise DatasetError(f"{exc} {hint}" if hint else str(exc)) from None
        if groups is not None and summary.layout != "pre-split":
            split, groups, unbalanced = _stratify(summary, spec, split, duplicates, info)
            hint = " ".join(w for w in (hint, unbalanced) if w) or None
        if hint:
            info["grouping_warning"] = hint
    info["balance"] = split_balance(split, summary.classes)
    if groups is not None:
        info["n_groups"] = len(set(groups.values()))
        info["leaking_groups"] = leaking_groups(split, groups)
    info["duplicates_across_splits"] = duplicates_across_splits(split, duplicates)
    return split, info


def balance_of(split: Split, classes) -> Balance:
    """How near each class is to its share in each split (:class:`core.split.balance.Balance`)."""
    return Balance.of({s: [r.label for r in split.of(s)] for s in SPLITS}, classes)


def _stratify(summary: DatasetSummary, spec: SplitSpec, split: Split, duplicates: list[tuple[str, ...]],
              info: dict[str, Any]) -> tuple[Split, dict[str, str], str | None]:
    """The split kept, or made again with copies split apart (``balance_over_copies``); the groups it kept whole;
    and, when a class is still off its share, the words that say so with each class's share per split."""
    copies = duplicates if spec.keep_duplicates_together else []
    split, groups, apart = _over_copies(summary, spec, copies, split if not spec.balance_over_copies else None)
    balance = balance_of(split, summary.classes)
    info["stratified"] = balance.stratified
    if apart:
        info["copy_sets_split_apart"] = apart
    if balance.stratified:
        return split, groups, None
    words = balance_warning(balance, copies_kept=bool(copies), balance_over_copies=spec.balance_over_copies,
                            grouped=spec.group_by != "none", apart=apart)
    return split, groups, words


def balance_warning(balance: Balance, *, copies_kept: bool, balance_over_copies: bool, grouped: bool,
                    apart: int = 0) -> str:
    """Words for a split that keeps groups or copies together and leaves a class off its share: what was kept
    together, each class's share per split where it is off, what that means and what to do."""
    if copies_kept and not balance_over_copies:
        words = ("Keeping each set of copies of an image" + (" and each group (one patient or specimen)" if grouped
                                                               else "") + " together, the split")
        fix = ("To split by class anyway, let the split put copies in different splits where they unbalance the "
               "classes (--balance-over-copies; in the window: Split copies apart to balance classes); the copies "
               "that end up in two splits are then named beside the accuracy.")
    else:
        words = ((f"Even with {apart} set(s) of copies split apart, t" if apart else "T") + "he split" +
                 (", keeping each group (one patient or specimen) together," if grouped else ""))
        fix = ("Check that the grouping names one patient or specimen per group, or add images of the classes "
               "that are off." if grouped else "Add images of the classes that are off.")
    return (f"{words} cannot keep every class near its share of all images (within {TOLERANCE * 100:.0f} percentage "
            f"points): {balance.words()}. Training, validation and test then hold different mixes of classes, so "
            f"the test accuracy does not describe the data as a whole. {fix}")


def _over_copies(summary: DatasetSummary, spec: SplitSpec, copies: list[tuple[str, ...]],
                 made: Split | None) -> tuple[Split, dict[str, str], int]:
    """``made`` as it is (when given), else the split that keeps the most sets of copies together and is
    stratified: the sets in the largest merged groups are split apart first, 1, 2, 4, … of them, until the classes
    balance (or, failing that, the most balanced); with how many sets were split apart."""
    from foveal.core.split.duplicates import merge_duplicates
    from foveal.core.split.groups import GroupRule, find_groups

    rule = find_groups(summary.images, GroupRule(spec.group_by, spec.group_pattern))
    merged = merge_duplicates(rule, copies)
    if made is not None:
        return made, merged, 0
    size = Counter(merged.values())
    order = sorted(copies, key=lambda c: (-size[merged.get(c[0], "")], -len(c), c))
    best: tuple[float, Split, dict[str, str], int] | None = None
    apart, passed = 0, None
    while passed is None:
        split, groups, balance = _try_apart(summary, spec, rule, order, apart)
        if balance.stratified:
            passed = (split, groups, apart)
        elif best is None or balance.worst() < best[0] - 1e-9:
            best = (balance.worst(), split, groups, apart)
        if passed is None and apart >= len(order):
            assert best is not None
            return best[1], best[2], best[3]
        if passed is None:
            apart = min(len(order), max(1, 2 * apart))
    low, high = apart // 2, apart  # the fewest sets apart between the last try that failed and the first that passed
    while high - low > 1:
        mid = (low + high) // 2
        split, groups, balance = _try_apart(summary, spec, rule, order, mid)
        if balance.stratified:
            high, passed = mid, (split, groups, mid)
        else:
            low = mid
    return passed


def _try_apart(summary: DatasetSummary, spec: SplitSpec, rule: dict[str, str], order: list[tuple[str, ...]],
               apart: int) -> tuple[Split, dict[str, str], Balance]:
    """The split with the first ``apart`` sets of copies of ``order`` split apart, its groups and its balance."""
    from foveal.core.split.duplicates import merge_duplicates

    groups = merge_duplicates(rule, order[apart:])
    split = make_split(summary, spec.val_fraction, spec.test_fraction, spec.seed, groups)
    return split, groups, balance_of(split, summary.classes)


def copies_found(summary: DatasetSummary) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """The sets of copies each check found: identical files (byte digests, from the scan), and sets of the same
    picture resized or re-saved (perceptual hash and thumbnail) that are not merely one set of identical files."""
    from foveal.core.split.duplicates import near_duplicate_groups

    identical = list(summary.duplicate_groups)
    near = near_duplicate_groups(summary.images, root=summary.root)
    return identical, [g for g in near if g not in identical]


def copy_sets(identical: list[tuple[str, ...]], pictures: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The sets of copies a split keeps together, none overlapping: each set of the same picture, and each set of
    identical files that is not inside one (identical files have the same picture, so they are in one set or in
    none, when they cannot be decoded)."""
    inside = {f for g in pictures for f in g}
    return pictures + [g for g in identical if not inside.issuperset(g)]


def known_duplicates(summary: DatasetSummary) -> list[tuple[str, ...]]:
    """Every set of copies, none overlapping (:func:`copies_found`, :func:`copy_sets`)."""
    return copy_sets(*copies_found(summary))


def _grouping_hint(summary: DatasetSummary, spec: SplitSpec) -> str | None:
    """A warning when the default file-name grouping collapses the images into one group (a fixed prefix)."""
    from foveal.core.split.groups import GroupRule, collapse_hint, find_groups

    rule = GroupRule(spec.group_by, spec.group_pattern)
    if rule.mode != "filename" or rule.pattern:
        return None
    return collapse_hint(summary.images, find_groups(summary.images, rule), rule)


def split_groups(summary: DatasetSummary, spec: SplitSpec,
                 duplicates: list[tuple[str, ...]] | None = None) -> dict[str, str] | None:
    """The groups a split keeps whole (None: every image on its own): the grouping rule's, with each set of
    copies merged into one group when duplicates are kept together (``duplicates``: :func:`known_duplicates`,
    found here when not given)."""
    from foveal.core.split.duplicates import merge_duplicates
    from foveal.core.split.groups import GroupRule, find_groups

    if spec.keep_duplicates_together and duplicates is None:
        duplicates = known_duplicates(summary)
    if spec.group_by == "none" and not (spec.keep_duplicates_together and duplicates):
        return None  # every image on its own: the plain stratified split
    groups = find_groups(summary.images, GroupRule(spec.group_by, spec.group_pattern))
    if spec.keep_duplicates_together:
        groups = merge_duplicates(groups, duplicates or [])
    return groups
