"""The window opens before TensorFlow is imported, with Foveal's name and a status bar, and keeps its settings
in the user's settings (here a folder of the test's own)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QSettings

from foveal.gui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]

_OPEN_WINDOW = """
import sys, time
from PySide6.QtWidgets import QApplication
from foveal.gui.main_window import MainWindow
app = QApplication([])
window = MainWindow()
window.show()
end = time.monotonic() + 0.2  # less than the 400 ms before the weights-cache check starts its worker
while time.monotonic() < end:
    app.processEvents()
print(window.isVisible(), window.windowTitle(), 'tensorflow' in sys.modules, 'keras' in sys.modules)
"""


def test_window_opens_without_tensorflow():
    """In a fresh process (this one may have imported TensorFlow for other tests)."""
    result = subprocess.run([sys.executable, "-c", _OPEN_WINDOW], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "Foveal", "False", "False"]


def test_window_shows_its_name_and_a_status_and_keeps_settings_apart(qtbot, tmp_path):
    window = MainWindow(runs_dir=tmp_path / "runs")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle().startswith("Foveal")
    assert window.statusBar().currentMessage()
    settings = QSettings("Foveal", "Foveal")
    assert settings.fileName() == window.settings.fileName()
    assert settings.fileName().startswith(os.environ["XDG_CONFIG_HOME"])  # not the real user's settings
