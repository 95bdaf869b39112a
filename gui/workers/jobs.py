"""The background jobs of one owner (the window, a panel, a controller), kept in one place so that each can be
found by name, stopped, and waited for: when the window closes, one :meth:`JobRunner.shutdown` ends every thread
the owner started, and those of the owners it adopted.

Orange's ``ConcurrentMixin`` and napari's ``await_workers`` do the same: a widget never keeps a loose list of
threads, and closing waits for them in one call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from PySide6.QtCore import QObject, Signal, Slot

from foveal.gui.workers.base import ThreadWorker, start_worker

W = TypeVar("W", bound=ThreadWorker)


class Stoppable(Protocol):
    """Anything with background work that can be asked to stop and then waited for."""

    def cancel_all(self) -> None:
        """Ask every job to stop early (returns at once)."""

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Stop and wait for every job (``timeout_ms`` < 0: as long as it takes); True when all have ended."""


class JobRunner(QObject):
    """Starts one owner's jobs by name and keeps every worker until its thread has ended.

    The latest job of each name is :meth:`worker`; a job replaced or :meth:`discard`-ed while it runs is kept
    until its thread ends (a worker nobody holds would be collected while it runs). The runner waits for a job's
    thread as soon as the job reports, before the owner's slots run, so those slots never wait themselves.
    """

    sig_ended = Signal(str)
    """The job of this name reported its result or its error (its thread has ended)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._latest: dict[str, ThreadWorker] = {}
        self._leaving: list[ThreadWorker] = []  # replaced or discarded, kept until their threads end
        self._adopted: list[Stoppable] = []
        self.closing = False  # shutdown has begun: no job starts any more

    def start(self, name: str, worker: W, on_finished: Callable[[Any], None],
              on_failed: Callable[[str, str, bool], None]) -> W | None:
        """Start ``worker`` as the job ``name``, its result going to ``on_finished`` and its error to ``on_failed``
        (bound slots of GUI-thread objects). None, and nothing started, once :meth:`shutdown` has begun."""
        if self.closing:
            return None
        previous = self._latest.get(name)
        if previous is not None and previous.is_running():
            self._leaving.append(previous)
        worker.sig_finished.connect(self._on_job_ended)  # first: the thread has ended before the owner hears
        worker.sig_failed.connect(self._on_job_ended)
        self._latest[name] = worker
        return start_worker(worker, on_finished, on_failed)

    def worker(self, name: str) -> ThreadWorker | None:
        """The latest job started as ``name`` (running or not), None when there is none."""
        return self._latest.get(name)

    def is_running(self, name: str) -> bool:
        worker = self._latest.get(name)
        return worker is not None and worker.is_running()

    def discard(self, name: str) -> None:
        """Ask the job ``name`` to stop and forget it: what it still reports is of no interest (a replaced scan).
        Its worker is kept until its thread ends."""
        worker = self._latest.pop(name, None)
        if worker is not None and worker.is_running():
            worker.cancel()
            self._leaving.append(worker)

    def adopt(self, other: Stoppable) -> None:
        """``other``'s jobs are stopped and waited for with this runner's (a panel's runner, a thumbnail pool)."""
        self._adopted.append(other)

    def cancel_all(self) -> None:
        """Ask every job, and every adopted owner's, to stop early (returns at once)."""
        for worker in self._workers():
            worker.cancel()
        for other in self._adopted:
            other.cancel_all()

    def close(self) -> None:
        """No job starts from now on, and every running one is asked to stop; :meth:`shutdown` then waits."""
        self.closing = True
        self.cancel_all()

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Close, then wait for every thread, the adopted owners' included, at most ``timeout_ms`` in all
        (< 0: as long as it takes). True when every thread has ended."""
        self.close()
        deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000
        ended = True
        for worker in self._workers():
            ended = worker.wait(_left(deadline)) and ended
        for other in self._adopted:
            ended = other.shutdown(_left(deadline)) and ended
        self._leaving = [w for w in self._leaving if w.is_running()]
        return ended

    def _workers(self) -> list[ThreadWorker]:
        return [*self._latest.values(), *self._leaving]

    @Slot()
    def _on_job_ended(self, *_args: object) -> None:
        worker = self.sender()
        if isinstance(worker, ThreadWorker):
            worker.wait()  # it has reported: its thread is quitting now
            self._leaving = [w for w in self._leaving if w.is_running()]
            name = next((n for n, w in self._latest.items() if w is worker), None)
            if name is not None:
                self.sig_ended.emit(name)


def _left(deadline: float | None) -> int:
    """Milliseconds until ``deadline`` (-1: no deadline; 0 once it has passed)."""
    return -1 if deadline is None else max(int((deadline - time.monotonic()) * 1000), 0)
