"""Whether the chosen backbone's pretrained weights are on this computer, asked off the GUI thread once the user
stops moving through the backbone table, and what the Train view says about it before Start."""

from __future__ import annotations

import logging

from PySide6.QtCore import Slot

from foveal.gui.workers.base import start_worker
from foveal.gui.workers.call_worker import CallWorker

log = logging.getLogger("foveal")


def imagenet_status(backbone: str) -> tuple[str, str, str, bool]:
    """(backbone, file name, cache path, cached?) — runs on a worker thread; imports Keras there."""
    from foveal.core.models.build import imagenet_weights_status
    from foveal.core.models.registry import get_backbone

    return (backbone, *imagenet_weights_status(get_backbone(backbone)))


class WeightsStatus:
    """Mixed into :class:`gui.main_window.MainWindow` (which provides the panels, the status timer and worker)."""

    @Slot()
    def _on_status_timer(self) -> None:
        busy = self.train_worker is not None and self.train_worker.is_running()
        if busy or (self.status_worker is not None and self.status_worker.is_running()):
            self._status_timer.start()  # try again later: one Keras build at a time
            return
        name = self.model_panel.backbone.name
        self.model_panel.show_imagenet_checking()
        self.status_worker = start_worker(CallWorker(self.weights_status_fn, name), self._on_status_known,
                                          self._on_status_failed)

    @Slot(object)
    def _on_status_known(self, status) -> None:
        self.model_panel.show_imagenet_status(*status)

    @Slot(str, str, bool)
    def _on_status_failed(self, message: str, details: str, user_error: bool) -> None:
        log.warning("Could not check the weights cache: %s\n%s", message, details)
        self.model_panel.clear_imagenet_status()

    @Slot()
    def _on_model_settings_changed(self) -> None:
        """Say before Start when the ImageNet weights are not here; a weights error goes once weights change."""
        panel = self.model_panel
        if self.train_panel.weights_error and not panel.weights_missing and panel.weights != "imagenet":
            self.train_panel.clear_error()
        self.train_panel.show_weights_notice(panel.backbone.name if panel.weights_missing else None)

    @Slot()
    def _on_choose_weights(self) -> None:
        self.tabs.setCurrentWidget(self.model_panel)
        self.model_panel.choose_weights_file()
