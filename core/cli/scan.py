"""``foveal scan``: check a dataset folder, and the plain-text rendering of its summary for the terminal."""

from __future__ import annotations

import argparse
import json
import sys

from foveal.core.cli.options import checked
from foveal.core.data.scan import DatasetSummary
from foveal.core.split.preview import too_few_to_split

_MAX_LISTED = 40


def format_summary(summary: DatasetSummary) -> str:
    """The scan result as lines a person reads in a terminal."""
    lines = [f"Dataset: {summary.root}", f"Layout: {_layout(summary)}"]
    counts = summary.counts
    width = max((len(c) for c in counts), default=5)
    lines.append(f"Classes ({len(summary.classes)}), {summary.total} usable images:")
    splits = summary.split_counts
    for name, n in counts.items():
        extra = "  (" + ", ".join(f"{s} {c[name]}" for s, c in splits.items()) + ")" if splits else ""
        lines.append(f"  {name:<{width}}  {n:>6}{extra}")
    size_range = summary.size_range
    if size_range:
        (w0, h0), (w1, h1) = size_range
        lines.append(f"Image sizes: {w0}×{h0} (smallest) to {w1}×{h1} (largest) pixels")
    if summary.depths:
        lines.append("Formats: " + ", ".join(f"{k} ({v})" for k, v in summary.depths.items()))
    if summary.duplicate_groups:
        lines.append(f"Identical files: {len(summary.duplicate_groups)} groups "
                     f"({len(summary.cross_class_duplicates)} across classes)")
    if summary.ignored_system_files:
        lines.append(f"System and hidden files ignored: {summary.ignored_system_files}")
    if summary.skipped:
        lines.append(f"Skipped files ({len(summary.skipped)}):")
        lines += [f"  {s.rel}: {s.reason}" for s in summary.skipped[:_MAX_LISTED]]
        if len(summary.skipped) > _MAX_LISTED:
            lines.append(f"  … and {len(summary.skipped) - _MAX_LISTED} more (use --json for the full list)")
    for warning in summary.warnings:
        lines.append(f"Warning: {warning}")
    lines += [f"Warning: {words}." for words in too_few_to_split(summary.counts, summary.layout)]
    return "\n".join(lines)


def _layout(summary: DatasetSummary) -> str:
    if summary.layout == "pre-split":
        return "already split into " + "/".join(summary.split_counts) + " folders (used as given)"
    return "one folder per class (Foveal makes the train/validation/test split)"


def cmd_scan(args: argparse.Namespace) -> int:
    """Print the summary of ``args.folder`` (exit 2 when it cannot be trained on)."""
    from foveal.core.data.scan import scan_dataset

    summary = scan_dataset(args.folder)
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_summary(summary))
    if summary.problem:
        print(f"error: {summary.problem}", file=sys.stderr)
        return 2
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``scan`` to the ``foveal`` parser."""
    scan = sub.add_parser("scan", help="check a dataset folder: classes, counts, formats and problem files")
    scan.add_argument("folder", help="folder with one sub-folder per class (or train/val/test folders)")
    scan.add_argument("--json", action="store_true", help="print the summary as JSON")
    scan.set_defaults(func=checked(cmd_scan))
