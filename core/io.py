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
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

from foveal.core.errors import WriteError
from foveal.core.paths import protected_folder_of

#: Temporary files this module makes start with this, so a later cleanup can recognise leftovers.
TMP_PREFIX = ".foveal-tmp-"


#: What a write expects at its path: a file it writes, a folder it writes into, or either (removals, renames).
Target = Literal["file", "folder", "any"]


def check_target(path: str | os.PathLike[str], kind: Target = "any") -> Path:
    """``path`` as a Path, after refusing it when it lies inside an open dataset folder, or when what is already
    there is not what the write makes.

    A ``"file"`` target must be missing or a regular file: a device (``/dev/null``), a FIFO, a socket or a folder
    is refused, and so is a symbolic link, whatever it leads to. Foveal does not write through links: a link left
    in a shared folder (a run folder someone sent) could otherwise send a file anywhere the user may write, and
    replacing the link with a file would silently change what the link's owner set up. A ``"folder"`` target must
    be missing or a folder (a link to a folder is fine: the files go into the folder it leads to).
    """
    text = os.path.expanduser(os.fspath(path))
    if "\0" in text:
        raise WriteError(f"{text!r} is not a usable file name (it holds a NUL character). Choose another name.")
    p = Path(text)
    dataset = protected_folder_of(p)
    if dataset is not None:
        raise WriteError(f"{p} is inside the dataset folder {dataset}; Foveal never writes, renames or deletes "
                         "anything there. Choose a place outside it (for example your home or Documents folder).")
    problem = _file_slot_problem(p) if kind == "file" else _folder_slot_problem(p) if kind == "folder" else None
    if problem:
        raise WriteError(problem)
    return p


def _what(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, words in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
                        (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a link")):
        if test(mode):
            return words
    return "not a plain file"


def _file_slot_problem(p: Path) -> str | None:
    """Why a file may not be written at ``p`` (None: nothing is there, or a regular file)."""
    try:
        mode = os.lstat(p).st_mode
    except OSError:
        return None  # nothing there (or a parent that is not a folder: the write says so)
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        dest = os.path.realpath(p)
        try:
            mode = os.stat(p).st_mode
        except OSError:
            return (f"{p} is a link to {dest}, which does not exist; Foveal does not write through links. Choose "
                    "another file name.")
        if stat.S_ISREG(mode):
            return (f"{p} is a link to the file {dest}; Foveal does not write through links (a link in a folder "
                    f"could send what Foveal writes anywhere). Give {dest} itself, or choose another file name.")
        return (f"{p} is not a regular file: it is a link to {_what(mode)} ({dest}). Foveal writes only regular "
                "files. Choose a file name.")
    return (f"{p} is not a regular file: it is {_what(mode)}. Foveal writes only regular files. Choose a file "
            "name.")


def _folder_slot_problem(p: Path) -> str | None:
    """Why files may not be written into a folder ``p`` (None: nothing is there yet, or a folder)."""
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        if os.path.islink(p):
            return f"{p} is a link to {os.path.realpath(p)}, which does not exist. Choose a folder."
        return None
    except OSError:
        return None  # a parent that is not a folder, or cannot be looked into: making the folder says so
    if stat.S_ISDIR(mode):
        return None
    return (f"{p} is not a folder (it is {_what(mode) if not stat.S_ISREG(mode) else 'a file'}); Foveal writes "
            "its files into a folder. Choose a folder name (a new one is made).")


def make_dirs(path: str | os.PathLike[str]) -> Path:
    """Create a folder (and its parents) outside any dataset folder; refuses a file or a device in the way."""
    p = check_target(path, "folder")
    with os_errors(p):
        p.mkdir(parents=True, exist_ok=True)
    return p


def new_folder(base: str | os.PathLike[str]) -> Path:
    """``base`` when it is missing or an empty folder, else the first of ``base-2``, ``base-3``… that is (a folder
    with anything in it is never written into, and a file in the way is refused)."""
    p = check_target(base, "folder")
    named = p if p.name not in ("", ".", "..") else Path(os.path.abspath(p))
    path, k = p, 1
    while True:
        with os_errors(path):
            if not path.exists() or (path.is_dir() and not any(path.iterdir())):
                return check_target(path, "folder")
        if not named.name:
            raise WriteError(f"{p} is not empty, and a new folder cannot be named after it. Give the name of a new "
                             f"folder (for example {p / 'foveal-run'}).")
        k += 1
        path = named.with_name(f"{named.name}-{k}")


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
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        blocking = next((a for a in (p, *p.parents) if a.exists() and not a.is_dir()), None)
        if blocking is not None:
            return WriteError(f"Cannot write {p}: {blocking} is a file, not a folder. Choose another place.")
    return WriteError(f"Cannot write {p}: {exc.strerror or exc}. Check the folder and try again.")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary file's path beside ``path``; when the block succeeds it is renamed to ``path``.

    For writers that want a file name rather than a handle (Keras's ``model.save``, reportlab); the temporary
    name ends with the target's, so writers that look at the extension see the right one. The temporary file is
    made new here (never one that was there before: a link or a FIFO planted under a guessed name is not
    followed). The target must be missing or a regular file (:func:`check_target`), checked again just before the
    rename. On any failure the temporary file is removed.
    """
    target = check_target(path, "file")
    make_dirs(target.parent)
    with os_errors(target):
        tmp = _new_temp(target)
    try:
        with os_errors(target):
            yield tmp
            _fsync(tmp)
            check_target(target, "file")  # what is there now: a FIFO made meanwhile is not replaced either
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _new_temp(target: Path) -> Path:
    """An empty temporary file beside ``target`` that this call made (``O_EXCL``, links not followed)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    name = target.name[-180:]  # a long name still leaves room for the prefix within 255 bytes
    while True:
        tmp = target.with_name(f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{name}")
        try:
            os.close(os.open(tmp, flags, 0o666))
        except FileExistsError:
            continue
        return tmp


@contextlib.contextmanager
def open_atomic(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """``open()`` for writing through a temporary file that replaces ``path`` only when the block succeeds."""
    if "b" not in mode:
        kwargs.setdefault("encoding", "utf-8")
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh
        fh.flush()


@contextlib.contextmanager
def standard_output(stream: IO[str] | None = None) -> Iterator[IO[str]]:
    """Standard output (or ``stream``) for a result written to it, flushed when the block ends.

    The one way Foveal writes a result to standard output: a reader that went away (``foveal … | head``) raises
    ``BrokenPipeError``, which the command line ends on quietly; a full disk or device behind it (``> /dev/full``)
    or a closed stream is a :class:`WriteError`. Either way, what is still buffered is dropped, so that Python
    does not fail again when it flushes on exit.
    """
    out = sys.stdout if stream is None else stream
    try:
        yield out
        out.flush()
    except BrokenPipeError:
        _drop_buffered(out)
        raise
    except (OSError, ValueError) as exc:
        if isinstance(exc, ValueError) and not getattr(out, "closed", False):
            raise  # not about the stream: a closed one is the only ValueError it raises
        _drop_buffered(out)
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise WriteError("Not enough space for standard output (it goes to a full disk or device). Free some "
                             "space, or send the output elsewhere (--csv FILE where the command has it).") from None
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise WriteError(f"Cannot write to standard output: {reason}. Write a file instead (for example "
                         "--csv FILE).") from None


def _drop_buffered(stream: IO[str]) -> None:
    """Point the stream's file descriptor at the null device, so that what is still buffered goes nowhere and
    closing it (or Python's last flush on exit) cannot fail again; a stream without one holds nothing to fail."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


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
