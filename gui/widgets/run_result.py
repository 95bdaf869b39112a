"""What the Train view says when a run ends: the headline number, the result in words (each class's recall and the
other notes beside it, why it ended when it did, how long the person waited, what was saved, the recipe and the
data warnings)."""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel

from foveal.core.training.events import Outcome, TrainingFinished
from foveal.core.training.progress import format_eta

_OUTCOME_WORDS = {Outcome.COMPLETED: "Finished", Outcome.CANCELLED: "Stopped", Outcome.EARLY_STOPPED: "Finished early"}


def headline_label(text: str) -> QLabel:
    """A label in large bold type, for the one number a view is about (the test accuracy)."""
    label = QLabel(text)
    font = QFont()
    font.setPointSizeF(font.pointSizeF() * 2.2)
    font.setBold(True)
    label.setFont(font)
    return label


@dataclass(frozen=True)
class ResultWords:
    """The finished run in the Train view's words: ``headline`` (the test accuracy or "—"), ``detail`` (rich
    text beside it) and ``status`` (the line under the buttons: how it ended, after how long, and why)."""

    headline: str
    detail: str
    status: str


def result_words(e: TrainingFinished, recipe_text: str, data_warnings: list[str]) -> ResultWords:
    """The words for a run that ended with ``e``; ``recipe_text`` is the recipe's choice in words (if any)."""
    words = _OUTCOME_WORDS.get(e.outcome, str(e.outcome))
    took = format_eta(e.seconds)
    if e.test_accuracy is not None:
        headline = f"{e.test_accuracy:.1%}"
        detail = "test accuracy on held-out images"
        if e.headline:
            detail += f".<br><b>{html.escape(e.headline.rstrip('.'), quote=False)}</b>"
    else:
        headline, detail = "—", "no test accuracy (no model was trained, or there are no test images)"
    saved = f"Model saved to {html.escape(e.model_path)}" if e.model_path else "No model was saved."
    # The notes beside the headline: each class's recall first (a class recognised less than half the time named).
    detail += "".join(f".<br>{html.escape(note, quote=False)}" for note in e.notes)
    extra = f"<br>{html.escape(recipe_text)}" if recipe_text else ""
    extra += "".join(f"<br>{html.escape(w)}" for w in data_warnings)
    why = f" {html.escape(e.reason, quote=False)}." if e.reason else ""
    return ResultWords(headline, f"{words} after {took}: {detail}.<br>{saved}{extra}", f"{words} after {took}.{why}")
