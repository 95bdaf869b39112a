"""The window's Label view: the panel in a tab beside Runs, offered the run last trained (or opened for evaluation)
and the dataset loaded as what Foveal learns from, with the Model view's weights for a dataset; its threads end
with the window's."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QMainWindow, QMenu

from foveal.gui.widgets.label_panel import LabelPanel


class LabelWiring(QObject):
    """Made by the main window once its panels, session and runner exist. The window itself is reached only
    through ``parent()``, never kept in an attribute (no reference cycle through it)."""

    def __init__(self, window: QMainWindow, start_fn: Callable | None = None) -> None:
        super().__init__(window)
        self.session = window.session  # type: ignore[attr-defined]
        self.evaluate_panel = window.evaluate_panel  # type: ignore[attr-defined]
        model_panel = window.model_panel  # type: ignore[attr-defined]
        self.panel = LabelPanel(start_fn, window.jobs.explain,  # type: ignore[attr-defined]
                                weights_fn=lambda: model_panel.weights)
        window.right_tabs.addTab(self.panel, "7  Label")  # type: ignore[attr-defined]
        actions = window.window_actions  # type: ignore[attr-defined]
        actions.add_steps([(window.right_tabs, self.panel)])  # type: ignore[attr-defined]
        for menu in window.menuBar().findChildren(QMenu):  # Ctrl+7 in the Go menu, after Runs
            if menu.title() == "&Go":
                menu.addAction(actions.step_actions[-1])
        self.panel.sig_message.connect(window.statusBar().showMessage)
        self.panel.sig_unexpected.connect(self._on_unexpected)
        self.session.sig_summary_changed.connect(self._on_sources_changed)
        self.session.sig_run_changed.connect(self._on_sources_changed)
        self.evaluate_panel.sig_message.connect(self._on_sources_changed)  # a run opened for evaluation
        window.runner.adopt(self.panel.runner)  # type: ignore[attr-defined]
        self._on_sources_changed()

    @Slot()
    def _on_sources_changed(self, *_args: object) -> None:
        run = self.session.run or self.evaluate_panel.run_dir()
        summary = self.session.summary
        self.panel.set_sources(run, summary.root if summary is not None else None)

    @Slot(str, str)
    def _on_unexpected(self, message: str, details: str) -> None:
        window = self.parent()
        show = getattr(window, "_show_unexpected", None)
        if show is not None:
            show(message, details)
