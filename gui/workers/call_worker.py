"""Calling one slow core function off the GUI thread (e.g. asking whether weights are cached)."""

from __future__ import annotations

import traceback
from collections.abc import Callable

from PySide6.QtCore import Signal

from gui.workers.base import ThreadWorker


class CallWorker(ThreadWorker):
    """Runs ``fn(*args)`` once on its own thread."""

    sig_finished = Signal(object)
    """The function's return value."""
    sig_failed = Signal(str)
    """The function raised: its message and traceback."""

    def __init__(self, fn: Callable, *args) -> None:
        super().__init__("foveal-call")
        self.fn, self.args = fn, args

    def work(self) -> None:
        try:
            result = self.fn(*self.args)
        except Exception as exc:  # shown as a status, logged with its traceback
            self.sig_failed.emit(f"{exc}\n{traceback.format_exc()}")
        else:
            self.sig_finished.emit(result)
