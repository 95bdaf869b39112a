"""Which images belong together (one patient, specimen or slide), so that a split never separates them.

Groups come from the DICOM PatientID (or StudyInstanceUID) when present, or from the file name: by default the
text before the first ``_``, or the first group of a regular expression the user gives.
"""

from __future__ import annotations

import functools
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from foveal.core.data.scan import ImageRecord
from foveal.core.errors import ConfigError

GROUP_MODES = ("none", "dicom", "filename")

#: The longest group pattern: one that names a patient in a file name is a few dozen characters.
MAX_PATTERN_LENGTH = 1000

#: What RE2 leaves out of Python's regular expressions, said when a pattern uses one of them.
_RE2_LACKS = ("backreferences (\\1, (?P=name)), lookahead and lookbehind ((?=…), (?!…), (?<=…), (?<!…)), atomic "
              "groups and possessive repeats ((?>…), a++), conditionals ((?(1)…)) and \\Z (use $)")


@dataclass(frozen=True)
class GroupRule:
    """How to find an image's group: ``mode`` is ``none``, ``dicom`` or ``filename``; ``pattern`` (filename
    mode) is a regular expression whose first group (or whole match) names the group."""

    mode: str = "none"
    pattern: str | None = None

    def validate(self) -> None:
        """Raise :class:`ConfigError` for an unknown mode or a pattern that is invalid or that RE2 cannot run."""
        if self.mode not in GROUP_MODES:
            raise ConfigError(f"Group mode must be one of {', '.join(GROUP_MODES)}. Received: {self.mode!r}")
        if self.pattern:
            compile_pattern(self.pattern)

    def __str__(self) -> str:
        return self.mode if self.mode != "filename" else f"filename:{self.pattern or 'before first _'}"


@functools.lru_cache(maxsize=16)
def compile_pattern(pattern: str) -> Any:
    """``pattern`` compiled by RE2, which matches in time proportional to the name's length: a pattern such as
    ``(a+)+$`` that Python's engine takes minutes over (catastrophic backtracking) is instant here.

    Raises
    ------
    ConfigError
        For a pattern too long, not a valid regular expression, or using what RE2 does not have (backreferences,
        lookaround); the message says which and how to write it instead.
    """
    import re2

    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ConfigError(f"The group pattern must be at most {MAX_PATTERN_LENGTH} characters long. Received: a "
                          f"pattern of {len(pattern)} characters.")
    example = r"Example: ^([^_]+)_ takes the text before the first underscore."
    try:
        re.compile(pattern)  # Python's words for a syntax error are the clearer ones
    except (re.error, RecursionError, OverflowError) as exc:
        raise ConfigError(f"The group pattern {pattern!r} is not a valid regular expression: {exc}. "
                          f"{example}") from None
    options = re2.Options()
    options.log_errors = False  # the reason goes into the message, not onto stderr
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ConfigError(f"The group pattern {pattern!r} cannot be used: {reason}. Foveal matches group patterns "
                          "with RE2, which never takes more than a moment per file name but has no "
                          f"{_RE2_LACKS}, and repeats at most 1000 times. Write the pattern without them. "
                          f"{example}") from None


def _match_key(pattern: str, stem: str) -> str | None:
    """The first group (else the whole match) of ``pattern`` in ``stem``; None when it does not match.

    A name holding bytes that are not UTF-8 (kept by Python as lone surrogates, which RE2 cannot take) is matched
    with each such byte as a private-use character, and the key given back with the bytes it had."""
    text = stem.translate(_TO_PRIVATE)
    m = compile_pattern(pattern).search(text)
    if m is None:
        return None
    key = m.group(1) if m.groups() else m.group(0)
    return key.translate(_FROM_PRIVATE) if key is not None else None


# Undecodable bytes 0x80-0xFF of a file name are U+DC80-U+DCFF in Python (surrogateescape); U+F780-U+F7FF is a
# private-use block that no real file name needs.
_TO_PRIVATE = {0xDC80 + i: 0xF780 + i for i in range(128)}
_FROM_PRIVATE = {v: k for k, v in _TO_PRIVATE.items()}


def group_of(record: ImageRecord, rule: GroupRule) -> str:
    """The group name of one image; images that the rule cannot place form a group of their own."""
    if rule.mode == "dicom":
        key = _dicom_group(record.path)
        return f"dicom:{key}" if key else f"file:{record.rel}"
    if rule.mode == "filename":
        stem = os.path.basename(record.rel)
        default = stem.split("_", 1)[0] if "_" in stem else None
        key = _match_key(rule.pattern, stem) if rule.pattern else default
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
