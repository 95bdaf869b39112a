"""Compare backbones: which one suits these images. Candidates to tick, progress per candidate with Stop, a
ranked table with intervals, speed and size, a recommendation in words, and a button that uses it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from foveal.core.compare.candidates import Candidate, default_candidates
from foveal.core.compare.result import Comparison, Row
from foveal.core.models.registry import BACKBONES
from foveal.gui.workers.base import start_worker
from foveal.gui.workers.compare_worker import CompareWorker

HEADERS = ("", "Backbone", "Accuracy (95% interval)", "Balanced accuracy", "Time per image", "Model size",
           "Head chosen (or why skipped)")


class CompareDialog(QDialog):
    """A comparison on the window's dataset; results stay on screen and are saved (in the project, if any)."""

    sig_use = Signal(str, int)
    """Use this backbone at this input size (the recommendation, or the selected row)."""

    def __init__(self, parent: QWidget | None = None, compare_fn: Callable | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare backbones")
        self.compare_fn = compare_fn
        self.worker: CompareWorker | None = None
        self.comparison: Comparison | None = None
        self.job: dict = {}
        intro = QLabel("Which backbone suits your images? Each one ticked below looks once at your training and "
                       "validation images; a head is chosen and scored for it by cross-validation. The test "
                       "images are not used, so they stay a fair check of the model you train afterwards.")
        intro.setWordWrap(True)
        self.candidates = QListWidget()
        self.candidates.setMaximumHeight(130)
        self.weights_label = QLabel()
        self.weights_label.setWordWrap(True)
        self.start_button = QPushButton("Compare")
        self.start_button.setDefault(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.recommendation = QLabel("")
        self.recommendation.setWordWrap(True)
        self.saved_label = QLabel("")
        self.saved_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.use_button = QPushButton("Use the recommended backbone")
        self.use_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.use_button.clicked.connect(self._on_use)
        self.table.itemSelectionChanged.connect(self._on_selection)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(QLabel("<b>Candidates</b> (a backbone at an input size)"))
        layout.addWidget(self.candidates)
        layout.addWidget(self.weights_label)
        row = QHBoxLayout()
        row.addWidget(self.start_button)
        row.addWidget(self.stop_button)
        row.addWidget(self.progress, 1)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.recommendation)
        bottom = QHBoxLayout()
        bottom.addWidget(self.saved_label, 1)
        bottom.addWidget(self.use_button)
        layout.addLayout(bottom)
        self.resize(980, 620)

    # ---- public -------------------------------------------------------------------------------------------
    def setup(self, data_dir: str, weights: str, weights_text: str, *, split, seed: int, out: str | None,
              current: Candidate | None = None, previous: Comparison | None = None) -> None:
        """What the next comparison runs on (the window's dataset and weights); a previous result to show."""
        self.job = {"data_dir": data_dir, "weights": weights, "split": split, "seed": seed, "out": out}
        self.weights_label.setText(f"<small>{weights_text}</small>")
        wanted = default_candidates()
        if current is not None and current not in wanted:
            wanted.insert(0, current)
        self.candidates.clear()
        for cand in wanted:
            item = QListWidgetItem(f"{cand.label} — {cand.spec.good_for}")
            item.setData(Qt.ItemDataRole.UserRole, cand.key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.candidates.addItem(item)
        if previous is not None and not self.is_running():
            self.show_comparison(previous)
            self.status.setText("The last comparison of this dataset; press Compare to run it again.")

    def chosen(self) -> list[Candidate]:
        """The ticked candidates."""
        out = []
        for i in range(self.candidates.count()):
            item = self.candidates.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                name, size = str(item.data(Qt.ItemDataRole.UserRole)).split("@")
                out.append(Candidate(BACKBONES[name], int(size)))
        return out

    def is_running(self) -> bool:
        return self.worker is not None and self.worker.is_running()

    @Slot()
    def start(self) -> None:
        candidates = self.chosen()
        if not candidates or self.is_running() or not self.job:
            if not candidates:
                self.status.setText("Tick at least one candidate to compare.")
            return
        j = self.job
        worker = CompareWorker(j["data_dir"], candidates, j["weights"], split=j["split"], seed=j["seed"],
                               out=j["out"], compare_fn=self.compare_fn)
        worker.sig_event.connect(self._on_event)
        self.table.setRowCount(0)
        self.recommendation.setText("")
        self.saved_label.setText("")
        self.use_button.setEnabled(False)
        self.progress.setValue(0)
        self.status.setText("Starting: loading TensorFlow and scanning the images…")
        self.worker = start_worker(worker, self._on_finished, self._on_failed)
        self._set_running(True)

    @Slot()
    def stop(self) -> None:
        """Stop within the current batch; the candidates done so far stay in the table."""
        if self.worker is not None and self.is_running():
            self.worker.cancel()
            self.status.setText("Stopping after this batch…")

    def wait(self) -> None:
        if self.worker is not None:
            self.worker.wait()

    def show_comparison(self, comparison: Comparison) -> None:
        """The ranked table, the recommendation and where it was saved."""
        self.comparison = comparison
        self.table.setRowCount(0)
        for rank, row in enumerate(comparison.ranked, 1):
            self._add_row(rank, row)
        words = comparison.recommendation()
        self.recommendation.setText(f"<b>Recommendation:</b> {words}")
        self.saved_label.setText(f"<small>Saved: {comparison.path}</small>" if comparison.path else "")
        self.use_button.setEnabled(comparison.recommended is not None)
        self.use_button.setText("Use the recommended backbone")

    # ---- slots --------------------------------------------------------------------------------------------
    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.candidates.setEnabled(not running)

    @Slot(object)
    def _on_event(self, event) -> None:
        from foveal.core.compare import CandidateDone, CandidateProgress, CompareStarted

        if isinstance(event, CompareStarted):
            self.status.setText(f"Comparing {len(event.candidates)} backbone(s) on {event.n_images} training and "
                                f"validation images ({event.folds}-fold cross-validation)")
        elif isinstance(event, CandidateProgress):
            share = event.done / max(event.of, 1)
            part = 0.7 * share if event.stage == "features" else 0.7 + 0.3 * share
            self.progress.setValue(int(1000 * (event.index - 1 + part) / event.total))
            what = (f"looking at the images {event.done}/{event.of}" if event.stage == "features"
                    else f"choosing and scoring the head ({event.done}/{event.of} recipes)")
            self.status.setText(f"{event.index} of {event.total} · {event.label}: {what}")
        elif isinstance(event, CandidateDone):
            self._add_row(self.table.rowCount() + 1, event.row)
            self.progress.setValue(int(1000 * event.index / event.total))

    @Slot(object)
    def _on_finished(self, comparison: Comparison) -> None:
        self._set_running(False)
        self.progress.setValue(1000)
        self.show_comparison(comparison)
        scored = sum(r.scored for r in comparison.rows)
        done = "Stopped" if comparison.outcome == "cancelled" else "Done"
        self.status.setText(f"{done}: {scored} of {len(comparison.rows)} candidate(s) scored in "
                            f"{comparison.seconds:.0f} s.")

    @Slot(str, str, bool)
    def _on_failed(self, message: str, details: str, user_error: bool) -> None:
        self._set_running(False)
        self.progress.setValue(0)
        self.status.setText(message if user_error else f"Something went wrong: {message}")
        self.status.setToolTip(details)

    def _add_row(self, rank: int, row: Row) -> None:
        i = self.table.rowCount()
        self.table.insertRow(i)
        if row.scored:
            lo, hi = row.accuracy_interval or (0.0, 0.0)
            cells = [str(rank), row.label, f"{row.accuracy:.1%}  ({lo:.0%}–{hi:.0%})",
                     f"{row.balanced_accuracy:.1%}", f"{row.ms_per_image:.0f} ms", f"{row.size_mb:.0f} MB",
                     row.recipe + (f"; {row.reason}" if row.reason else "")]
        else:
            cells = ["–", row.label, "", "", "", "", f"{row.status}: {row.reason}"]
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, f"{row.backbone}@{row.size}" if row.scored else "")
            if not row.scored:
                item.setForeground(QBrush(QColor("#595959")))  # ≥ 4.5:1 on white
            if col == len(cells) - 1:
                item.setToolTip(text)
            self.table.setItem(i, col, item)
        self.table.resizeRowToContents(i)

    @Slot()
    def _on_selection(self) -> None:
        items = self.table.selectedItems()
        key = str(items[0].data(Qt.ItemDataRole.UserRole)) if items else ""
        if key:
            self.use_button.setText(f"Use {key.replace('@', ' at ')} px")
            self.use_button.setEnabled(True)

    @Slot()
    def _on_use(self) -> None:
        items = self.table.selectedItems()
        key = str(items[0].data(Qt.ItemDataRole.UserRole)) if items else ""
        if not key and self.comparison is not None and self.comparison.recommended is not None:
            r = self.comparison.recommended
            key = f"{r.backbone}@{r.size}"
        if key:
            name, size = key.split("@")
            self.sig_use.emit(name, int(size))
            self.accept()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.stop()
        self.wait()
        super().closeEvent(event)


if __name__ == "__main__":
    from PySide6.QtWidgets import QApplication

    from foveal.gui.widgets.preview_data import preview_comparison

    app = QApplication([])
    dialog = CompareDialog()
    dialog.setup("/data/busi", "imagenet", "Weights: ImageNet, from Keras's cache on this computer.", split=None,
                 seed=1, out=None, previous=preview_comparison())
    dialog.show()
    app.exec()
