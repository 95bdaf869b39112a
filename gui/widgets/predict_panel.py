"""The Predict view: drop images (or folders) to classify them, see the first answers (up to three) with a
low-confidence flag and Grad-CAM on a click; an image unlike the training images gets no answer, its guess behind a
click; open any saved model; export it in a checked format."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QIcon, QImage, QPixmap
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from foveal.core.data.image_formats import IMAGE_EXTENSIONS
from foveal.core.evaluation.evaluate import Prediction
from foveal.gui.widgets.colours import error_colour
from foveal.gui.widgets.done_banner import DoneBanner
from foveal.gui.widgets.image_detail import ImageDetail
from foveal.gui.widgets.predict_export import ExportActions
from foveal.gui.widgets.predict_rows import ROW_THUMB, PredictTable
from foveal.gui.workers.call_worker import CallWorker
from foveal.gui.workers.evaluation_jobs import Explanation, PredictedBatch
from foveal.gui.workers.jobs import JobRunner
from foveal.gui.workers.thumbnails import ThumbnailLoader


def image_file_filter() -> str:
    """The *Add images…* dialog's filters: the image formats Foveal reads first (either case of each
    extension), all files last (Foveal knows a file by its content, so an image without its extension is read)."""
    patterns = sorted({f"*{e}" for ext in IMAGE_EXTENSIONS for e in (ext, ext.upper())})
    return f"Images Foveal reads ({' '.join(patterns)});;All files (*)"


class PredictPanel(QWidget):
    """Classify new images with the chosen model. Heavy work goes through the ``*_fn`` functions on workers of
    :attr:`runner`: ``describe_fn(model)``, ``predict_fn(model, paths)``, ``explain_fn(model, path, class)`` and
    ``export_fn(model, format, precision, folder)`` (through :attr:`exports`)."""

    sig_message = Signal(str)
    """A line for the status bar."""
    sig_unexpected = Signal(str, str)
    """A bug in a worker: message and details."""
    sig_model_changed = Signal()
    """Another model is in use (:attr:`model`)."""

    def __init__(self, describe_fn: Callable, predict_fn: Callable, explain_fn: Callable, export_fn: Callable,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.describe_fn, self.predict_fn, self.explain_fn = describe_fn, predict_fn, explain_fn
        self.model: str | None = None
        self._loading: str | None = None  # the model being described
        self.classes: tuple[str, ...] = ()
        self.detail: ImageDetail | None = None
        self.runner = JobRunner(self)  # describe, predict, explain, export; and the thumbnails
        self.runner.sig_ended.connect(self._on_job_ended)
        self._queued: list[str] = []
        self._pending_explain: tuple[str, int] | None = None
        self.setAcceptDrops(True)
        self._make_widgets()
        self.done = DoneBanner()
        self.exports = ExportActions(self.runner, export_fn, self.export_label, self, self.done)
        self.exports.sig_message.connect(self.sig_message)
        self.exports.sig_unexpected.connect(self.sig_unexpected)
        self.export_button.clicked.connect(self.choose_export)
        self.save_csv_button.clicked.connect(self._on_save_csv_clicked)
        self._layout()
        self._set_enabled()

    def _make_widgets(self) -> None:
        self.model_label = QLabel("No model yet: train one, or open a run folder or model.keras.")
        self.model_label.setWordWrap(True)
        self.open_button = QPushButton("Open model…")
        self.open_button.setToolTip("A Foveal run folder or a .keras file")
        self.add_button = QPushButton("Add images…")
        self.clear_button = QPushButton("Clear")
        self.export_button = QPushButton("Export model…")
        self.export_button.setToolTip("Save the model for a phone app, another program or Python (File → Export "
                                      "model…, Ctrl+E); Foveal checks that the copy gives its answers")
        self.save_csv_button = QPushButton("Save results as CSV…")
        self.save_csv_button.setToolTip("Every image classified here: its answer, confidence, the next answers and "
                                        "any warning, as a spreadsheet")
        self.export_label = QLabel("")
        self.export_label.setWordWrap(True)
        self.export_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.export_label.setOpenExternalLinks(False)
        self.export_label.linkActivated.connect(self._on_link)
        self.hint = QLabel("<b>Drop images or folders here</b> to classify them (any format Foveal reads, "
                           "DICOM included). Click a row for its Grad-CAM.")
        self.hint.setWordWrap(True)
        self.table = PredictTable(self)
        self.thumbs = ThumbnailLoader(self, size=ROW_THUMB)
        self.thumbs.sig_ready.connect(self._on_thumbnail_ready)
        self.runner.adopt(self.thumbs)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.add_button.clicked.connect(self._on_add_clicked)
        self.clear_button.clicked.connect(self._on_clear_clicked)
        self.table.cellClicked.connect(self._on_row_clicked)

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.model_label, 1)
        top.addWidget(self.open_button)
        actions = QHBoxLayout()
        actions.addWidget(self.add_button)
        actions.addWidget(self.clear_button)
        actions.addWidget(self.save_csv_button)
        actions.addStretch(1)
        actions.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(actions)
        layout.addWidget(self.export_label)
        layout.addWidget(self.done)
        layout.addWidget(self.hint)
        layout.addWidget(self.table, 1)

    @property
    def rows(self) -> list[dict]:
        """Every image classified here, in the table's order (core.evaluation.predict_table's rows)."""
        return self.table.rows

    def _set_enabled(self) -> None:
        busy = self.runner.is_running("predict")
        exporting = self.exports.exporting
        self.add_button.setEnabled(self.model is not None)
        self.export_button.setEnabled(self.model is not None and not exporting)
        self.save_csv_button.setEnabled(bool(self.rows))
        self.open_button.setEnabled(not busy and not exporting)

    # ---- model ---------------------------------------------------------------------------------------
    def set_model(self, model: str) -> None:
        """Use this run folder or model file (loaded off the GUI thread)."""
        self.model_label.setText(f"Loading {model}…")
        self._loading = model
        self._start("describe", self.describe_fn, (model,), self._on_described)

    @Slot(object)
    def _on_described(self, described: tuple[str, tuple[str, ...], int]) -> None:
        path, classes, size = described
        self.model = self._loading
        self.sig_model_changed.emit()
        self.classes = tuple(classes)
        self.model_label.setText(f"<b>Model</b> {path}<br>{len(classes)} classes: {', '.join(classes)} · "
                                 f"each image is resized to {size}×{size} pixels inside the model")
        self.table.set_ranks(len(self.classes))
        self.save_csv_button.setEnabled(False)
        if self.detail is not None:
            self.detail.close()
            self.detail = None
        self._set_enabled()
        if self._queued:
            queued, self._queued = self._queued, []
            self.add_paths(queued)

    # ---- images ----------------------------------------------------------------------------------------
    def add_paths(self, paths: list[str]) -> None:
        """Classify these files and folders (one batch at a time; later drops wait for the current one)."""
        if self.model is None or self.runner.is_running("predict"):
            self._queued += paths
            if self.runner.is_running("describe"):
                self.hint.setText(f"{len(self._queued)} item(s) waiting: the model is still loading; they are "
                                  "classified as soon as it is ready.")
            elif self.model is None:
                self.sig_message.emit("Choose a model first (Open model…), then drop images.")
            else:
                self.hint.setText(f"Classifying… {len(self._queued)} more item(s) waiting.")
            return
        self.hint.setText(f"Classifying {len(paths)} item(s)…")
        self._start("predict", self.predict_fn, (self.model, paths), self._on_predicted)

    @Slot(object)
    def _on_predicted(self, batch: PredictedBatch) -> None:
        start = self.table.add_rows(batch.rows)
        self.save_csv_button.setEnabled(bool(self.rows))
        self.thumbs.request(f"rows{start}", [row["path"] for row in batch.rows])
        n_bad = sum(1 for row in batch.rows if row["error"])
        n_low = sum(1 for row in batch.rows if not row["error"] and row["low_confidence"])
        n_foreign = sum(1 for row in batch.rows if row.get("unfamiliar") is True)
        foreign = (f" {n_foreign} look unlike the images the model learned from (⚠ unfamiliar): no answer for "
                   "them (the model's guess is one click away)." if n_foreign else "")
        self.hint.setText(f"{len(self.rows)} image(s) classified; this batch: {len(batch.rows) - n_bad} read, "
                          f"{n_low} low-confidence, {n_bad} not readable.{foreign} Drop more, or click a row.")
        if self._queued:
            queued, self._queued = self._queued, []
            self.add_paths(queued)

    @Slot(str, int, QImage)
    def _on_thumbnail_ready(self, key: str, index: int, image: QImage) -> None:
        r = int(key[4:]) + index
        item = self.table.item(r, 0) if r < self.table.rowCount() else None
        if item is not None:
            item.setIcon(QIcon(QPixmap.fromImage(image)))

    @Slot(int, int)
    def _on_row_clicked(self, r: int, _column: int) -> None:
        row = self.rows[r]
        if row["error"]:
            return
        self.table.show_guess(r)  # a click on an unfamiliar image's row asks for its guess too
        probs = tuple(row["probs"])
        unfamiliar = row.get("unfamiliar")
        p = Prediction(os.path.basename(row["path"]), row["path"], "", row["predicted_class"], row["confidence"],
                       probs, bool(row["low_confidence"]), unfamiliar if isinstance(unfamiliar, bool) else None)
        if self.detail is None:
            self.detail = ImageDetail(self.classes, self)
            self.detail.sig_explain_requested.connect(self._on_explain_requested)
            self.detail.sig_step.connect(self._on_detail_step)
        self.detail.show()
        self.detail.show_prediction(r, p, False)

    @Slot(int)
    def _on_detail_step(self, step: int) -> None:
        """The previous or next image that could be read (arrow keys in the image window)."""
        r = self.detail.index + step if self.detail is not None else -1
        while 0 <= r < len(self.rows) and self.rows[r]["error"]:
            r += step
        if 0 <= r < len(self.rows):
            self.table.selectRow(r)
            self._on_row_clicked(r, 1)

    @Slot(str, int)
    def _on_explain_requested(self, path: str, class_index: int) -> None:
        if self.runner.is_running("explain"):
            self._pending_explain = (path, class_index)
            return
        self._start("explain", self.explain_fn, (self.model, path, class_index), self._on_explained)

    @Slot(object)
    def _on_explained(self, explanation: Explanation) -> None:
        if self.detail is not None:
            self.detail.show_explanation(explanation.path, explanation.class_index, explanation.picture, explanation)
        if self._pending_explain is not None:
            request, self._pending_explain = self._pending_explain, None
            self._on_explain_requested(*request)

    @Slot(str)
    def _on_link(self, link: str) -> None:
        QDesktopServices.openUrl(QUrl(link))

    # ---- plumbing --------------------------------------------------------------------------------------------
    def _start(self, name: str, fn: Callable, args: tuple, on_done: Callable[[Any], None]) -> None:
        self.runner.start(name, CallWorker(fn, *args), on_done, self._on_failed)
        self._set_enabled()

    @Slot(str)
    def _on_job_ended(self, _name: str) -> None:
        """A job ended (its thread too): the buttons follow."""
        self._set_enabled()

    @Slot(str, str, bool)
    def _on_failed(self, message: str, details: str, user_error: bool) -> None:
        self.hint.setText(f"<span style='color:{error_colour()}'>{message}</span>")
        if self.detail is not None and self.detail.isVisible():
            self.detail.show_failure(message)
        self.export_label.setText("")
        self.sig_message.emit(message)
        if not user_error:
            self.sig_unexpected.emit(message, details)

    @Slot()
    def _on_open_clicked(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a Foveal run folder (Cancel to pick a .keras file)")
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Open a Keras model", "", "Keras models (*.keras)")
        if path:
            self.set_model(path)

    @Slot()
    def _on_add_clicked(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Images to classify", "", image_file_filter())
        if files:
            self.add_paths(files)

    @Slot()
    def _on_clear_clicked(self) -> None:
        self.thumbs.cancel_all()
        self.table.clear_rows()
        self._set_enabled()

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt override)
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        models = [p for p in paths if p.endswith(".keras") or (Path(p) / "model.keras").is_file()]
        if models:
            self.set_model(models[0])
        images = [p for p in paths if p not in models]
        if images:
            self.add_paths(images)
        event.acceptProposedAction()

    # ---- ways out ---------------------------------------------------------------------------------------------
    @Slot()
    def choose_export(self) -> None:
        """*Export model…* for the model in use (or say how to have one)."""
        self.exports.choose_export(self.model)

    @Slot()
    def _on_save_csv_clicked(self) -> None:
        self.exports.save_csv(self.rows)


if __name__ == "__main__":  # preview: a scripted model that calls every sample image by its folder, the last unfamiliar
    import numpy as np
    from PySide6.QtWidgets import QApplication

    from foveal.core.evaluation.predict_table import prediction_rows
    from foveal.core.models.predict import Predictions, files_under
    from foveal.core.resources import samples_dir

    classes = tuple(sorted(p.name for p in samples_dir().iterdir() if p.is_dir()))

    def predict(model: str, paths: list[str]) -> PredictedBatch:
        files = files_under(paths)
        probs = np.full((len(files), len(classes)), 0.1 / (len(classes) - 1), np.float32)
        for i, f in enumerate(files):
            probs[i, classes.index(f.rel.split("/")[-2])] = 0.9
        scores = np.full(len(files), 0.1, np.float32)
        scores[-1:] = 0.9  # the last image looks unlike the training images: no answer shown
        result = Predictions(probs, list(range(len(files))), [], scores, 0.5)
        return PredictedBatch(model, classes, prediction_rows(files, result, classes, top_k=3))

    app = QApplication([])
    panel = PredictPanel(describe_fn=lambda m: ("preview.keras", classes, 224), predict_fn=predict,
                         explain_fn=lambda *a: None, export_fn=lambda *a: None)
    panel.set_model("preview")
    panel.add_paths([str(samples_dir())])
    panel.resize(900, 650)
    panel.show()
    app.exec()
