"""A cancel token: set from any thread, checked every batch by training, evaluation, prediction and export."""

from __future__ import annotations

import threading


class CancelToken:
    """Cooperative cancellation. ``cancel()`` returns at once; the run stops within one batch."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the run to stop. Safe to call from any thread, any number of times."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class Cancelled(Exception):
    """Raised inside the runner to unwind a phase that was cancelled (never escapes ``train``)."""
