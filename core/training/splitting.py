"""The split a run uses: fixed by a file, group-aware, keeping duplicates together, or plain stratified; and
what it achieved (class balance per split, leaks), for run.json."""

from __future__ import annotations

import json

from core.data.scan import DatasetSummary
from core.errors import DatasetError
from core.training.config import TrainConfig
from core.training.split import SPLITS, Split, leaking_groups, make_split, split_balance


def prepare_split(summary: DatasetSummary, config: TrainConfig) -> tuple[Split, dict]:
    """``(split, info)`` for a run; ``info`` says how it was made and what it achieved."""
    from core.data.duplicates import duplicates_across_splits

    c = config
    info: dict = {"group_by": c.group_by, "group_pattern": c.group_pattern,
                  "keep_duplicates_together": c.keep_duplicates_together, "split_file": c.split_file}
    duplicates = list(summary.duplicate_groups)
    if c.split_file:
        split, notes = split_from_file(summary, c.split_file)
        info["notes"] = notes
        groups = None
    else:
        groups = _groups(summary, c, duplicates, info)
        split = make_split(summary, c.val_fraction, c.test_fraction, c.seed, groups)
    info["balance"] = split_balance(split, summary.classes)
    if groups is not None:
        info["n_groups"] = len(set(groups.values()))
        info["leaking_groups"] = leaking_groups(split, groups)
    info["duplicates_across_splits"] = duplicates_across_splits(split, duplicates)
    return split, info


def _groups(summary: DatasetSummary, c: TrainConfig, duplicates: list, info: dict) -> dict[str, str] | None:
    from core.data.duplicates import merge_duplicates, near_duplicate_groups
    from core.data.groups import GroupRule, find_groups

    if c.group_by == "none" and not c.keep_duplicates_together:
        return None
    groups = find_groups(summary.images, GroupRule(c.group_by, c.group_pattern))
    if c.keep_duplicates_together:
        near = near_duplicate_groups(summary.images)
        duplicates += [g for g in near if g not in duplicates]
        info["n_duplicate_sets"] = len(duplicates)
        groups = merge_duplicates(groups, duplicates)
    return groups


def split_from_file(summary: DatasetSummary, path: str) -> tuple[Split, list[str]]:
    """The split a file fixes; images not in it are left out (and said), listed images that are gone too."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    given = data.get("split", data)
    by_rel = {r.rel: r for r in summary.images}
    parts, notes, listed = {}, [], set()
    for name in SPLITS:
        rows = given.get(name, [])
        files = [row["file"] if isinstance(row, dict) else row for row in rows]
        listed.update(files)
        missing = [f for f in files if f not in by_rel]
        if missing:
            notes.append(f"{len(missing)} {name} file(s) of the split file are no longer in the folder")
        parts[name] = tuple(sorted((by_rel[f] for f in files if f in by_rel), key=lambda r: r.rel))
    new = sorted(set(by_rel) - listed)
    if new:
        notes.append(f"{len(new)} image(s) in the folder are not in the split file and were left out")
    if not parts["train"] or not parts["val"]:
        raise DatasetError(f"The split file {path} leaves no training or no validation images for this folder. "
                           "Make a new split.")
    return Split(parts["train"], parts["val"], parts["test"]), notes
