"""Small previews of images, decoded on a thread pool and handed to the GUI thread as QImages."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from core.data.decode import decode_image
from core.errors import ImageDecodeError

THUMB_SIZE = 56


class _Relay(QObject):
    sig_ready = Signal(str, int, QImage)
    """(key, index, image): thumbnail ``index`` of group ``key`` is ready."""


class _Job(QRunnable):
    def __init__(self, relay: _Relay, key: str, index: int, path: str) -> None:
        super().__init__()
        self.relay, self.key, self.index, self.path = relay, key, index, path

    def run(self) -> None:
        try:
            arr = decode_image(self.path, size=THUMB_SIZE)
        except ImageDecodeError:
            arr = np.full((THUMB_SIZE, THUMB_SIZE, 3), 200, np.uint8)
        arr = np.ascontiguousarray(arr)
        image = QImage(arr.data, THUMB_SIZE, THUMB_SIZE, 3 * THUMB_SIZE, QImage.Format.Format_RGB888).copy()
        self.relay.sig_ready.emit(self.key, self.index, image)


class ThumbnailLoader(QObject):
    """Queue thumbnails by group; ``sig_ready`` fires on the GUI thread as each one is decoded."""

    sig_ready = Signal(str, int, QImage)
    """(group key, index within the group, image)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._relay = _Relay()
        self._relay.sig_ready.connect(self.sig_ready)

    def request(self, key: str, paths: list[str]) -> None:
        for i, path in enumerate(paths):
            self.pool.start(_Job(self._relay, key, i, path))

    def cancel_pending(self) -> None:
        self.pool.clear()

    def wait(self) -> None:
        self.pool.clear()
        self.pool.waitForDone()
