"""What lives across the phases of one run (no Keras here: the window's fakes and the runner import it)."""

from __future__ import annotations

import math

from foveal.core.run_record import BestEpoch, PhaseComparison
from foveal.core.training.events import Outcome, Phase

#: What a run is doing in each phase, as said when the user stops it ("You stopped the run while …").
DOING = {Phase.PREPARING: "the data was being prepared", Phase.EXTRACTING: "the images were being read",
         Phase.HEAD: "the head was being chosen or trained", Phase.FINE_TUNE: "the backbone was being fine-tuned",
         Phase.EVALUATING: "the model was being measured", Phase.SAVING: "the model was being saved"}


def _best(rows: list[dict]) -> tuple[int, float, float]:
    """(epoch, validation loss, validation accuracy) of the history row with the lowest validation loss."""
    row = min(rows, key=lambda h: h["val_loss"])
    return row["epoch"], row["val_loss"], row["val_accuracy"]


def _epochs(n: int) -> str:
    return f"{n} epoch" if n == 1 else f"{n} epochs"


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
        self.fitted_head = False  # the head is a linear one fitted directly (no epochs of its own)
        self.doing = ""  # what the run is doing, in words (said when the user stops it)
        self.cancelled_in = ""  # what the run was doing when the user stopped it
        #: Fine-tuning judged against the head it started from (core.training.judge): kept or not, and why in
        #: words; None: not judged (no fine-tuning epoch beat the head's validation loss, or no validation images).
        self.verdict: tuple[bool, str] | None = None

    def ending(self, planned_epochs: int, patience: int) -> str:
        """Why the run ended when it did, in one sentence a person can act on."""
        done = len(self.history)
        if self.cancelled:
            self.cancelled_in = self.cancelled_in or self.doing
            where = f" while {self.cancelled_in}" if self.cancelled_in else ""
            if self.best_epoch is None and not self.fitted_head:
                return f"You stopped the run{where}, before any model was trained: nothing was saved"
            kept = f"epoch {self.best_epoch}'s model" if self.best_epoch is not None else "the fitted head"
            return f"You stopped the run{where}; the best model so far ({kept}) was kept"
        if self.fitted_head and done > 1 and self.best_epoch == 1:
            return (f"Fine-tuning ran {done - 1} epoch(s) without improving on the linear classifier, so that "
                    "classifier was kept, fitted again on the training and validation images")
        if self.fitted_head and done <= 1:
            return ("The best head was a linear classifier, fitted directly in one step: it needs no training "
                    "epochs, so the planned epochs were not needed")
        if self.trial_stopped:
            return (f"Fine-tuning was stopped after {done - 1 if self.fitted_head else done} epoch(s) because it "
                    "did not improve on the head")
        if self.early_stopped and self.best_epoch is not None:
            return (f"Stopped after epoch {done} of {planned_epochs}: the validation loss had not improved for "
                    f"{_epochs(patience)} since epoch {self.best_epoch}, whose model was kept")
        if self.best_epoch is None:
            return f"All {done} planned epochs ran, but no validation images measured them"
        return (f"All {done} planned epochs ran; epoch {self.best_epoch} had the lowest validation loss and its "
                "model was kept")

    def phase_comparison(self) -> PhaseComparison | None:
        """Whether fine-tuning beat the head on validation loss, and which model was kept (None: one phase)."""
        head = [h for h in self.history if h["phase"] == "head"]
        tuned = [h for h in self.history if h["phase"] == "fine-tune"]
        if not head or not tuned:
            return None
        (h_epoch, h_loss, h_acc), (t_epoch, t_loss, t_acc) = _best(head), _best(tuned)
        improved = t_loss < h_loss if self.verdict is None else self.verdict[0]
        kept = t_epoch if improved else h_epoch
        head_kept = ("the linear classifier is kept, fitted again on the training and validation images"
                     if self.fitted_head else f"the head-only model of epoch {kept} is kept")
        if improved:
            words = (f"Fine-tuning improved on the head: validation loss {h_loss:.3f} → {t_loss:.3f}, accuracy "
                     f"{h_acc:.1%} → {t_acc:.1%}; the model of epoch {kept} is kept")
        elif self.trial_stopped:
            words = (f"Fine-tuning was tried for {_epochs(len(tuned))} and did not lower the validation loss "
                     f"(best {t_loss:.3f} against the head's {h_loss:.3f}): it was stopped, and {head_kept}")
        elif self.verdict is not None:
            words = (f"Fine-tuning lowered the validation loss ({h_loss:.3f} → {t_loss:.3f}) but did not beat the "
                     f"head, {self.verdict[1]}; {head_kept}")
        else:
            words = (f"Fine-tuning did not improve on the head (best validation loss {t_loss:.3f} against the "
                     f"head's {h_loss:.3f}); {head_kept}")
        if improved and self.verdict is not None:
            words += f", {self.verdict[1]}"
        return PhaseComparison(improved=improved, kept_epoch=kept, words=words,
                               stopped_after_trial=self.trial_stopped,
                               head_best=BestEpoch(epoch=h_epoch, val_loss=h_loss, val_accuracy=h_acc),
                               fine_tune_best=BestEpoch(epoch=t_epoch, val_loss=t_loss, val_accuracy=t_acc))

    @property
    def outcome(self) -> Outcome:
        if self.cancelled:
            return Outcome.CANCELLED
        return Outcome.EARLY_STOPPED if self.early_stopped else Outcome.COMPLETED
