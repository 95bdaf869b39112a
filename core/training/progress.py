"""Showing a run's events in a terminal: a progress bar with ETA, or one JSON object per line."""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

from foveal.core.training.events import (
    BatchesEnded,
    CandidateTried,
    DataWarning,
    EpochEnded,
    Event,
    FeaturesExtracting,
    FoldFinished,
    FoldStarted,
    PhaseChanged,
    RecipeChosen,
    TrainingFinished,
    TrainingStarted,
    WeightsDownloading,
    event_to_dict,
)


def json_lines(stream: TextIO | None = None):
    """An ``on_event`` that prints every event as one JSON line (to stdout by default)."""

    def on_event(event: Event) -> None:
        out = stream or sys.stdout
        out.write(json.dumps(event_to_dict(event), ensure_ascii=False) + "\n")
        out.flush()

    return on_event


def format_eta(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class TerminalProgress:
    """An ``on_event`` that draws a progress bar on a terminal (or plain lines when not a terminal)."""

    def __init__(self, stream: TextIO | None = None, clock=time.monotonic, *, verbose: bool = False) -> None:
        self.stream, self.clock, self.verbose = stream or sys.stderr, clock, verbose
        self.tty = self.stream.isatty()
        self.total_steps = self.steps_done = 0
        self.phase_start = clock()
        self.phase_steps0 = 0
        self.epochs = 0
        self.last = ""

    def __call__(self, event: Event) -> None:
        match event:
            case TrainingStarted():
                self.epochs = event.epochs
                self.total_steps = event.epochs * event.steps_per_epoch
                self._line(f"Training {event.backbone} ({event.fine_tune}) on {event.n_train} images, validating "
                           f"on {event.n_val}, testing on {event.n_test}; classes: {', '.join(event.classes)}")
            case PhaseChanged():
                self.phase_start, self.phase_steps0 = self.clock(), self.steps_done
                self._line(event.description + ("" if event.phase.learning else "…"))
            case DataWarning():
                self._line(f"Warning: {event.message}")
            case WeightsDownloading():
                self._bar(event.done, event.total or 1, "downloading weights")
            case FeaturesExtracting():
                self._bar(event.done, event.total, f"features {event.done}/{event.total}", eta_of=event)
            case BatchesEnded():
                self.steps_done = event.steps[-1]
                self._bar(self.steps_done, self.total_steps,
                          f"epoch {event.epoch}/{self.epochs} loss {event.running_loss[-1]:.4f}", steps=True)
            case EpochEnded():
                self._line(f"epoch {event.epoch}/{self.epochs} ({event.phase}): loss {event.loss:.4f}, accuracy "
                           f"{event.accuracy:.3f}, val_loss {event.val_loss:.4f}, val_accuracy "
                           f"{event.val_accuracy:.3f} ({event.seconds:.1f} s)")
            case CandidateTried():
                self._bar(event.done, event.total, f"comparing recipes {event.done}/{event.total}", eta_of=event)
            case RecipeChosen():
                self._recipe(event)
            case TrainingFinished():
                self._finished(event)
            case FoldStarted():
                self.steps_done = 0
                self._line(f"\n=== fold {event.fold} of {event.k} ===")
            case FoldFinished():
                fold_acc = event.metrics.get("accuracy")
                self._line(f"fold {event.fold} of {event.k} {event.outcome}"
                           + (f": test accuracy {fold_acc:.1%}" if fold_acc is not None else ""))

    def count(self, done: int, total: int, what: str = "images") -> None:
        """A progress bar for any counted job (``on_progress(done, total)`` of prediction and evaluation)."""
        self._bar(done, total, f"{what} {done}/{total}")
        if done >= total and self.tty and self.last:
            self._line("")

    def _recipe(self, event: RecipeChosen) -> None:
        """The recipe chosen in plain words (with ``verbose``: in technical terms and the best candidates), and
        from now on the epochs and batches the choice plans."""
        self.epochs, self.total_steps = event.epochs, event.planned_steps
        self._line(f"Recipe: {event.summary or event.reason}.")
        if not self.verbose:
            return
        self._line(f"  chosen: {event.reason}.")
        for name, acc, lo, hi, bacc in event.candidates[:8]:
            self._line(f"  {acc:6.1%} ({lo:.1%}–{hi:.1%}), balanced {bacc:6.1%}  {name}")
        if len(event.candidates) > 8:
            self._line(f"  … {len(event.candidates) - 8} more in run.json")

    def _finished(self, event: TrainingFinished) -> None:
        lines = [f"Run {event.outcome} in {format_eta(event.seconds)}."]
        if event.reason:
            lines.append(f"{event.reason}.")
        elif event.best_epoch is not None:
            lines.append(f"Best epoch: {event.best_epoch} (its weights were kept).")
        if event.test_accuracy is not None:
            words = event.headline or f"{event.test_accuracy:.1%} on held-out images."
            lines.append(f"Test accuracy: {words} (Test loss {event.test_loss:.4f}.)")
        lines += [f"{note}." for note in event.notes]  # beside the result: per-class recall first
        lines.append(f"Model: {event.model_path}" if event.model_path else "No model was saved (no epoch finished).")
        lines.append(f"Run folder: {event.run_dir}")
        for line in lines:
            self._line(line)

    def _bar(self, done: int, total: int, label: str, *, steps: bool = False, eta_of=None) -> None:
        if not self.tty:
            return
        frac = min(1.0, done / total) if total else 0.0
        elapsed = self.clock() - self.phase_start
        base = self.phase_steps0 if steps else 0
        rate_done = done - base
        remaining = total - done
        eta = f" ETA {format_eta(elapsed / rate_done * remaining)}" if rate_done > 0 and remaining > 0 else ""
        width = 28
        bar = "█" * int(frac * width) + "·" * (width - int(frac * width))
        text = f"\r{bar} {frac:4.0%} {label}{eta}"
        self.stream.write(text.ljust(len(self.last)))
        self.stream.flush()
        self.last = text

    def _line(self, text: str) -> None:
        if self.tty and self.last:
            self.stream.write("\r" + " " * len(self.last) + "\r")
            self.last = ""
        self.stream.write(text + "\n")
        self.stream.flush()
