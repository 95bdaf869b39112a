"""Running ``core.compare.compare_backbones`` on a worker thread: its events cross to the GUI thread as signals."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal

from foveal.core.cancel import CancelToken
from foveal.gui.workers.base import ThreadWorker


def _real_compare(data_dir: str, candidates, weights: str, *, split, seed: int, out: str | None, on_event,
                  cancel):
    from foveal.core.compare import compare_backbones  # TensorFlow is imported here, on the worker thread

    return compare_backbones(data_dir, candidates, weights, split=split, seed=seed, out=out, on_event=on_event,
                             cancel=cancel)


class CompareWorker(ThreadWorker):
    """One comparison; :attr:`sig_finished` carries its core.compare.Comparison."""

    sig_event = Signal(object)
    """Every comparison event (core.compare.run), in order."""

    def __init__(self, data_dir: str, candidates, weights: str, *, split, seed: int, out: str | None,
                 compare_fn: Callable | None = None) -> None:
        super().__init__("foveal-compare")
        self.args = (data_dir, candidates, weights)
        self.kwargs = {"split": split, "seed": seed, "out": out}
        self.compare_fn = compare_fn or _real_compare
        self.cancel_token = CancelToken()

    def cancel(self) -> None:
        """Stop within the current batch (returns at once); the candidates done are kept."""
        self.cancel_token.cancel()

    def work(self) -> object:
        return self.compare_fn(*self.args, **self.kwargs, on_event=self.sig_event.emit, cancel=self.cancel_token)
