"""The Train view's search choice (gui/widgets/search_choice.py) wired to the window: its estimate follows the
dataset and the model settings, it rests during a run, the chosen search goes into the run's settings, and after a
run this computer's speed is remembered for the next estimate (core.training.estimate)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QVBoxLayout

from foveal.core.errors import FovealError
from foveal.core.training.estimate import estimate_run, remember_run
from foveal.gui.widgets.search_choice import SearchChoice

if TYPE_CHECKING:
    from foveal.gui.main_window import MainWindow


class SearchWiring(QObject):
    """The search choice on the Train view: its estimate follows the dataset and the model settings, it rests
    during a run, and after a run this computer's speed is remembered for the next estimate."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.choice = SearchChoice()
        layout = window.train_panel.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(1, self.choice)  # under Start, above the phase in words
        window.session.sig_summary_changed.connect(self.refresh)
        window.session.sig_training_changed.connect(self._on_training_changed)
        window.model_panel.sig_changed.connect(self.refresh)
        self.choice.sig_changed.connect(self.refresh)

    @property
    def chosen(self) -> str:
        return self.choice.chosen

    @Slot()
    def refresh(self) -> None:
        """The estimate for the dataset and settings on screen under each search."""
        summary = self.window.session.summary
        if summary is None or summary.problem:
            self.choice.show_estimate(None, "Choose a dataset folder to see how long training will take.")
            return
        try:
            config = self.window.make_config()
            sides = [min(r.info.width, r.info.height) for r in summary.images]
            self.choice.show_estimate(estimate_run(config, sides, len(summary.images)))
        except FovealError as exc:  # a setting the run would refuse: said when Start is pressed
            self.choice.show_estimate(None, f"No estimate: {exc}")

    @Slot(bool)
    def _on_training_changed(self, training: bool) -> None:
        self.choice.setEnabled(not training)
        run_dir = self.window.train_panel.run_dir
        if not training and run_dir:
            remember_run(run_dir)
            self.refresh()
