"""The split a run uses: fixed by a file, group-aware, keeping duplicates together, or plain stratified; and
what it achieved (class balance per split, leaks), for run.json."""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass
from typing import Any

from foveal.core.data.scan import DatasetSummary
from foveal.core.errors import ConfigError, DatasetError
from foveal.core.split.files import split_from_file
from foveal.core.split.make import Split, leaking_groups, make_split, split_balance

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


def prepare_split(summary: DatasetSummary, spec: SplitSpec) -> tuple[Split, dict[str, Any]]:
    """``(split, info)`` for a run; ``info`` says how it was made and what it achieved.

    Near-duplicates are always looked for (hashes are cached per file, see :mod:`core.split.hashes`), so that
    copies that still span splits are known and said beside the accuracy they inflate, whether or not the split
    kept them together."""
    from foveal.core.split.duplicates import duplicates_across_splits

    info: dict[str, Any] = {"group_by": spec.group_by, "group_pattern": spec.group_pattern,
                            "keep_duplicates_together": spec.keep_duplicates_together, "split_file": spec.split_file,
                            "seed": spec.seed, "val_fraction": spec.val_fraction,
                            "test_fraction": spec.test_fraction}
    groups: dict[str, str] | None = None
    duplicates = known_duplicates(summary)
    info["n_duplicate_sets"] = len(duplicates)
    if spec.split_file:
        split, notes = split_from_file(summary, spec.split_file)
        info["notes"] = notes
    else:
        groups = split_groups(summary, spec, duplicates)
        hint = _grouping_hint(summary, spec)
        if hint:
            info["grouping_warning"] = hint
        try:
            split = make_split(summary, spec.val_fraction, spec.test_fraction, spec.seed, groups)
        except DatasetError as exc:
            raise DatasetError(f"{exc} {hint}" if hint else str(exc)) from None
    info["balance"] = split_balance(split, summary.classes)
    if groups is not None:
        info["n_groups"] = len(set(groups.values()))
        info["leaking_groups"] = leaking_groups(split, groups)
    info["duplicates_across_splits"] = duplicates_across_splits(split, duplicates)
    return split, info


def known_duplicates(summary: DatasetSummary) -> list[tuple[str, ...]]:
    """Every set of copies: byte-identical files (from the scan) and near-duplicates (perceptual hashes)."""
    from foveal.core.split.duplicates import near_duplicate_groups

    duplicates = list(summary.duplicate_groups)
    near = near_duplicate_groups(summary.images, root=summary.root)
    return duplicates + [g for g in near if g not in duplicates]


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
