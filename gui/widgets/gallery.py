"""A gallery of predictions: thumbnail, true and predicted class, confidence; click one to look closer."""

from __future__ import annotations

from collections.abc import Sequence, Set

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem

from foveal.core.evaluation.evaluate import Prediction
from foveal.gui.workers.thumbnails import ThumbnailLoader

GALLERY_THUMB = 112


class Gallery(QListWidget):
    """Shows a chosen subset of an evaluation's predictions; ``index`` refers to the full prediction list."""

    sig_prediction_chosen = Signal(int)
    """The user opened this prediction (its index in the evaluation's prediction list)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(GALLERY_THUMB, GALLERY_THUMB))
        self.setGridSize(QSize(GALLERY_THUMB + 40, GALLERY_THUMB + 52))
        self.setWordWrap(True)
        self.setUniformItemSizes(True)
        self.thumbs = ThumbnailLoader(self, size=GALLERY_THUMB)
        self.thumbs.sig_ready.connect(self._on_thumbnail_ready)
        self.itemActivated.connect(self._on_item_activated)
        self.itemClicked.connect(self._on_item_activated)
        self._generation = 0
        self.indices: list[int] = []

    def show_predictions(self, predictions: Sequence[Prediction], indices: Sequence[int],
                         marked: Set[str] = frozenset()) -> None:
        """Show ``predictions[i]`` for each ``i`` in ``indices`` (most confident first)."""
        self.thumbs.cancel_all()
        self.clear()
        self._generation += 1
        self.indices = list(indices)
        placeholder = QPixmap(GALLERY_THUMB, GALLERY_THUMB)
        placeholder.fill(QColor(225, 225, 225))
        for i in self.indices:
            p = predictions[i]
            item = QListWidgetItem(QIcon(placeholder), self._caption(p, p.file in marked))
            item.setData(Qt.ItemDataRole.UserRole, i)
            item.setToolTip(f"{p.file}\nlabelled: {p.true}\npredicted: {p.predicted} ({p.confidence:.1%})"
                            + ("\nlow confidence" if p.low_confidence else ""))
            if not p.correct:
                item.setForeground(QBrush(QColor(192, 57, 43)))
            self.addItem(item)
        self.thumbs.request(str(self._generation), [predictions[i].path for i in self.indices])

    def set_marked(self, predictions: Sequence[Prediction], marked: Set[str]) -> None:
        """Refresh captions after the user marked or unmarked images as mislabelled."""
        for row in range(self.count()):
            item = self.item(row)
            p = predictions[item.data(Qt.ItemDataRole.UserRole)]
            item.setText(self._caption(p, p.file in marked))

    @staticmethod
    def _caption(p: Prediction, marked: bool) -> str:
        flag = " ⚑" if marked else ""
        low = " ?" if p.low_confidence else ""
        return f"{p.true} → {p.predicted}\n{p.confidence:.0%}{low}{flag}"

    @Slot(str, int, QImage)
    def _on_thumbnail_ready(self, key: str, index: int, image: QImage) -> None:
        if key == str(self._generation) and index < self.count():
            self.item(index).setIcon(QIcon(QPixmap.fromImage(image)))

    @Slot(QListWidgetItem)
    def _on_item_activated(self, item: QListWidgetItem) -> None:
        self.sig_prediction_chosen.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def wait(self) -> None:
        self.thumbs.wait()


if __name__ == "__main__":  # preview: the misclassified sample images of a scripted evaluation
    from PySide6.QtWidgets import QApplication

    from foveal.gui.widgets.preview_data import sample_evaluation

    app = QApplication([])
    ev = sample_evaluation()
    gallery = Gallery()
    gallery.show_predictions(ev.predictions, [i for i, p in enumerate(ev.predictions) if not p.correct])
    gallery.resize(700, 500)
    gallery.show()
    app.exec()
