"""The window's *Compare backbones* action: opens the dialog on the loaded dataset with the Model step's weights,
saves each comparison (in the project's folder when a project is open) and shows the last one again."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QMainWindow, QTabWidget

from foveal.core.compare.candidates import Candidate
from foveal.core.compare.result import COMPARE_FORMAT, Comparison
from foveal.core.models.registry import Weights
from foveal.core.training.config import TrainConfig
from foveal.gui.session import Session
from foveal.gui.widgets.compare_dialog import CompareDialog
from foveal.gui.widgets.dataset_panel import DatasetPanel
from foveal.gui.widgets.model_panel import ModelPanel

#: A project keeps its comparisons in this sub-folder.
COMPARISONS = "comparisons"


class CompareWiring(QObject):
    """Opens the comparison dialog on the session's dataset with the Model view's weights and seed, and puts the
    backbone it recommends into the Model view (shown in ``tabs``).

    The window is reached through ``parent()``, never kept in an attribute (no reference cycle through it).
    """

    def __init__(self, window: QMainWindow, session: Session, panels: tuple[DatasetPanel, ModelPanel],
                 tabs: QTabWidget, compare_fn: Callable | None = None) -> None:
        super().__init__(window)
        self.session = session
        self.dataset_panel, self.model_panel = panels
        self.tabs = tabs
        self.dialog = CompareDialog(window, compare_fn)
        self.dialog.sig_use.connect(self._on_use)
        self.model_panel.sig_compare_requested.connect(self.open)

    def _say(self, text: str) -> None:
        window = self.parent()
        if isinstance(window, QMainWindow):
            window.statusBar().showMessage(text)

    def folder(self) -> Path:
        """Where comparisons are saved: the open project's folder, else Foveal's user data folder."""
        from foveal.core.paths import user_data_dir

        project = self.session.project
        return Path(project.folder) / COMPARISONS if project is not None else user_data_dir() / COMPARISONS

    @Slot()
    def open(self) -> None:
        """Show the dialog for the loaded dataset (or say what is missing)."""
        summary = self.session.summary
        if summary is None:
            self._say("Choose a dataset folder first: the comparison runs on its images.")
            return
        panel = self.model_panel
        weights = panel.weights
        source = Weights.parse(weights)
        if source == Weights.NONE:
            self._say("Comparing backbones needs pretrained weights: choose ImageNet or a weights "
                      "file in the Model step.")
            return
        text = ("Weights: ImageNet, from Keras's cache on this computer (backbones whose weights are not there are "
                "skipped, never downloaded here)." if source == Weights.IMAGENET else
                f"Weights: the file {os.path.basename(str(weights))} (it fits one backbone; the others are "
                "skipped).")
        split = TrainConfig(summary.root, **self.dataset_panel.settings()).split_spec
        folder = self.folder()
        name = Path(summary.root).name or "dataset"
        out = str(folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}.json")
        spec = panel.backbone
        current = Candidate(spec, panel.chosen_image_size or spec.input_size)
        self.dialog.setup(summary.root, str(weights), text, split=split, seed=panel.seed.value(), out=out,
                          current=current, previous=self.latest(folder, summary.root))
        self.dialog.show()
        self.dialog.raise_()

    @staticmethod
    def latest(folder: Path, data_dir: str) -> Comparison | None:
        """The newest comparison saved in ``folder`` for ``data_dir`` (unreadable files are passed over)."""
        if not folder.is_dir():
            return None
        for path in sorted(folder.glob("*.json"), reverse=True):
            try:
                d = json.loads(path.read_text(encoding="utf-8"))
                if d.get("format") == COMPARE_FORMAT and os.path.abspath(d["data_dir"]) == os.path.abspath(data_dir):
                    return Comparison.from_dict(d, str(path))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return None

    @Slot(str, int)
    def _on_use(self, backbone: str, size: int) -> None:
        self.model_panel.use_candidate(backbone, size)
        self.tabs.setCurrentWidget(self.model_panel)
        self._say(f"{backbone} at {size} px chosen for training, as the comparison suggests.")

    # ---- stopping (a Stoppable of gui.workers.jobs: the window's runner adopts it) --------------------------
    def cancel_all(self) -> None:
        """Stop a running comparison within its current batch (returns at once; the candidates done are kept)."""
        self.dialog.stop()

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Stop a running comparison and wait for its thread (the window is closing)."""
        self.dialog.stop()
        self.dialog.wait()
        return True
