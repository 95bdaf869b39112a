"""The thread plumbing every worker shares: a QObject moved to a QThread it owns, run once."""

from __future__ import annotations

from PySide6.QtCore import QObject, QThread, Slot


class ThreadWorker(QObject):
    """Subclasses implement :meth:`work`; it runs on the worker's own thread, which ends when it returns."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.thread = QThread()
        self.thread.setObjectName(name)
        self.moveToThread(self.thread)
        self.thread.started.connect(self._run)

    def start(self) -> None:
        self.thread.start()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def wait(self, msecs: int = -1) -> bool:
        """Block until the thread has ended (or ``msecs`` passed); True if it ended."""
        return self.thread.wait() if msecs < 0 else self.thread.wait(msecs)

    def work(self) -> None:
        raise NotImplementedError

    @Slot()
    def _run(self) -> None:
        try:
            self.work()
        finally:
            self.thread.quit()
