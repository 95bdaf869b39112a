"""Calling one slow core function off the GUI thread (e.g. asking whether weights are cached)."""

from __future__ import annotations

import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot


class CallWorker(QObject):
    """Runs ``fn(*args)`` once on its own thread."""

    sig_finished = Signal(object)
    """The function's return value."""
    sig_failed = Signal(str)
    """The function raised: its message and traceback."""

    def __init__(self, fn: Callable, *args) -> None:
        super().__init__()
        self.fn, self.args = fn, args
        self.thread = QThread()
        self.thread.setObjectName("foveal-call")
        self.moveToThread(self.thread)
        self.thread.started.connect(self._run)

    def start(self) -> None:
        self.thread.start()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def wait(self) -> bool:
        return self.thread.wait()

    @Slot()
    def _run(self) -> None:
        try:
            result = self.fn(*self.args)
        except Exception as exc:  # shown as a status, logged with its traceback
            self.sig_failed.emit(f"{exc}\n{traceback.format_exc()}")
        else:
            self.sig_finished.emit(result)
        finally:
            self.thread.quit()
