"""The sets of copies a split keeps together, to look at: each set's images side by side, which check found it
(the same bytes, or the same picture resized or re-saved) and which split each image is in."""

from __future__ import annotations

import os
from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtGui import QColor, QFont, QIcon, QImage, QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QListView, QListWidget, QListWidgetItem, QVBoxLayout

from foveal.gui.workers.thumbnails import ThumbnailLoader

THUMB = 96
#: Sets shown at most (a large folder can have thousands; the first ones tell whether the check is right).
MAX_SETS = 200
_CHECK_WORDS = {"identical": "identical files (the same bytes)",
                "picture": "the same picture, resized or re-saved"}
_SPLIT_WORDS = {"train": "training", "val": "validation", "test": "test"}

CopySet = tuple[str, tuple[str, ...]]


class CopiesDialog(QDialog):
    """Shows ``copies`` (``(check, files)``, files relative to ``root``); ``split_of`` maps a file to its split."""

    def __init__(self, root: str, copies: Sequence[CopySet], split_of: dict[str, str], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Copies of an image found in the dataset")
        shown = list(copies)[:MAX_SETS]
        n_images = sum(len(files) for _, files in copies)
        more = f" The first {len(shown)} are shown." if len(shown) < len(copies) else ""
        self.summary = QLabel(f"{len(copies)} set(s) of copies, {n_images} images. Each set is kept in one split "
                              f"unless the split says otherwise: look whether they really are one picture.{more}")
        self.summary.setWordWrap(True)
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setWordWrap(True)
        self.list.setSpacing(4)
        self.thumbs = ThumbnailLoader(self, size=THUMB)
        self.thumbs.sig_ready.connect(self._on_thumbnail_ready)
        self.items: list[QListWidgetItem] = []  # image items, in the order their thumbnails were asked for
        paths = self._fill(root, shown, split_of)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)
        self.resize(900, 600)
        self.thumbs.request("copies", paths)

    def _fill(self, root: str, copies: Sequence[CopySet], split_of: dict[str, str]) -> list[str]:
        placeholder = QPixmap(THUMB, THUMB)
        placeholder.fill(QColor(225, 225, 225))
        bold = QFont()
        bold.setBold(True)
        paths: list[str] = []
        for n, (check, files) in enumerate(copies, start=1):
            header = QListWidgetItem(f"Set {n}\n{len(files)} images:\n{_CHECK_WORDS.get(check, check)}")
            header.setFlags(Qt.ItemFlag.ItemIsEnabled)  # readable, never selected
            header.setFont(bold)
            header.setSizeHint(QSize(THUMB + 40, THUMB + 48))
            self.list.addItem(header)
            for rel in files:
                split = _SPLIT_WORDS.get(split_of.get(rel, ""), "not in the split")
                item = QListWidgetItem(QIcon(placeholder), f"{os.path.basename(rel)}\n{split}")
                item.setToolTip(f"{rel}\n{split}")
                item.setSizeHint(QSize(THUMB + 40, THUMB + 48))
                self.list.addItem(item)
                self.items.append(item)
                paths.append(os.path.join(root, rel))
        return paths

    @Slot(str, int, QImage)
    def _on_thumbnail_ready(self, key: str, index: int, image: QImage) -> None:
        if key == "copies" and index < len(self.items):
            self.items[index].setIcon(QIcon(QPixmap.fromImage(image)))

    def done(self, result: int) -> None:  # noqa: D102 (QDialog override: no thumbnail job outlives the dialog)
        self.thumbs.cancel_all()
        self.thumbs.wait()
        super().done(result)
