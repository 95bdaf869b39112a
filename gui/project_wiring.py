"""The window's project side: File menu (New / Open / Recent / Close project), the Runs tab, autosave, restoring
the last project, and the live split preview with its CSV export. Wiring only; the work is in
:class:`gui.project_controller.ProjectController` and core."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

# Imported here, on the GUI thread at start-up (light: no TensorFlow), so that the preview's worker thread imports
# nothing while a training thread may be importing TensorFlow.
from foveal.core.paths import is_inside
from foveal.core.split.files import write_split_csv
from foveal.core.split.make import Split
from foveal.core.split.preview import split_preview
from foveal.core.training.config import TrainConfig
from foveal.gui.project_controller import ProjectController
from foveal.gui.widgets.runs_panel import RunsPanel
from foveal.gui.workers.base import start_worker
from foveal.gui.workers.call_worker import CallWorker


def split_preview_text(config: TrainConfig) -> tuple[str, Split]:
    """(words for the Data panel, the split) — runs on a worker thread (decodes images for duplicates)."""
    preview = split_preview(config.data_dir, config.split_spec)
    return preview.sentence(), preview.split


class ProjectWiring(QObject):
    """Created by the main window; adds the File menu, the Runs tab and the split preview.

    The window is reached through ``parent()``, never kept in an attribute: a Python reference cycle through a
    window would leave it to the garbage collector, which may then destroy Qt objects on a worker thread.
    """

    @property
    def w(self):
        return self.parent()

    def __init__(self, window) -> None:
        super().__init__(window)
        self.ctl = ProjectController(window, window.settings)
        self.runs_panel = RunsPanel()
        self.ctl.run_folders = [str(window.default_runs_dir)]
        window.right_tabs.addTab(self.runs_panel, "6  Runs")
        self.preview_worker: CallWorker | None = None
        self.preview_split = None
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(600)
        self._preview_timer.timeout.connect(self._on_preview_timer)
        self._make_menu()
        self.ctl.sig_project_changed.connect(self._on_project_changed)
        self.ctl.sig_runs_changed.connect(self._on_runs_changed)
        self.ctl.sig_message.connect(window.statusBar().showMessage)
        self.runs_panel.sig_rename.connect(self.ctl.rename_run)
        self.runs_panel.sig_note.connect(self.ctl.note_run)
        self.runs_panel.sig_delete.connect(self.ctl.delete_run)
        self.runs_panel.sig_open.connect(self._on_open_run)
        window.dataset_panel.sig_split_settings_changed.connect(self._preview_timer.start)
        window.dataset_panel.sig_export_split.connect(self._on_export_split)

    def _make_menu(self) -> None:
        menu = self.w.menuBar().addMenu("&File")
        for text, slot in (("New project…", self._on_new), ("Open project…", self._on_open),
                           ("Close project", self.ctl.close_project)):
            action = QAction(text, self.w)
            action.triggered.connect(slot)
            menu.addAction(action)
        self.recent_menu = menu.addMenu("Recent projects")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        menu.addSeparator()
        for action in self.w.named_actions.values():
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.w.quit_action)

    def restore_last(self) -> None:
        last = self.w.settings.value("projects/last")
        if last and Path(str(last), "project.json").is_file():
            self.ctl.open_project(str(last))

    # ---- project -------------------------------------------------------------------------------------------
    @Slot()
    def _on_new(self) -> None:
        self.ctl.new_project(self.w.summary.root if self.w.summary is not None else None)

    @Slot()
    def _on_open(self) -> None:
        self.ctl.open_project()

    @Slot()
    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for folder in self.ctl.recent():
            action = self.recent_menu.addAction(folder)
            action.setData(folder)
            action.triggered.connect(self._on_recent_chosen)
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    @Slot()
    def _on_recent_chosen(self) -> None:
        self.ctl.open_project(self.sender().data())

    @Slot(object)
    def _on_project_changed(self, project) -> None:
        w = self.w
        if project is None:
            w.setWindowTitle("Foveal")
            w.runs_dir = w.default_runs_dir
            self.ctl.refresh_runs()  # every run of the dataset, without a project too
            return
        w.setWindowTitle(f"Foveal — {Path(project.folder).name}")
        w.runs_dir = project.runs_dir
        s = project.settings
        if s:
            w.model_panel.apply_settings(s)
            w.dataset_panel.apply_settings(s)
        if w.summary is None or os.path.realpath(w.summary.root) != os.path.realpath(project.dataset):
            w.open_folder(project.dataset)

    def autosave(self) -> None:
        """Save the current settings into the open project."""
        if self.ctl.project is None or self.w.summary is None:
            return
        config = self.w.make_config()
        settings = {k: v for k, v in config.to_dict().items() if k not in ("data_dir", "out_dir", "split_file")}
        self.ctl.autosave(settings)

    @Slot(list)
    def _on_runs_changed(self, rows: list) -> None:
        name = Path(self.ctl.project.folder).name if self.ctl.project else ""
        self.runs_panel.show_runs(rows, name)

    @Slot(str)
    def _on_open_run(self, folder: str) -> None:
        self.w.right_tabs.setCurrentWidget(self.w.evaluate_panel)
        self.w.start_evaluation(folder)

    # ---- split preview --------------------------------------------------------------------------------------
    def preview_split_soon(self) -> None:
        """Work out the split preview again once the settings have stopped changing (600 ms)."""
        self._preview_timer.start()

    @Slot()
    def _on_preview_timer(self) -> None:
        w = self.w
        if w.summary is None or w.summary.problem:
            return
        if self.preview_worker is not None and self.preview_worker.is_running():
            self._preview_timer.start()
            return
        config = dataclasses.replace(w.make_config(), out_dir=None)
        w.dataset_panel.show_split_preview("Working out the split…", ready=False)
        self.preview_worker = start_worker(CallWorker(split_preview_text, config), self._on_preview_ready,
                                           self._on_preview_failed)

    @Slot(object)
    def _on_preview_ready(self, result) -> None:
        self.preview_worker.wait()
        text, self.preview_split = result
        self.w.dataset_panel.show_split_preview(text)

    @Slot(str, str, bool)
    def _on_preview_failed(self, message: str, details: str, user_error: bool) -> None:
        self.preview_worker.wait()
        self.preview_split = None
        self.w.dataset_panel.show_split_preview(message, ok=False)

    @Slot()
    def _on_export_split(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.w, "Export the split as CSV", "split.csv", "CSV files (*.csv)")
        if path:
            self.export_split(path)

    def export_split(self, path: str) -> bool:
        if is_inside(path, self.w.summary.root) or self.preview_split is None:
            self.w.statusBar().showMessage(f"Not saved: {path} is inside the dataset folder, which Foveal never "
                                           "writes to." if self.preview_split is not None else "No split yet.")
            return False
        write_split_csv(self.preview_split, path)
        self.w.statusBar().showMessage(f"Split written to {path}")
        return True

    def wait(self) -> None:
        self._preview_timer.stop()  # the window is closing: no new preview
        if self.preview_worker is not None:
            self.preview_worker.wait()
