"""What lives across the phases of one run (no Keras here: the window's fakes and the runner import it)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from foveal.core.training.events import Outcome


@dataclass(frozen=True)
class BestEpoch:
    """The epoch of a phase with the lowest validation loss."""

    epoch: int
    val_loss: float
    val_accuracy: float

    @classmethod
    def of(cls, row: dict) -> BestEpoch:
        """From one row of the run's history."""
        return cls(row["epoch"], row["val_loss"], row["val_accuracy"])

    def to_dict(self) -> dict:
        return {"epoch": self.epoch, "val_loss": self.val_loss, "val_accuracy": self.val_accuracy}


@dataclass(frozen=True)
class PhaseComparison:
    """Whether fine-tuning beat the head on validation loss, and which model was kept (run.json's ``phases``)."""

    improved: bool
    kept_epoch: int
    words: str
    stopped_after_trial: bool  # fine-tuning "auto" stopped after its trial epochs: no gain over the head
    head_best: BestEpoch
    fine_tune_best: BestEpoch

    def to_dict(self) -> dict:
        return {"improved": self.improved, "kept_epoch": self.kept_epoch, "words": self.words,
                "stopped_after_trial": self.stopped_after_trial, "head_best": self.head_best.to_dict(),
                "fine_tune_best": self.fine_tune_best.to_dict()}


class RunTracker:
    """State that lives across the phases of one run: epoch numbering, the best weights, the outcome."""

    def __init__(self) -> None:
        self.epochs_done = 0
        self.global_step = 0
        self.best_val_loss = math.inf
        self.best_epoch: int | None = None
        self.cancelled = False
        self.early_stopped = False
        self.trial_stopped = False  # fine-tuning "auto" stopped after its trial epochs: no gain over the head
        self.history: list[dict] = []

    def phase_comparison(self) -> PhaseComparison | None:
        """Whether fine-tuning beat the head on validation loss, and which model was kept (None: one phase)."""
        head = [h for h in self.history if h["phase"] == "head"]
        tuned = [h for h in self.history if h["phase"] == "fine-tune"]
        if not head or not tuned:
            return None
        best_head = BestEpoch.of(min(head, key=lambda h: h["val_loss"]))
        best_tuned = BestEpoch.of(min(tuned, key=lambda h: h["val_loss"]))
        improved = best_tuned.val_loss < best_head.val_loss
        kept = best_tuned if improved else best_head
        if improved:
            words = (f"Fine-tuning improved on the head: validation loss {best_head.val_loss:.3f} → "
                     f"{best_tuned.val_loss:.3f}, accuracy {best_head.val_accuracy:.1%} → "
                     f"{best_tuned.val_accuracy:.1%}; the model of epoch {kept.epoch} is kept")
        elif self.trial_stopped:
            words = (f"Fine-tuning was tried for {len(tuned)} epochs and did not lower the validation loss "
                     f"(best {best_tuned.val_loss:.3f} against the head's {best_head.val_loss:.3f}): it was "
                     f"stopped, and the head-only model of epoch {kept.epoch} is kept")
        else:
            words = (f"Fine-tuning did not improve on the head (best validation loss {best_tuned.val_loss:.3f} "
                     f"against the head's {best_head.val_loss:.3f}); the head-only model of epoch "
                     f"{kept.epoch} is kept")
        return PhaseComparison(improved, kept.epoch, words, self.trial_stopped, best_head, best_tuned)

    @property
    def outcome(self) -> Outcome:
        if self.cancelled:
            return Outcome.CANCELLED
        return Outcome.EARLY_STOPPED if self.early_stopped else Outcome.COMPLETED
