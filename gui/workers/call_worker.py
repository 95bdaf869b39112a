"""Calling one slow core function off the GUI thread (evaluating a run, a Grad-CAM, a cache check…)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from foveal.gui.workers.base import ThreadWorker


class CallWorker(ThreadWorker):
    """Runs ``fn(*args)`` once on its own thread; its return value is :attr:`sig_finished`'s."""

    def __init__(self, fn: Callable, *args: Any) -> None:
        super().__init__("foveal-call")
        self.fn, self.args = fn, args

    def work(self) -> Any:
        return self.fn(*self.args)
