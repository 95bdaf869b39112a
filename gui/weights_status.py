"""What the Model view says about the chosen weights, each answer found off the GUI thread: whether the chosen
backbone's ImageNet weights are on this computer (asked once the user stops moving through the backbone table),
and whether a chosen weights file fits the backbone (asked when a file is chosen or brought back, and when the
backbone changes under it); and what the Train view says about them before Start."""

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

#: The runner's jobs: the ImageNet cache check and the weights file check. Each builds a Keras model: one at a time.
STATUS, FIT = "status", "fit"


def imagenet_status(backbone: str) -> tuple[str, str, str, bool]:
    """(backbone, file name, cache path, cached?) — runs on a worker thread; imports Keras there."""
    from foveal.core.models.build import imagenet_weights_status
    from foveal.core.models.registry import get_backbone

    return (backbone, *imagenet_weights_status(get_backbone(backbone)))


def weights_fit(backbone: str, path: str) -> tuple[str, str, str | None]:
    """(backbone, file, what is wrong or None when it fits) — runs on a worker thread; imports Keras there."""
    from foveal.core.models.registry import get_backbone
    from foveal.core.models.weights_check import check_weights_file

    return backbone, path, check_weights_file(get_backbone(backbone), path)


class WeightsStatus(QObject):
    """Asks ``status_fn(backbone)`` (see :func:`imagenet_status`) and ``fit_fn(backbone, path)`` (see
    :func:`weights_fit`) on a worker for what the Model view shows, and shows the answers there; the notice, the
    weights error, and (through the panel's ``sig_changed``) whether a file holds Start back, in the Train view."""

    def __init__(self, session: Session, model_panel: ModelPanel, train_panel: TrainPanel,
                 status_fn: Callable[[str], tuple[str, str, str, bool]] | None = None,
                 parent: QObject | None = None,
                 fit_fn: Callable[[str, str], tuple[str, str, str | None]] | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.model_panel, self.train_panel = model_panel, train_panel
        self.status_fn = status_fn or imagenet_status
        self.fit_fn = fit_fn or weights_fit
        self.runner = JobRunner(self)  # the cache check and the file check
        self._timer = self._make_timer(400, self._on_timer)  # ask once the user has stopped moving through the table
        self._fit_timer = self._make_timer(300, self._on_fit_timer)
        model_panel.sig_backbone_changed.connect(self._timer.start)
        model_panel.weights_choice.sig_check_wanted.connect(self._fit_timer.start)
        model_panel.sig_changed.connect(self._on_model_settings_changed)

    def _make_timer(self, ms: int, slot: Callable[[], None]) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        return timer

    def check_soon(self) -> None:
        """Ask about the chosen backbone once the table has been still for a moment."""
        self._timer.start()

    def _busy(self, timer: QTimer) -> bool:
        """Not now: training, or the other check, builds a Keras model; ``timer`` tries again later."""
        if self.session.training or self.runner.is_running(STATUS) or self.runner.is_running(FIT):
            timer.start()
            return True
        return False

    @Slot()
    def _on_timer(self) -> None:
        if self.runner.closing or self._busy(self._timer):
            return
        name = self.model_panel.backbone.name
        self.model_panel.show_imagenet_checking()
        self.runner.start(STATUS, CallWorker(self.status_fn, name), self._on_status_known, self._on_status_failed)

    @Slot(object)
    def _on_status_known(self, status: tuple[str, str, str, bool]) -> None:
        self.model_panel.show_imagenet_status(*status)

    @Slot(str, str, bool)
    def _on_status_failed(self, message: str, details: str, user_error: bool) -> None:
        log.warning("Could not check the weights cache: %s\n%s", message, details)
        self.model_panel.clear_imagenet_status()

    @Slot()
    def _on_fit_timer(self) -> None:
        choice = self.model_panel.weights_choice
        if self.runner.closing or not choice.check_due or self._busy(self._fit_timer):
            return
        assert choice.path is not None  # a check is due only for a file
        self.runner.start(FIT, CallWorker(self.fit_fn, choice.backbone, choice.path), self._on_fit_known,
                          self._on_fit_failed)

    @Slot(object)
    def _on_fit_known(self, fit: tuple[str, str, str | None]) -> None:
        self.model_panel.weights_choice.show_fit(*fit)
        if self.model_panel.weights_choice.check_due:  # the backbone or the file changed meanwhile
            self._fit_timer.start()

    @Slot(str, str, bool)
    def _on_fit_failed(self, message: str, details: str, user_error: bool) -> None:
        log.warning("Could not check the weights file: %s\n%s", message, details)
        self.model_panel.weights_choice.show_fit_unknown(message)

    @Slot()
    def _on_model_settings_changed(self) -> None:
        """Say before Start when the ImageNet weights are not here; a weights error goes once weights change."""
        panel = self.model_panel
        if self.train_panel.messages.weights_error and not panel.weights_missing and panel.weights != "imagenet":
            self.train_panel.messages.clear_error()
        self.train_panel.messages.show_weights_notice(panel.backbone.name if panel.weights_missing else None)
