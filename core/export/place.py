"""Where an export goes, and putting it there without touching anything Foveal did not write.

An export is written into a work folder of Foveal's own beside its destination (named with
:data:`core.io.TMP_PREFIX`, so it can never be a folder of the user's), checked, then moved in. Its
``export_check.json`` lists every file Foveal wrote (``"files"``). Exporting again into the same folder removes
exactly those files (regular files only, and the folders they were in once nothing is left in them), so
whatever the user put there since (notes, a ``results/`` folder, a file inside ``saved_model/``) stays as it is.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

from foveal.core.errors import ConfigError
from foveal.core.export.writers import MODEL_NAMES
from foveal.core.io import TMP_PREFIX, check_target, make_dirs, move, os_errors, write_json

#: The file that records an export's check and its files; its presence marks a folder as a Foveal export.
CHECK_FILE = "export_check.json"
#: Every name Foveal ever writes at the top of an export folder; ``saved_model`` is the only folder among them.
_TOP_NAMES = frozenset({CHECK_FILE, "labels.txt", "predict_example.py", *MODEL_NAMES.values()})
#: What a SavedModel folder holds, for exports made before their files were listed.
_SAVEDMODEL_FILES = ("saved_model.pb", "fingerprint.pb", "keras_metadata.pb", "variables/variables.index",
                     "variables/variables.data-*")


def check_output_folder(folder: Path, what: str = "The export folder") -> None:
    """Refuse a destination that is not a new folder, an empty one or an earlier Foveal export; touch nothing.

    ``folder`` is absolute. The root, a file, a link to a file or to nothing, a FIFO or a device is refused, and
    so is a folder that holds files of anyone else's. ``what`` starts the message.
    """
    if folder.name in ("", ".", ".."):
        raise ConfigError(f"{what} {folder} is the root of the file system; an export goes into a folder of its "
                          "own. Choose a new or empty folder.")
    if os.path.lexists(folder) and not folder.is_dir():
        raise ConfigError(f"{what} {folder} is {_kind(folder)}, not a folder; Foveal leaves it as it is. Choose a "
                          "new or empty folder.")
    if folder.is_dir() and not is_export(folder) and _has_entries(folder):
        raise ConfigError(f"{folder} already exists and is not an earlier Foveal export; Foveal replaces only its "
                          "own exports, never other files. Choose a new or empty folder.")


def is_export(folder: Path) -> bool:
    """True when ``folder`` holds an earlier Foveal export (its ``export_check.json`` is a plain file)."""
    return _plain_file(folder / CHECK_FILE)


def work_folder(folder: Path) -> Path:
    """A new, empty folder beside ``folder`` to write the export into; its name is Foveal's alone."""
    make_dirs(folder.parent)
    while True:
        work = check_target(folder.parent / f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{folder.name}")
        with os_errors(work):
            try:
                work.mkdir()
            except FileExistsError:  # 32 random bits already taken by another writer: draw again
                continue
        return work


def files_of(work: Path) -> list[str]:
    """Every file under ``work`` as a relative POSIX path, plus ``export_check.json`` (written last)."""
    files = {p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file()}
    return sorted(files | {CHECK_FILE})


def place(work: Path, final: Path, files: list[str]) -> None:
    """Move the export in ``work`` (whose files are ``files``) to ``final``, replacing only Foveal's own files.

    An earlier export's files are listed in its ``export_check.json`` before anything is removed, so a crash at
    any moment leaves a folder whose list names every file Foveal put there; the new list is moved in last.
    """
    check_target(final)
    if not os.path.lexists(final):
        move(work, final)
        return
    check_output_folder(final)
    old = foveal_files(final) if is_export(final) else []
    _check_free(final, {f.split("/")[0] for f in files}, old)
    if old:
        write_json(final / CHECK_FILE, {**_read_check(final), "files": sorted(set(old) | set(files))})
    _remove(final, [f for f in old if f != CHECK_FILE])
    names = sorted(os.listdir(work), key=lambda n: n == CHECK_FILE)  # the list of files last: it marks the end
    for name in names:
        move(work / name, final / name)
    with os_errors(work):
        work.rmdir()


def foveal_files(folder: Path) -> list[str]:
    """The files an earlier export in ``folder`` says Foveal wrote, keeping only names Foveal writes."""
    check = _read_check(folder)
    listed = check.get("files")
    if isinstance(listed, list):
        return [f for f in listed if isinstance(f, str) and _foveal_name(f)]
    fmt = check.get("format")  # an export made before its files were listed
    models = [MODEL_NAMES[fmt]] if isinstance(fmt, str) and fmt in MODEL_NAMES else list(MODEL_NAMES.values())
    saved = folder / MODEL_NAMES["savedmodel"]
    inside = [p.relative_to(folder).as_posix() for g in _SAVEDMODEL_FILES for p in saved.glob(g)
              ] if MODEL_NAMES["savedmodel"] in models else []
    return sorted({CHECK_FILE, "labels.txt", "predict_example.py", *models, *inside})


def _foveal_name(rel: str) -> bool:
    """True for a relative path Foveal could have written: a known top-level name, or under ``saved_model/``."""
    parts = rel.split("/")
    if parts[0] not in _TOP_NAMES or any(p in ("", ".", "..") or "\\" in p for p in parts):
        return False
    return len(parts) == 1 or parts[0] == MODEL_NAMES["savedmodel"]


def _check_free(final: Path, names: Iterable[str], old: list[str]) -> None:
    """Refuse, before removing anything, when a name the new export needs holds something Foveal did not write."""
    ours = set(old)
    for name in names:
        target = final / name
        if not os.path.lexists(target) or (_plain_file(target) and name in ours):
            continue
        if _plain_dir(target) and all(
                _plain_file(p) and p.relative_to(final).as_posix() in ours or _plain_dir(p) for p in target.rglob("*")):
            continue
        raise ConfigError(f"{target} holds files Foveal did not write, so the new export cannot go there. Move it "
                          f"out of {final} or choose another folder.")


def _remove(final: Path, rels: list[str]) -> None:
    """Delete the listed plain files under ``final``, then the folders they were in once nothing is left there."""
    folders: set[Path] = set()
    for rel in rels:
        path = final / rel
        between = _between(final, path)
        if not all(_plain_dir(d) for d in between):
            continue  # under a link or a file: not a place Foveal wrote to
        folders.update(between)
        if _plain_file(path):  # a link or anything else of that name is not Foveal's: never removed
            with os_errors(path):
                path.unlink()
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        for below, _dirs, _files in os.walk(folder, topdown=False):  # links are not followed
            if not _has_entries(Path(below)):
                with os_errors(below):
                    os.rmdir(below)


def _between(top: Path, path: Path) -> list[Path]:
    """The folders strictly between ``top`` and ``path``."""
    return [p for p in path.parents if top in p.parents]


def _read_check(folder: Path) -> dict:
    try:
        data = json.loads((folder / CHECK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _plain_file(path: Path) -> bool:
    """A regular file, not a link to one."""
    mode = _mode(path)
    return mode is not None and stat.S_ISREG(mode)


def _plain_dir(path: Path) -> bool:
    """A folder, not a link to one."""
    mode = _mode(path)
    return mode is not None and stat.S_ISDIR(mode)


def _mode(path: Path) -> int | None:
    """``path``'s own mode (a link is not followed), or None when it does not exist."""
    try:
        return os.lstat(path).st_mode
    except OSError:
        return None


def _has_entries(folder: Path) -> bool:
    with os_errors(folder), os.scandir(folder) as entries:
        return any(True for _ in entries)


def _kind(path: Path) -> str:
    """What ``path`` is, in words, for a message."""
    mode = _mode(path) or 0
    if stat.S_ISLNK(mode):
        return "a link to a file" if path.exists() else "a link to nothing"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a file"
