"""The Evaluate view: metrics, the confusion grid linked to a gallery, Grad-CAM on a click, ROC, calibration,
mislabelled marks, and the report."""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from foveal.core.evaluation.evaluate import Evaluation, Prediction, with_positive_class
from foveal.core.evaluation.metrics import format_value as _f
from foveal.core.evaluation.review import export_marks_csv, read_marks, set_mark
from foveal.core.paths import is_inside
from foveal.gui.widgets.colours import error_colour
from foveal.gui.widgets.confusion_grid import ConfusionGrid
from foveal.gui.widgets.done_banner import DoneBanner
from foveal.gui.widgets.evaluation_plots import ReliabilityPlot, RocPlot
from foveal.gui.widgets.evaluation_words import as_predictions, dataset_root, summary_html
from foveal.gui.widgets.gallery import Gallery
from foveal.gui.widgets.image_detail import ImageDetail
from foveal.gui.widgets.run_result import headline_label
from foveal.gui.workers.call_worker import CallWorker
from foveal.gui.workers.jobs import JobRunner

EXPLAIN, REPORT = "explain", "report"  # the panel's two jobs


class EvaluatePanel(QWidget):
    """Feed it an :class:`Evaluation` with :meth:`show_evaluation`. Grad-CAM and the report run on workers
    through ``explain_fn(run_dir, path, class_index)`` and ``report_fn(run_dir, evaluation)``."""

    sig_message = Signal(str)
    """A line for the status bar."""
    sig_unexpected = Signal(str, str)
    """A bug in a worker: message and details, for the window's error dialog."""

    def __init__(self, explain_fn: Callable, report_fn: Callable, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.explain_fn, self.report_fn = explain_fn, report_fn
        self.evaluation: Evaluation | None = None
        self.marks: dict[str, dict] = {}
        self.shown: list[Prediction] = []  # what the gallery shows (its indices point here)
        self.suspects: list[Prediction] = []  # the run's suspected mislabels, as predictions
        self.detail: ImageDetail | None = None
        self.runner = JobRunner(self)  # the heatmap and the report; the gallery's thumbnails adopted
        self._pending: tuple[str, int] | None = None
        self._make_widgets()
        self._layout()
        self.runner.adopt(self.gallery.thumbs)

    def _make_widgets(self) -> None:
        self.headline = headline_label("—")
        self.summary = QLabel("Train a model, or open a run folder (Ctrl+Shift+O), to see what it got wrong.")
        self.summary.setWordWrap(True)
        self.report_button = QPushButton("Write report")
        self.report_button.setToolTip("The report to keep and sign: one HTML file and a PDF with the same content, "
                                      "in the run folder")
        self.export_button = QPushButton("Export marked images…")
        self.export_button.setToolTip("The images you marked as mislabelled, as CSV, for you to act on")
        self.open_button = QPushButton("Open folder")
        self.open_button.setToolTip("Open the run folder (model, settings, report) in the file manager")
        for b in (self.report_button, self.export_button, self.open_button):
            b.setEnabled(False)
        self.positive_label = QLabel("Positive class:")
        self.positive_combo = QComboBox()
        self.positive_combo.setToolTip("The class that sensitivity, specificity, PPV and NPV are about (for "
                                       "example the disease); the report follows this choice")
        self.positive_label.setBuddy(self.positive_combo)
        self.positive_combo.currentTextChanged.connect(self._on_positive_chosen)
        self.metrics_table = QTableWidget(0, 6)
        self.metrics_table.setHorizontalHeaderLabels(["class", "precision", "recall", "F1", "AUC", "images"])
        self.metrics_table.verticalHeader().setVisible(False)
        self.metrics_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.metrics_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.confusion = ConfusionGrid()
        self.gallery_label = QLabel("Click a cell of the confusion matrix to see its images.")
        self.gallery_label.setWordWrap(True)
        self.errors_button = QPushButton("All errors")
        self.unsure_button = QPushButton("Low confidence")
        self.suspects_button = QPushButton("Suspected mislabels")
        self.suspects_button.setToolTip("Images of every split whose folder label looks wrong (confident learning "
                                        "on predictions from models that did not see them); mark the ones you "
                                        "confirm")
        self.gallery = Gallery()
        self.roc_plot, self.reliability_plot = RocPlot(), ReliabilityPlot()
        self.tabs = QTabWidget()
        self.done = DoneBanner()
        self.report_button.clicked.connect(self._on_report_clicked)
        self.export_button.clicked.connect(self._on_export_clicked)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.confusion.sig_cell_chosen.connect(self._on_cell_chosen)
        self.errors_button.clicked.connect(self._on_errors_clicked)
        self.unsure_button.clicked.connect(self._on_unsure_clicked)
        self.suspects_button.clicked.connect(self._on_suspects_clicked)
        self.gallery.sig_prediction_chosen.connect(self._on_prediction_chosen)

    def _layout(self) -> None:
        head = QHBoxLayout()
        head.addWidget(self.headline)
        head.addWidget(self.summary, 1)
        buttons = QHBoxLayout()
        for b in (self.report_button, self.export_button, self.open_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.positive_label)
        buttons.addWidget(self.positive_combo)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.metrics_table)
        left.addWidget(self.confusion)
        gallery_page = QWidget()
        g = QVBoxLayout(gallery_page)
        g.setContentsMargins(0, 0, 0, 0)
        filters = QHBoxLayout()
        filters.addWidget(self.gallery_label, 1)
        filters.addWidget(self.errors_button)
        filters.addWidget(self.unsure_button)
        filters.addWidget(self.suspects_button)
        g.addLayout(filters)
        g.addWidget(self.gallery, 1)
        self.tabs.addTab(gallery_page, "Images")
        self.tabs.addTab(self.roc_plot, "ROC")
        self.tabs.addTab(self.reliability_plot, "Calibration")
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(left)
        body.addWidget(self.tabs)
        body.setSizes([440, 560])
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addLayout(buttons)
        layout.addWidget(self.done)
        layout.addWidget(body, 1)

    # ---- public ------------------------------------------------------------------------------------
    def show_busy(self, text: str) -> None:
        self.headline.setText("…")
        self.summary.setText(text)

    def show_error(self, message: str) -> None:
        self.headline.setText("—")
        self.summary.setText(f"<span style='color:{error_colour()}'><b>Could not evaluate:</b> {message}</span>")

    def run_dir(self) -> str | None:
        """The run folder of the evaluation shown (None: none, or one of a bare model file)."""
        return self.evaluation.run_dir if self.evaluation is not None else None

    def show_evaluation(self, ev: Evaluation) -> None:
        """Fill every part of the view from one evaluation."""
        self.evaluation = ev
        self.marks = read_marks(ev.run_dir) if ev.run_dir else {}
        m = ev.metrics
        self.headline.setText(_f(m["accuracy"], True))
        self.headline.setToolTip("Accuracy on held-out images never used for training or choosing the epoch")
        self._show_summary()
        binary = m.get("roc", {}).get("binary")
        self.positive_combo.blockSignals(True)
        self.positive_combo.clear()
        if binary:
            self.positive_combo.addItems(list(ev.classes))
            self.positive_combo.setCurrentText(binary["positive_class"])
        self.positive_combo.blockSignals(False)
        self.positive_label.setVisible(bool(binary))
        self.positive_combo.setVisible(bool(binary))
        self._fill_metrics(m)
        self.confusion.show_matrix(m["confusion"], ev.classes)
        self.roc_plot.show_roc(m["roc"])
        self.reliability_plot.show_calibration(m["calibration"], m.get("calibration_before"))
        for b in (self.report_button, self.export_button, self.open_button):
            b.setEnabled(ev.run_dir is not None)
        self.suspects = self._suspect_predictions(ev)
        if self.detail is not None:
            self.detail.close()
            self.detail = None
        self._on_errors_clicked()

    def _show_summary(self) -> None:
        if self.evaluation is not None:
            self.summary.setText(summary_html(self.evaluation))

    @Slot(str)
    def _on_positive_chosen(self, name: str) -> None:
        """Sensitivity, specificity, PPV and NPV for the chosen class, from the predictions already made."""
        if self.evaluation is None or not name or name not in self.evaluation.classes:
            return
        self.evaluation = with_positive_class(self.evaluation, name)
        self._show_summary()
        self.roc_plot.show_roc(self.evaluation.metrics["roc"])

    def _fill_metrics(self, m: dict) -> None:
        auc = {c["class"]: c["auc"] for c in m["roc"]["per_class"]}
        rows = [[r["class"], _f(r["precision"]), _f(r["recall"]), _f(r["f1"]), _f(auc.get(r["class"])),
                 str(r["support"])] for r in m["per_class"]]
        rows += [[f"{a} average", _f(m[a]["precision"]), _f(m[a]["recall"]), _f(m[a]["f1"]), "", ""]
                 for a in ("macro", "weighted")]
        self.metrics_table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                item = QTableWidgetItem(text)
                if j:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.metrics_table.setItem(i, j, item)

    def show_subset(self, label: str, indices: list[int], preds: list[Prediction] | None = None) -> None:
        """Show ``indices`` of ``preds`` (default: the evaluation's predictions), the most confident first."""
        if preds is None:
            if self.evaluation is None:
                return
            preds = self.evaluation.predictions
            indices = sorted(indices, key=lambda i: -preds[i].confidence)
        self.shown = preds
        self.gallery_label.setText(f"{label}: {len(indices)} image(s)" if indices else f"{label}: none")
        self.gallery.show_predictions(self.shown, indices, set(self.marks))
        self.tabs.setCurrentIndex(0)

    # ---- gallery and detail ----------------------------------------------------------------------------
    @Slot(int, int)
    def _on_cell_chosen(self, true: int, predicted: int) -> None:
        ev = self.evaluation
        if ev is None:
            return
        t, p = ev.classes[true], ev.classes[predicted]
        self.show_subset(f"Labelled '{t}', predicted '{p}'",
                         [i for i, x in enumerate(ev.predictions) if x.true == t and x.predicted == p])

    @Slot()
    def _on_errors_clicked(self) -> None:
        if self.evaluation is not None:
            self.show_subset("All errors", [i for i, x in enumerate(self.evaluation.predictions) if not x.correct])

    @Slot()
    def _on_unsure_clicked(self) -> None:
        if self.evaluation is not None:
            self.show_subset("Low confidence",
                             [i for i, x in enumerate(self.evaluation.predictions) if x.low_confidence])

    @Slot()
    def _on_suspects_clicked(self) -> None:
        if self.suspects:
            self.show_subset("Suspected mislabels (every split; the folder label looks wrong)",
                             list(range(len(self.suspects))), self.suspects)

    def _suspect_predictions(self, ev: Evaluation) -> list[Prediction]:
        """The run's suspected mislabels as predictions: labelled as their folder says, 'predicted' as suggested."""
        from foveal.core.training.mislabels import read_suspects

        found = read_suspects(ev.run_dir) if ev.run_dir else None
        root = dataset_root(self.run_dir()) if found else None
        self.suspects_button.setEnabled(bool(found) and root is not None)
        self.suspects_button.setText(f"Suspected mislabels ({len(found)})" if found is not None
                                     else "Suspected mislabels")
        if found is None or root is None:
            return []
        return as_predictions(found, ev.classes, root)

    @Slot(int)
    def _on_prediction_chosen(self, index: int) -> None:
        if self.evaluation is None:
            return
        if self.detail is None:
            self.detail = ImageDetail(self.evaluation.classes, self)
            self.detail.sig_explain_requested.connect(self._on_explain_requested)
            self.detail.sig_mark_toggled.connect(self._on_mark_toggled)
            self.detail.sig_step.connect(self._on_detail_step)
        p = self.shown[index]
        self.detail.show()
        self.detail.raise_()
        self.detail.show_prediction(index, p, p.file in self.marks)

    @Slot(int)
    def _on_detail_step(self, step: int) -> None:
        """The previous or next image of the gallery shown (arrow keys in the image window)."""
        order = list(self.gallery.indices)
        if self.detail is None or self.detail.index not in order:
            return
        k = order.index(self.detail.index) + step
        if 0 <= k < len(order):
            self._on_prediction_chosen(order[k])

    @Slot(str, int)
    def _on_explain_requested(self, path: str, class_index: int) -> None:
        if self.runner.is_running(EXPLAIN):
            self._pending = (path, class_index)  # only the latest request matters
            return
        if self.run_dir() is None:
            return
        self.runner.start(EXPLAIN, CallWorker(self.explain_fn, self.run_dir(), path, class_index),
                          self._on_explained, self._on_explain_failed)

    @Slot(object)
    def _on_explained(self, explanation) -> None:
        if self.detail is not None:
            self.detail.show_explanation(explanation.path, explanation.class_index, explanation.picture, explanation)
        self._next_explanation()

    @Slot(str, str, bool)
    def _on_explain_failed(self, message: str, details: str, user_error: bool) -> None:
        if self.detail is not None:
            self.detail.show_failure(message)
        if not user_error:
            self.sig_unexpected.emit(message, details)
        self._next_explanation()

    def _next_explanation(self) -> None:
        if self._pending is not None:
            request, self._pending = self._pending, None
            self._on_explain_requested(*request)

    @Slot(int, bool)
    def _on_mark_toggled(self, index: int, marked: bool) -> None:
        run_dir = self.run_dir()
        if run_dir is None:
            return
        p = self.shown[index]
        self.marks = set_mark(run_dir, p.file, marked, true=p.true, predicted=p.predicted)
        self.gallery.set_marked(self.shown, set(self.marks))
        self.sig_message.emit(f"{len(self.marks)} image(s) marked as mislabelled (saved in the run folder)")

    # ---- buttons -------------------------------------------------------------------------------------
    @Slot()
    def _on_report_clicked(self) -> None:
        if self.runner.is_running(REPORT) or self.run_dir() is None:
            return
        self.report_button.setEnabled(False)
        self.report_button.setText("Writing the report…")
        self.runner.start(REPORT, CallWorker(self.report_fn, self.run_dir(), self.evaluation),
                          self._on_report_written, self._on_report_failed)

    @Slot(object)
    def _on_report_written(self, html_path: str) -> None:
        self.report_button.setEnabled(True)
        self.report_button.setText("Write report")
        self.sig_message.emit(f"Report written: {html_path} and report.pdf beside it")
        self.done.show_done(f"Report written: {html_path} and report.pdf beside it", html_path)
        QDesktopServices.openUrl(QUrl.fromLocalFile(html_path))

    @Slot(str, str, bool)
    def _on_report_failed(self, message: str, details: str, user_error: bool) -> None:
        self.report_button.setEnabled(True)
        self.report_button.setText("Write report")
        self.done.show_problem(f"The report could not be written: {message}")
        if not user_error:
            self.sig_unexpected.emit(message, details)

    @Slot()
    def _on_export_clicked(self) -> None:
        run_dir = self.run_dir()
        if run_dir is None:
            return
        default = os.path.join(run_dir, "mislabelled.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Export the images marked as mislabelled", default,
                                              "CSV files (*.csv)")
        if path:
            self.export_marks(path)

    def export_marks(self, path: str) -> bool:
        """Write the marks as CSV at ``path``, unless that is inside the dataset folder (never written to)."""
        run_dir, root = self.run_dir(), dataset_root(self.run_dir())
        if run_dir is None:
            return False
        if root and is_inside(path, root):
            self.done.show_problem(f"{path} is inside the dataset folder, which Foveal never writes to. Choose "
                                   "another place.")
            return False
        n = export_marks_csv(run_dir, path, root or "")
        self.done.show_done(f"{n} mislabelled image(s) exported to {path}", path)
        return True

    @Slot()
    def _on_open_clicked(self) -> None:
        run_dir = self.run_dir()
        if run_dir is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(run_dir))


if __name__ == "__main__":  # preview: a scripted evaluation of the sample images (Grad-CAM and report do nothing)
    from PySide6.QtWidgets import QApplication

    from foveal.gui.widgets.preview_data import sample_evaluation

    app = QApplication([])
    panel = EvaluatePanel(explain_fn=lambda *a: None, report_fn=lambda *a: "")
    panel.show_evaluation(sample_evaluation())
    panel.resize(1000, 750)
    panel.show()
    app.exec()
