"""Projects in the window: New / Open / Recent, autosave of settings, the fixed split, and the Runs view's data.

A :class:`ProjectController` lives on the GUI thread; the file work it does is small (JSON files written
atomically by core.project). Training itself still goes through the window's worker.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from core.errors import FovealError
from core.project import (
    Project,
    create_project,
    dataset_changes,
    delete_run,
    fix_split,
    has_split,
    list_runs,
    load_project,
    save_project,
    set_run_meta,
)
from core.split.files import run_split
from core.training.config import TrainConfig

MAX_RECENT = 8


class ProjectController(QObject):
    """Owns the open project (or none)."""

    sig_project_changed = Signal(object)
    """The open project (a core.project.Project) or None."""
    sig_runs_changed = Signal(list)
    """The project's runs (core.project.list_runs rows)."""
    sig_message = Signal(str)
    """A line for the status bar."""

    def __init__(self, parent: QWidget, settings: QSettings) -> None:
        super().__init__(parent)
        self.settings = settings
        self.project: Project | None = None
        self._new_split_wanted = False

    # ---- opening -------------------------------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = self.settings.value("projects/recent", []) or []
        items = value if isinstance(value, list) else [value]
        return [str(v) for v in items if Path(str(v), "project.json").is_file()]

    def _remember(self, folder: str) -> None:
        items = [folder] + [r for r in self.recent() if r != folder]
        self.settings.setValue("projects/recent", items[:MAX_RECENT])
        self.settings.setValue("projects/last", folder)

    def new_project(self, dataset: str | None, folder: str | None = None) -> Project | None:
        if not dataset:
            self.sig_message.emit("Choose the dataset folder first; a project belongs to one dataset.")
            return None
        folder = folder or QFileDialog.getExistingDirectory(self.parent(), "Choose an empty folder for the project "
                                                            "(not inside the dataset)")
        if not folder:
            return None
        try:
            project = create_project(folder, dataset)
        except FovealError as exc:
            QMessageBox.warning(self.parent(), "Foveal: project", str(exc))
            return None
        return self._set(project)

    def open_project(self, folder: str | None = None) -> Project | None:
        folder = folder or QFileDialog.getExistingDirectory(self.parent(), "Open a Foveal project folder")
        if not folder:
            return None
        try:
            project = load_project(folder)
        except FovealError as exc:
            QMessageBox.warning(self.parent(), "Foveal: project", str(exc))
            return None
        return self._set(project)

    def close_project(self) -> None:
        self.project = None
        self.sig_project_changed.emit(None)

    def _set(self, project: Project) -> Project:
        self.project = project
        self._new_split_wanted = False
        self._remember(project.folder)
        self.sig_project_changed.emit(project)
        self.refresh_runs()
        self.sig_message.emit(f"Project {project.folder} (dataset {project.dataset})")
        return project

    # ---- settings and training ---------------------------------------------------------------------------
    def autosave(self, settings: dict) -> None:
        """Save the window's current settings into the project (atomically)."""
        if self.project is not None and settings != self.project.settings:
            self.project.settings = settings
            save_project(self.project)

    def config_for_run(self, config: TrainConfig, summary) -> TrainConfig | None:
        """The config of a run in this project: saved under its runs/, on its fixed split. None: cancelled.

        When the dataset changed since the split was made, the user chooses between keeping the old split for
        the old files and making a new one; it never silently mixes.
        """
        p = self.project
        if p is None:
            return config
        config = dataclasses.replace(config, out_dir=str(p.runs_dir / Path(config.out_dir).name))
        if not has_split(p) or self._new_split_wanted:
            self._new_split_wanted = True  # made by this run, then fixed (see run_finished)
            return config
        changes = dataset_changes(p, summary)
        if changes.changed:
            box = QMessageBox(QMessageBox.Icon.Question, "The dataset changed", changes.describe(),
                              parent=self.parent())
            keep = box.addButton("Keep the old split (old files only)", QMessageBox.ButtonRole.AcceptRole)
            new = box.addButton("Make a new split", QMessageBox.ButtonRole.DestructiveRole)
            box.addButton(QMessageBox.StandardButton.Cancel)
            box.exec()
            if box.clickedButton() is new:
                self._new_split_wanted = True
                return config
            if box.clickedButton() is not keep:
                return None
        return dataclasses.replace(config, split_file=str(p.split_path))

    def run_finished(self, run_dir: str, summary) -> None:
        """After a run: fix its split as the project's when the project had none (or asked for a new one)."""
        p = self.project
        if p is None:
            return
        if self._new_split_wanted and (Path(run_dir) / "run.json").is_file():
            fix_split(p, summary, run_split(run_dir), from_run=Path(run_dir).name)
            self._new_split_wanted = False
            self.sig_message.emit("The project's split is now fixed: later runs use the same files for testing.")
        self.refresh_runs()

    # ---- runs ------------------------------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        self.sig_runs_changed.emit(list_runs(self.project) if self.project else [])

    def rename_run(self, run_id: str, name: str) -> None:
        set_run_meta(self.project, run_id, name=name)
        self.refresh_runs()

    def note_run(self, run_id: str, note: str) -> None:
        set_run_meta(self.project, run_id, note=note)
        self.refresh_runs()

    def delete_run(self, run_id: str) -> None:
        delete_run(self.project, run_id)
        self.sig_message.emit(f"Deleted run {run_id}")
        self.refresh_runs()
