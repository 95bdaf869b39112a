"""The Help menu: About Foveal (version, libraries, licenses of what it ships with) and the log folder."""

from __future__ import annotations

import html

from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QFontDatabase
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QMainWindow, QPlainTextEdit, QVBoxLayout

from foveal.core import about
from foveal.core.resources import resource_path
from foveal.gui.resources import app_icon


class AboutDialog(QDialog):
    """Foveal's version, the versions of its main libraries, and every bundled component with its license."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Foveal")
        self.setWindowIcon(app_icon())
        head, *libraries = about.version_text().splitlines()
        self.header = QLabel(f"<h2>{html.escape(head)}</h2><p>Train image classifiers by transfer learning, "
                             "without writing code. Licensed under the Apache License 2.0.</p><p>"
                             + "<br>".join(html.escape(x) for x in libraries) + "</p>")
        self.header.setWordWrap(True)
        licenses = resource_path("licenses")
        self.notices = QPlainTextEdit(about.licenses_text() + f"\n\nLicense texts: {licenses}")
        self.notices.setReadOnly(True)
        self.notices.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))  # the columns line up
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(QLabel("Components and their licenses:"))
        layout.addWidget(self.notices, 1)
        layout.addWidget(buttons)
        self.resize(640, 560)


class HelpMenu(QObject):
    """Adds *Help → About Foveal* and *Help → Open log folder* to a main window."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        menu = window.menuBar().addMenu("&Help")
        self.about_action = menu.addAction("About Foveal")
        self.about_action.triggered.connect(self._on_about)
        self.log_action = menu.addAction("Open log folder")
        self.log_action.setToolTip(str(about.log_dir()))
        self.log_action.triggered.connect(self._on_open_log_folder)
        self.dialog: AboutDialog | None = None

    @Slot()
    def _on_about(self) -> None:
        self.dialog = AboutDialog(self.window)
        self.dialog.show()

    @Slot()
    def _on_open_log_folder(self) -> None:
        folder = about.log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
