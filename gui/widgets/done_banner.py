"""A line inside a view that says something the person asked for is done (a report, an export, a CSV), where it
is, with *Open* and *Show in folder*: never only in a status bar that a laptop screen may not show."""

from __future__ import annotations

import html
import os
from collections.abc import Callable

from PySide6.QtCore import QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from foveal.gui.widgets.colours import error_colour, good_colour


def _open_url(url: QUrl) -> object:
    return QDesktopServices.openUrl(url)


class DoneBanner(QFrame):
    """Hidden until :meth:`show_done` (with the path made) or :meth:`show_problem`; *×* hides it again.
    ``open_url`` opens a file or folder (QDesktopServices by default; a test passes its own)."""

    def __init__(self, parent: QWidget | None = None,
                 open_url: Callable[[QUrl], object] | None = None) -> None:
        super().__init__(parent)
        self.open_url = open_url or _open_url
        self.path: str | None = None
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(self.label.textInteractionFlags()
                                           | self.label.textInteractionFlags().TextSelectableByMouse)
        self.open_button = QPushButton("Open")
        self.folder_button = QPushButton("Show in folder")
        self.close_button = QPushButton("×")
        self.close_button.setToolTip("Hide this message")
        self.close_button.setFixedWidth(self.close_button.sizeHint().height())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 2, 2)
        layout.addWidget(self.label, 1)
        for button in (self.open_button, self.folder_button, self.close_button):
            layout.addWidget(button)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.folder_button.clicked.connect(self._on_folder_clicked)
        self.close_button.clicked.connect(self.hide)
        self.hide()

    def show_done(self, text: str, path: str | os.PathLike[str]) -> None:
        """``text`` (plain) says what was done; ``path`` is the file or folder made."""
        self.path = os.fspath(path)
        self.label.setText(f"<span style='color:{good_colour()}'>✔</span> {html.escape(text)}")
        self.label.setToolTip(self.path)
        self.open_button.setVisible(True)
        self.folder_button.setVisible(True)
        self.show()

    def show_problem(self, text: str) -> None:
        """What the person asked for could not be done: ``text`` says why and what to do."""
        self.path = None
        self.label.setText(f"<span style='color:{error_colour()}'><b>Not done:</b> {html.escape(text)}</span>")
        self.open_button.setVisible(False)
        self.folder_button.setVisible(False)
        self.show()

    @Slot()
    def _on_open_clicked(self) -> None:
        if self.path:
            self.open_url(QUrl.fromLocalFile(self.path))

    @Slot()
    def _on_folder_clicked(self) -> None:
        if self.path:
            folder = self.path if os.path.isdir(self.path) else os.path.dirname(self.path)
            self.open_url(QUrl.fromLocalFile(folder))


if __name__ == "__main__":  # preview
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    banner = DoneBanner()
    banner.show_done("Report written: /tmp/run/report.html and report.pdf beside it", "/tmp/run/report.html")
    banner.resize(800, 40)
    app.exec()
