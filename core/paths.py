"""Where Foveal may write, and where it never does: the bottom layer every other module may import.

Every dataset folder Foveal opens in a process is remembered here (:func:`protect`); :mod:`core.io`, the one
chokepoint every write passes through, refuses any path inside one of them.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

_lock = threading.Lock()
_protected: dict[str, str] = {}  # real path → the path as the user gave it


def real(path: str | os.PathLike[str]) -> Path:
    """The absolute path with every link resolved (a path that does not exist yet resolves as far as it can)."""
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


def is_inside(child: str | os.PathLike[str], parent: str | os.PathLike[str]) -> bool:
    """True when ``child`` is ``parent`` or lies under it (links resolved): Foveal never writes there."""
    c, p = real(child), real(parent)
    return c == p or p in c.parents


def protect(dataset: str | os.PathLike[str]) -> None:
    """Remember a dataset folder for the rest of the process: nothing is ever written inside it."""
    with _lock:
        _protected.setdefault(str(real(dataset)), os.fspath(dataset))


def protected_folder_of(path: str | os.PathLike[str]) -> str | None:
    """The dataset folder (as the user gave it) that ``path`` lies in, or None when it is outside all of them."""
    with _lock:
        folders = list(_protected.items())
    for real_root, given in folders:
        if is_inside(path, real_root):
            return given
    return None


def user_data_dir() -> Path:
    """Foveal's per-user data folder (e.g. ``~/.local/share/foveal`` on Linux)."""
    from platformdirs import user_data_path

    return user_data_path("foveal")


def user_runs_dir() -> Path:
    """Where runs go when no folder is given and the current folder will not do."""
    return user_data_dir() / "runs"


def default_run_dir(name: str) -> Path:
    """``./foveal-runs/YYYYmmdd-HHMMSS-NAME``, or the same under the user data folder when the current folder
    lies inside a dataset folder (a ``cd DATA && foveal train .`` must not write into DATA)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    here = Path.cwd()
    base = user_runs_dir() if protected_folder_of(here) else here / "foveal-runs"
    return base / f"{stamp}-{name}"


#: Names Windows keeps for its devices, with or without an extension (``CON.png`` is the console there).
WINDOWS_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                              *(f"LPT{i}" for i in range(1, 10))})


def portable_file_name(name: str) -> str:
    """``name`` as a file name every system accepts: a Windows device name gets a leading ``_`` and trailing dots
    and spaces (which Windows drops) go."""
    name = name.rstrip(" .") or "_"
    return f"_{name}" if name.split(".")[0].upper() in WINDOWS_RESERVED else name


def unsafe_name(name: str) -> bool:
    """True when a file or folder name is not valid UTF-8 (Python holds such bytes as lone surrogates) or holds
    control characters or line breaks: such a name would break a CSV row, a line of labels.txt or a report."""
    return any(_unsafe_char(ch) for ch in name)


def name_problem(name: str) -> str | None:
    """Why a name cannot be one line of text (a line of labels.txt, a CSV cell, a report), in words completing
    "the name …"; None when it can. The one rule behind :func:`unsafe_name`, for messages."""
    if any("\ud800" <= ch <= "\udfff" for ch in name):
        return "is not valid UTF-8 text"
    if unsafe_name(name):
        return "holds a line break, tab or other control character"
    return None


def printable(path: str | os.PathLike[str]) -> str:
    """A path as one line of valid text, for messages, CSV files and reports: bytes that are not UTF-8 are shown
    as ``\\xe9``, control characters and line breaks as ``\\n``, ``\\t``, ``\\x1b``…; other text is unchanged."""
    text = os.fspath(path)
    if not any(_unsafe_char(ch) for ch in text):
        return text
    out = []
    for ch in text:
        if "\udc80" <= ch <= "\udcff":  # a byte that is not UTF-8, as os.fsdecode keeps it
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        else:
            out.append(ch.encode("unicode_escape").decode("ascii") if _unsafe_char(ch) else ch)
    return "".join(out)


def _unsafe_char(ch: str) -> bool:
    # C0 and C1 controls, DEL, lone surrogates, and the line and paragraph separators str.splitlines() splits on
    return ch < " " or "\x7f" <= ch <= "\x9f" or "\ud800" <= ch <= "\udfff" or ch in "\u2028\u2029"


def relative_link(target: str | os.PathLike[str], start: str | os.PathLike[str]) -> str | None:
    """``target`` as seen from the folder ``start``, with ``/`` between parts on every system (None where no
    relative path exists, as between two Windows drives): stored beside an absolute path, it finds the folder
    again after both were moved together, or opened on another system."""
    try:
        rel = os.path.relpath(os.path.abspath(target), os.path.abspath(start))
    except ValueError:
        return None
    return rel.replace(os.sep, "/")


def follow_relative(start: str | os.PathLike[str], rel: object) -> str | None:
    """The existing folder that ``rel`` (from :func:`relative_link`, made on any system: ``/`` or ``\\``) names
    from the folder ``start``; None when it names none, or is no relative path at all."""
    if not isinstance(rel, str) or not rel or "\0" in rel or rel[0] in "/\\" or ":" in rel:
        return None
    found = os.path.normpath(os.path.join(os.fspath(start), *re.split(r"[\\/]+", rel)))
    return found if os.path.isdir(found) else None
