"""Scanning a dataset folder off the GUI thread."""

from __future__ import annotations

import traceback

from PySide6.QtCore import QObject, QThread, Signal, Slot

from core.data.scan import scan_dataset
from core.errors import FovealError


class ScanWorker(QObject):
    """Scans one folder on its own thread."""

    sig_progress = Signal(int, int)
    """Files whose headers were read so far, and the total."""
    sig_finished = Signal(object)
    """The ``DatasetSummary``."""
    sig_failed = Signal(str, str, bool)
    """Message, details, and whether the user can fix it."""

    def __init__(self, folder: str) -> None:
        super().__init__()
        self.folder = folder
        self.thread = QThread()
        self.thread.setObjectName("foveal-scan")
        self.moveToThread(self.thread)
        self.thread.started.connect(self._run)

    def start(self) -> None:
        self.thread.start()

    def wait(self) -> bool:
        return self.thread.wait()

    @Slot()
    def _run(self) -> None:
        try:
            summary = scan_dataset(self.folder, on_progress=self.sig_progress.emit)
        except FovealError as exc:
            self.sig_failed.emit(str(exc), "", True)
        except Exception as exc:
            self.sig_failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc(), False)
        else:
            self.sig_finished.emit(summary)
        finally:
            self.thread.quit()
