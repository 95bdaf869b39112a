"""Running ``core.training.train`` on a worker thread that the window owns.

The worker is a ``QObject`` moved to a ``QThread``. Events from the core cross to the GUI thread as queued
signals; the window connects them to bound slots. Cancel is a thread-safe token set from the GUI thread.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal

from core.cancel import CancelToken
from core.errors import FovealError
from core.training.config import TrainConfig
from gui.workers.base import ThreadWorker


def _real_train(config, *, on_event, cancel):
    from core.training import train  # TensorFlow is imported here, on the worker thread

    return train(config, on_event=on_event, cancel=cancel)


@dataclass
class CrossValResult:
    """What the window needs of a cross-validation: the last fold's run (as a TrainResult has it) and the summary."""

    outcome: str
    run_dir: str
    model_path: str | None
    test_accuracy: float | None
    summary: dict
    folder: str
    text: str


def real_crossval(k: int):
    """A ``train_fn`` that runs k-fold cross-validation (core.crossval) instead of one run."""

    def run(config, *, on_event, cancel):
        from core.crossval import cross_validate, format_crossval

        result = cross_validate(config, k, on_event=on_event, cancel=cancel)
        last = result["folds"][-1] if result["folds"] else {}
        done = result["folds_done"] == k
        return CrossValResult("completed" if done else "cancelled", last.get("run_dir", result["folder"]),
                              str(Path(last["run_dir"]) / "model.keras") if last else None, None,
                              result["summary"], result["folder"], format_crossval(result))

    return run


class TrainWorker(ThreadWorker):
    """Runs one training job. Create it, call :meth:`start`, and listen to its signals."""

    sig_event = Signal(object)
    """Every core training event (a frozen dataclass from core.training.events), in order."""
    sig_finished = Signal(object)
    """The run ended (completed, cancelled or early-stopped): the ``TrainResult``."""
    sig_failed = Signal(str, str, bool)
    """The run failed: message in plain words, traceback details, and whether it is the user's to fix."""

    def __init__(self, config: TrainConfig, train_fn: Callable | None = None) -> None:
        super().__init__("foveal-training")
        self.config = config
        self.train_fn = train_fn or _real_train
        self.cancel_token = CancelToken()
        self.error_type: str | None = None  # class name of the error that ended the run, if any

    def cancel(self) -> None:
        """Ask the run to stop after the current batch (returns at once)."""
        self.cancel_token.cancel()

    def work(self) -> None:
        try:
            result = self.train_fn(self.config, on_event=self.sig_event.emit, cancel=self.cancel_token)
        except FovealError as exc:
            self.error_type = type(exc).__name__
            self.sig_failed.emit(str(exc), traceback.format_exc(), True)
        except Exception as exc:  # a bug: the window shows details; nothing dies silently in this thread
            self.error_type = type(exc).__name__
            self.sig_failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc(), False)
        else:
            self.sig_finished.emit(result)
