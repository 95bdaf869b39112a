"""Whether the chosen backbone's pretrained weights are on this computer, asked off the GUI thread once the user
stops moving through the backbone table, and what the Train view says about it before Start."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Slot

from foveal.gui.session import Session
from foveal.gui.widgets.model_panel import ModelPanel
from foveal.gui.widgets.train_panel import TrainPanel
from foveal.gui.workers.call_worker import CallWorker
from foveal.gui.workers.jobs import JobRunner

log = logging.getLogger("foveal")


def imagenet_status(backbone: str) -> tuple[str, str, str, bool]:
    """(backbone, file name, cache path, cached?) — runs on a worker thread; imports Keras there."""
    from foveal.core.models.build import imagenet_weights_status
    from foveal.core.models.registry import get_backbone

    return (backbone, *imagenet_weights_status(get_backbone(backbone)))


class WeightsStatus(QObject):
    """Asks ``status_fn(backbone)`` (see :func:`imagenet_status`) on a worker for the backbone chosen in the Model
    view, shows the answer there, and the notice or the weights error in the Train view."""

    def __init__(self, session: Session, model_panel: ModelPanel, train_panel: TrainPanel,
                 status_fn: Callable[[str], tuple[str, str, str, bool]] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.model_panel, self.train_panel = model_panel, train_panel
        self.status_fn = status_fn or imagenet_status
        self.runner = JobRunner(self)  # the cache check
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(400)  # ask once the user has stopped moving through the table
        self._timer.timeout.connect(self._on_timer)
        model_panel.sig_backbone_changed.connect(self._timer.start)
        model_panel.sig_changed.connect(self._on_model_settings_changed)

    def check_soon(self) -> None:
        """Ask about the chosen backbone once the table has been still for a moment."""
        self._timer.start()

    @Slot()
    def _on_timer(self) -> None:
        if self.runner.closing:
            return
        if self.session.training or self.runner.is_running("status"):
            self._timer.start()  # try again later: one Keras build at a time
            return
        name = self.model_panel.backbone.name
        self.model_panel.show_imagenet_checking()
        self.runner.start("status", CallWorker(self.status_fn, name), self._on_status_known, self._on_status_failed)

    @Slot(object)
    def _on_status_known(self, status: tuple[str, str, str, bool]) -> None:
        self.model_panel.show_imagenet_status(*status)

    @Slot(str, str, bool)
    def _on_status_failed(self, message: str, details: str, user_error: bool) -> None:
        log.warning("Could not check the weights cache: %s\n%s", message, details)
        self.model_panel.clear_imagenet_status()

    @Slot()
    def _on_model_settings_changed(self) -> None:
        """Say before Start when the ImageNet weights are not here; a weights error goes once weights change."""
        panel = self.model_panel
        if self.train_panel.messages.weights_error and not panel.weights_missing and panel.weights != "imagenet":
            self.train_panel.messages.clear_error()
        self.train_panel.messages.show_weights_notice(panel.backbone.name if panel.weights_missing else None)
