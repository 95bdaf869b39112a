"""Starting the application: QApplication, error hooks, the main window."""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

log = logging.getLogger("foveal")


def _show_unexpected(exc_type, exc, tb) -> None:
    """Last resort for bugs: log the traceback and show it, so nothing dies silently."""
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    log.error("Unexpected error:\n%s", text)
    app = QApplication.instance()
    if app is not None and threading.current_thread() is threading.main_thread():
        box = QMessageBox(QMessageBox.Icon.Critical, "Foveal: unexpected error",
                          f"Something went wrong that Foveal did not expect:\n\n{exc}")
        box.setDetailedText(text)
        box.exec()


def install_error_hooks() -> None:
    """Route uncaught exceptions from any thread to the log and, on the GUI thread, to a dialog."""
    sys.excepthook = _show_unexpected
    threading.excepthook = lambda args: _show_unexpected(args.exc_type, args.exc_value, args.exc_traceback)


def application(argv: list[str]) -> QApplication:
    """The running QApplication (a test or the self-test may have made it), else a new one."""
    existing = QApplication.instance()
    return existing if isinstance(existing, QApplication) else QApplication(argv)


def main(argv: list[str] | None = None) -> int:
    """Open the Foveal window and run the event loop until it closes."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from foveal.core.about import start_log_file

    log_file = start_log_file()  # Help → Open log folder shows it
    app = application(argv if argv is not None else sys.argv)
    app.setApplicationName("Foveal")
    app.setOrganizationName("Foveal")
    app.setDesktopFileName("foveal")  # the desktop entry the bundle installs: its icon in docks and task bars
    from foveal.gui.resources import app_icon

    app.setWindowIcon(app_icon())
    from foveal.gui.focus_style import install_focus_style

    install_focus_style(app)
    log.info("Foveal started; log file %s", log_file)
    install_error_hooks()
    # The garbage collector runs on whichever thread allocates; if it frees a Qt object on a training thread,
    # Qt and Python can deadlock. pyqtgraph's helper turns automatic collection off and collects on a GUI timer.
    from pyqtgraph.util.garbage_collector import GarbageCollector

    collector = GarbageCollector(interval=1.0)  # noqa: F841 (kept alive for the application's lifetime)
    from foveal.gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    if os.environ.get("FOVEAL_QUIT_WHEN_SHOWN"):  # benchmarks/bench_bundle.py: time from start to a painted window
        window.grab()
        print("window shown", flush=True)
        return 0
    window.projects.restore_last()  # reopen the project the user had open, as it was
    window.reopen_last_folder()  # else the dataset folder last opened, while it is there
    # Load TensorFlow once the window is up, so the first training does not wait for it.
    preloader = threading.Thread(target=_preload, name="foveal-preload", daemon=True)
    QTimer.singleShot(400, preloader.start)
    return app.exec()


def _preload() -> None:
    from foveal.core.training import preload_backend

    try:
        preload_backend()
    except Exception:  # the training run will report the same problem in words
        log.exception("Could not load TensorFlow in the background")
