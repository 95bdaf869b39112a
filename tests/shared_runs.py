"""Run folders trained once per test session and shared by every test process.

Several test files only need *a* real run folder to read, evaluate, predict with or export. Each used to train its
own in a module fixture; :func:`shared_run` trains it once, the first process to ask does (the other waits on a
lock), and every later caller gets the same folder. Callers treat it as read-only: a test that changes a run folder
copies it first (``shutil.copytree``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """Held by one process at a time (where the system has no ``fcntl``, each process trains its own copy: the
    folder name carries the worker's name then)."""
    with lock_file.open("a") as handle:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _shared_base(factory: pytest.TempPathFactory) -> Path:
    """The session's temp folder that every pytest-xdist worker of this run has in common."""
    base = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # …/pytest-N/popen-gw0 → …/pytest-N, the same for every worker of this session
    return base / "shared-runs"


def shared_run(factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """``make(folder)`` once per test session (``folder`` is new and empty); then ``folder`` for every caller."""
    base = _shared_base(factory)
    base.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl  # noqa: F401
    except ImportError:  # pragma: no cover - Windows: no shared lock, one copy per worker
        name = f"{name}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    folder, done = base / name, base / f"{name}.done"
    with _exclusive(base / f"{name}.lock"):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # what a failed attempt left
            folder.mkdir()
            make(folder)
            done.touch()
    return folder
