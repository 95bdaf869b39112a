"""What a long command does around its job in the foreground: Ctrl-C (SIGINT) and SIGTERM (what Slurm and a
desktop logging out send) stop it cooperatively, keeping the best model; its temporary files (TensorFlow's
generated ``__autograph_generated_file*.py``, Keras's saving folders) go into a private folder removed at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from foveal.core.cancel import CancelToken
from foveal.core.io import temp_dir

#: Exit codes of a run stopped by a signal: 128 + the signal's number, as a shell reports a process it killed.
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}
#: The private temporary folder's name: ``foveal-tmp-HOST-PID-random``.
_PREFIX = "foveal-tmp-"
#: A private folder left by a killed process on this host is removed when it is older than this (seconds).
STALE_AFTER = 3600.0


class SignalStop:
    """Ctrl-C and SIGTERM set ``token`` (the job stops within a batch and keeps its best model); the same signal
    again aborts at once. ``received`` is the first signal, or None; :meth:`exit_code` turns it into 130 or 143."""

    def __init__(self, token: CancelToken) -> None:
        self.token = token
        self.received: signal.Signals | None = None

    def _on_signal(self, signum: int, frame: object) -> None:
        if self.token.cancelled:
            raise KeyboardInterrupt
        self.received = signal.Signals(signum)
        self.token.cancel()
        print(f"\n{_NAMES[self.received]}: cancelling after this batch; the best model so far is kept (send it "
              "again to abort).", file=sys.stderr)

    def exit_code(self, default: int = 130) -> int:
        """130 after Ctrl-C, 143 after SIGTERM; ``default`` when the job stopped without a signal."""
        return EXIT_CODES[self.received] if self.received is not None else default

    @contextlib.contextmanager
    def installed(self) -> Iterator[SignalStop]:
        """The handlers for the duration of the ``with`` block; the previous ones are put back after it."""
        previous = {s: signal.signal(s, self._on_signal) for s in EXIT_CODES}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


@contextlib.contextmanager
def private_temp_folder() -> Iterator[Path]:
    """Send this process's temporary files (Python's ``tempfile``, and TMPDIR for libraries that read it) to a new
    private folder for the ``with`` block, and remove it afterwards: TensorFlow deletes its generated files only at
    interpreter exit, and not at all when the process is killed. Folders that killed runs on this host left
    behind are removed first."""
    sweep_stale()
    folder = temp_dir(f"{_PREFIX}{_host()}-{os.getpid()}-")
    saved_env, saved_dir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = tempfile.tempdir = str(folder)  # tempfile caches the folder: both are set
    try:
        yield folder
    finally:
        tempfile.tempdir = saved_dir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        shutil.rmtree(folder, ignore_errors=True)


def sweep_stale(now: float | None = None) -> list[str]:
    """Remove the private temporary folders of processes of this host that are gone (killed before they could
    remove theirs) and that nothing has touched for :data:`STALE_AFTER` seconds; return their names."""
    base, mine = Path(tempfile.gettempdir()), f"{_PREFIX}{_host()}-"
    removed: list[str] = []
    if os.name == "nt":  # os.kill(pid, 0) ends a process on Windows: no way to ask whether it lives
        return removed
    for entry in base.glob(f"{mine}*"):
        pid = entry.name[len(mine):].split("-", 1)[0]
        try:
            st = entry.stat()
            old = (now if now is not None else time.time()) - st.st_mtime > STALE_AFTER
        except OSError:
            continue
        if pid.isdigit() and old and entry.is_dir() and st.st_uid == os.getuid() and not _alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def _host() -> str:
    """The host name as a folder name may hold it (a folder in a temp folder shared by several hosts is theirs)."""
    return "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40] or "host"
