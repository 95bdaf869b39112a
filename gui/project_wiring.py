"""The window's project side: File menu (New / Open / Recent / Close project), the Runs tab, autosave, restoring
the last project, and the live split preview with its CSV export. Wiring only; the work is in
:class:`gui.project_controller.ProjectController` and core, the shared state in :class:`gui.session.Session`."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, QTimer, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMainWindow

# Imported here, on the GUI thread at start-up (light: no TensorFlow), so that the preview's worker thread imports
# nothing while a training thread may be importing TensorFlow.
from foveal.core.paths import is_inside
from foveal.core.project import Project
from foveal.core.split.files import write_split_csv
from foveal.core.split.make import SPLITS, Split
from foveal.core.split.preview import split_preview
from foveal.core.training.config import TrainConfig
from foveal.gui.project_controller import ProjectController
from foveal.gui.session import Session
from foveal.gui.widgets.dataset_panel import DatasetPanel
from foveal.gui.widgets.model_panel import ModelPanel
from foveal.gui.widgets.runs_panel import RunsPanel
from foveal.gui.window_actions import WindowActions
from foveal.gui.workers.call_worker import CallWorker
from foveal.gui.workers.jobs import JobRunner


def split_preview_text(config: TrainConfig) -> tuple[str, Split, tuple]:
    """(words for the Data panel, the split, its sets of copies) — runs on a worker thread (decodes images for
    the copies)."""
    preview = split_preview(config.data_dir, config.split_spec)
    return preview.sentence(), preview.split, preview.copies


class ProjectWiring(QObject):
    """Created by the main window; adds the File menu, the Runs tab and the split preview.

    The window is reached through ``parent()``, never kept in an attribute: a Python reference cycle through a
    window would leave it to the garbage collector, which may then destroy Qt objects on a worker thread.
    """

    sig_dataset_wanted = Signal(str)
    """The project opened is about this dataset folder, which is not the one shown: it is to be read."""

    def __init__(self, window: QMainWindow, session: Session, settings: QSettings, actions: WindowActions,
                 panels: tuple[DatasetPanel, ModelPanel], make_config: Callable[[], TrainConfig]) -> None:
        super().__init__(window)
        self.session = session
        self.settings = settings
        self.dataset_panel, self.model_panel = panels
        self.make_config = make_config  # the settings on screen, as a run's config
        self.ctl = ProjectController(session, settings, window)
        self.runs_panel = RunsPanel()
        self.runner = JobRunner(self)  # the split preview
        self.preview_split: Split | None = None
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(600)
        self._preview_timer.timeout.connect(self._on_preview_timer)
        self._make_menu(window, actions)
        session.sig_project_changed.connect(self._on_project_changed)
        self.ctl.sig_runs_changed.connect(self._on_runs_changed)
        self.ctl.sig_message.connect(window.statusBar().showMessage)
        self.runs_panel.sig_rename.connect(self.ctl.rename_run)
        self.runs_panel.sig_note.connect(self.ctl.note_run)
        self.runs_panel.sig_delete.connect(self.ctl.delete_run)
        self.dataset_panel.sig_split_settings_changed.connect(self._preview_timer.start)
        self.dataset_panel.sig_export_split.connect(self._on_export_split)

    def _window(self) -> QMainWindow:
        window = self.parent()
        assert isinstance(window, QMainWindow)
        return window

    def _make_menu(self, window: QMainWindow, actions: WindowActions) -> None:
        menu = window.menuBar().addMenu("&File")
        for text, slot in (("New project…", self._on_new), ("Open project…", self._on_open),
                           ("Close project", self.ctl.close_project)):
            action = QAction(text, window)
            action.triggered.connect(slot)
            menu.addAction(action)
        self.recent_menu = menu.addMenu("Recent projects")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        menu.addSeparator()
        for action in actions.named.values():
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(actions.quit_action)

    def restore_last(self) -> None:
        last = self.settings.value("projects/last")
        if last and Path(str(last), "project.json").is_file():
            self.ctl.open_project(str(last))

    # ---- project -------------------------------------------------------------------------------------------
    @Slot()
    def _on_new(self) -> None:
        summary = self.session.summary
        self.ctl.new_project(summary.root if summary is not None else None)

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
        action = self.sender()
        if isinstance(action, QAction):
            self.ctl.open_project(str(action.data()))

    @Slot(object)
    def _on_project_changed(self, project: Project | None) -> None:
        window = self._window()
        if project is None:
            window.setWindowTitle("Foveal")
            return
        window.setWindowTitle(f"Foveal — {Path(project.folder).name}")
        s = project.settings
        if s:
            self.model_panel.apply_settings(s)
            self.dataset_panel.apply_settings(s)
        summary = self.session.summary
        if summary is None or os.path.realpath(summary.root) != os.path.realpath(project.dataset):
            self.sig_dataset_wanted.emit(project.dataset)

    def autosave(self) -> None:
        """Save the current settings into the open project."""
        if self.session.project is None or self.session.summary is None:
            return
        config = self.make_config()
        settings = {k: v for k, v in config.to_dict().items() if k not in ("data_dir", "out_dir", "split_file")}
        self.ctl.autosave(settings)

    @Slot(list)
    def _on_runs_changed(self, rows: list) -> None:
        project = self.session.project
        self.runs_panel.show_runs(rows, Path(project.folder).name if project is not None else "")

    # ---- split preview --------------------------------------------------------------------------------------
    def preview_split_soon(self) -> None:
        """Work out the split preview again once the settings have stopped changing (600 ms)."""
        self._preview_timer.start()

    @Slot()
    def _on_preview_timer(self) -> None:
        if not self.session.trainable or self.runner.closing:
            return
        if self.runner.is_running("preview"):
            self._preview_timer.start()
            return
        config = dataclasses.replace(self.make_config(), out_dir=None)
        self.dataset_panel.show_split_preview("Working out the split…", ready=False)
        self.runner.start("preview", CallWorker(split_preview_text, config), self._on_preview_ready,
                          self._on_preview_failed)

    @Slot(object)
    def _on_preview_ready(self, result: tuple[str, Split, tuple]) -> None:
        text, self.preview_split, copies = result
        self.dataset_panel.show_split_preview(text)
        split_of = {r.rel: name for name in SPLITS for r in self.preview_split.of(name)}
        summary = self.session.summary
        self.dataset_panel.set_copies(summary.root if summary is not None else "", copies, split_of)

    @Slot(str, str, bool)
    def _on_preview_failed(self, message: str, details: str, user_error: bool) -> None:
        self.preview_split = None
        self.dataset_panel.show_split_preview(message, ok=False)

    @Slot()
    def _on_export_split(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self._window(), "Export the split as CSV", "split.csv",
                                              "CSV files (*.csv)")
        if path:
            self.export_split(path)

    def export_split(self, path: str) -> bool:
        """Write the split shown as CSV at ``path``; said inside the Data view, with Open and Show in folder."""
        summary, done = self.session.summary, self.dataset_panel.done
        if self.preview_split is None or summary is None:
            done.show_problem("There is no split yet: choose a dataset folder first.")
            return False
        if is_inside(path, summary.root):
            done.show_problem(f"{path} is inside the dataset folder, which Foveal never writes to. Choose another "
                              "place.")
            return False
        write_split_csv(self.preview_split, path)
        done.show_done(f"Split written to {path}", path)
        return True
