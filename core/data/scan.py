"""Scanning a dataset folder: which images belong to which class, and what is wrong with the rest.

The scan reads headers (and a few bytes at the end of each file to catch truncation), never pixels, so it is
fast on large folders. It never writes anything into the folder.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from foveal.core.cancel import Cancelled, CancelToken
from foveal.core.data.digests import exact_duplicates
from foveal.core.data.image_formats import ImageInfo, is_system_file, probe, special_file_reason
from foveal.core.errors import DatasetError, ImageDecodeError, listing
from foveal.core.paths import name_problem, printable, protect, unsafe_name

SPLIT_NAMES = {"train": "train", "val": "val", "validation": "val", "valid": "val", "test": "test"}
#: A class that has this many times more images than another triggers the imbalance warning.
IMBALANCE_WARNING_RATIO = 2.0


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


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file that will not be used, and why, in words the user can act on."""

    rel: str
    reason: str


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


ProgressFn = Callable[[int, int], None]


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
    walker = _Walker(root, cancel, on_progress)
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


class _Walker:
    """Lists a dataset folder safely: no system files, no links out of the folder, no link loops."""

    def __init__(self, root: Path, cancel: CancelToken | None = None, on_found: ProgressFn | None = None) -> None:
        self.root = root
        self.cancel, self.on_found, self.found = cancel, on_found, 0
        self.real_root = os.path.realpath(root)
        self.skipped: list[SkippedFile] = []
        self.notes: list[str] = []
        self.ignored = 0
        self._seen_dirs: set[str] = set()

    def rel(self, p: str) -> str:
        """``p`` relative to the dataset folder, printable (a name of undecodable bytes is shown escaped)."""
        return printable(Path(os.path.relpath(p, self.root)).as_posix())

    def _inside(self, p: str) -> bool:
        real = os.path.realpath(p)
        return real == self.real_root or real.startswith(self.real_root + os.sep)

    def entries(self, directory: str) -> tuple[list[os.DirEntry], list[os.DirEntry]]:
        """Sub-folders and files of one folder, after the safety rules."""
        dirs: list[os.DirEntry] = []
        files: list[os.DirEntry] = []
        if self.cancel is not None and self.cancel.cancelled:
            raise Cancelled
        try:
            it = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            self.skipped.append(SkippedFile(self.rel(directory), f"folder cannot be read ({exc.strerror}): the "
                                            "images in it are not used; check its permissions"))
            return dirs, files
        for entry in it:
            if is_system_file(entry.name) or entry.name == "__MACOSX":
                self.ignored += 1
                continue
            if entry.is_symlink() and not self._inside(entry.path):
                self.skipped.append(SkippedFile(self.rel(entry.path),
                                                "symbolic link to outside the dataset folder: not followed"))
                continue
            try:
                if unsafe_name(entry.name):
                    self.skipped.append(SkippedFile(self.rel(entry.path), _bad_name(entry.name, entry.is_dir())))
                elif entry.is_dir():
                    dirs.append(entry)
                elif entry.is_file():
                    files.append(entry)
                else:
                    self.skipped.append(SkippedFile(self.rel(entry.path), special_file_reason(entry.stat().st_mode)))
            except OSError as exc:
                self.skipped.append(SkippedFile(self.rel(entry.path), f"cannot be read: {exc.strerror}"))
        return dirs, files

    def _follow(self, entry: os.DirEntry, class_real: str) -> bool:
        """Whether a link inside a class folder stays in that class folder and leads somewhere new."""
        if not entry.is_symlink():
            return True
        real = os.path.realpath(entry.path)
        if not (real == class_real or real.startswith(class_real + os.sep)):
            where = self.rel(real) if self._inside(real) else real
            self.skipped.append(SkippedFile(self.rel(entry.path), f"link to '{where}', outside its class folder: "
                                            "not followed (an image's class is the folder it really lives in)"))
            return False
        if os.path.isdir(real) and (real in self._seen_dirs or class_real.startswith(real + os.sep)
                                    or real == class_real):
            self.skipped.append(SkippedFile(self.rel(entry.path), "folder link loop (it leads back to a folder "
                                            "already read): not followed"))
            return False
        return True

    def find_class_dirs(self) -> tuple[str, list[tuple[str, str | None, str]]]:
        dirs, files = self.entries(str(self.root))
        self._report_loose(files, "the dataset folder")
        splits = {SPLIT_NAMES.get(d.name.casefold()): d for d in dirs}
        if "train" in splits and ({"val", "test"} & splits.keys()):
            out: list[tuple[str, str | None, str]] = []
            for d in dirs:
                split = SPLIT_NAMES.get(d.name.casefold())
                if split is None:
                    self.notes.append(f"Folder '{d.name}' is ignored: in a folder split into "
                                      "train/val/test, only those three are read.")
                    continue
                sub_dirs, sub_files = self.entries(d.path)
                self._report_loose(sub_files, f"'{d.name}'")
                out.extend((c.name, split, c.path) for c in sub_dirs)
            return "pre-split", out
        return "class-folders", [(d.name, None, d.path) for d in dirs]

    def _report_loose(self, files: list[os.DirEntry], where: str) -> None:
        for f in files:
            self.skipped.append(SkippedFile(self.rel(f.path), f"directly in {where}, not in a class folder: "
                                            "move it into the folder of its class"))

    def files_under(self, directory: str):
        """Yield ``(path, size, mtime)`` for every file under a class folder, nested folders included.

        An image's class is the class folder it really lives in: a link that leads out of this class folder
        (into another class, say) is skipped with a reason, and so is a link back to a folder already listed
        (a loop, or a second way to the same images)."""
        class_real = os.path.realpath(directory)
        if class_real in self._seen_dirs:
            self.skipped.append(SkippedFile(self.rel(directory), "class folder is a link to a folder already "
                                            "read: not followed (each image must belong to one class)"))
            return
        stack = [directory]
        while stack:
            current = stack.pop()
            if os.path.realpath(current) in self._seen_dirs:  # reached twice within this class: once is enough
                continue
            self._seen_dirs.add(os.path.realpath(current))
            dirs, files = self.entries(current)
            dirs = [d for d in dirs if self._follow(d, class_real)]
            files = [f for f in files if self._follow(f, class_real)]
            stack.extend(d.path for d in reversed(dirs))
            before, self.found = self.found, self.found + len(files)
            if self.on_found is not None and self.found // 1000 > before // 1000:
                self.on_found(self.found, 0)  # still listing: a count, so a huge folder never looks stuck
            for f in files:
                try:
                    st = f.stat()
                except OSError as exc:
                    self.skipped.append(SkippedFile(self.rel(f.path), f"cannot be read: {exc.strerror}"))
                    continue
                if not stat.S_ISREG(st.st_mode):  # replaced by a pipe or device since listed: never opened
                    self.skipped.append(SkippedFile(self.rel(f.path), special_file_reason(st.st_mode)))
                    continue
                yield f.path, st.st_size, st.st_mtime


def _bad_name(name: str, is_folder: bool) -> str:
    """Why a file or folder with this name is skipped (:func:`core.paths.name_problem`), and the fix."""
    what = name_problem(name)
    if is_folder:
        return (f"folder name {what} (shown escaped): the images in it are not used, as the name would break "
                "labels.txt, CSV files and reports; rename the folder")
    return f"file name {what} (shown escaped): it would break CSV files and reports; rename the file"


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
