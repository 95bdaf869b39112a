"""The main window: wiring only. Panels show things, workers do things, this connects them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Slot
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QSplitter, QTabWidget

from foveal.core.crossval import CrossValResult
from foveal.core.data.scan import DatasetSummary
from foveal.core.evaluation.evaluate import Evaluation
from foveal.core.training.config import TrainConfig
from foveal.core.training.events import Event, TrainingFinished
from foveal.gui.compare_wiring import CompareWiring
from foveal.gui.help_menu import HelpMenu
from foveal.gui.label_wiring import LabelWiring
from foveal.gui.project_wiring import ProjectWiring
from foveal.gui.remembered import Remembered
from foveal.gui.resources import app_icon
from foveal.gui.search_wiring import SearchWiring
from foveal.gui.session import Session
from foveal.gui.weights_status import WeightsStatus
from foveal.gui.widgets.dataset_panel import DatasetPanel
from foveal.gui.widgets.evaluate_panel import EvaluatePanel
from foveal.gui.widgets.model_panel import ModelPanel
from foveal.gui.widgets.predict_panel import PredictPanel
from foveal.gui.widgets.train_panel import TrainPanel
from foveal.gui.window_actions import WindowActions
from foveal.gui.workers.call_worker import CallWorker
from foveal.gui.workers.evaluation_jobs import ModelJobs, write_report
from foveal.gui.workers.jobs import JobRunner
from foveal.gui.workers.scan_worker import ScanWorker
from foveal.gui.workers.train_worker import TrainWorker, real_crossval

log = logging.getLogger("foveal")


#: The window's own jobs, by name in its runner.
SCAN, TRAINING, EVALUATION = "scan", "training", "evaluation"


class MainWindow(QMainWindow):
    """Foveal's single window: data and model on the left, training and evaluation on the right.

    What the panels share is in :attr:`session`; every thread the window, its panels and its controllers start is
    stopped and waited for by :attr:`runner`'s one ``shutdown()``. The ``*_fn`` arguments replace the functions
    that run on worker threads (tests pass TensorFlow-free ones)."""

    def __init__(self, train_fn: Callable | None = None, settings: QSettings | None = None,
                 runs_dir: Path | None = None, weights_status_fn: Callable | None = None,
                 evaluate_fn: Callable | None = None, explain_fn: Callable | None = None,
                 report_fn: Callable | None = None, predict_fns: dict[str, Callable] | None = None,
                 crossval_fn: Callable | None = None, compare_fn: Callable | None = None,
                 weights_fit_fn: Callable | None = None) -> None:
        super().__init__()
        self.train_fn = train_fn
        self.crossval_fn = crossval_fn or real_crossval  # k → a train_fn running k-fold cross-validation
        self.jobs = ModelJobs()  # the one owner of the models the Evaluate and Predict views use
        self.evaluate_fn = evaluate_fn or self.jobs.evaluate_run
        self.settings = settings or QSettings("Foveal", "Foveal")
        self.session = Session(runs_dir, self)
        self.runner = JobRunner(self)  # scans, training, evaluation; the other owners' runners are adopted
        self.setWindowTitle("Foveal")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._make_panels(explain_fn or self.jobs.explain, report_fn or write_report, predict_fns or {})
        self._make_controllers(weights_status_fn, compare_fn)
        self.weights_status.fit_fn = weights_fit_fn or self.weights_status.fit_fn  # tests: a TensorFlow-free check
        self._connect()
        self._restore_settings()
        self._update_start_enabled()
        self.weights_status.check_soon()
        self.statusBar().showMessage("Ready — drop a folder of images, or press Ctrl+O")

    def _make_panels(self, explain_fn: Callable, report_fn: Callable, predict_fns: dict[str, Callable]) -> None:
        self.dataset_panel, self.model_panel, self.train_panel = DatasetPanel(), ModelPanel(), TrainPanel()
        self.evaluate_panel = EvaluatePanel(explain_fn, report_fn)
        fns: dict[str, Callable] = {"describe_fn": self.jobs.describe_model, "predict_fn": self.jobs.predict_paths,
               "explain_fn": explain_fn, "export_fn": self.jobs.export, **predict_fns}
        self.predict_panel = PredictPanel(fns["describe_fn"], fns["predict_fn"], fns["explain_fn"], fns["export_fn"])
        self.tabs = QTabWidget()
        self.tabs.addTab(self.dataset_panel, "1  Data")
        self.tabs.addTab(self.model_panel, "2  Model")
        self.right_tabs = QTabWidget()
        self.right_tabs.addTab(self.train_panel, "3  Train")
        self.right_tabs.addTab(self.evaluate_panel, "4  Evaluate")
        self.right_tabs.addTab(self.predict_panel, "5  Predict")
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(self.right_tabs)
        self.splitter.setSizes([520, 680])
        self.setCentralWidget(self.splitter)

    def _make_controllers(self, weights_status_fn: Callable | None, compare_fn: Callable | None) -> None:
        """Menus (File, Go, Help, in that order), the step shortcuts and Next buttons, projects, comparisons and
        the weights check; their runners end with the window's."""
        self.window_actions = WindowActions(self)
        self.search = SearchWiring(self)  # quick / thorough / everything on the Train view, with their times
        self.window_actions.add_steps([(self.tabs, self.dataset_panel), (self.tabs, self.model_panel),
                                       (self.right_tabs, self.train_panel), (self.right_tabs, self.evaluate_panel),
                                       (self.right_tabs, self.predict_panel)])
        self.window_actions.add_next_buttons([(self.dataset_panel, self.dataset_panel.export_split_button),
                                              (self.model_panel, self.model_panel.devices)],
                                             self.train_panel.start_button)
        panels = (self.dataset_panel, self.model_panel)
        self.projects = ProjectWiring(self, self.session, self.settings, self.window_actions, panels,
                                      self.make_config)
        self.right_tabs.addTab(self.projects.runs_panel, "6  Runs")
        self.window_actions.add_steps([(self.right_tabs, self.projects.runs_panel)])
        go = self.menuBar().addMenu("&Go")
        go.addActions(self.window_actions.step_actions)
        self.help_menu = HelpMenu(self)
        self.weights_status = WeightsStatus(self.session, self.model_panel, self.train_panel, weights_status_fn, self)
        self.compare = CompareWiring(self, self.session, panels, self.tabs, compare_fn)
        self.labelling = LabelWiring(self)  # the Label view, tab 7
        for owner in (self.dataset_panel.thumbs, self.predict_panel.runner, self.projects.runner,
                      self.weights_status.runner, self.compare, self.evaluate_panel.runner):
            self.runner.adopt(owner)

    def _connect(self) -> None:
        named = self.window_actions.named
        for text, slot in (("Open dataset folder…", self._on_open_action), ("Start training", self._on_start_action),
                           ("Stop training", self._on_stop_requested),
                           ("Open run folder to evaluate…", self._on_open_run_action),
                           ("Compare backbones…", self.compare.open), ("Export model…", self._on_export_action)):
            named[text].triggered.connect(slot)
        self.session.sig_summary_changed.connect(self._on_summary_changed)
        self.session.sig_training_changed.connect(self._update_start_enabled)
        self.model_panel.sig_changed.connect(self._update_start_enabled)  # a weights file that does not fit
        wide = (self.evaluate_panel, self.predict_panel, self.projects.runs_panel, self.labelling.panel)
        self.window_actions.widen_for(self.splitter, self.right_tabs, wide)
        self.dataset_panel.sig_folder_chosen.connect(self.open_folder)
        self.dataset_panel.sig_scan_cancel.connect(self.cancel_scan)
        self.projects.sig_dataset_wanted.connect(self.open_folder)
        self.projects.runs_panel.sig_open.connect(self._on_open_run)
        self.train_panel.sig_start_requested.connect(self.start_training)
        self.train_panel.sig_stop_requested.connect(self._on_stop_requested)
        self.train_panel.sig_choose_weights.connect(self._on_choose_weights)
        self.train_panel.sig_show_evaluation.connect(self._on_show_evaluation)
        self.evaluate_panel.sig_message.connect(self.statusBar().showMessage)
        self.evaluate_panel.sig_unexpected.connect(self._show_unexpected)
        self.predict_panel.sig_message.connect(self.statusBar().showMessage)
        self.predict_panel.sig_unexpected.connect(self._show_unexpected)
        self.predict_panel.sig_model_changed.connect(self._on_views_changed)

    # ---- settings -----------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        if not self.restoreGeometry(self.settings.value("window/geometry") or b""):
            self.resize(1280, 800)
        self.window_actions.fit_to_screen()
        self.dataset_panel.start_dir = str(self.settings.value("data/last_folder", "") or "")
        self.remembered = Remembered(self.settings, self.model_panel, self)  # the model settings last used

    def reopen_last_folder(self) -> None:
        """At start, when no project brought its dataset: the folder last opened, while it is still there."""
        if self.session.summary is None and not self.runner.is_running(SCAN) and self.remembered.last_folder():
            self.open_folder(str(self.remembered.last_folder()))

    # ---- data ---------------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt override)
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and Path(urls[0].toLocalFile()).is_dir():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.open_folder(event.mimeData().urls()[0].toLocalFile())

    @Slot()
    def _on_open_action(self) -> None:
        self.tabs.setCurrentWidget(self.dataset_panel)
        self.dataset_panel.choose_folder()

    @Slot(str)
    def open_folder(self, folder: str) -> None:
        """Scan ``folder`` off the GUI thread and show it (a dataset to train on). A scan still under way is
        cancelled: the latest choice wins."""
        self.cancel_scan()
        self.settings.setValue("data/last_folder", folder)
        self.session.set_summary(None)
        self._update_start_enabled()
        self.dataset_panel.show_scanning(folder)
        self.statusBar().showMessage(f"Scanning {folder}…")
        worker = ScanWorker(folder)
        worker.sig_progress.connect(self.dataset_panel.show_progress)
        self.runner.start(SCAN, worker, self._on_scan_finished, self._on_scan_failed)

    @Slot()
    def cancel_scan(self) -> None:
        """Stop the scan under way (its thread ends within a file; the runner keeps it until then)."""
        if self.runner.is_running(SCAN):
            self.runner.discard(SCAN)
            self.dataset_panel.show_error("Reading the folder was stopped. Choose a folder to begin.")
            self.statusBar().showMessage("Reading the folder was stopped")
            self._update_start_enabled()

    @Slot(object)
    def _on_scan_finished(self, summary: DatasetSummary | None) -> None:
        worker = self.runner.worker(SCAN)
        if summary is None or not isinstance(worker, ScanWorker) or summary.root != str(Path(worker.folder)
                                                                                           .expanduser()):
            return  # a scan that was cancelled, or replaced by a newer choice
        self.session.set_summary(summary)

    @Slot(object)
    def _on_summary_changed(self, summary: DatasetSummary | None) -> None:
        """The session's dataset changed: show it, preview its split, say whether it can be trained on."""
        if summary is not None:
            self.dataset_panel.show_summary(summary)
            self.projects.preview_split_soon()
            self.statusBar().showMessage(summary.problem or
                                         f"{summary.total} images in {len(summary.classes)} classes")
        self._update_start_enabled()

    @Slot(str, str, bool)
    def _on_scan_failed(self, message: str, details: str, user_error: bool) -> None:
        if self.sender() is not self.runner.worker(SCAN):
            return  # a replaced scan's failure is of no interest
        self.dataset_panel.show_error(message)
        self.statusBar().showMessage("The folder could not be read")
        if not user_error:
            self._show_unexpected(message, details)

    @Slot()
    def _update_start_enabled(self) -> None:
        """Start, Stop and the words before Start follow the dataset, the scan and the run under way."""
        training, summary = self.session.training, self.session.summary
        weights = self.model_panel.weights_not_ready
        ready = self.session.trainable and not weights
        why = ("Reading the dataset folder…" if self.runner.is_running(SCAN) else
               "Choose a dataset folder to begin (step 1, Data)." if summary is None else
               f"The dataset cannot be trained on yet: {summary.problem}" if summary.problem else weights)
        self.train_panel.messages.set_ready(ready and not training, why)
        self.window_actions.show_training_state(ready, training)

    # ---- training -----------------------------------------------------------------------------------
    def make_config(self) -> TrainConfig:
        """The settings on screen as a new run's config (a dataset must be loaded)."""
        summary = self.session.summary
        if summary is None:
            raise RuntimeError("No dataset is loaded: there is nothing to configure a run on.")
        settings = {**self.model_panel.settings(), "search": self.search.chosen}  # quick / thorough / everything
        out = self.session.runs_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{settings['backbone']}"
        return TrainConfig(summary.root, out_dir=str(out), **settings, **self.dataset_panel.settings())

    @Slot()
    def _on_start_action(self) -> None:
        """Ctrl+Return: start, or say why not."""
        if not self.train_panel.ready:
            self.statusBar().showMessage("Training is already running." if self.session.training else
                                         f"Cannot start yet: {self.train_panel.messages.why_not_ready}")
            return
        self.start_training()

    @Slot()
    def start_training(self) -> None:
        """Start a run (or a cross-validation) with the current settings, when the data is ready."""
        summary = self.session.summary
        if not self.train_panel.ready or summary is None:
            return
        self.projects.autosave()
        config = self.projects.ctl.config_for_run(self.make_config(), summary)
        if config is None:
            return
        folds = self.model_panel.folds_wanted
        worker = TrainWorker(config, train_fn=self.crossval_fn(folds) if folds >= 3 else self.train_fn)
        worker.sig_event.connect(self._on_train_event)
        if self.runner.start(TRAINING, worker, self._on_train_finished, self._on_train_failed) is None:
            return  # the window is closing
        self.train_panel.set_running(True)
        self.session.set_training(True)
        self.statusBar().showMessage("Training…")

    @Slot()
    def _on_stop_requested(self) -> None:
        worker = self.runner.worker(TRAINING)
        if worker is None or not worker.is_running():
            return
        answer = QMessageBox.question(self, "Stop training?", "Stop after the current batch? The best model so "
                                      "far is kept and saved.")
        # The run may have ended while the question was open: then there is nothing left to stop.
        if answer == QMessageBox.StandardButton.Yes and worker.is_running():
            worker.cancel()
            self.train_panel.messages.show_stopping(self.train_panel.has_model_so_far())

    @Slot(object)
    def _on_train_event(self, event: Event) -> None:
        self.train_panel.show_event(event)

    @Slot(object)
    def _on_train_finished(self, result: TrainingFinished | CrossValResult) -> None:
        self.train_panel.set_running(False)
        self.session.set_training(False)
        if isinstance(result, CrossValResult):  # the mean and spread over folds is the result
            self.train_panel.show_crossval(result.text())
            self.statusBar().showMessage(f"Cross-validation {result.outcome}; folds in {result.folder}")
            self.projects.ctl.refresh_runs()
            return
        self.statusBar().showMessage(f"Training {result.outcome}; run folder: {result.run_dir}")
        self.session.set_run(result.run_dir)  # the project fixes its split on it, the Runs view lists it
        if self.runner.closing:
            return  # a run that ends as the window closes starts nothing more
        if result.model_path:
            self.predict_panel.set_model(result.run_dir)
        if result.model_path and result.test_accuracy is not None:
            self.start_evaluation(result.run_dir)

    @Slot(str, str, bool)
    def _on_train_failed(self, message: str, details: str, user_error: bool) -> None:
        worker = self.runner.worker(TRAINING)
        self.train_panel.set_running(False)
        weights = worker is not None and worker.error_type == "WeightsError"
        self.train_panel.messages.show_error(message, offer_weights=weights)
        self.session.set_training(False)
        self.statusBar().showMessage("Training could not run")
        if not user_error:
            self._show_unexpected(message, details)

    @Slot()
    def _on_choose_weights(self) -> None:
        self.tabs.setCurrentWidget(self.model_panel)
        self.model_panel.choose_weights_file()

    # ---- evaluation ---------------------------------------------------------------------------------
    def start_evaluation(self, run_dir: str) -> None:
        """Evaluate a run on its test split off the GUI thread; the Evaluate view fills when it is done."""
        if self.runner.is_running(EVALUATION) or self.runner.closing:
            return
        self.evaluate_panel.show_busy(f"Evaluating {run_dir} on its held-out test images…")
        self.train_panel.show_evaluation_state("Evaluating on the held-out test images…")
        self.runner.start(EVALUATION, CallWorker(self.evaluate_fn, run_dir), self._on_evaluation_finished,
                          self._on_evaluation_failed)

    @Slot(object)
    def _on_evaluation_finished(self, evaluation: Evaluation) -> None:
        self.evaluate_panel.show_evaluation(evaluation)
        self._on_views_changed()
        self.train_panel.show_evaluation_state("", ready=True)
        self.statusBar().showMessage("Evaluation ready: see what the model got wrong in the Evaluate tab")

    @Slot(str, str, bool)
    def _on_evaluation_failed(self, message: str, details: str, user_error: bool) -> None:
        self.evaluate_panel.show_error(message)
        self.train_panel.show_evaluation_state(f"Evaluation failed: {message}")
        if not user_error:
            self._show_unexpected(message, details)

    @Slot()
    def _on_views_changed(self) -> None:
        """A view shows another model: the models no view shows are released."""
        self.jobs.keep_only([self.evaluate_panel.run_dir(), self.predict_panel.model])

    @Slot()
    def _on_show_evaluation(self) -> None:
        self.right_tabs.setCurrentWidget(self.evaluate_panel)

    @Slot()
    def _on_open_run_action(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a Foveal run folder to evaluate",
                                                  str(self.session.runs_dir))
        if folder:
            self._on_open_run(folder)

    @Slot(str)
    def _on_open_run(self, folder: str) -> None:
        self.right_tabs.setCurrentWidget(self.evaluate_panel)
        self.start_evaluation(folder)

    @Slot()
    def _on_export_action(self) -> None:
        self.right_tabs.setCurrentWidget(self.predict_panel)
        self.predict_panel.choose_export()

    def _show_unexpected(self, message: str, details: str) -> None:
        log.error("Unexpected error: %s\n%s", message, details)
        box = QMessageBox(QMessageBox.Icon.Critical, "Foveal: unexpected error",
                          f"Something went wrong that Foveal did not expect:\n\n{message}", parent=self)
        box.setDetailedText(details)
        box.exec()

    # ---- closing ------------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        training = self.runner.worker(TRAINING)
        if training is not None and training.is_running():
            answer = QMessageBox.question(self, "Training is running", "Stop training and close Foveal? The "
                                          "best model so far is kept.")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            self.runner.close()  # the run is asked to stop; nothing new starts
            self.window_actions.wait_with_dialog(training)
        self.runner.shutdown()  # every thread of the window, its panels and controllers
        self.projects.autosave()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.remembered.save()
        self.window_actions.stop_widening()
        event.accept()
