"""What the window's panels and controllers share: the dataset, the project, where runs go, the run last trained,
and whether a run is under way. One :class:`Session` per window; everything that needs one of these reads it here
and hears of changes through its signals, the way napari's layer controls follow a layer's events, so no panel or
controller reads or writes another's attributes.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from foveal.core.data.scan import DatasetSummary
from foveal.core.paths import user_runs_dir
from foveal.core.project import Project


class Session(QObject):
    """The window's shared state. Each ``set_*`` emits its signal only when the value changes; a new scan or a
    newly opened project is a change even when it equals the last one (they are compared by identity)."""

    sig_summary_changed = Signal(object)
    """The dataset to train on (a ``core.data.scan.DatasetSummary``), or None while none is loaded or one is
    being read."""
    sig_project_changed = Signal(object)
    """The open project (a ``core.project.Project``), or None when none is open."""
    sig_runs_dir_changed = Signal(object)
    """Where new runs are saved (a ``Path``): the open project's runs folder, else Foveal's own."""
    sig_run_changed = Signal(object)
    """The folder (a ``str``) of the run last trained in this window: it has just finished."""
    sig_training_changed = Signal(bool)
    """A run started (True) or ended (False)."""

    def __init__(self, default_runs_dir: Path | None = None, parent: QObject | None = None) -> None:
        """``default_runs_dir``: where runs go without a project (None: Foveal's folder in the user's data)."""
        super().__init__(parent)
        self._default_runs_dir = Path(default_runs_dir) if default_runs_dir is not None else user_runs_dir()
        self._summary: DatasetSummary | None = None
        self._project: Project | None = None
        self._run: str | None = None
        self._training = False

    # ---- reading ----------------------------------------------------------------------------------------------
    @property
    def summary(self) -> DatasetSummary | None:
        """The scanned dataset, None while none is loaded (or a folder is being read)."""
        return self._summary

    @property
    def project(self) -> Project | None:
        return self._project

    @property
    def default_runs_dir(self) -> Path:
        """Where runs go without a project (and where earlier runs of a dataset are looked for)."""
        return self._default_runs_dir

    @property
    def runs_dir(self) -> Path:
        """Where a new run is saved: the project's runs folder, else :attr:`default_runs_dir`."""
        return self._project.runs_dir if self._project is not None else self._default_runs_dir

    @property
    def run(self) -> str | None:
        """The folder of the run last trained in this window (None before the first)."""
        return self._run

    @property
    def training(self) -> bool:
        """A run (or a cross-validation) is under way."""
        return self._training

    @property
    def trainable(self) -> bool:
        """A dataset is loaded and nothing stops training on it."""
        return self._summary is not None and not self._summary.problem

    # ---- changing ---------------------------------------------------------------------------------------------
    def set_summary(self, summary: DatasetSummary | None) -> None:
        if summary is not self._summary:
            self._summary = summary
            self.sig_summary_changed.emit(summary)

    def set_project(self, project: Project | None) -> None:
        if project is self._project:
            return
        runs_dir = self.runs_dir
        self._project = project
        self.sig_project_changed.emit(project)
        if self.runs_dir != runs_dir:
            self.sig_runs_dir_changed.emit(self.runs_dir)

    def set_run(self, run_dir: str | None) -> None:
        if run_dir != self._run:
            self._run = run_dir
            self.sig_run_changed.emit(run_dir)

    def set_training(self, training: bool) -> None:
        if training != self._training:
            self._training = training
            self.sig_training_changed.emit(training)
