"""The Predict view's ways out: *Export model…* (a format by what it is for, a Save dialog, the check in words)
and *Save results as CSV…*."""

from __future__ import annotations

import html

from PySide6.QtCore import QUrl, Slot
from PySide6.QtWidgets import QFileDialog

from foveal.core.errors import FovealError
from foveal.gui.widgets.colours import error_colour, good_colour
from foveal.gui.workers.base import start_worker
from foveal.gui.workers.call_worker import CallWorker


class ExportActions:
    """Mixed into :class:`gui.widgets.predict_panel.PredictPanel` (its model, rows, workers and labels)."""

    @Slot()
    def choose_export(self) -> None:
        """*Export model…*: the format by what it is for, then where to save it; then export and check."""
        from foveal.gui.widgets.export_dialog import ExportDialog

        if self.model is None:
            self.sig_message.emit("Train a model, or open one (Predict → Open model…), to export it.")
            return
        if "export" in self.workers and self.workers["export"].is_running():
            return
        dialog = ExportDialog(self.model, self)
        if dialog.exec() and dialog.folder:
            self.export_to(*dialog.choice, dialog.folder)

    def export_to(self, fmt: str, precision: str, folder: str) -> None:
        """Export the model as ``fmt`` into the new ``folder`` and check it (on a worker)."""
        self.export_label.setText("Exporting and checking that the copy gives Foveal's answers…")
        worker = CallWorker(self.export_fn, self.model, fmt, precision, folder)
        worker.sig_finished.connect(self._on_worker_done)
        worker.sig_failed.connect(self._on_worker_done)
        self.workers["export"] = start_worker(worker, self._on_exported, self._on_export_failed)
        self._set_enabled()

    @Slot(object)
    def _on_exported(self, result) -> None:
        colour = good_colour() if result.passed else error_colour()
        link = QUrl.fromLocalFile(result.folder).toString()
        words = html.escape(result.words(), quote=False)
        self.export_label.setText(f"<span style='color:{colour}'>{words}</span> <a href='{link}'>Open the folder</a>")
        self.sig_message.emit(("Export checked: " if result.passed else "Export FAILED its check: ") + result.folder)

    @Slot(str, str, bool)
    def _on_export_failed(self, message: str, details: str, user_error: bool) -> None:
        self.export_label.setText(f"<span style='color:{error_colour()}'><b>Could not export:</b> "
                                  f"{html.escape(message, quote=False)}</span>")
        self.sig_message.emit("Could not export the model")
        if not user_error:
            self.sig_unexpected.emit(message, details)

    @Slot()
    def _on_save_csv_clicked(self) -> None:
        from foveal.core.evaluation.predict_table import write_rows_csv
        from foveal.core.io import open_atomic

        if not self.rows:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save the results as CSV", "predictions.csv",
                                              "CSV files (*.csv)")
        if not path:
            return
        try:
            with open_atomic(path, "w", newline="") as fh:
                write_rows_csv(self.rows, fh, top_k=3)
        except FovealError as exc:
            self.sig_message.emit(str(exc))
            return
        self.sig_message.emit(f"{len(self.rows)} result(s) saved to {path}")
