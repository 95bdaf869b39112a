"""Scanning a dataset folder: which images belong to which class, and what is wrong with the rest.

The scan reads headers (and a few bytes at the end of each file to catch truncation), never pixels, so it is
fast on large folders. It never writes anything into the folder.
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from foveal.core.cancel import Cancelled, CancelToken
from foveal.core.data.digests import exact_duplicates
from foveal.core.data.image_formats import ImageInfo, probe
from foveal.core.data.walk import FolderWalker, ProgressFn, SkippedFile
from foveal.core.errors import DatasetError, ImageDecodeError, listing
from foveal.core.paths import printable, protect, unsafe_name

#: A class that has this many times more images than another triggers the imbalance warning.
IMBALANCE_WARNING_RATIO = 2.0


def case_only_classes(names: list[str]) -> list[str]:
    """Class folders whose names differ only in upper and lower case, in words: two classes here, but one folder
    on Windows and macOS (whose disks ignore case), where the dataset would not copy as it is."""
    seen: dict[str, list[str]] = {}
    for name in names:
        seen.setdefault(name.casefold(), []).append(name)
    return [f"Class folders {' and '.join(repr(n) for n in sorted(same))} differ only in upper and lower case: two "
            "classes here, but one folder on Windows and macOS, where copying this dataset would merge them. "
            "Rename one of them." for same in seen.values() if len(same) > 1]


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """One usable image: where it is, its class, its given split (pre-split folders only) and its header."""

    path: str
    rel: str
    label: str
    split: str | None
    info: ImageInfo
    size_bytes: int
    mtime: float


@dataclass(frozen=True)
class DatasetSummary:
    """Everything the scan found. Build it with :func:`scan_dataset`."""

    root: str
    layout: str  # "class-folders" or "pre-split"
    classes: tuple[str, ...]
    images: tuple[ImageRecord, ...]
    skipped: tuple[SkippedFile, ...]
    empty_classes: tuple[str, ...]
    ignored_system_files: int
    duplicate_groups: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = field(default=())

    # ---- derived facts -------------------------------------------------------------------------------
    @property
    def counts(self) -> dict[str, int]:
        """Usable images per class, in class order."""
        c = Counter(r.label for r in self.images)
        return {name: c.get(name, 0) for name in self.classes}

    @property
    def split_counts(self) -> dict[str, dict[str, int]]:
        """Pre-split folders only: images per class in each given split."""
        out: dict[str, dict[str, int]] = {}
        for split in ("train", "val", "test"):
            c = Counter(r.label for r in self.images if r.split == split)
            if c:
                out[split] = {name: c.get(name, 0) for name in self.classes}
        return out

    @property
    def total(self) -> int:
        return len(self.images)

    @property
    def size_range(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """``((width, height) of the smallest image, (width, height) of the largest)``, by pixel count: real
        images, never the widest width of one combined with the tallest height of another."""
        if not self.images:
            return None
        small = min(self.images, key=lambda r: (r.info.width * r.info.height, r.rel))
        large = max(self.images, key=lambda r: (r.info.width * r.info.height, r.rel))
        return (small.info.width, small.info.height), (large.info.width, large.info.height)

    @property
    def depths(self) -> dict[str, int]:
        """How many images of each pixel layout and bit depth, e.g. ``{"gray 16-bit": 12}``."""
        return dict(Counter(f"{r.info.format} {r.info.depth}" for r in self.images).most_common())

    @property
    def imbalance_ratio(self) -> float | None:
        counts = [n for n in self.counts.values() if n > 0]
        return max(counts) / min(counts) if len(counts) >= 2 else None

    @property
    def cross_class_duplicates(self) -> tuple[tuple[str, ...], ...]:
        """Groups of identical files that sit in more than one class folder (at least one label is wrong)."""
        label = {r.rel: r.label for r in self.images}
        return tuple(g for g in self.duplicate_groups if len({label[p] for p in g}) > 1)

    @property
    def problem(self) -> str | None:
        """Why this folder cannot be trained on, or None if it can."""
        usable = [name for name, n in self.counts.items() if n > 0]
        if len(usable) >= 2:
            return None
        folders = {**self.counts, **{name: 0 for name in self.empty_classes}}
        if folders:
            found = "class folders " + ", ".join(f"'{n}' ({c} usable images)" for n, c in sorted(folders.items()))
        else:
            found = "no class folders"
        skipped = (f" {len(self.skipped)} file(s) were skipped; the scan lists each with its reason."
                   if self.skipped else "")
        return (f"{self.root} needs at least two class folders with usable images in them; found {found}."
                f"{skipped} Put each class's images in its own sub-folder, e.g. DATA/normal/*.png and "
                "DATA/tumour/*.png.")

    @property
    def warnings(self) -> list[str]:
        """Things the user should know before training, in words."""
        out: list[str] = []
        ratio = self.imbalance_ratio
        if ratio is not None and ratio >= IMBALANCE_WARNING_RATIO:
            counts = {k: v for k, v in self.counts.items() if v}
            big, small = max(counts, key=counts.__getitem__), min(counts, key=counts.__getitem__)
            out.append(f"Classes are imbalanced: '{big}' has {ratio:.1f}× as many images as '{small}' "
                       f"({counts[big]} vs {counts[small]}); Foveal weights classes by their counts when training.")
        for name in self.empty_classes:
            out.append(f"Class folder '{name}' has no usable images; it is left out.")
        multi = [r.rel for r in self.images if r.info.frames > 1]
        if multi:
            out.append(f"{len(multi)} file(s) hold several frames or pages; only the first of each is used: "
                       f"{listing(multi)}.")
        for group in self.cross_class_duplicates:
            out.append(f"The same file is in more than one class: {', '.join(group)}; check its label.")
        out += case_only_classes([*self.counts, *self.empty_classes])
        if self.layout == "pre-split":
            for split, counts in self.split_counts.items():
                missing = [n for n, c in counts.items() if c == 0]
                if missing:
                    out.append(f"The '{split}' split has no images of: {', '.join(missing)}.")
        return out + list(self.notes)

    def require_trainable(self) -> None:
        """Raise :class:`DatasetError` if fewer than two classes have images."""
        if self.problem:
            raise DatasetError(self.problem)

    def to_dict(self) -> dict:
        """A JSON-ready summary (what ``foveal scan --json`` prints)."""
        size_range = self.size_range
        return {
            "root": self.root,
            "layout": self.layout,
            "classes": self.counts,
            "splits": self.split_counts,
            "total": self.total,
            "size_range": None if size_range is None else {"min": size_range[0], "max": size_range[1]},
            "depths": self.depths,
            "imbalance_ratio": self.imbalance_ratio,
            "skipped": [{"file": s.rel, "reason": s.reason} for s in self.skipped],
            "ignored_system_files": self.ignored_system_files,
            "empty_classes": list(self.empty_classes),
            "duplicate_groups": [list(g) for g in self.duplicate_groups],
            "warnings": self.warnings,
            "problem": self.problem,
        }


def scan_dataset(path: str | os.PathLike[str], *, on_progress: ProgressFn | None = None,
                 workers: int | None = None, cancel: CancelToken | None = None) -> DatasetSummary:
    """Scan a class-per-folder (or train/val/test) dataset folder.

    Parameters
    ----------
    path:
        The dataset folder. It is only read.
    on_progress:
        Called as ``on_progress(files_done, files_total)`` from the calling thread while headers are read, and
        as ``on_progress(files_found, 0)`` while a large folder is still being listed.
    cancel:
        Stops the scan within one folder or one file (:class:`core.cancel.Cancelled` is raised).
    workers:
        Threads reading headers. The default, 1, is fastest on a local disk (header parsing holds the GIL);
        more threads help on network shares where each file waits on the network.

    Raises
    ------
    DatasetError
        If the path does not exist or is not a folder. A folder with too few classes is *not* an error
        here; see :attr:`DatasetSummary.problem`.
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise DatasetError(f"{root} does not exist. Choose the folder that holds one sub-folder per class.")
    if not root.is_dir():
        raise DatasetError(f"{root} is a file, not a folder. Choose the folder that holds one sub-folder per class.")
    if unsafe_name(str(root)) or unsafe_name(os.path.realpath(root)):
        raise DatasetError(f"{printable(os.path.realpath(root))}: the dataset folder's path is not plain text (bytes "
                           "that are not UTF-8 or control characters, shown escaped); Foveal writes it into run "
                           "folders, CSV files and reports. Rename the folder, or the folders above it.")
    protect(root)  # from now on nothing in this process writes inside it (core.io refuses)
    walker = FolderWalker(root, cancel, on_progress)
    layout, class_dirs = walker.find_class_dirs()
    candidates: list[tuple[str, str, str | None, int, float]] = []  # path, label, split, size, mtime
    # Real class folders before linked ones: a link to another class folder is the one skipped, whatever its name.
    for label, split, directory in sorted(class_dirs, key=lambda c: os.path.islink(c[2])):
        candidates.extend((p, label, split, size, mtime) for p, size, mtime in walker.files_under(directory))
    records, skipped = _probe_all(root, candidates, on_progress, workers, cancel)
    skipped.extend(walker.skipped)
    all_labels = sorted({label for label, _, _ in class_dirs}, key=str.casefold)
    used = {r.label for r in records}
    classes = tuple(name for name in all_labels if name in used)
    empty = tuple(name for name in all_labels if name not in used)
    records.sort(key=lambda r: r.rel)
    skipped.sort(key=lambda s: s.rel)
    return DatasetSummary(
        root=str(root), layout=layout, classes=classes, images=tuple(records), skipped=tuple(skipped),
        empty_classes=empty, ignored_system_files=walker.ignored, duplicate_groups=exact_duplicates(records),
        notes=tuple(walker.notes),
    )


def _probe_all(root: Path, candidates, on_progress: ProgressFn | None, workers: int | None,
               cancel: CancelToken | None = None):
    records: list[ImageRecord] = []
    skipped: list[SkippedFile] = []

    def one(item):
        p, label, split, size, mtime = item
        rel = Path(os.path.relpath(p, root)).as_posix()
        try:
            return ImageRecord(p, rel, label, split, probe(p, size), size, mtime)
        except ImageDecodeError as exc:
            return SkippedFile(rel, exc.reason)
        except OSError as exc:
            return SkippedFile(rel, f"cannot be read: {exc.strerror or exc}")

    total = len(candidates)
    pool = ThreadPoolExecutor(workers) if workers and workers > 1 else None
    results = pool.map(one, candidates) if pool else map(one, candidates)
    try:
        for done, result in enumerate(results, start=1):
            if cancel is not None and cancel.cancelled:
                raise Cancelled
            (records if isinstance(result, ImageRecord) else skipped).append(result)
            if on_progress is not None and (done % 500 == 0 or done == total):
                on_progress(done, total)
    finally:
        if pool:
            pool.shutdown()
    return records, skipped
