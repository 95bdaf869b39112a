"""The window opens without TensorFlow and shows Foveal's name and a status bar."""

from __future__ import annotations

from gui.main_window import MainWindow


def test_window_opens_without_tensorflow(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle().startswith("Foveal")
    assert window.statusBar().currentMessage()
