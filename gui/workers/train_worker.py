"""Running ``core.training.train`` on a worker thread that the window owns.

The worker is a ``QObject`` moved to a ``QThread``. Events from the core cross to the GUI thread as queued
signals; the window connects them to bound slots. Cancel is a thread-safe token set from the GUI thread.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from PySide6.QtCore import Signal

from foveal.core.cancel import CancelToken
from foveal.core.training.config import TrainConfig
from foveal.gui.workers.base import ThreadWorker


def _real_train(config, *, on_event, cancel, started: float | None = None):
    from foveal.core.training import train  # TensorFlow is imported here, on the worker thread

    return train(config, on_event=on_event, cancel=cancel, started=started)


def real_crossval(k: int) -> Callable:
    """A ``train_fn`` that runs k-fold cross-validation (core.crossval) instead of one run: it reports each fold's
    events between FoldStarted and FoldFinished and returns a core.crossval.CrossValResult."""

    def run(config: TrainConfig, *, on_event: Callable, cancel: CancelToken):
        from foveal.core.crossval import cross_validate

        return cross_validate(config, k, on_event=on_event, cancel=cancel)

    return run


class TrainWorker(ThreadWorker):
    """Runs one training job; :attr:`sig_finished` carries its TrainingFinished (or CrossValResult)."""

    sig_event = Signal(object)
    """Every core training event (a frozen dataclass from core.training.events), in order."""

    def __init__(self, config: TrainConfig, train_fn: Callable | None = None) -> None:
        super().__init__("foveal-training")
        self.config = config
        # The run's duration counts from here (Start was just pressed), TensorFlow's loading included: the one
        # duration shown is the time the person waited.
        self.train_fn = train_fn or functools.partial(_real_train, started=time.monotonic())
        self.cancel_token = CancelToken()

    def cancel(self) -> None:
        """Ask the run to stop after the current batch (returns at once)."""
        self.cancel_token.cancel()

    def work(self) -> object:
        return self.train_fn(self.config, on_event=self.sig_event.emit, cancel=self.cancel_token)
