"""Plain-text rendering of a dataset summary, for the terminal."""

from __future__ import annotations

from core.data.scan import DatasetSummary

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
    return "\n".join(lines)


def _layout(summary: DatasetSummary) -> str:
    if summary.layout == "pre-split":
        return "already split into " + "/".join(summary.split_counts) + " folders (used as given)"
    return "one folder per class (Foveal makes the train/validation/test split)"
