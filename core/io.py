"""The one chokepoint every file Foveal writes passes through.

Each function here refuses a path inside a dataset folder (:func:`core.paths.protect`), writes into a
temporary file beside the target, flushes it to disk and renames it into place, so a crash or a full disk leaves
either the old file or the new one, never half of one. Operating-system errors become :class:`WriteError`
messages that name the folder and what to do ("not enough space in FOLDER", "cannot write to FOLDER").
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from core.errors import WriteError
from core.paths import protected_folder_of

#: Temporary files this module makes start with this, so a later cleanup can recognise leftovers.
TMP_PREFIX = ".foveal-tmp-"


def check_target(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path, after refusing it when it lies inside an open dataset folder."""
    p = Path(os.path.expanduser(os.fspath(path)))
    dataset = protected_folder_of(p)
    if dataset is not None:
        raise WriteError(f"{p} is inside the dataset folder {dataset}; Foveal never writes, renames or deletes "
                         "anything there. Choose a place outside it (for example your home or Documents folder).")
    return p


def make_dirs(path: str | os.PathLike[str]) -> Path:
    """Create a folder (and its parents) outside any dataset folder."""
    p = check_target(path)
    with os_errors(p):
        p.mkdir(parents=True, exist_ok=True)
    return p


@contextlib.contextmanager
def os_errors(target: str | os.PathLike[str], needed_bytes: int | None = None) -> Iterator[None]:
    """Turn the operating system's write errors inside the block into a :class:`WriteError` about ``target``."""
    try:
        yield
    except WriteError:
        raise
    except OSError as exc:
        raise write_error(exc, target, needed_bytes) from None


def write_error(exc: OSError, target: str | os.PathLike[str], needed_bytes: int | None = None) -> WriteError:
    """The user's words for an ``OSError`` raised while writing ``target``."""
    p = Path(target)
    folder = p if p.is_dir() else p.parent
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        need = f" (needs about {max(1, round(needed_bytes / 1e6))} MB)" if needed_bytes else ""
        return WriteError(f"Not enough space in {folder}{need}. Free some space there or choose another folder.")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = (exc.strerror or str(exc)).lower()
        return WriteError(f"Cannot write to {folder}: {reason}. Choose a folder you can write to.")
    return WriteError(f"Cannot write {p}: {exc.strerror or exc}. Check the folder and try again.")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds it is renamed to ``path``.

    For writers that want a file name rather than a handle (Keras's ``model.save``, reportlab); the temporary
    name ends with the target's, so writers that look at the extension see the right one. On any failure the
    temporary file or folder is removed.
    """
    target = check_target(path)
    make_dirs(target.parent)
    tmp = target.with_name(f"{TMP_PREFIX}{os.getpid()}-{target.name}")
    try:
        with os_errors(target):
            yield tmp
            _fsync(tmp)
            if target.is_dir() and tmp.is_dir():
                shutil.rmtree(target)
            os.replace(tmp, target)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def open_atomic(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """``open()`` for writing through a temporary file that replaces ``path`` only when the block succeeds."""
    if "b" not in mode:
        kwargs.setdefault("encoding", "utf-8")
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh
        fh.flush()


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    with open_atomic(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    with open_atomic(path, "w", newline="") as fh:
        fh.write(text)
    return Path(path)


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write JSON atomically, readable by everyone (a run folder is meant to be shared)."""
    with open_atomic(path, "w") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
    return Path(path)


def temp_dir(prefix: str) -> Path:
    """A new private folder in the system's temp folder (never inside a dataset)."""
    with os_errors(tempfile.gettempdir()):
        return check_target(tempfile.mkdtemp(prefix=prefix))


def remove_tree(path: str | os.PathLike[str]) -> None:
    """Delete a folder Foveal made (a run, an export); refused inside a dataset folder."""
    p = check_target(path)
    with os_errors(p):
        shutil.rmtree(p)


def move(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Rename a file or folder Foveal made; both ends are checked."""
    s, d = check_target(src), check_target(dst)
    with os_errors(d):
        os.replace(s, d)
    return d


def remove_leftovers(folder: str | os.PathLike[str]) -> list[str]:
    """Delete temporary files a killed write left in ``folder`` (this module's and older ``.NAME.*.tmp`` ones)."""
    p = Path(folder)
    removed: list[str] = []
    if protected_folder_of(p) is not None or not p.is_dir():
        return removed
    for entry in p.iterdir():
        n = entry.name
        if n.startswith(TMP_PREFIX) or (n.startswith(".") and n.endswith(".tmp")):
            with contextlib.suppress(OSError):
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
                removed.append(n)
    return removed


def _fsync(path: Path) -> None:
    if path.is_file():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
