"""Listing a dataset folder safely (no system files, no links out of the folder or out of a class folder, no link
loops, no names that cannot be one line of text), and the files it leaves out, with why."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from foveal.core.cancel import Cancelled, CancelToken
from foveal.core.data.image_formats import is_system_file, special_file_reason
from foveal.core.paths import name_problem, printable, unsafe_name

ProgressFn = Callable[[int, int], None]
#: Folder names that mark a pre-split dataset, and the split each means.
SPLIT_NAMES = {"train": "train", "val": "val", "validation": "val", "valid": "val", "test": "test"}


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file that will not be used, and why, in words the user can act on."""

    rel: str
    reason: str



class FolderWalker:
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
                    self.skipped.append(SkippedFile(self.rel(entry.path), bad_name_reason(entry.name, entry.is_dir())))
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


def bad_name_reason(name: str, is_folder: bool) -> str:
    """Why a file or folder with this name is skipped (:func:`core.paths.name_problem`), and the fix."""
    what = name_problem(name)
    if is_folder:
        return (f"folder name {what} (shown escaped): the images in it are not used, as the name would break "
                "labels.txt, CSV files and reports; rename the folder")
    return f"file name {what} (shown escaped): it would break CSV files and reports; rename the file"
