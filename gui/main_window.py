"""The main window: wiring only. Panels show things, workers do things, this connects them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QSplitter,
    QTabWidget,
)

from foveal.core.crossval import CrossValResult
from foveal.core.training.config import TrainConfig
from foveal.core.training.events import TrainingFinished
from foveal.gui.compare_wiring import CompareWiring
from foveal.gui.help_menu import HelpMenu
from foveal.gui.project_wiring import ProjectWiring
from foveal.gui.resources import app_icon
from foveal.gui.weights_status import WeightsStatus, imagenet_status
from foveal.gui.widgets.dataset_panel import DatasetPanel
from foveal.gui.widgets.evaluate_panel import EvaluatePanel
from foveal.gui.widgets.model_panel import ModelPanel
from foveal.gui.widgets.predict_panel import PredictPanel
from foveal.gui.widgets.train_panel import TrainPanel
from foveal.gui.window_actions import WindowActions
from foveal.gui.workers.base import start_worker
from foveal.gui.workers.call_worker import CallWorker
from foveal.gui.workers.evaluation_jobs import ModelJobs, write_report
from foveal.gui.workers.scan_worker import ScanWorker
from foveal.gui.workers.train_worker import TrainWorker, real_crossval

log = logging.getLogger("foveal")


def default_runs_dir() -> Path:
    from foveal.core.paths import user_runs_dir

    return user_runs_dir()


class MainWindow(WindowActions, WeightsStatus, QMainWindow):
    """Foveal's single window: data and model on the left, training and evaluation on the right.

    The ``*_fn`` arguments replace the functions that run on worker threads (tests pass TensorFlow-free ones).
    """

    def __init__(self, train_fn: Callable | None = None, settings: QSettings | None = None,
                 runs_dir: Path | None = None, weights_status_fn: Callable | None = None,
                 evaluate_fn: Callable | None = None, explain_fn: Callable | None = None,
                 report_fn: Callable | None = None, predict_fns: dict[str, Callable] | None = None,
                 crossval_fn: Callable | None = None, compare_fn: Callable | None = None) -> None:
        super().__init__()
        self.train_fn = train_fn
        self.crossval_fn = crossval_fn or real_crossval  # k → a train_fn running k-fold cross-validation
        self.jobs = ModelJobs()  # the one owner of the models the Evaluate and Predict views use
        self.evaluate_fn = evaluate_fn or self.jobs.evaluate_run
        self.evaluate_worker: CallWorker | None = None
        self.weights_status_fn = weights_status_fn or imagenet_status
        self.status_worker: CallWorker | None = None
        self._status_timer = QTimer(self)
        self._status_timer.setSingleShot(True)
        self._status_timer.setInterval(400)  # ask once the user has stopped moving through the table
        self._status_timer.timeout.connect(self._on_status_timer)
        self.settings = settings or QSettings("Foveal", "Foveal")
        self.default_runs_dir = runs_dir or default_runs_dir()
        self.runs_dir = self.default_runs_dir
        self.scan_worker: ScanWorker | None = None
        self.old_scans: list[ScanWorker] = []  # cancelled scans, kept until their threads end
        self.train_worker: TrainWorker | None = None
        self.summary = None
        self.closing = False  # the window is closing: a run that ends now starts nothing more
        self.stopping_dialog: QProgressDialog | None = None
        self.setWindowTitle("Foveal")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.dataset_panel, self.model_panel, self.train_panel = DatasetPanel(), ModelPanel(), TrainPanel()
        self.evaluate_panel = EvaluatePanel(explain_fn or self.jobs.explain, report_fn or write_report)
        fns = {"describe_fn": self.jobs.describe_model, "predict_fn": self.jobs.predict_paths,
               "explain_fn": explain_fn or self.jobs.explain, "export_fn": self.jobs.export,
               **(predict_fns or {})}
        self.predict_panel = PredictPanel(**fns)
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
        self.right_tabs.currentChanged.connect(self._on_right_tab_changed)
        self._make_actions()
        self._add_next_buttons()
        self.projects = ProjectWiring(self)
        self.compare = CompareWiring(self, compare_fn)
        runs_step = QAction("6  Runs", self)  # the Runs tab comes with the project side
        runs_step.setShortcut(QKeySequence("Ctrl+6"))
        runs_step.triggered.connect(lambda: self.right_tabs.setCurrentWidget(self.projects.runs_panel))
        self.addAction(runs_step)
        self.step_actions.append(runs_step)
        go = self.menuBar().addMenu("&Go")
        for step in self.step_actions:
            go.addAction(step)
        self.help_menu = HelpMenu(self)
        self.dataset_panel.sig_folder_chosen.connect(self.open_folder)
        self.dataset_panel.sig_scan_cancel.connect(self.cancel_scan)
        self.train_panel.sig_start_requested.connect(self.start_training)
        self.train_panel.sig_stop_requested.connect(self._on_stop_requested)
        self.train_panel.sig_choose_weights.connect(self._on_choose_weights)
        self.train_panel.sig_show_evaluation.connect(self._on_show_evaluation)
        self.evaluate_panel.sig_message.connect(self.statusBar().showMessage)
        self.evaluate_panel.sig_unexpected.connect(self._show_unexpected)
        self.predict_panel.sig_message.connect(self.statusBar().showMessage)
        self.predict_panel.sig_unexpected.connect(self._show_unexpected)
        self.predict_panel.sig_model_changed.connect(self._on_views_changed)
        self.model_panel.sig_backbone_changed.connect(self._status_timer.start)
        self.model_panel.sig_changed.connect(self._on_model_settings_changed)
        self._restore_settings()
        self._update_start_enabled()
        self._status_timer.start()
        self.statusBar().showMessage("Ready — drop a folder of images, or press Ctrl+O")

    # ---- settings -----------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        self.fit_to_screen()
        self.dataset_panel.start_dir = str(self.settings.value("data/last_folder", "") or "")
        backbone = self.settings.value("model/backbone")
        if backbone:
            self.model_panel.select_backbone(str(backbone))

    def _save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("model/backbone", self.model_panel.backbone.name)

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
        self.summary = None
        self._update_start_enabled()
        self.dataset_panel.show_scanning(folder)
        self.statusBar().showMessage(f"Scanning {folder}…")
        worker = ScanWorker(folder)
        worker.sig_progress.connect(self.dataset_panel.show_progress)
        self.scan_worker = start_worker(worker, self._on_scan_finished, self._on_scan_failed)

    @Slot()
    def cancel_scan(self) -> None:
        """Stop the scan under way (its thread ends within a file; it is kept until then)."""
        self.old_scans = [w for w in self.old_scans if w.is_running()]
        if self.scan_worker is not None and self.scan_worker.is_running():
            self.scan_worker.cancel()
            self.old_scans.append(self.scan_worker)
            self.scan_worker = None
            self.dataset_panel.show_error("Reading the folder was stopped. Choose a folder to begin.")
            self.statusBar().showMessage("Reading the folder was stopped")
            self._update_start_enabled()

    @Slot(object)
    def _on_scan_finished(self, summary) -> None:
        if summary is None or self.scan_worker is None or summary.root != str(Path(self.scan_worker.folder)
                                                                               .expanduser()):
            return  # a scan that was cancelled, or replaced by a newer choice
        self.summary = summary
        self.projects.ctl.dataset = summary.root
        if self.projects.ctl.project is None:
            self.projects.ctl.refresh_runs()
        self.dataset_panel.show_summary(summary)
        self.projects.preview_split_soon()
        self.statusBar().showMessage(summary.problem or f"{summary.total} images in {len(summary.classes)} classes")
        self._update_start_enabled()

    @Slot(str, str, bool)
    def _on_scan_failed(self, message: str, details: str, user_error: bool) -> None:
        if self.scan_worker is None or self.sender() is not self.scan_worker:
            return  # a replaced scan's failure is of no interest
        self.dataset_panel.show_error(message)
        self.statusBar().showMessage("The folder could not be read")
        if not user_error:
            self._show_unexpected(message, details)

    def _update_start_enabled(self) -> None:
        training = self.train_worker is not None and self.train_worker.is_running()
        scanning = self.scan_worker is not None and self.scan_worker.is_running()
        ready = self.summary is not None and not self.summary.problem
        why = ("Reading the dataset folder…" if scanning else
               "Choose a dataset folder to begin (step 1, Data)." if self.summary is None else
               f"The dataset cannot be trained on yet: {self.summary.problem}" if self.summary.problem else "")
        self.train_panel.set_ready(ready and not training, why)
        actions = getattr(self, "named_actions", {})
        if actions:
            actions["Start training"].setEnabled(True)  # enabled, so Ctrl+Return can say why it cannot start
            actions["Start training"].setText("Start training" if ready and not training else
                                              "Start training (not ready yet)")
            actions["Stop training"].setEnabled(training)

    # ---- training -----------------------------------------------------------------------------------
    def make_config(self) -> TrainConfig:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        settings = self.model_panel.settings()
        out = self.runs_dir / f"{stamp}-{settings['backbone']}"
        return TrainConfig(self.summary.root, out_dir=str(out), **settings, **self.dataset_panel.settings())

    @Slot()
    def start_training(self) -> None:
        """Start a run (or a cross-validation) with the current settings, when the data is ready."""
        if not self.train_panel.ready:
            return
        self.projects.autosave()
        config = self.projects.ctl.config_for_run(self.make_config(), self.summary)
        if config is None:
            return
        folds = self.model_panel.folds_wanted
        worker = TrainWorker(config, train_fn=self.crossval_fn(folds) if folds >= 3 else self.train_fn)
        worker.sig_event.connect(self._on_train_event)
        self.train_worker = start_worker(worker, self._on_train_finished, self._on_train_failed)
        self.train_panel.set_running(True)
        self._update_start_enabled()
        self.statusBar().showMessage("Training…")

    @Slot()
    def _on_stop_requested(self) -> None:
        if self.train_worker is None or not self.train_worker.is_running():
            return
        answer = QMessageBox.question(self, "Stop training?", "Stop after the current batch? The best model so "
                                      "far is kept and saved.")
        # The run may have ended while the question was open: then there is nothing left to stop.
        if answer == QMessageBox.StandardButton.Yes and self.train_worker.is_running():
            self.train_worker.cancel()
            self.train_panel.show_stopping()

    @Slot(object)
    def _on_train_event(self, event) -> None:
        self.train_panel.show_event(event)

    @Slot(object)
    def _on_train_finished(self, result: TrainingFinished | CrossValResult) -> None:
        self.train_worker.wait()
        self.train_panel.set_running(False)
        self._update_start_enabled()
        if isinstance(result, CrossValResult):  # the mean and spread over folds is the result
            self.train_panel.show_crossval(result.text())
            self.statusBar().showMessage(f"Cross-validation {result.outcome}; folds in {result.folder}")
            self.projects.ctl.refresh_runs()
            return
        self.statusBar().showMessage(f"Training {result.outcome}; run folder: {result.run_dir}")
        self.projects.ctl.run_finished(result.run_dir, self.summary)
        if self.closing:
            return
        if result.model_path:
            self.predict_panel.set_model(result.run_dir)
        if result.model_path and result.test_accuracy is not None:
            self.start_evaluation(result.run_dir)

    # ---- evaluation ---------------------------------------------------------------------------------
    def start_evaluation(self, run_dir: str) -> None:
        """Evaluate a run on its test split off the GUI thread; the Evaluate view fills when it is done."""
        if self.evaluate_worker is not None and self.evaluate_worker.is_running():
            return
        self.evaluate_panel.show_busy(f"Evaluating {run_dir} on its held-out test images…")
        self.train_panel.show_evaluation_state("Evaluating on the held-out test images…")
        self.evaluate_worker = start_worker(CallWorker(self.evaluate_fn, run_dir), self._on_evaluation_finished,
                                            self._on_evaluation_failed)

    @Slot(object)
    def _on_evaluation_finished(self, evaluation) -> None:
        self.evaluate_worker.wait()
        self.evaluate_panel.show_evaluation(evaluation)
        self._on_views_changed()
        self.train_panel.show_evaluation_state("", ready=True)
        self.statusBar().showMessage("Evaluation ready: see what the model got wrong in the Evaluate tab")

    @Slot(str, str, bool)
    def _on_evaluation_failed(self, message: str, details: str, user_error: bool) -> None:
        self.evaluate_worker.wait()
        self.evaluate_panel.show_error(message)
        self.train_panel.show_evaluation_state(f"Evaluation failed: {message}")
        if not user_error:
            self._show_unexpected(message, details)

    @Slot()
    def _on_views_changed(self) -> None:
        """A view shows another model: the models no view shows are released."""
        self.jobs.keep_only([self.evaluate_panel.run_dir(), self.predict_panel.model])

    @Slot(int)
    def _on_right_tab_changed(self, index: int) -> None:
        """The Evaluate view needs the room; data and model settings are not needed while reading it."""
        self._wide = self.right_tabs.widget(index) in (self.evaluate_panel, self.predict_panel,
                                                       self.projects.runs_panel)
        QTimer.singleShot(0, self._apply_split)  # once the new page has taken part in the layout

    @Slot()
    def _apply_split(self) -> None:
        total = sum(self.splitter.sizes())
        share = 0.26 if self._wide else 0.43
        self.splitter.setSizes([int(total * share), total - int(total * share)])

    @Slot()
    def _on_show_evaluation(self) -> None:
        self.right_tabs.setCurrentWidget(self.evaluate_panel)

    @Slot()
    def _on_open_run_action(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a Foveal run folder to evaluate", str(self.runs_dir))
        if folder:
            self.right_tabs.setCurrentWidget(self.evaluate_panel)
            self.start_evaluation(folder)

    @Slot(str, str, bool)
    def _on_train_failed(self, message: str, details: str, user_error: bool) -> None:
        self.train_worker.wait()
        self.train_panel.set_running(False)
        self.train_panel.show_error(message, offer_weights=self.train_worker.error_type == "WeightsError")
        self._update_start_enabled()
        self.statusBar().showMessage("Training could not run")
        if not user_error:
            self._show_unexpected(message, details)

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
        if self.train_worker is not None and self.train_worker.is_running():
            answer = QMessageBox.question(self, "Training is running", "Stop training and close Foveal? The "
                                          "best model so far is kept.")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            self.closing = True
            self.train_worker.cancel()
            self._wait_with_dialog(self.train_worker)
        self.closing = True
        self._status_timer.stop()
        if self.scan_worker is not None:
            self.scan_worker.cancel()
        for worker in (self.scan_worker, self.status_worker, self.evaluate_worker, *self.old_scans):
            if worker is not None:
                worker.wait()
        self.dataset_panel.wait()
        self.evaluate_panel.wait()
        self.predict_panel.wait()
        self.projects.wait()
        self.compare.wait()
        self.projects.autosave()
        self._save_settings()
        # Qt removes the tabs when it deletes the window, after Python has let go of its attributes.
        self.right_tabs.currentChanged.disconnect(self._on_right_tab_changed)
        event.accept()
