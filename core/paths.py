"""Where Foveal may write, and where it never does: the bottom layer every other module may import.

Every dataset folder Foveal opens in a process is remembered here (:func:`protect`); :mod:`core.io`, the one
chokepoint every write passes through, refuses any path inside one of them.
"""

from __future__ import annotations

import os
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
