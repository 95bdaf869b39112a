"""What the Train view says while no run is learning: whether Start can be pressed and why not, a problem in one
sentence (its full message behind *Details*), the missing-weights notice before Start, and "Stopping…"."""

from __future__ import annotations

import html

from foveal.gui.widgets.colours import error_colour


class TrainMessages:
    """Mixed into :class:`gui.widgets.train_panel.TrainPanel` (its labels, buttons and run state)."""

    def set_ready(self, ready: bool, why: str = "") -> None:
        """Whether Start can be pressed; ``why`` says what is missing when it cannot (shown while idle)."""
        self.start_button.setEnabled(ready)
        self.why_not_ready = "" if ready else why
        if self.stop_button.isEnabled() or self.run_dir or self.error_shown:
            return  # a run in progress, a result or an error is on screen: they say more than readiness
        ready_words = "Ready: press Start training (Ctrl+Return)."
        if ready and self.weights_notice:
            ready_words = (f"Ready. The ImageNet weights for {self.weights_notice} are not on this computer yet: "
                           "Start downloads them (internet needed once). No internet? Choose the weights file you "
                           "have.")
        self.phase_label.setText(ready_words if ready else why)

    def show_stopping(self) -> None:
        """The user asked to stop: said until the run ends (only while one is running)."""
        if not self.stop_button.isEnabled():
            return
        self.stopping = True
        self.phase_label.setText("Stopping after this batch…")
        self.progress.setFormat("Stopping…")

    def show_error(self, message: str, offer_weights: bool = False) -> None:
        """A problem the user can fix, in words; with a way to choose a weights file when that is the fix (one
        plain sentence, the full message behind *Details*)."""
        self.weights_error, self.error_shown = offer_weights, True
        if offer_weights:
            plain = ("The pretrained weights could not be downloaded (is this computer offline?). Choose the "
                     "weights file you have." if "could not be downloaded" in message else
                     message.split(". ")[0].rstrip(".") + ".")
            self.details_label.setText(html.escape(message))
            self.details_button.setChecked(False)
        else:
            plain = html.escape(message)
        self.details_button.setVisible(offer_weights)
        self.details_label.setVisible(False)
        self.phase_label.setText(f"<span style='color:{error_colour()}'><b>Could not train:</b> {plain}</span>")
        self.weights_button.setVisible(offer_weights)

    def clear_error(self) -> None:
        """The problem was fixed (a weights file chosen): back to what Start would do."""
        self.weights_error = self.error_shown = False
        self.details_button.setVisible(False)
        self.details_label.setVisible(False)
        self.weights_button.setVisible(False)
        self.phase_label.setText("")
        self.set_ready(self.start_button.isEnabled(), self.why_not_ready)

    def show_weights_notice(self, backbone: str | None) -> None:
        """Before Start: the ImageNet weights of ``backbone`` are not on this computer (None: they are, or
        another source is chosen), with the way out for a computer without internet."""
        if self.stop_button.isEnabled() or self.weights_error:
            return
        self.weights_button.setVisible(backbone is not None)
        self.weights_notice = backbone
        self.set_ready(self.start_button.isEnabled(), self.why_not_ready)
