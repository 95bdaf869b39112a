"""Scanning a dataset folder off the GUI thread."""

from __future__ import annotations

import traceback

from PySide6.QtCore import Signal

from core.data.scan import scan_dataset
from core.errors import FovealError
from gui.workers.base import ThreadWorker


class ScanWorker(ThreadWorker):
    """Scans one folder on its own thread."""

    sig_progress = Signal(int, int)
    """Files whose headers were read so far, and the total."""
    sig_finished = Signal(object)
    """The ``DatasetSummary``."""
    sig_failed = Signal(str, str, bool)
    """Message, details, and whether the user can fix it."""

    def __init__(self, folder: str) -> None:
        super().__init__("foveal-scan")
        self.folder = folder

    def work(self) -> None:
        try:
            summary = scan_dataset(self.folder, on_progress=self.sig_progress.emit)
        except FovealError as exc:
            self.sig_failed.emit(str(exc), "", True)
        except Exception as exc:
            self.sig_failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc(), False)
        else:
            self.sig_finished.emit(summary)
