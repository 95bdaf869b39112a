"""Scanning a dataset folder off the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import Signal

from foveal.core.cancel import Cancelled, CancelToken
from foveal.core.data.scan import DatasetSummary, scan_dataset
from foveal.gui.workers.base import ThreadWorker


class ScanWorker(ThreadWorker):
    """Scans one folder on its own thread; :attr:`sig_finished` carries the ``DatasetSummary`` (None when the
    scan was cancelled)."""

    sig_progress = Signal(int, int)
    """Files whose headers were read so far, and the total."""

    def __init__(self, folder: str) -> None:
        super().__init__("foveal-scan")
        self.folder = folder
        self.token = CancelToken()

    def cancel(self) -> None:
        """Stop within one folder or file; the scan then finishes with None."""
        self.token.cancel()

    def work(self) -> DatasetSummary | None:
        try:
            return scan_dataset(self.folder, on_progress=self.sig_progress.emit, cancel=self.token)
        except Cancelled:
            return None
