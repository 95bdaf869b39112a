"""Start/Stop, progress with ETA, the phase in words, the live curves, and the result when the run ends."""

from __future__ import annotations

import html
import time

from PySide6.QtCore import QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from core.training.events import (
    BatchesEnded,
    EpochEnded,
    FeaturesExtracting,
    PhaseChanged,
    TrainingFinished,
    TrainingStarted,
    WeightsDownloading,
)
from core.training.progress import format_eta
from gui.widgets.training_plot import TrainingPlot


def headline_label(text: str) -> QLabel:
    """A label in large bold type, for the one number a view is about (the test accuracy)."""
    label = QLabel(text)
    font = QFont()
    font.setPointSizeF(font.pointSizeF() * 2.2)
    font.setBold(True)
    label.setFont(font)
    return label


_PHASE_WORDS = {"head": "Training the new head", "fine-tune": "Fine-tuning"}


class TrainPanel(QWidget):
    """Everything about the run in progress. Feed it core events with :meth:`show_event`."""

    sig_start_requested = Signal()
    """The user pressed Start."""
    sig_stop_requested = Signal()
    """The user pressed Stop."""
    sig_choose_weights = Signal()
    """The user wants to pick a weights file after the weights could not be had."""
    sig_show_evaluation = Signal()
    """The user wants to see the evaluation of the finished run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data_warnings: list[str] = []  # of this run's data (blank images), repeated when it ends
        self.start_button = QPushButton("Start training")
        self.start_button.setToolTip("Train with these settings (Ctrl+Return)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current batch and keep the best model so far (Esc)")
        self.stop_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.phase_label = QLabel("Choose a dataset folder to begin.")
        self.phase_label.setWordWrap(True)
        self.time_label = QLabel("")
        self.device_label = QLabel("")
        self.device_label.setToolTip("The device that trains, and the speed-ups in use (Advanced → Train on)")
        self.plot = TrainingPlot()
        self.result_label = headline_label("")
        self.saved_label = QLabel("")
        self.saved_label.setWordWrap(True)
        self.open_button = QPushButton("Open run folder")
        self.open_button.setVisible(False)
        self.weights_button = QPushButton("Choose weights file…")
        self.weights_button.setVisible(False)
        self.evaluation_label = QLabel("")
        self.evaluate_button = QPushButton("See what it got wrong →")
        self.evaluate_button.setToolTip("Metrics, confusion matrix, the misclassified images and why")
        self.evaluate_button.setVisible(False)
        self._layout()
        self.start_button.clicked.connect(self.sig_start_requested)
        self.stop_button.clicked.connect(self.sig_stop_requested)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.weights_button.clicked.connect(self.sig_choose_weights)
        self.evaluate_button.clicked.connect(self.sig_show_evaluation)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._on_clock_tick)
        self._reset_state()

    def _layout(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.time_label)
        result = QHBoxLayout()
        result.addWidget(self.result_label)
        result.addWidget(self.saved_label, 1)
        result.addWidget(self.open_button)
        evaluation = QHBoxLayout()
        evaluation.addWidget(self.evaluation_label, 1)
        evaluation.addWidget(self.evaluate_button)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        error_row = QHBoxLayout()
        error_row.addWidget(self.phase_label, 1)
        error_row.addWidget(self.weights_button)
        error_row.addWidget(self.device_label)
        layout.addLayout(error_row)
        layout.addWidget(self.plot, 1)
        layout.addLayout(result)
        layout.addLayout(evaluation)

    def _reset_state(self) -> None:
        self.total_steps = self.epochs = 0
        self.run_dir: str | None = None
        self.started_at = self.first_batch_at = None
        self.first_step = 0
        self.current_phase = ""
        self.phase_text = ""
        self.fine_tune = ""

    # ---- state ------------------------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        if running:
            self.weights_button.setVisible(False)
            self._reset_state()
            self.started_at = time.monotonic()
            self.plot.reset()
            self.result_label.setText("")
            self.saved_label.setText("")
            self.open_button.setVisible(False)
            self.show_evaluation_state("")
            self.progress.setRange(0, 0)  # busy until the first numbers arrive
            self.progress.setFormat("")
            self.phase_label.setText("Starting: loading TensorFlow…")
            self._clock.start()
        else:
            self._clock.stop()
            self.progress.setRange(0, 1)
            self.progress.setValue(1 if self.run_dir else 0)

    def show_crossval(self, text: str) -> None:
        """The cross-validation summary (mean ± standard deviation of each metric over folds)."""
        lines = text.splitlines()
        self.result_label.setText("k-fold")
        self.saved_label.setText("<br>".join(lines))
        self.phase_label.setText("Cross-validation finished.")

    def show_evaluation_state(self, text: str, ready: bool = False) -> None:
        """What the evaluation after training is doing; the button to see it once it is ready."""
        self.evaluation_label.setText(text)
        self.evaluate_button.setVisible(ready)

    def show_error(self, message: str, offer_weights: bool = False) -> None:
        """A problem the user can fix, in words; with a way to choose a weights file when that is the fix."""
        self.phase_label.setText(f"<span style='color:#c0392b'><b>Could not train:</b> {message}</span>")
        self.weights_button.setVisible(offer_weights)

    # ---- events -----------------------------------------------------------------------------------
    def show_event(self, event) -> None:
        """Update from one core training event (called on the GUI thread)."""
        handler = getattr(self, f"_show_{type(event).__name__}", None)
        if handler is not None:
            handler(event)

    def _show_TrainingStarted(self, e: TrainingStarted) -> None:
        self.epochs, self.run_dir, self.fine_tune = e.epochs, e.run_dir, e.fine_tune
        self.data_warnings = []
        self.total_steps = e.epochs * e.steps_per_epoch
        self.device_label.setText(f"Device: {e.device}")

    def _show_PhaseChanged(self, e: PhaseChanged) -> None:
        if e.description.startswith("Warning:"):  # about the data (blank images): kept for the end of the run
            self.data_warnings.append(e.description)
            return
        self.current_phase, self.phase_text = e.phase, e.description
        if e.phase == "fine-tune":
            self.plot.mark_phase(e.first_epoch - 1, "fine-tuning starts")
            self.phase_text = f"Fine-tuning ({self.fine_tune})"
        if e.phase == "head":
            self.phase_text = _PHASE_WORDS["head"]
        if e.phase in ("preparing", "evaluating", "saving"):
            self.progress.setRange(0, 0)
        self.phase_label.setText(e.description + ("" if e.phase in ("head", "fine-tune") else "…"))

    def _show_WeightsDownloading(self, e: WeightsDownloading) -> None:
        self.progress.setRange(0, max(e.total, 1))
        self.progress.setValue(e.done)
        self.progress.setFormat(f"Downloading weights {e.done / 1e6:.1f} / {e.total / 1e6:.1f} MB")

    def _show_FeaturesExtracting(self, e: FeaturesExtracting) -> None:
        self.progress.setRange(0, e.total)
        self.progress.setValue(e.done)
        self.progress.setFormat(f"Extracting features {e.done}/{e.total}")

    def _show_BatchesEnded(self, e: BatchesEnded) -> None:
        self.plot.add_batches(e.steps, e.batch_losses, e.running_accuracy, e.steps_per_epoch)
        now = time.monotonic()
        if self.first_batch_at is None:
            self.first_batch_at, self.first_step = now, e.steps[0]
        done = e.steps[-1]
        self.progress.setRange(0, max(self.total_steps, 1))
        self.progress.setValue(min(done, self.total_steps))
        rate_steps = done - self.first_step + 1
        remaining = self.total_steps - done
        eta = (now - self.first_batch_at) / rate_steps * remaining if rate_steps > 0 else 0
        self.progress.setFormat(f"%p%  ·  about {format_eta(eta)} left" if remaining > 0 else "%p%")
        self.phase_label.setText(f"{self.phase_text}, epoch {e.epoch}/{self.epochs} · "
                                 f"loss {e.running_loss[-1]:.3f}")

    def _show_EpochEnded(self, e: EpochEnded) -> None:
        self.plot.add_epoch(e.epoch, e.loss, e.val_loss, e.accuracy, e.val_accuracy)

    def _show_TrainingFinished(self, e: TrainingFinished) -> None:
        self.run_dir = e.run_dir
        words = {"completed": "Finished", "cancelled": "Stopped", "early-stopped": "Finished early"}[e.outcome]
        if e.test_accuracy is not None:
            self.result_label.setText(f"{e.test_accuracy:.1%}")
            self.result_label.setToolTip("Accuracy on held-out test images never used for training")
            detail = f"test accuracy on held-out images (best epoch {e.best_epoch})"
        else:
            self.result_label.setText("—")
            detail = "no test accuracy (no epoch finished or no test images)"
        saved = f"Model saved to {e.model_path}" if e.model_path else "No model was saved."
        warned = "".join(f"<br>{html.escape(w)}" for w in self.data_warnings)
        self.saved_label.setText(f"{words} after {format_eta(e.seconds)}: {detail}.<br>{saved}{warned}")
        self.open_button.setVisible(True)
        self.phase_label.setText(f"{words}.")

    # ---- slots ------------------------------------------------------------------------------------
    @Slot()
    def _on_clock_tick(self) -> None:
        if self.started_at is not None:
            self.time_label.setText(f"elapsed {format_eta(time.monotonic() - self.started_at)}")

    @Slot()
    def _on_open_clicked(self) -> None:
        if self.run_dir:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.run_dir))


if __name__ == "__main__":  # preview: a scripted run
    import math

    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    panel = TrainPanel()
    panel.set_running(True)
    panel.show_event(TrainingStarted("/tmp/run", "MobileNetV2", "last:2", ("a", "b"), 80, 20, 20, 8, 10,
                                     ("head", "fine-tune"), "imagenet"))
    panel.show_event(PhaseChanged("head", "Training the new head", first_epoch=1))
    for epoch in range(1, 7):
        if epoch == 5:
            panel.show_event(PhaseChanged("fine-tune", "Fine-tuning", first_epoch=5))
        steps = tuple(range((epoch - 1) * 10 + 1, epoch * 10 + 1))
        losses = tuple(math.exp(-s / 20) for s in steps)
        panel.show_event(BatchesEnded(epoch, steps, losses, losses, tuple(1 - x / 2 for x in losses), 10))
        panel.show_event(EpochEnded(epoch, "head", math.exp(-epoch / 3), 1 - math.exp(-epoch) / 2,
                                    math.exp(-epoch / 4), 0.9 - math.exp(-epoch) / 2, 1.0))
    panel.resize(900, 700)
    panel.show()
    app.exec()
