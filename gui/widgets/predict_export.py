"""The Predict view's ways out: *Export model…* (a format by what it is for, a Save dialog, the check in words)
and *Save results as CSV…*."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import QObject, QUrl, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QLabel, QWidget

from foveal.core.errors import FovealError
from foveal.gui.widgets.colours import error_colour, good_colour
from foveal.gui.widgets.done_banner import DoneBanner
from foveal.gui.workers.call_worker import CallWorker
from foveal.gui.workers.jobs import JobRunner

#: The name of the export job in its owner's runner.
EXPORT = "export"


class ExportActions(QObject):
    """Exports a model with ``export_fn(model, format, precision, folder)`` on a worker of ``runner`` (the
    Predict view's) and says how its check went in ``label``; saves prediction rows as CSV. Dialogs open over
    ``parent``."""

    sig_message = Signal(str)
    """A line for the status bar."""
    sig_unexpected = Signal(str, str)
    """A bug in the export: message and details."""

    def __init__(self, runner: JobRunner, export_fn: Callable, label: QLabel, parent: QWidget,
                 done: DoneBanner | None = None) -> None:
        super().__init__(parent)
        self.runner, self.export_fn, self.label = runner, export_fn, label
        self.done = done or DoneBanner()  # where a saved CSV is said, with Open and Show in folder

    def _dialog_parent(self) -> QWidget:
        parent = self.parent()
        assert isinstance(parent, QWidget)
        return parent

    @property
    def exporting(self) -> bool:
        return self.runner.is_running(EXPORT)

    def choose_export(self, model: str | None) -> None:
        """*Export model…*: the format by what it is for, then where to save it; then export and check."""
        from foveal.gui.widgets.export_dialog import ExportDialog

        if model is None:
            self.sig_message.emit("Train a model, or open one (Predict → Open model…), to export it.")
            return
        if self.exporting:
            return
        dialog = ExportDialog(model, self._dialog_parent())
        if dialog.exec() and dialog.folder:
            self.export_to(model, *dialog.choice, dialog.folder)

    def export_to(self, model: str, fmt: str, precision: str, folder: str) -> None:
        """Export ``model`` as ``fmt`` into the new ``folder`` and check it (on a worker)."""
        self.label.setText("Exporting and checking that the copy gives Foveal's answers…")
        self.runner.start(EXPORT, CallWorker(self.export_fn, model, fmt, precision, folder), self._on_exported,
                          self._on_export_failed)

    @Slot(object)
    def _on_exported(self, result) -> None:
        colour = good_colour() if result.passed else error_colour()
        link = QUrl.fromLocalFile(result.folder).toString()
        words = html.escape(result.words(), quote=False)
        self.label.setText(f"<span style='color:{colour}'>{words}</span> <a href='{link}'>Open the folder</a>")
        self.sig_message.emit(("Export checked: " if result.passed else "Export FAILED its check: ") + result.folder)

    @Slot(str, str, bool)
    def _on_export_failed(self, message: str, details: str, user_error: bool) -> None:
        self.label.setText(f"<span style='color:{error_colour()}'><b>Could not export:</b> "
                           f"{html.escape(message, quote=False)}</span>")
        self.sig_message.emit("Could not export the model")
        if not user_error:
            self.sig_unexpected.emit(message, details)

    def save_csv(self, rows: list[dict]) -> None:
        """*Save results as CSV…*: ask where, then write ``rows`` (atomically): the same columns as ``foveal predict
        --csv``, yes/no written true/false, an unfamiliar image's guess kept with ``unfamiliar=true``."""
        from foveal.core.evaluation.predict_table import ranks_in, write_rows_csv
        from foveal.core.io import open_atomic

        if not rows:
            return
        path, _ = QFileDialog.getSaveFileName(self._dialog_parent(), "Save the results as CSV", "predictions.csv",
                                              "CSV files (*.csv)")
        if not path:
            return
        try:
            with open_atomic(path, "w", newline="") as fh:
                write_rows_csv(rows, fh, top_k=ranks_in(rows))  # as many ranks as the model has classes, up to 3
        except FovealError as exc:
            self.done.show_problem(str(exc))
            return
        self.done.show_done(f"{len(rows)} result(s) saved to {path}", path)
