"""The Keras callback that turns ``fit`` into Foveal events, honours cancel, and keeps the best weights."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import keras

from foveal.core.cancel import CancelToken
from foveal.core.training.events import BatchesEnded, EpochEnded
from foveal.core.training.tracker import RunTracker

#: Batch points are sent at most this often (seconds); every point is kept, several per event.
COALESCE_SECONDS = 0.1


class EventCallback(keras.callbacks.Callback):
    """Reports batches and epochs, stops within one batch on cancel, early-stops on validation loss, and at the
    end of ``fit`` puts back the weights of the best epoch of the whole run so far."""

    def __init__(self, *, phase: str, tracker: RunTracker, emit: Callable, cancel: CancelToken,
                 steps_per_epoch: int, n_samples: int, batch_size: int, patience: int,
                 on_best: Callable[[], None] | None = None, clock: Callable[[], float] = time.monotonic,
                 trial_epochs: int = 0) -> None:
        super().__init__()
        # A trial (fine-tuning "auto"): after this many epochs without beating the run's best validation loss so
        # far (the head's), the phase stops and the best model is kept.
        self.trial_epochs, self._improved = trial_epochs, False
        self.phase, self.tracker, self.emit, self.cancel = phase, tracker, emit, cancel
        self.steps_per_epoch, self.n_samples, self.batch_size = steps_per_epoch, n_samples, batch_size
        self.patience, self.on_best, self.clock = patience, on_best, clock
        self._best_weights = None
        self._wait = 0

    # ---- fit ------------------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self.tracker.early_stopped = False  # the outcome says how the last phase ended
        self._best_weights = self.model.get_weights()  # the phase's starting point is the fallback

    def on_train_end(self, logs=None):
        self._flush()
        if self._best_weights is not None:
            self.model.set_weights(self._best_weights)

    # ---- epochs ---------------------------------------------------------------------------------------
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start = self.clock()
        self._buffer: list[tuple[int, float, float, float]] = []
        self._last_emit = self.clock()
        self._seen = 0
        self._prev_mean = 0.0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self._flush()
        t = self.tracker
        t.epochs_done += 1
        row = {"epoch": t.epochs_done, "phase": self.phase, "loss": float(logs.get("loss", math.nan)),
               "accuracy": float(logs.get("accuracy", math.nan)), "val_loss": float(logs.get("val_loss", math.nan)),
               "val_accuracy": float(logs.get("val_accuracy", math.nan)),
               "seconds": self.clock() - self._epoch_start}
        t.history.append(row)
        self.emit(EpochEnded(**row))
        if row["val_loss"] < t.best_val_loss:
            t.best_val_loss, t.best_epoch, self._wait = row["val_loss"], t.epochs_done, 0
            self._best_weights = self.model.get_weights()
            self._improved = True
            if self.on_best is not None:
                self.on_best()
        elif self.trial_epochs and epoch + 1 == self.trial_epochs and not self._improved:
            if epoch + 1 < self.params.get("epochs", 0):
                t.trial_stopped = t.early_stopped = True
                self.model.stop_training = True
        else:
            self._wait += 1
            # Early stopping only when epochs are left to skip: a run that ran all its epochs is "completed".
            if self.patience and self._wait >= self.patience and epoch + 1 < self.params.get("epochs", 0):
                t.early_stopped = True
                self.model.stop_training = True

    # ---- batches --------------------------------------------------------------------------------------
    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        t = self.tracker
        t.global_step += 1
        size = min(self.batch_size, self.n_samples - self._seen) if self.n_samples else self.batch_size
        size = max(size, 1)
        mean = float(logs.get("loss", math.nan))
        # Keras reports the running mean weighted by batch size; recover this batch's own loss from it.
        batch_loss = (mean * (self._seen + size) - self._prev_mean * self._seen) / size
        self._seen += size
        self._prev_mean = mean
        self._buffer.append((t.global_step, batch_loss, mean, float(logs.get("accuracy", math.nan))))
        now = self.clock()
        if now - self._last_emit >= COALESCE_SECONDS:
            self._flush()
            self._last_emit = now
        if self.cancel.cancelled:
            t.cancelled = True
            self.model.stop_training = True

    def _flush(self) -> None:
        buffer = getattr(self, "_buffer", None)
        if not buffer:
            return
        steps, losses, means, accs = zip(*buffer, strict=True)
        self.emit(BatchesEnded(self.tracker.epochs_done + 1, steps, losses, means, accs, self.steps_per_epoch))
        self._buffer = []
