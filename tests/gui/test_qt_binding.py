"""The installed Qt binding delivers signals without corrupting Python's reference counts.

PySide6 6.12.0 with Python 3.11 loses a reference to None/True/False on each signal delivered to a Python slot,
and the process aborts after about a thousand signals; a training run sends thousands.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal, Slot


class _Emitter(QObject):
    sig_value = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.received = 0

    @Slot(object)
    def _on_value(self, value) -> None:
        self.received += 1


def test_signals_keep_reference_counts(qapp):
    emitter = _Emitter()
    emitter.sig_value.connect(emitter._on_value)
    before = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
    for i in range(200):
        emitter.sig_value.emit(i)
    after = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
    assert emitter.received == 200
    assert [a - b for a, b in zip(after, before, strict=True)] == [0, 0, 0]
