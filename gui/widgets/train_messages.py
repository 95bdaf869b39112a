"""What the Train view says while no run is learning: whether Start can be pressed and why not, a problem in one
sentence (its full message behind *Details*), the missing-weights notice before Start, and "Stopping…"."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton

from foveal.gui.widgets.colours import error_colour


@dataclass(frozen=True)
class MessageWidgets:
    """The widgets of the Train view these messages write to (the view lays them out)."""

    phase_label: QLabel
    progress: QProgressBar
    start_button: QPushButton
    stop_button: QPushButton
    weights_button: QPushButton
    details_button: QPushButton
    details_label: QLabel


class TrainMessages:
    """The Train view's messages outside a run's progress. :class:`gui.widgets.train_panel.TrainPanel` owns one;
    ``result_shown`` tells whether a finished run's result is on screen (it says more than readiness)."""

    def __init__(self, widgets: MessageWidgets, result_shown: Callable[[], bool]) -> None:
        self.widgets = widgets
        self.result_shown = result_shown
        self.why_not_ready = "Choose a dataset folder to begin (step 1, Data)."
        self.weights_error = False  # the error shown is about missing weights: cleared once they are chosen
        self.weights_notice: str | None = None  # the backbone whose ImageNet weights are not on this computer
        self.error_shown = False  # a problem is on screen: it says more than readiness
        self.stopping = False  # the user asked to stop: said until the run ends

    def set_ready(self, ready: bool, why: str = "") -> None:
        """Whether Start can be pressed; ``why`` says what is missing when it cannot (shown while idle)."""
        w = self.widgets
        w.start_button.setEnabled(ready)
        self.why_not_ready = "" if ready else why
        if w.stop_button.isEnabled() or self.result_shown() or self.error_shown:
            return  # a run in progress, a result or an error is on screen: they say more than readiness
        ready_words = "Ready: press Start training (Ctrl+Return)."
        if ready and self.weights_notice:
            ready_words = (f"Ready. The ImageNet weights for {self.weights_notice} are not on this computer yet: "
                           "Start downloads them (internet needed once). No internet? Choose the weights file you "
                           "have.")
        w.phase_label.setText(ready_words if ready else why)

    def show_stopping(self, model_so_far: bool = True) -> None:
        """The user asked to stop: said until the run ends (only while one is running), with what will really
        be kept: the best model so far, or nothing when no model has been trained yet (``model_so_far``)."""
        w = self.widgets
        if not w.stop_button.isEnabled():
            return
        self.stopping = True
        w.phase_label.setText("Stopping after this batch: the best model so far will be kept…" if model_so_far else
                              "Stopping: no model has been trained yet, so nothing will be saved…")
        w.progress.setFormat("Stopping…")

    def show_error(self, message: str, offer_weights: bool = False) -> None:
        """A problem the user can fix, in words; with a way to choose a weights file when that is the fix (one
        plain sentence, the full message behind *Details*)."""
        w = self.widgets
        self.weights_error, self.error_shown = offer_weights, True
        if offer_weights:
            plain = ("The pretrained weights could not be downloaded (is this computer offline?). Choose the "
                     "weights file you have." if "could not be downloaded" in message else
                     message.split(". ")[0].rstrip(".") + ".")
            w.details_label.setText(html.escape(message))
            w.details_button.setChecked(False)
        else:
            plain = html.escape(message)
        w.details_button.setVisible(offer_weights)
        w.details_label.setVisible(False)
        w.phase_label.setText(f"<span style='color:{error_colour()}'><b>Could not train:</b> {plain}</span>")
        w.weights_button.setVisible(offer_weights)

    def clear_error(self) -> None:
        """The problem was fixed (a weights file chosen): back to what Start would do."""
        w = self.widgets
        self.weights_error = self.error_shown = False
        w.details_button.setVisible(False)
        w.details_label.setVisible(False)
        w.weights_button.setVisible(False)
        w.phase_label.setText("")
        self.set_ready(w.start_button.isEnabled(), self.why_not_ready)

    def show_weights_notice(self, backbone: str | None) -> None:
        """Before Start: the ImageNet weights of ``backbone`` are not on this computer (None: they are, or
        another source is chosen), with the way out for a computer without internet."""
        w = self.widgets
        if w.stop_button.isEnabled() or self.weights_error:
            return
        w.weights_button.setVisible(backbone is not None)
        self.weights_notice = backbone
        self.set_ready(w.start_button.isEnabled(), self.why_not_ready)

    def hide_error(self) -> None:
        """A run starts: no problem of an earlier attempt stays on screen."""
        w = self.widgets
        w.weights_button.setVisible(False)
        w.details_button.setVisible(False)
        w.details_label.setVisible(False)
        self.weights_error = self.error_shown = False
