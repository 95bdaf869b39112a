"""Small previews of images, decoded on a thread pool and handed to the GUI thread as QImages."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from foveal.core.data.decode import decode_image
from foveal.core.errors import ImageDecodeError

THUMB_SIZE = 56


class _Relay(QObject):
    sig_ready = Signal(str, int, QImage)
    """(key, index, image): thumbnail ``index`` of group ``key`` is ready."""


class _Job(QRunnable):
    def __init__(self, relay: _Relay, key: str, index: int, path: str, size: int) -> None:
        super().__init__()
        self.relay, self.key, self.index, self.path, self.size = relay, key, index, path, size

    def run(self) -> None:
        try:
            arr = decode_image(self.path, size=self.size)
        except ImageDecodeError:
            arr = np.full((self.size, self.size, 3), 200, np.uint8)
        image = array_to_qimage(arr)
        self.relay.sig_ready.emit(self.key, self.index, image)


def array_to_qimage(arr: np.ndarray) -> QImage:
    """A QImage that owns a copy of an (H, W, 3) uint8 RGB array."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class ThumbnailLoader(QObject):
    """Queue thumbnails by group; ``sig_ready`` fires on the GUI thread as each one is decoded."""

    sig_ready = Signal(str, int, QImage)
    """(group key, index within the group, image)."""

    def __init__(self, parent: QObject | None = None, size: int = THUMB_SIZE) -> None:
        super().__init__(parent)
        self.size = size
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._relay = _Relay()
        self._relay.sig_ready.connect(self.sig_ready)

    def request(self, key: str, paths: list[str]) -> None:
        for i, path in enumerate(paths):
            self.pool.start(_Job(self._relay, key, i, path, self.size))

    def cancel_all(self) -> None:
        """Drop the thumbnails not started yet (other pictures are wanted now); those being decoded finish."""
        self.pool.clear()

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Drop the pending thumbnails and wait for those being decoded; True when none is left."""
        self.pool.clear()
        return self.pool.waitForDone(timeout_ms)

    def wait(self) -> None:
        self.shutdown()
