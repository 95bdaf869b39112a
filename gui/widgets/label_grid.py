"""The Label view's review grid: the unlabelled images sorted by the class the model suggests, most confident
first, with the confidence under each; the unfamiliar ones apart ("maybe a class you do not have yet"). A click
asks about that image."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import QLabel, QListView, QListWidget, QListWidgetItem, QTabBar, QVBoxLayout, QWidget

from foveal.gui.workers.thumbnails import ThumbnailLoader

GRID_THUMB = 96
#: The key of the unfamiliar images' group (core.labelling.LabellingSession.groups).
UNFAMILIAR = "unfamiliar"


def group_title(name: str, count: int) -> str:
    return (f"Unfamiliar ({count}): maybe a class you do not have yet" if name == UNFAMILIAR else
            f"{name} ({count})")


class LabelGrid(QWidget):
    """One tab per group; :meth:`show_groups` fills it, :meth:`mark_answered` greys what was answered."""

    sig_chosen = Signal(object)
    """Ask about this core.labelling.Suggestion now."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.groups: dict[str, list[Any]] = {}
        self.names: list[str] = []
        self.answered: dict[str, str] = {}  # path -> what was answered
        self.bar = QTabBar()
        self.bar.setExpanding(False)
        self.hint = QLabel("Thumbnails by the class the model suggests, most confident first. Click one to "
                           "answer it now.")
        self.hint.setWordWrap(True)
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setIconSize(QSize(GRID_THUMB, GRID_THUMB))
        self.list.setGridSize(QSize(GRID_THUMB + 28, GRID_THUMB + 40))
        self.list.setUniformItemSizes(True)
        self.thumbs = ThumbnailLoader(self, size=GRID_THUMB)
        self.thumbs.sig_ready.connect(self._on_thumbnail_ready)
        self.bar.currentChanged.connect(self._on_group_changed)
        self.list.itemClicked.connect(self._on_item_clicked)
        self.list.itemActivated.connect(self._on_item_clicked)
        self._generation = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.hint)
        layout.addWidget(self.bar)
        layout.addWidget(self.list, 1)

    def show_groups(self, groups: Mapping[str, Sequence[Any]]) -> None:
        """Each class's suggestions (most confident first) and the unfamiliar ones, last."""
        shown = self.names[self.bar.currentIndex()] if 0 <= self.bar.currentIndex() < len(self.names) else None
        self.groups = {k: list(v) for k, v in groups.items() if k != UNFAMILIAR}
        if groups.get(UNFAMILIAR):
            self.groups[UNFAMILIAR] = list(groups[UNFAMILIAR])
        self.names = list(self.groups)
        self.bar.blockSignals(True)
        while self.bar.count():
            self.bar.removeTab(0)
        for name in self.names:
            self.bar.addTab(group_title(name, len(self.groups[name])))
        self.bar.setCurrentIndex(self.names.index(shown) if shown in self.names else 0)
        self.bar.blockSignals(False)
        self._fill()

    def mark_answered(self, answered: Mapping[str, str]) -> None:
        """``answered``: path → the answer given (a class, "skipped" or "unsure")."""
        self.answered = dict(answered)
        for row in range(self.list.count()):
            self._caption(self.list.item(row))

    @Slot(int)
    def _on_group_changed(self, _index: int) -> None:
        self._fill()

    def _fill(self) -> None:
        self.thumbs.cancel_all()
        self.list.clear()
        self._generation += 1
        index = self.bar.currentIndex()
        if not 0 <= index < len(self.names):
            return
        placeholder = QPixmap(GRID_THUMB, GRID_THUMB)
        placeholder.fill(QColor(225, 225, 225))
        items = self.groups[self.names[index]]
        for i, s in enumerate(items):
            item = QListWidgetItem(QIcon(placeholder), "")
            item.setData(Qt.ItemDataRole.UserRole, i)
            name = s.path.replace("\\", "/").rsplit("/", 1)[-1]
            said = (f"no suggestion (unfamiliar); the model's guess: {s.suggested}" if getattr(s, "unfamiliar", False)
                    else f"suggested: {s.suggested} ({s.confidence:.1%})")
            item.setToolTip(f"{name}\n{said}\n{s.why}")
            self.list.addItem(item)
            self._caption(item)
        self.thumbs.request(str(self._generation), [s.path for s in items])

    def _caption(self, item: QListWidgetItem) -> None:
        s = self.groups[self.names[self.bar.currentIndex()]][item.data(Qt.ItemDataRole.UserRole)]
        done = self.answered.get(s.path)
        # An unfamiliar image has no suggestion: its guess is named as a guess, without a confidence to trust.
        shown = f"{s.suggested}?" if getattr(s, "unfamiliar", False) else f"{s.confidence:.0%}"
        item.setText(f"✔ {done}" if done else shown)
        item.setForeground(QBrush(QColor(130, 130, 130)) if done else QBrush())

    @Slot(str, int, QImage)
    def _on_thumbnail_ready(self, key: str, index: int, image: QImage) -> None:
        if key == str(self._generation) and index < self.list.count():
            self.list.item(index).setIcon(QIcon(QPixmap.fromImage(image)))

    @Slot(QListWidgetItem)
    def _on_item_clicked(self, item: QListWidgetItem) -> None:
        s = self.groups[self.names[self.bar.currentIndex()]][item.data(Qt.ItemDataRole.UserRole)]
        if s.path not in self.answered:
            self.sig_chosen.emit(s)


if __name__ == "__main__":  # preview: the bundled samples as scripted suggestions
    from types import SimpleNamespace

    from PySide6.QtWidgets import QApplication

    from foveal.gui.resources import SAMPLES

    app = QApplication([])
    grid = LabelGrid()
    groups: dict[str, list[Any]] = {}
    for c in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
        groups[c.name] = [SimpleNamespace(path=str(f), suggested=c.name, confidence=0.9 - 0.05 * i, why="")
                          for i, f in enumerate(sorted(c.iterdir())[:6])]
    grid.show_groups(groups)
    grid.resize(800, 500)
    grid.show()
    app.exec()
