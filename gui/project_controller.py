"""Projects in the window: New / Open / Recent, autosave of settings, the fixed split, and the Runs view's data.

A :class:`ProjectController` lives on the GUI thread; the file work it does is small (JSON files written
atomically by core.project). Training itself still goes through the window's worker.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from foveal.core.errors import FovealError
from foveal.core.project import (
    Project,
    adopt_runs,
    create_project,
    dataset_changes,
    delete_run,
    find_runs,
    fix_split,
    has_split,
    list_runs,
    load_project,
    save_project,
    set_run_meta,
)
from foveal.core.split.files import run_split
from foveal.core.training.config import TrainConfig

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
        self.dataset: str | None = None  # the dataset shown: its runs are listed even without a project
        self.run_folders: list[str] = []  # where runs made without a project go (the window's run folders)

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
        if not folder:  # a name for a new folder (created), or an empty one
            folder, _ = QFileDialog.getSaveFileName(
                self.parent(), "Create a project folder (not inside the dataset)",
                str(Path.home() / f"{Path(dataset).name}-project"), "",
                options=QFileDialog.Option.ShowDirsOnly | QFileDialog.Option.DontConfirmOverwrite)
        if not folder:
            return None
        try:
            project = create_project(folder, dataset)
        except FovealError as exc:
            QMessageBox.warning(self.parent(), "Foveal: project", str(exc))
            return None
        self._set(project)
        self.offer_earlier_runs(project)
        return project

    def offer_earlier_runs(self, project: Project) -> int:
        """Runs of the project's dataset made before it existed: offered to the project (they stay where they
        are). Returns how many were adopted."""
        found = find_runs(self.run_folders, project.dataset)
        if not found:
            return 0
        answer = QMessageBox.question(self.parent(), "Foveal: earlier runs",
                                      f"{len(found)} earlier run(s) of this dataset were found. List them in the "
                                      "project? (They stay where they are.)")
        if answer != QMessageBox.StandardButton.Yes:
            return 0
        added = adopt_runs(project, found)
        self.sig_message.emit(f"{added} earlier run(s) added to the project")
        self.refresh_runs()
        return added

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
            self.refresh_runs()
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
        """The project's runs; without a project, every run of the dataset shown (none is left unlisted)."""
        if self.project is not None:
            self.sig_runs_changed.emit(list_runs(self.project))
        elif self.dataset:
            self.sig_runs_changed.emit(list_runs(None, find_runs(self.run_folders, self.dataset)))
        else:
            self.sig_runs_changed.emit([])

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
