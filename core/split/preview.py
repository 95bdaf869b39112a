"""The split preview shown before training: groups, class balance per split, duplicates across splits; as a
table for the terminal (``foveal split``) and as one sentence for the window's Data panel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from foveal.core.split.make import SPLITS, Split
from foveal.core.split.plan import SplitSpec

#: Fewest images a class needs to have one each in training, validation and test.
ONE_EACH = 3
_IN = {"train": "training", "val": "validation", "test": "test"}


@dataclass(frozen=True)
class SplitPreview:
    """The split ``train`` would make, and what it achieves."""

    split: Split
    #: How the split was made and what it achieved (see :func:`core.split.plan.prepare_split`).
    info: dict[str, Any]
    #: Counts of the grouping (see :func:`core.split.groups.describe_groups`).
    groups: dict[str, Any]
    classes: tuple[str, ...]
    #: Every set of copies found, as ``(check, files)``: ``"identical"`` files (the same bytes, found by the scan)
    #: or the same ``"picture"`` resized or re-saved; files relative to the dataset folder.
    copies: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def grouped(self) -> bool:
        return self.info["group_by"] != "none"

    def to_dict(self) -> dict[str, Any]:
        return {"info": self.info, "groups": self.groups, "split": self.split.to_dict(),
                "class_gaps": class_gaps(self.split, self.classes)}

    def table(self) -> str:
        """The preview for a terminal: groups, a balance table, leaks and duplicates."""
        info, groups, classes = self.info, self.groups, self.classes
        lines = []
        if self.grouped:
            lines.append(f"{groups['n_groups']} groups ({info['group_by']}) in {groups['n_images']} images; "
                         f"{groups['singletons']} images are a group of their own; largest: "
                         + ", ".join(f"{g.split(':', 1)[-1]} ({n})" for g, n in groups["largest"]))
            if groups["n_mixed_class_groups"]:
                lines.append(f"warning: {groups['n_mixed_class_groups']} group(s) hold images of several classes")
        if info.get("grouping_warning"):
            lines.append(f"warning: {info['grouping_warning']}")
        lines.append(f"{'split':<7}{'images':>8}  " + "  ".join(f"{c[:12]:>12}" for c in classes))
        for name, row in info["balance"].items():
            lines.append(f"{name:<7}{row['n']:>8}  " + "  ".join(f"{row[c]:>12.1%}" for c in classes))
        leaks = info.get("leaking_groups") or []
        lines.append(f"groups in more than one split: {len(leaks)}" if self.grouped else
                     "no grouping: images of one patient may be in several splits (use --group-by)")
        dups = info["duplicates_across_splits"]
        why = ("the split file puts them apart" if info.get("split_file") else
               f"{info['copy_sets_split_apart']} set(s) split apart to balance the classes"
               if info.get("copy_sets_split_apart") else
               "leave out --no-keep-duplicates-together to keep each set in one split")
        lines.append(f"copies: {copies_words(info)}; sets across splits: {len(dups)}"
                     + ("" if not dups else f" ({why}): "
                        + "; ".join(", ".join(f"{f} [{s}]" for f, s in d.items()) for d in dups[:5])))
        lines += [f"warning: {words}" for words in class_gaps(self.split, classes)]
        return "\n".join(lines)

    def sentence(self) -> str:
        """The preview in one line of words, for the window."""
        info, groups, classes = self.info, self.groups, self.classes
        parts = []
        if info.get("grouping_warning"):
            parts.append(f"⚠ {info['grouping_warning'].rstrip('.')}")
        if self.grouped:
            leaks = info.get("leaking_groups")
            parts.append(f"{len(leaks)} groups leak across splits" if leaks else
                         f"{groups['n_groups']} groups in {groups['n_images']} images; none is split across "
                         "train/validation/test")
        parts.append("; ".join(f"{name} {row['n']}: " + ", ".join(f"{c} {row[c]:.0%}" for c in classes)
                               for name, row in info["balance"].items()))
        dups, found = info["duplicates_across_splits"], info.get("n_duplicate_sets", 0)
        if dups:
            apart = info.get("copy_sets_split_apart")
            parts.append(f"⚠ {len(dups)} set(s) of copies of an image span splits"
                         + (f" ({apart} split apart to balance the classes)" if apart else "")
                         + f": they would make the accuracy look better than it is. Copies: {copies_words(info)}")
        elif found:
            parts.append(f"Copies: {copies_words(info)}; each set kept in one split")
        else:
            parts.append("no copies of an image found (no identical files, no picture resized or re-saved)")
        parts += [f"⚠ {words}" for words in class_gaps(self.split, classes)]
        return ". ".join(parts)


def copies_words(info: dict[str, Any]) -> str:
    """The copies found, by the check that found them: "the scan found 2 sets of identical files (the same bytes);
    comparing the pictures found 5 sets of the same picture resized or re-saved"."""
    total = info.get("n_duplicate_sets", 0)
    identical, pictures = info.get("n_identical_file_sets"), info.get("n_picture_copy_sets")
    if identical is None or pictures is None:  # a run made before the two were counted apart
        return f"{_sets(total)} of identical files or of the same picture re-saved"
    return (f"the scan found {_sets(identical)} of identical files (the same bytes); comparing the pictures found "
            f"{_sets(pictures)} of the same picture resized or re-saved")


def _sets(n: int) -> str:
    return f"{n} set{'' if n == 1 else 's'}"


def class_gaps(split: Split, classes: tuple[str, ...] | list[str]) -> list[str]:
    """What the split means for each class missing from a part of it that holds images, in words: "'x' has 1
    image: it is in training only, so it is never measured"."""
    used = [name for name in SPLITS if split.of(name)]
    out = []
    for label in classes:
        n = {name: sum(r.label == label for r in split.of(name)) for name in used}
        missing = [name for name in used if not n[name]]
        if not missing:
            continue
        total = sum(n.values())
        has = f"'{label}' has {total} image{'' if total == 1 else 's'}"
        if "train" in missing:
            out.append(f"{has}, none in training: the model never learns it, and its "
                       f"{' and '.join(_IN[s] for s in used if n[s])} image(s) can only be answered wrongly")
        elif len(missing) == len(used) - 1:
            out.append(f"{has}: it is in training only, so it is never measured")
        elif "test" in missing:
            out.append(f"{has}: none is in the test split, so the test accuracy says nothing about it")
        else:
            out.append(f"{has}: none is in the validation split, so the best epoch and the confidence calibration "
                       "are chosen without it")
    return out


def too_few_to_split(counts: dict[str, int], layout: str) -> list[str]:
    """Before any split (the scan): classes of a class-per-folder dataset with too few images to be in training,
    validation and test, and what that means, in words."""
    if layout == "pre-split":
        return []  # the scan names each given split a class is missing from
    return [f"'{label}' has {n} image{'' if n == 1 else 's'}: too few to be in training, validation and test. The "
            "split refuses it, or, when it keeps groups or copies together, puts it in one split only: in training "
            "only, it is never measured; elsewhere, the model never learns it. Add images to it, or remove its "
            "folder" for label, n in counts.items() if 0 < n < ONE_EACH]


def split_preview(data_dir: str, spec: SplitSpec) -> SplitPreview:
    """The split ``train`` would make of ``data_dir`` with ``spec``: for the window and the CLI."""
    from foveal.core.data.scan import scan_dataset
    from foveal.core.split.groups import GroupRule, describe_groups, find_groups
    from foveal.core.split.plan import copies_found, prepare_split

    spec.validate()
    summary = scan_dataset(data_dir)
    summary.require_trainable()
    identical, pictures = copies_found(summary)  # once: the split keeps them together, the window shows them
    split, info = prepare_split(summary, spec, (identical, pictures))
    labels = {r.rel: r.label for r in summary.images}
    groups = describe_groups(find_groups(summary.images, GroupRule(spec.group_by, spec.group_pattern)), labels)
    copies = tuple([("identical", g) for g in identical] + [("picture", g) for g in pictures])
    return SplitPreview(split, info, groups, tuple(summary.classes), copies)
