"""Which images belong together (one patient, specimen or slide), so that a split never separates them.

Groups come from the DICOM PatientID (or StudyInstanceUID) when present, or from the file name: by default the
text before the first ``_``, or the first group of a regular expression the user gives.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from core.data.scan import ImageRecord
from core.errors import ConfigError

GROUP_MODES = ("none", "dicom", "filename")


@dataclass(frozen=True)
class GroupRule:
    """How to find an image's group: ``mode`` is ``none``, ``dicom`` or ``filename``; ``pattern`` (filename
    mode) is a regular expression whose first group (or whole match) names the group."""

    mode: str = "none"
    pattern: str | None = None

    def validate(self) -> None:
        if self.mode not in GROUP_MODES:
            raise ConfigError(f"Group mode must be one of {', '.join(GROUP_MODES)}. Received: {self.mode!r}")
        if self.pattern:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ConfigError(f"The group pattern {self.pattern!r} is not a valid regular expression: {exc}. "
                                  r"Example: ^([^_]+)_ takes the text before the first underscore.") from None

    def __str__(self) -> str:
        return self.mode if self.mode != "filename" else f"filename:{self.pattern or 'before first _'}"


def group_of(record: ImageRecord, rule: GroupRule) -> str:
    """The group name of one image; images that the rule cannot place form a group of their own."""
    if rule.mode == "dicom":
        key = _dicom_group(record.path)
        return f"dicom:{key}" if key else f"file:{record.rel}"
    if rule.mode == "filename":
        stem = os.path.basename(record.rel)
        if rule.pattern:
            m = re.search(rule.pattern, stem)
            key = (m.group(1) if m and m.groups() else m.group(0)) if m else None
        else:
            key = stem.split("_", 1)[0] if "_" in stem else None
        return f"name:{key}" if key else f"file:{record.rel}"
    return f"file:{record.rel}"


def find_groups(records: Sequence[ImageRecord], rule: GroupRule) -> dict[str, str]:
    """``{relative path: group}`` for every record."""
    rule.validate()
    return {r.rel: group_of(r, rule) for r in records}


#: A default file-name grouping that puts at least this share of the images (and 10 or more) in one group has
#: most likely met a fixed prefix such as ``Scan_00012_03.jpg``, not a patient.
COLLAPSE_SHARE = 0.5


def collapse_hint(records: Sequence[ImageRecord], groups: dict[str, str], rule: GroupRule) -> str | None:
    """When the default file-name rule collapses most images into one group (a fixed prefix), the words that say
    so and the pattern that splits them, naming a few of the groups it finds; None otherwise."""
    if rule.mode != "filename" or rule.pattern or len(records) < 10:
        return None
    name, n = Counter(groups.values()).most_common(1)[0]
    if n < max(10, COLLAPSE_SHARE * len(records)):
        return None
    prefix = name.split(":", 1)[-1]
    for depth, pattern in ((2, r"^([^_]+_[^_]+)_"), (3, r"^([^_]+_[^_]+_[^_]+)_")):
        found = find_groups(records, GroupRule("filename", pattern))
        named = Counter(found.values())
        if len(named) >= 3 and named.most_common(1)[0][1] < COLLAPSE_SHARE * len(records):
            examples = ", ".join(g.split(":", 1)[-1] for g, _ in sorted(named.items())[:4])
            return (f"{n} of {len(records)} file names begin with '{prefix}_', so grouping by the text before the "
                    f"first '_' puts them all in one group. The pattern {pattern} groups by the text before the "
                    f"{'second' if depth == 2 else 'third'} '_' instead: {len(named)} groups ({examples}, …). Use it "
                    "(--group-pattern, or in the window Keep together → pattern), or give the pattern that names "
                    "one patient or specimen.")
    return (f"{n} of {len(records)} file names share the group '{prefix}' (the text before the first '_'): that is "
            "probably a fixed prefix, not a patient. Give a pattern whose first group names the patient or "
            "specimen (--group-pattern, or in the window Keep together → pattern).")


def describe_groups(groups: dict[str, str], labels: dict[str, str]) -> dict:
    """Counts for a preview: number of groups, images per group, groups spanning several classes, examples."""
    sizes = Counter(groups.values())
    classes_of: dict[str, set[str]] = {}
    for rel, g in groups.items():
        classes_of.setdefault(g, set()).add(labels[rel])
    mixed = sorted(g for g, cs in classes_of.items() if len(cs) > 1)
    return {"n_groups": len(sizes), "n_images": len(groups), "largest": sizes.most_common(5),
            "singletons": sum(1 for n in sizes.values() if n == 1), "mixed_class_groups": mixed[:20],
            "n_mixed_class_groups": len(mixed)}


def _dicom_group(path: str) -> str | None:
    """PatientID, else StudyInstanceUID, read from the header only; None for non-DICOM or when both are empty."""
    with open(path, "rb") as fh:
        head = fh.read(132)
    if head[128:132] != b"DICM" and not path.lower().endswith(".dcm"):
        return None
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["PatientID", "StudyInstanceUID"])
    except Exception:  # an unreadable header just leaves the image in a group of its own
        return None
    for tag in ("PatientID", "StudyInstanceUID"):
        value = str(getattr(ds, tag, "") or "").strip()
        if value:
            return f"{tag}={value}"
    return None
