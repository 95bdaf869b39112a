"""The window's *Compare backbones* action: opens the dialog on the loaded dataset with the Model step's weights,
saves each comparison (in the project's folder when a project is open) and shows the last one again."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot

from foveal.core.compare.candidates import Candidate
from foveal.core.compare.result import COMPARE_FORMAT, Comparison
from foveal.core.models.registry import Weights
from foveal.core.training.config import TrainConfig
from foveal.gui.widgets.compare_dialog import CompareDialog

if TYPE_CHECKING:
    from foveal.gui.main_window import MainWindow

#: A project keeps its comparisons in this sub-folder.
COMPARISONS = "comparisons"


class CompareWiring(QObject):
    def __init__(self, window: MainWindow, compare_fn: Callable | None = None) -> None:
        super().__init__(window)
        self.w = window
        self.dialog = CompareDialog(window, compare_fn)
        self.dialog.sig_use.connect(self._on_use)
        window.model_panel.sig_compare_requested.connect(self.open)

    def folder(self) -> Path:
        """Where comparisons are saved: the open project's folder, else Foveal's user data folder."""
        from foveal.core.paths import user_data_dir

        project = self.w.projects.ctl.project
        return Path(project.folder) / COMPARISONS if project is not None else user_data_dir() / COMPARISONS

    @Slot()
    def open(self) -> None:
        """Show the dialog for the loaded dataset (or say what is missing)."""
        w = self.w
        if w.summary is None:
            w.statusBar().showMessage("Choose a dataset folder first: the comparison runs on its images.")
            return
        panel = w.model_panel
        weights = panel.weights
        source = Weights.parse(weights)
        if source == Weights.NONE:
            w.statusBar().showMessage("Comparing backbones needs pretrained weights: choose ImageNet or a weights "
                                      "file in the Model step.")
            return
        text = ("Weights: ImageNet, from Keras's cache on this computer (backbones whose weights are not there are "
                "skipped, never downloaded here)." if source == Weights.IMAGENET else
                f"Weights: the file {os.path.basename(str(weights))} (it fits one backbone; the others are "
                "skipped).")
        split = TrainConfig(w.summary.root, **w.dataset_panel.settings()).split_spec
        folder = self.folder()
        name = Path(w.summary.root).name or "dataset"
        out = str(folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}.json")
        spec = panel.backbone
        current = Candidate(spec, panel.chosen_image_size or spec.input_size)
        self.dialog.setup(w.summary.root, str(weights), text, split=split, seed=panel.seed.value(), out=out,
                          current=current, previous=self.latest(folder, w.summary.root))
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
        self.w.model_panel.use_candidate(backbone, size)
        self.w.tabs.setCurrentWidget(self.w.model_panel)
        self.w.statusBar().showMessage(f"{backbone} at {size} px chosen for training, as the comparison suggests.")

    def wait(self) -> None:
        """Stop a running comparison and wait for its thread (the window is closing)."""
        self.dialog.stop()
        self.dialog.wait()
