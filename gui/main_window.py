"""The main window: wiring only; panels and workers live in their own modules."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow


class MainWindow(QMainWindow):
    """Foveal's single window."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Foveal")
        self.resize(1100, 720)
        welcome = QLabel("Foveal\n\nTrain an image classifier from a folder of images, one sub-folder per class.")
        welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setCentralWidget(welcome)
        self.statusBar().showMessage("Ready")


if __name__ == "__main__":
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    w = MainWindow()
    w.show()
    app.exec()
