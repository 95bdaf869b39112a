"""Projects in the window: New / Open / Recent, autosave of settings, the fixed split, and the Runs view's data.

A :class:`ProjectController` lives on the GUI thread; the file work it does is small (JSON files written
atomically by core.project). The open project is the session's (:class:`gui.session.Session`): the controller sets
it, and follows the session's dataset and runs. Training itself still goes through the window's worker.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from foveal.core.data.scan import DatasetSummary
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
from foveal.gui.session import Session

MAX_RECENT = 8


class ProjectController(QObject):
    """Opens, creates and closes projects (the session holds the open one) and lists the runs the Runs view
    shows: the project's, or without one every run of the dataset shown."""

    sig_runs_changed = Signal(list)
    """The project's runs (core.project.list_runs rows)."""
    sig_message = Signal(str)
    """A line for the status bar."""

    def __init__(self, session: Session, settings: QSettings, parent: QWidget) -> None:
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self._new_split_wanted = False
        self._dataset: str | None = None  # the dataset last shown: its runs are listed even while another loads
        session.sig_summary_changed.connect(self._on_summary_changed)
        session.sig_run_changed.connect(self._on_run_changed)

    def _dialog_parent(self) -> QWidget | None:
        """The window, for dialogs (reached through Qt's parent, never kept: no reference cycle through it)."""
        parent = self.parent()
        return parent if isinstance(parent, QWidget) else None

    def _run_folders(self) -> list[str | os.PathLike[str]]:
        """Where runs made without a project go."""
        return [self.session.default_runs_dir]

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
                self._dialog_parent(), "Create a project folder (not inside the dataset)",
                str(Path.home() / f"{Path(dataset).name}-project"), "",
                options=QFileDialog.Option.ShowDirsOnly | QFileDialog.Option.DontConfirmOverwrite)
        if not folder:
            return None
        try:
            project = create_project(folder, dataset)
        except FovealError as exc:
            QMessageBox.warning(self._dialog_parent(), "Foveal: project", str(exc))
            return None
        self._set(project)
        self.offer_earlier_runs(project)
        return project

    def offer_earlier_runs(self, project: Project) -> int:
        """Runs of the project's dataset made before it existed: offered to the project (they stay where they
        are). Returns how many were adopted."""
        found = find_runs(self._run_folders(), project.dataset)
        if not found:
            return 0
        answer = QMessageBox.question(self._dialog_parent(), "Foveal: earlier runs",
                                      f"{len(found)} earlier run(s) of this dataset were found. List them in the "
                                      "project? (They stay where they are.)")
        if answer != QMessageBox.StandardButton.Yes:
            return 0
        added = adopt_runs(project, list[str | os.PathLike[str]](found))
        self.sig_message.emit(f"{added} earlier run(s) added to the project")
        self.refresh_runs()
        return added

    def open_project(self, folder: str | None = None) -> Project | None:
        folder = folder or QFileDialog.getExistingDirectory(self._dialog_parent(), "Open a Foveal project folder")
        if not folder:
            return None
        try:
            project = load_project(folder)
        except FovealError as exc:
            QMessageBox.warning(self._dialog_parent(), "Foveal: project", str(exc))
            return None
        return self._set(project)

    def close_project(self) -> None:
        self.session.set_project(None)
        self.refresh_runs()  # every run of the dataset, without a project too

    def _set(self, project: Project) -> Project:
        self._new_split_wanted = False
        self._remember(project.folder)
        self.session.set_project(project)
        self.refresh_runs()
        self.sig_message.emit(f"Project {project.folder} (dataset {project.dataset})")
        return project

    # ---- settings and training ---------------------------------------------------------------------------
    def autosave(self, settings: dict) -> None:
        """Save the window's current settings into the project (atomically)."""
        project = self.session.project
        if project is not None and settings != project.settings:
            project.settings = settings
            save_project(project)

    def config_for_run(self, config: TrainConfig, summary: DatasetSummary) -> TrainConfig | None:
        """The config of a run in this project: saved under its runs/, on its fixed split. None: cancelled.

        When the dataset changed since the split was made, the user chooses between keeping the old split for
        the old files and making a new one; it never silently mixes.
        """
        p = self.session.project
        if p is None or config.out_dir is None:  # no project, or no run folder asked for (nothing is saved)
            self.refresh_runs()
            return config
        config = dataclasses.replace(config, out_dir=str(p.runs_dir / Path(config.out_dir).name))
        if not has_split(p) or self._new_split_wanted:
            self._new_split_wanted = True  # made by this run, then fixed (see run_finished)
            return config
        changes = dataset_changes(p, summary)
        if changes.changed:
            box = QMessageBox(QMessageBox.Icon.Question, "The dataset changed", changes.describe(),
                              parent=self._dialog_parent())
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

    def run_finished(self, run_dir: str, summary: DatasetSummary | None) -> None:
        """After a run: fix its split as the project's when the project had none (or asked for a new one)."""
        p = self.session.project
        if p is None or summary is None:
            return
        if self._new_split_wanted and (Path(run_dir) / "run.json").is_file():
            fix_split(p, summary, run_split(run_dir), from_run=Path(run_dir).name)
            self._new_split_wanted = False
            self.sig_message.emit("The project's split is now fixed: later runs use the same files for testing.")
        self.refresh_runs()

    # ---- runs ------------------------------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        """The project's runs; without a project, every run of the dataset shown (none is left unlisted)."""
        project = self.session.project
        if project is not None:
            self.sig_runs_changed.emit(list_runs(project))
        elif self._dataset:
            self.sig_runs_changed.emit(list_runs(None, find_runs(self._run_folders(), self._dataset)))
        else:
            self.sig_runs_changed.emit([])

    def rename_run(self, run_id: str, name: str) -> None:
        if self.session.project is not None:  # the Runs view offers it only inside a project
            set_run_meta(self.session.project, run_id, name=name)
            self.refresh_runs()

    def note_run(self, run_id: str, note: str) -> None:
        if self.session.project is not None:
            set_run_meta(self.session.project, run_id, note=note)
            self.refresh_runs()

    def delete_run(self, run_id: str) -> None:
        if self.session.project is not None:
            delete_run(self.session.project, run_id)
            self.sig_message.emit(f"Deleted run {run_id}")
            self.refresh_runs()

    # ---- following the session ------------------------------------------------------------------------------
    @Slot(object)
    def _on_summary_changed(self, summary: DatasetSummary | None) -> None:
        """A dataset was read: its runs are the ones listed while no project is open."""
        if summary is None:
            return  # a folder being read: the last dataset's runs stay listed until it is ready
        self._dataset = summary.root
        if self.session.project is None:
            self.refresh_runs()

    @Slot(object)
    def _on_run_changed(self, run_dir: str | None) -> None:
        if run_dir is not None:
            self.run_finished(run_dir, self.session.summary)
