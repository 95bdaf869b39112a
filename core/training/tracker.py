"""What lives across the phases of one run (no Keras here: the window's fakes and the runner import it)."""

from __future__ import annotations

import math

from core.training.events import Outcome


class RunTracker:
    """State that lives across the phases of one run: epoch numbering, the best weights, the outcome."""

    def __init__(self) -> None:
        self.epochs_done = 0
        self.global_step = 0
        self.best_val_loss = math.inf
        self.best_epoch: int | None = None
        self.cancelled = False
        self.early_stopped = False
        self.history: list[dict] = []

    @property
    def outcome(self) -> Outcome:
        if self.cancelled:
            return Outcome.CANCELLED
        return Outcome.EARLY_STOPPED if self.early_stopped else Outcome.COMPLETED
