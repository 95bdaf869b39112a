"""Labelling off the GUI thread: :class:`LabelJobs` opens a ``core.labelling.LabellingSession`` on a worker thread
and then runs every call on it (answer, undo, refit, what to ask next) one at a time, in the order asked, each on
its own short-lived worker thread.

The session is not thread-safe, so it is touched by one job at a time and never by the GUI thread: the view keeps
its own copy of what to ask next (a :class:`Snapshot` after each job) and moves on to the next image at once, while
the answers it was given are written behind it. A refit takes seconds; the answers given meanwhile wait their turn.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from foveal.core.cancel import Cancelled, CancelToken
from foveal.gui.workers.base import ThreadWorker
from foveal.gui.workers.jobs import JobRunner

#: How many images to ask about are fetched from the session at a time (its order is recomputed by each refit).
AHEAD = 60
#: Statuses of the person's own answers (labels.csv also lists the dataset's images, "from dataset").
ANSWER_STATUSES = frozenset({"accepted", "changed", "skipped", "unsure"})
OPEN, OP = "label-open", "label-op"


def real_start(source: str, unlabelled: str, out: str, *, weights: str | None, on_progress: Callable,
               cancel: CancelToken) -> Any:
    """``LabellingSession.start``; TensorFlow is imported here, on the worker thread."""
    from foveal.core.labelling import LabellingSession

    return LabellingSession.start(source, unlabelled, out, weights=weights, on_progress=on_progress, cancel=cancel)


@dataclass(frozen=True)
class Snapshot:
    """What the view shows of the session after a job (read on the job's thread, plain values only)."""

    classes: tuple[str, ...]
    out: str
    answered: int  # the person's answers so far (skips and unsure included)
    remaining: int
    rounds: tuple[Any, ...]  # core.labelling.Round, oldest first
    order: tuple[Any, ...] | None = None  # core.labelling.Suggestion to ask next, best first (None: not read)
    groups: dict[str, list[Any]] | None = field(default=None)  # the review grid (None: not read)
    last: Any = None  # the job's own result: an Answer (answer, undo) or a Round (refit)


def snapshot(session: Any, *, order: bool = False, groups: bool = False, last: Any = None) -> Snapshot:
    """Read ``session`` (on the thread that owns it now)."""
    answered = sum(1 for a in session.answers if a.status in ANSWER_STATUSES)
    return Snapshot(tuple(session.classes), str(session.out), answered, int(session.remaining()),
                    tuple(session.rounds), tuple(session.next(AHEAD)) if order else None,
                    dict(session.groups()) if groups else None, last)


class StartWorker(ThreadWorker):
    """Opens the session; :attr:`sig_finished` carries ``(session, Snapshot)``."""

    sig_progress = Signal(int, int, str)
    """(done, total, what is being done), from the session's ``on_progress``."""

    def __init__(self, start_fn: Callable, source: str, unlabelled: str, out: str, weights: str | None) -> None:
        super().__init__("foveal-label-start")
        self.start_fn, self.args, self.weights = start_fn, (source, unlabelled, out), weights
        self.cancel_token = CancelToken()

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def work(self) -> tuple[Any, Snapshot] | None:
        """The open session and its first snapshot; None when stopped (an outcome, not an error)."""
        self.sig_progress.emit(0, 0, "Loading TensorFlow and the model…")
        try:
            session = self.start_fn(*self.args, weights=self.weights, on_progress=self.sig_progress.emit,
                                    cancel=self.cancel_token)
        except Cancelled:
            return None
        return session, snapshot(session, order=True, groups=True)


class OpWorker(ThreadWorker):
    """One call on the session; :attr:`sig_finished` carries ``(kind, Snapshot)``."""

    def __init__(self, session: Any, kind: str, args: tuple) -> None:
        super().__init__(f"foveal-label-{kind}")
        self.session, self.kind, self.args = session, kind, args
        self.cancel_token = CancelToken()

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def work(self) -> tuple[str, Snapshot]:
        s = self.session
        if self.kind == "answer":
            path, label, unsure = self.args
            return self.kind, snapshot(s, last=s.answer(path, label, unsure=unsure))
        if self.kind == "undo":
            return self.kind, snapshot(s, last=s.undo())
        if self.kind == "refit":
            try:
                last = s.refit(cancel=self.cancel_token)
            except Cancelled:  # the window is closing: the model stays as it was
                return self.kind, snapshot(s)
            return self.kind, snapshot(s, order=True, groups=True, last=last)
        return self.kind, snapshot(s, order=True)  # "next"


class LabelJobs(QObject):
    """The one owner of a labelling session: opens it, then queues the calls on it and runs them in order.

    ``start_fn`` replaces :func:`real_start` (tests pass a TensorFlow-free session)."""

    sig_progress = Signal(int, int, str)
    """Opening: (done, total, what)."""
    sig_opened = Signal(object)
    """The session is open: its first :class:`Snapshot` (order and groups read)."""
    sig_done = Signal(str, object)
    """A call ended: ``"answer"``, ``"undo"``, ``"refit"`` or ``"next"``, and the :class:`Snapshot` after it."""
    sig_failed = Signal(str, str, bool)
    """Opening or a call failed: message, details, whether it is the person's to fix."""
    sig_busy = Signal(bool)
    """A refit started (True) or none is queued or running any more (False)."""

    def __init__(self, start_fn: Callable | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.start_fn = start_fn or real_start
        self.runner = JobRunner(self)
        self.session: Any = None
        self._ops: deque[tuple[str, tuple]] = deque()
        self._in_flight = False  # a call started whose report has not been handled yet
        self._refitting = False

    # ---- opening --------------------------------------------------------------------------------------
    def open_session(self, source: str, unlabelled: str, out: str, weights: str | None) -> bool:
        """Open a session off the GUI thread (False: one is opening, the last answers are still being written, or
        the window is closing)."""
        if self.runner.is_running(OPEN) or not self.idle:
            return False
        self.session, self._ops = None, deque()
        worker = StartWorker(self.start_fn, source, unlabelled, out, weights)
        worker.sig_progress.connect(self.sig_progress)
        return self.runner.start(OPEN, worker, self._on_opened, self._on_failed) is not None

    def opening(self) -> bool:
        return self.runner.is_running(OPEN)

    def cancel_opening(self) -> None:
        if self.runner.is_running(OPEN):
            self.runner.discard(OPEN)

    @Slot(object)
    def _on_opened(self, result: tuple[Any, Snapshot] | None) -> None:
        if result is None or self.sender() is not self.runner.worker(OPEN):
            return
        self.session = result[0]
        self.sig_opened.emit(result[1])

    # ---- calls on the open session ----------------------------------------------------------------------
    def answer(self, path: str, label: str | None, unsure: bool = False) -> None:
        self._queue("answer", (path, label, unsure))

    def undo(self) -> None:
        self._queue("undo", ())

    def refit(self) -> bool:
        """Queue a refit unless one is queued or running (False then)."""
        if self._refitting:
            return False
        self._refitting = True
        self.sig_busy.emit(True)
        self._queue("refit", ())
        return True

    def fetch_next(self) -> None:
        """Read what to ask next again (the view's own list runs short)."""
        if not any(kind in ("next", "refit") for kind, _ in self._ops):
            self._queue("next", ())

    @property
    def refitting(self) -> bool:
        return self._refitting

    @property
    def idle(self) -> bool:
        """No call queued, running or unreported: everything answered is written and shown."""
        return not self._ops and not self._in_flight

    def _queue(self, kind: str, args: tuple) -> None:
        if self.session is None:
            return
        self._ops.append((kind, args))
        self._run_next()

    def _run_next(self) -> None:
        if self._in_flight or not self._ops or self.runner.closing:
            return
        kind, args = self._ops.popleft()
        started = self.runner.start(OP, OpWorker(self.session, kind, args), self._on_op_done, self._on_op_failed)
        self._in_flight = started is not None

    @Slot(object)
    def _on_op_done(self, result: tuple[str, Snapshot]) -> None:
        self._in_flight = False
        kind, snap = result
        if kind == "refit":
            self._refitting = False
            self.sig_busy.emit(False)
        self.sig_done.emit(kind, snap)
        self._run_next()

    @Slot(str, str, bool)
    def _on_op_failed(self, message: str, details: str, user_error: bool) -> None:
        self._in_flight = False
        worker = self.sender()
        if isinstance(worker, OpWorker) and worker.kind == "refit":
            self._refitting = False
            self.sig_busy.emit(False)
        self.sig_failed.emit(message, details, user_error)
        self._run_next()

    @Slot(str, str, bool)
    def _on_failed(self, message: str, details: str, user_error: bool) -> None:
        if self.sender() is self.runner.worker(OPEN):
            self.sig_failed.emit(message, details, user_error)

    # ---- stopping (a Stoppable: the window's runner adopts this) -----------------------------------------
    def cancel_all(self) -> None:
        """Stop opening or refitting early; the answers queued are still written."""
        self.runner.cancel_all()

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Stop a refit, write the answers still queued, then wait for the threads (the window is closing)."""
        self.runner.cancel_all()
        running = self.runner.worker(OP)
        if running is not None:
            running.wait(timeout_ms)
        while self._ops and self.session is not None and not self.runner.is_running(OP):
            kind, args = self._ops.popleft()
            if kind in ("answer", "undo"):  # the person's answers are never lost on closing
                OpWorker(self.session, kind, args).work()
        return self.runner.shutdown(timeout_ms)
