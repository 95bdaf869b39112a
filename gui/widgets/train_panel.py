"""Start/Stop, progress with ETA, the phase in words, the live curves, and the result when the run ends."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from foveal.core.training.events import (
    BatchesEnded,
    CandidateTried,
    DataWarning,
    EpochEnded,
    Event,
    FeaturesExtracting,
    FoldFinished,
    FoldStarted,
    Phase,
    PhaseChanged,
    RecipeChosen,
    RunEstimated,
    TrainingFinished,
    TrainingStarted,
    WeightsDownloading,
)
from foveal.core.training.progress import format_eta
from foveal.gui.widgets.recipe_chart import RecipeChart
from foveal.gui.widgets.run_result import headline_label, result_words
from foveal.gui.widgets.train_messages import MessageWidgets, TrainMessages
from foveal.gui.widgets.training_plot import TrainingPlot


class TrainPanel(QWidget):
    """Everything about the run in progress. Feed it core events with :meth:`show_event`; what it says outside a
    run's progress (readiness, a problem, "Stopping…") is its :class:`TrainMessages`."""

    sig_start_requested = Signal()  # the user pressed Start
    sig_stop_requested = Signal()  # the user pressed Stop
    sig_choose_weights = Signal()
    """The user wants to pick a weights file after the weights could not be had."""
    sig_show_evaluation = Signal()
    """The user wants to see the evaluation of the finished run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data_warnings: list[str] = []  # about this run's data (core's DataWarning), repeated when it ends
        self.start_button = QPushButton("Start training")
        self.start_button.setToolTip("Train with these settings (Ctrl+Return)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current batch; the best model so far is kept, if one has been "
                                    "trained (Esc)")
        self.stop_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.phase_label = QLabel("Choose a dataset folder to begin (step 1, Data).")
        self.phase_label.setWordWrap(True)
        self.time_label = QLabel("")
        self.device_label = QLabel("")
        self.device_label.setWordWrap(True)
        self.device_label.setToolTip("The device that trains, and the speed-ups in use (Advanced → Train on)")
        self.plot = TrainingPlot()
        self.recipe_chart = RecipeChart()
        self.views = QStackedWidget()  # the curves, or the recipe comparison while it runs (and after, on demand)
        self.views.addWidget(self.plot)
        self.views.addWidget(self.recipe_chart)
        self.recipe_button = QPushButton("Recipe comparison")
        self.recipe_button.setCheckable(True)
        self.recipe_button.setToolTip("Show how each way of training the head scored (or the training curves)")
        self.recipe_button.setVisible(False)
        self.recipe_button.toggled.connect(self._on_recipe_toggled)
        self.result_label = headline_label("")
        self.saved_label = QLabel("")
        self.saved_label.setWordWrap(True)
        self.open_button = QPushButton("Open run folder")
        self.open_button.setVisible(False)
        self.weights_button = QPushButton("Choose the weights file…")
        self.weights_button.setVisible(False)
        self.details_button = QPushButton("Details")
        self.details_button.setCheckable(True)
        self.details_button.setVisible(False)
        self.details_label = QLabel("")
        self.details_label.setWordWrap(True)
        self.details_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_label.setVisible(False)
        self.details_button.toggled.connect(self.details_label.setVisible)
        # What the view says while idle or in trouble (ready or not and why, errors, the weights notice, stopping):
        # the window and the weights check tell it directly.
        self.messages = TrainMessages(MessageWidgets(
            self.phase_label, self.progress, self.start_button, self.stop_button, self.weights_button,
            self.details_button, self.details_label), lambda: bool(self.run_dir))  # a result on screen
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
        error_row = QHBoxLayout()  # the phase or the problem in words, with the way out of the problem
        for widget, stretch in ((self.phase_label, 1), (self.weights_button, 0), (self.details_button, 0)):
            error_row.addWidget(widget, stretch)
        layout.addLayout(error_row)
        device_row = QHBoxLayout()  # a row of its own: on a laptop at 2× the phase's words keep the full width
        device_row.addWidget(self.device_label, 1)
        device_row.addWidget(self.recipe_button)
        layout.addLayout(device_row)
        layout.addWidget(self.details_label)
        layout.addWidget(self.views, 1)
        layout.addLayout(result)
        layout.addLayout(evaluation)

    def _reset_state(self) -> None:
        self.total_steps = self.epochs = self.steps_per_epoch = self.step_offset = 0
        self.run_dir: str | None = None
        self.messages.stopping = False
        self.started_at: float | None = None
        self.first_batch_at: float | None = None
        self.first_step = 0
        self.current_phase = ""
        self.phase_text = ""
        self.fine_tune = ""
        self.fold = self.k = 0  # of a cross-validation (k = 0: a single run)
        self.recipe_text = ""
        self.steps_before_fold = 0
        self.phase_first_epoch, self.phase_epochs = 1, 0  # of the learning phase under way
        self.batches_in_phase = 0
        self.head_epochs = 0
        self.comparing_since: float | None = None  # when the recipe comparison began (its time left counts on it)

    # ---- state ------------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Start is possible (data ready, no run in progress)."""
        return self.start_button.isEnabled()

    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        if running:
            self.messages.hide_error()
            self._reset_state()
            self.started_at = time.monotonic()
            self.plot.reset()
            self.plot.set_title("")
            self.recipe_chart.reset()
            self.recipe_button.setChecked(False)
            self.recipe_button.setVisible(False)
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
            self.messages.stopping = False
            self.progress.setFormat("")
            self.progress.setRange(0, 1)
            self.progress.setValue(1 if self.run_dir else 0)

    def show_crossval(self, text: str) -> None:
        """The cross-validation summary (mean ± standard deviation of each metric over folds)."""
        self.result_label.setText("k-fold")
        self.saved_label.setText("<br>".join(text.splitlines()))
        self.phase_label.setText("Cross-validation finished.")

    def show_evaluation_state(self, text: str, ready: bool = False) -> None:
        """What the evaluation after training is doing; the button to see it once it is ready."""
        self.evaluation_label.setText(text)
        self.evaluate_button.setVisible(ready)

    # ---- events -----------------------------------------------------------------------------------
    def show_event(self, event: Event) -> None:
        """Update from one core training event (called on the GUI thread)."""
        match event:
            case TrainingStarted():
                self._on_training_started(event)
            case PhaseChanged():
                self._on_phase_changed(event)
            case RunEstimated():  # said until the first phase; kept as the elapsed time's tooltip
                self.phase_label.setText(event.words)
                self.time_label.setToolTip(event.words)
            case DataWarning():  # about the data: kept for the end of the run, the phase stays on screen
                self.data_warnings.append(f"Warning: {event.message}")
            case WeightsDownloading():
                self.progress.setRange(0, max(event.total, 1))
                self.progress.setValue(event.done)
                self.progress.setFormat(f"Downloading weights {event.done / 1e6:.1f} / {event.total / 1e6:.1f} MB")
            case FeaturesExtracting() if not self._learning():
                self.progress.setRange(0, event.total)
                self.progress.setValue(event.done)
                what = ("Preparing fine-tuning: images" if self.current_phase == Phase.FINE_TUNE else
                        "Extracting features")
                self.progress.setFormat(f"{self._fold_words()}{what} {event.done}/{event.total}")
            case BatchesEnded():
                self._on_batches_ended(event)
            case EpochEnded():
                self.plot.add_epoch(event.epoch, event.loss, event.val_loss, event.accuracy, event.val_accuracy)
            case CandidateTried():
                self._on_candidate_tried(event)
            case RecipeChosen():
                self._on_recipe_chosen(event)
            case TrainingFinished():
                self._on_training_finished(event)
            case FoldStarted():
                self._on_fold_started(event)
            case FoldFinished():
                acc, what = event.metrics.get("accuracy"), f"Fold {event.fold} of {event.k} {event.outcome}"
                self.phase_label.setText(what + (f": test accuracy {acc:.1%}." if acc is not None else "."))

    def _on_recipe_chosen(self, e: RecipeChosen) -> None:
        """The recipe changes what the run plans (a fitted linear head has no epochs of its own): the axis, the
        progress and where batches are drawn follow what core says now."""
        self.recipe_text = f"{e.summary or 'Chosen by cross-validation: ' + e.reason}."
        self.recipe_chart.choose(e.winner)
        self.comparing_since = None
        self.phase_label.setText(self._fold_words() + self.recipe_text)
        self.epochs, self.steps_per_epoch, self.step_offset = e.epochs, e.steps_per_epoch, e.step_offset
        self.total_steps = e.planned_steps
        if e.epochs == 0:  # nothing to draw as curves: the comparison stays on screen
            self.plot.set_title("No epochs: the linear head is fitted directly (see the recipe comparison)")
        elif not self.k or self.fold <= 1:
            self.plot.set_planned_epochs(e.epochs)

    def _on_candidate_tried(self, e: CandidateTried) -> None:
        """A candidate recipe was scored: it appears in the chart (shown while the comparison runs), and the time
        the comparison has left is said from how long the candidates so far took."""
        now = time.monotonic()
        if self.comparing_since is None:
            self.comparing_since = now
            self.recipe_button.setVisible(True)
            self.recipe_button.setChecked(True)
        self.recipe_chart.add(e)
        self.progress.setRange(0, e.total)
        self.progress.setValue(e.done)
        spent, left_n = now - self.comparing_since, e.total - e.done
        # The first candidate's time is not measured (the clock starts with it): the rate counts from the second.
        eta = spent / (e.done - 1) * left_n if e.done > 1 else None
        left = ("" if eta is None or not left_n else " · a few seconds left to compare" if eta < 10 else
                f" · about {format_eta(eta)} left to compare")
        self.progress.setFormat(f"{self._fold_words()}Comparing recipes {e.done}/{e.total}{left}")
        if not self.messages.stopping:
            self.phase_label.setText(f"{self._fold_words()}Comparing ways to train the head · "
                                     f"{self.recipe_chart.leader_words()}")

    @Slot(bool)
    def _on_recipe_toggled(self, shown: bool) -> None:
        self.views.setCurrentWidget(self.recipe_chart if shown else self.plot)
        self.recipe_button.setText("Training curves" if shown else "Recipe comparison")

    def has_model_so_far(self) -> bool:
        """A model exists to keep if the run stopped now: an epoch ended, or the recipe fitted a linear head."""
        return len(self.plot.data["epoch_x"]) > 0 or (self.recipe_chart.chosen is not None and self.epochs == 0)

    def _learning(self) -> bool:
        """Epochs of this phase are under way: the progress bar counts them, not images passed through the
        backbone (which a phase may do before its first batch)."""
        return self.current_phase in (Phase.HEAD, Phase.FINE_TUNE) and self.batches_in_phase > 0

    def _fold_words(self) -> str:
        return f"Fold {self.fold} of {self.k} · " if self.k else ""

    def _on_training_started(self, e: TrainingStarted) -> None:
        self.epochs, self.run_dir, self.fine_tune = e.epochs, e.run_dir, e.fine_tune
        self.head_epochs = (e.head_epochs or e.epochs) if Phase.FINE_TUNE in e.phases else e.epochs
        if not self.k:  # a fold's warnings add up over the cross-validation
            self.data_warnings = []
        self.steps_per_epoch, self.step_offset = e.steps_per_epoch, 0
        self.total_steps = e.epochs * e.steps_per_epoch
        if not self.k or self.fold <= 1:
            self.plot.set_planned_epochs(e.epochs)
        self.device_label.setText(f"Device: {e.device}")

    def _on_fold_started(self, e: FoldStarted) -> None:
        """Each fold is its own run: its own curves (from epoch 1), and the time left counts every fold left."""
        if e.fold > 1:
            self.steps_before_fold += self.total_steps
        self.fold, self.k = e.fold, e.k
        self.plot.reset()
        self.plot.set_title(f"Fold {e.fold} of {e.k}")

    def _on_phase_changed(self, e: PhaseChanged) -> None:
        self.current_phase, self.phase_text = e.phase, e.description
        self.batches_in_phase = 0
        if e.phase == Phase.FINE_TUNE:
            self.plot.mark_phase(e.first_epoch - 1, "fine-tuning starts")
            self.phase_text = "Fine-tuning the backbone"
            self.phase_first_epoch, self.phase_epochs = e.first_epoch, self.epochs - e.first_epoch + 1
        if e.phase == Phase.HEAD:
            self.phase_text = "Training the new head"
            self.phase_first_epoch, self.phase_epochs = max(e.first_epoch, 1), self.head_epochs or self.epochs
        if e.phase in (Phase.PREPARING, Phase.EVALUATING, Phase.SAVING) or e.phase.learning:
            self.progress.setRange(0, 0)
            self.progress.setFormat("")
        if self.messages.stopping:
            return
        self.phase_label.setText(self._fold_words() + e.description + ("" if e.phase.learning else "…"))

    def _on_batches_ended(self, e: BatchesEnded) -> None:
        if self.batches_in_phase == 0 and self.recipe_button.isChecked():  # epochs began: their curves show
            self.recipe_button.setChecked(False)
        self.batches_in_phase += len(e.steps)
        self.plot.add_batches([step + self.step_offset for step in e.steps], e.batch_losses, e.running_accuracy,
                              e.steps_per_epoch)
        now = time.monotonic()
        # Steps over the whole job: a cross-validation is k runs of (about) the same number of steps.
        done = self.steps_before_fold + e.steps[-1]
        total = self.total_steps * max(self.k, 1)
        if self.first_batch_at is None:
            self.first_batch_at, self.first_step = now, done
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(done, total))
        rate_steps = done - self.first_step + 1
        remaining = total - done
        eta = (now - self.first_batch_at) / rate_steps * remaining if rate_steps > 0 else 0
        if self.messages.stopping:
            return
        # Early stopping can end a run before the planned steps: "a few seconds" rather than a precise countdown.
        left = ("finishing" if remaining <= 0 else "a few seconds left" if eta < 10 else
                f"about {format_eta(eta)} left")
        self.progress.setFormat(f"%p%  ·  {left}")
        epoch = e.epoch - self.phase_first_epoch + 1
        of = f"/{self.phase_epochs}" if self.phase_epochs >= epoch else ""
        self.phase_label.setText(f"{self._fold_words()}{self.phase_text}: epoch {epoch}{of} · "
                                 f"loss {e.running_loss[-1]:.3f}")

    def _on_training_finished(self, e: TrainingFinished) -> None:
        self.run_dir = e.run_dir
        if self.k:  # one fold of a cross-validation: the summary over folds is the result (show_crossval)
            return
        words = result_words(e, self.recipe_text, self.data_warnings)
        self.result_label.setText(words.headline)
        self.result_label.setToolTip("Accuracy on held-out test images never used for training")
        self.saved_label.setText(words.detail)
        self.open_button.setVisible(True)
        self.phase_label.setText(words.status)
        self.time_label.setText(f"took {format_eta(e.seconds)}")  # the one duration: what the person waited

    # ---- slots ------------------------------------------------------------------------------------
    @Slot()
    def _on_clock_tick(self) -> None:
        if self.started_at is not None and self.stop_button.isEnabled():
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
                                     (Phase.HEAD, Phase.FINE_TUNE), "imagenet"))
    panel.show_event(PhaseChanged(Phase.HEAD, "Training the new head", first_epoch=1))
    for epoch in range(1, 7):
        if epoch == 5:
            panel.show_event(PhaseChanged(Phase.FINE_TUNE, "Fine-tuning", first_epoch=5))
        steps = tuple(range((epoch - 1) * 10 + 1, epoch * 10 + 1))
        losses = tuple(math.exp(-s / 20) for s in steps)
        panel.show_event(BatchesEnded(epoch, steps, losses, losses, tuple(1 - x / 2 for x in losses), 10))
        panel.show_event(EpochEnded(epoch, Phase.HEAD, math.exp(-epoch / 3), 1 - math.exp(-epoch) / 2,
                                    math.exp(-epoch / 4), 0.9 - math.exp(-epoch) / 2, 1.0))
    panel.resize(900, 700)
    panel.show()
    app.exec()
