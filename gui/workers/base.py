"""The thread plumbing every worker shares: a QObject moved to a QThread it owns, run once, whose result or
error comes back as a signal; and :func:`start_worker`, the one way the window starts a job on a thread."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QThread, Signal, Slot

from foveal.core.errors import FovealError


class ThreadWorker(QObject):
    """Subclasses implement :meth:`work`; it runs on the worker's own thread, which ends when it returns.

    What ``work`` returns is emitted as :attr:`sig_finished`; what it raises as :attr:`sig_failed`, a
    :class:`FovealError` as the user's to fix, anything else as a bug with its traceback: nothing dies silently.
    """

    sig_finished = Signal(object)
    """What :meth:`work` returned."""
    sig_failed = Signal(str, str, bool)
    """:meth:`work` raised: message in plain words, traceback details, and whether it is the user's to fix."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._qthread = QThread()  # not "thread": that would shadow QObject.thread()
        self._qthread.setObjectName(name)
        self.moveToThread(self._qthread)
        self._qthread.started.connect(self._run)
        self.error_type: str | None = None  # class name of the error that ended the job, if any

    def start(self) -> None:
        self._qthread.start()

    def cancel(self) -> None:
        """Ask the job to stop early (returns at once); a job that cannot stop early ends when its work does."""

    def is_running(self) -> bool:
        return self._qthread.isRunning()

    def wait(self, msecs: int = -1) -> bool:
        """Block until the thread has ended (or ``msecs`` passed); True if it ended."""
        return self._qthread.wait() if msecs < 0 else self._qthread.wait(msecs)

    def work(self) -> Any:
        raise NotImplementedError

    @Slot()
    def _run(self) -> None:
        try:
            result = self.work()
        except FovealError as exc:
            self.error_type = type(exc).__name__
            self.sig_failed.emit(str(exc), traceback.format_exc(), True)
        except Exception as exc:  # a bug: the window shows details; nothing dies silently in this thread
            self.error_type = type(exc).__name__
            self.sig_failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc(), False)
        else:
            self.sig_finished.emit(result)
        finally:
            self._qthread.quit()


W = TypeVar("W", bound=ThreadWorker)


def start_worker(worker: W, on_finished: Callable[[Any], None], on_failed: Callable[[str, str, bool], None]) -> W:
    """Connect ``worker``'s result and error to two bound slots of a GUI-thread object, start it, return it
    (for the caller to keep: a worker nobody holds would be collected while it runs)."""
    worker.sig_finished.connect(on_finished)
    worker.sig_failed.connect(on_failed)
    worker.start()
    return worker
