"""Calling one slow core function off the GUI thread (evaluating a run, a Grad-CAM, a cache check…)."""

from __future__ import annotations

import traceback
from collections.abc import Callable

from PySide6.QtCore import Signal

from core.errors import FovealError
from gui.workers.base import ThreadWorker


class CallWorker(ThreadWorker):
    """Runs ``fn(*args)`` once on its own thread."""

    sig_finished = Signal(object)
    """The function's return value."""
    sig_failed = Signal(str, str, bool)
    """The function raised: message in plain words, traceback details, and whether it is the user's to fix."""

    def __init__(self, fn: Callable, *args) -> None:
        super().__init__("foveal-call")
        self.fn, self.args = fn, args

    def work(self) -> None:
        try:
            result = self.fn(*self.args)
        except FovealError as exc:
            self.sig_failed.emit(str(exc), traceback.format_exc(), True)
        except Exception as exc:  # a bug: the caller shows or logs the details; nothing dies silently here
            self.sig_failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc(), False)
        else:
            self.sig_finished.emit(result)
