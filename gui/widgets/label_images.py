"""The pictures the Label view asks about, decoded ahead on a thread pool so that the next one shows at once."""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage

from foveal.core.data.decode import decode_image
from foveal.core.errors import ImageDecodeError
from foveal.gui.workers.thumbnails import array_to_qimage

#: The longest side of a picture as decoded (the view scales it to its size; larger screens get no blur up to it).
PICTURE_SIDE = 900
#: How many decoded pictures are kept (the current one, those ahead, and a few behind for Undo).
KEEP = 24


class _Relay(QObject):
    sig_ready = Signal(str, QImage, str)


class _Decode(QRunnable):
    def __init__(self, relay: _Relay, path: str) -> None:
        super().__init__()
        self.relay, self.path = relay, path

    def run(self) -> None:
        try:
            image, problem = array_to_qimage(decode_image(self.path)), ""
        except ImageDecodeError as exc:
            image, problem = QImage(), str(exc)
        if not image.isNull() and max(image.width(), image.height()) > PICTURE_SIDE:
            image = image.scaled(PICTURE_SIDE, PICTURE_SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        self.relay.sig_ready.emit(self.path, image, problem)


class PictureCache(QObject):
    """:meth:`want` decodes pictures on two pool threads (aspect kept, at most :data:`PICTURE_SIDE`); each one
    decoded is kept (the last :data:`KEEP`) and announced by :attr:`sig_ready` on the GUI thread."""

    sig_ready = Signal(str, QImage, str)
    """(path, picture, why it could not be read — "" when it could)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._relay = _Relay()
        self._relay.sig_ready.connect(self._on_ready)
        self._kept: OrderedDict[str, tuple[QImage, str]] = OrderedDict()
        self._asked: set[str] = set()

    def get(self, path: str) -> tuple[QImage, str] | None:
        """The decoded picture and its problem, or None while it is not decoded yet."""
        found = self._kept.get(path)
        if found is not None:
            self._kept.move_to_end(path)
        return found

    def want(self, paths: list[str]) -> None:
        """Decode these (first first) unless they are kept or on their way."""
        for path in paths:
            if path not in self._kept and path not in self._asked:
                self._asked.add(path)
                self.pool.start(_Decode(self._relay, path))

    @Slot(str, QImage, str)
    def _on_ready(self, path: str, image: QImage, problem: str) -> None:
        self._asked.discard(path)
        self._kept[path] = (image, problem)
        while len(self._kept) > KEEP:
            self._kept.popitem(last=False)
        self.sig_ready.emit(path, image, problem)

    def cancel_all(self) -> None:
        self.pool.clear()
        self._asked.clear()

    def shutdown(self, timeout_ms: int = -1) -> bool:
        self.cancel_all()
        return self.pool.waitForDone(timeout_ms)
