"""The Runs view: every run of the project, sortable; select two or more to overlay their curves and compare
their metrics side by side; rename, annotate or delete a run."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from foveal.gui.widgets.training_plot import text_colour

COLUMNS = (("name", "run"), ("ended", "ended"), ("backbone", "backbone"), ("fine_tune", "depth"), ("epochs", "epochs"),
           ("seconds", "time (s)"), ("test_accuracy", "test acc."), ("balanced_accuracy", "balanced acc."),
           ("macro_f1", "macro F1"), ("macro_auc", "macro AUC"), ("note", "note"))
_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


class _Number(QTableWidgetItem):
    """Sorts by value, not by text."""

    def __init__(self, value) -> None:
        ok = value is not None and not (isinstance(value, float) and math.isnan(value))
        super().__init__((f"{value:.3f}" if isinstance(value, float) and value <= 1 else f"{value:.0f}")
                         if ok else "–")
        self.value = value if ok else -1.0
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other) -> bool:
        return self.value < getattr(other, "value", -1.0)


class RunsPanel(QWidget):
    """Shows :func:`core.project.list_runs` rows. It asks the window to rename, annotate or delete."""

    sig_rename = Signal(str, str)
    """(run id, new name)."""
    sig_note = Signal(str, str)
    """(run id, note)."""
    sig_delete = Signal(str)
    """Run id the user confirmed to delete."""
    sig_open = Signal(str)
    """Run folder to open in the Evaluate view."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[dict] = []
        self.header = QLabel("Open or create a project (File menu) to keep and compare its runs.")
        self.header.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([c[1] for c in COLUMNS])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.compare = QTableWidget(0, 0)
        self.compare.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.compare.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.in_project = False
        ink = text_colour()  # the palette's: readable on a light or a dark one
        self.loss_plot, self.acc_plot = pg.PlotWidget(background=None), pg.PlotWidget(background=None)
        for p in (self.loss_plot, self.acc_plot):
            p.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # pictures: Tab never stops on them
        for p, title in ((self.loss_plot, "validation loss"), (self.acc_plot, "validation accuracy")):
            p.setTitle(title, color=ink.name())
            p.setLabel("bottom", "epoch", color=ink.name())
            for side in ("left", "bottom"):
                p.getAxis(side).setTextPen(ink)
                p.getAxis(side).setPen(ink)
            p.addLegend(offset=(-10, 10), labelTextColor=ink)
        self.buttons = {name: QPushButton(text) for name, text in (("open", "Evaluate"), ("rename", "Rename…"),
                                                                      ("note", "Note…"), ("delete", "Delete…"))}
        self._layout()
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.buttons["open"].clicked.connect(self._on_open)
        self.buttons["rename"].clicked.connect(self._on_rename)
        self.buttons["note"].clicked.connect(self._on_note)
        self.buttons["delete"].clicked.connect(self._on_delete)
        self._on_selection()

    def _layout(self) -> None:
        row = QHBoxLayout()
        row.addWidget(self.header, 1)
        for b in self.buttons.values():
            row.addWidget(b)
        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.acc_plot)
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(self.table)
        body.addWidget(plots)
        body.addWidget(self.compare)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(body, 1)

    def show_runs(self, rows: list[dict], project_name: str = "") -> None:
        """The runs to list: a project's (``project_name``), or, without a project, every run of the dataset."""
        self.rows = rows
        self.in_project = bool(project_name)
        if project_name:
            self.header.setText(f"<b>{len(rows)} run(s)</b> in project {project_name}. Select two or more to "
                                "compare.")
        elif rows:
            self.header.setText(f"<b>{len(rows)} run(s) of this dataset</b>. Select two or more to compare. To "
                                "name, annotate or delete them, make a project (File → New project…).")
        else:
            self.header.setText("No run of this dataset yet. Train one (step 3); a project (File menu) keeps its "
                                "runs together with names and notes.")
        self.table.setSortingEnabled(False)
        self.table.clearSelection()  # rows are rebuilt: a kept selection would point at another run
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, (key, _title) in enumerate(COLUMNS):
                value = row.get(key)
                item = QTableWidgetItem(str(value or "")) if key in ("name", "ended", "backbone", "fine_tune", "note") \
                    else _Number(value)
                item.setData(Qt.ItemDataRole.UserRole, r)
                self.table.setItem(r, c, item)
        self.table.setSortingEnabled(True)
        self._on_selection()

    def selected(self) -> list[dict]:
        rows = {i.row() for i in self.table.selectedItems()}
        items = [self.table.item(r, 0) for r in sorted(rows)]
        return [self.rows[item.data(Qt.ItemDataRole.UserRole)] for item in items if item is not None]

    @Slot()
    def _on_selection(self) -> None:
        chosen = self.selected()
        one = len(chosen) == 1
        self.buttons["open"].setEnabled(one)
        for name in ("rename", "note"):
            self.buttons[name].setEnabled(one and self.in_project)
        self.buttons["delete"].setEnabled(bool(chosen) and self.in_project)
        self._plot(chosen)
        self._fill_compare(chosen)

    def _plot(self, runs: list[dict]) -> None:
        """Each run's validation curves (its ``history``: :class:`core.run_record.Epoch` records)."""
        for plot, key in ((self.loss_plot, "val_loss"), (self.acc_plot, "val_accuracy")):
            plot.clear()
            for i, run in enumerate(runs):
                hist = run["history"]
                pen = pg.mkPen(_COLOURS[i % len(_COLOURS)], width=2)
                plot.plot([h.epoch for h in hist], [getattr(h, key) for h in hist], pen=pen, name=run["name"],
                          symbol="o", symbolSize=4, symbolBrush=_COLOURS[i % len(_COLOURS)])

    def _fill_compare(self, runs: list[dict]) -> None:
        keys = [c for c in COLUMNS if c[0] not in ("name", "note")]
        self.compare.setRowCount(len(keys))
        self.compare.setColumnCount(len(runs))
        self.compare.setHorizontalHeaderLabels([r["name"] for r in runs])
        self.compare.setVerticalHeaderLabels([title for _k, title in keys])
        for c, run in enumerate(runs):
            for r, (key, _title) in enumerate(keys):
                value = run.get(key)
                item = QTableWidgetItem(str(value)) if isinstance(value, str) else _Number(value)
                self.compare.setItem(r, c, item)

    @Slot()
    def _on_open(self) -> None:
        self.sig_open.emit(self.selected()[0]["folder"])

    @Slot()
    def _on_rename(self) -> None:
        run = self.selected()[0]
        name, ok = QInputDialog.getText(self, "Rename run", "Name:", text=run["name"])
        if ok and name.strip():
            self.sig_rename.emit(run["id"], name.strip())

    @Slot()
    def _on_note(self) -> None:
        run = self.selected()[0]
        note, ok = QInputDialog.getMultiLineText(self, "Note", f"Note for {run['name']}:", run["note"])
        if ok:
            self.sig_note.emit(run["id"], note)

    @Slot()
    def _on_delete(self) -> None:
        runs = self.selected()
        names = ", ".join(r["name"] for r in runs)
        answer = QMessageBox.question(self, "Delete runs?", f"Delete {len(runs)} run(s) ({names}) with their models "
                                      "and reports? This cannot be undone.")
        if answer == QMessageBox.StandardButton.Yes:
            for run in runs:
                self.sig_delete.emit(run["id"])


if __name__ == "__main__":  # preview: three scripted runs of a project
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    panel = RunsPanel()
    from foveal.core.run_record import Epoch

    history = [Epoch(e, "head", loss=1 / e, val_loss=1.2 / e, accuracy=1 - 0.4 / e, val_accuracy=1 - 0.5 / e)
               for e in range(1, 9)]
    rows = [{"folder": f"/tmp/runs/run-{i}", "id": f"run-{i}", "name": name, "note": "", "backbone": backbone,
             "fine_tune": depth, "epochs": 8, "seconds": 60.0 * (i + 1), "outcome": "completed",
             "created": "2026-12-01T10:00:00", "test_accuracy": acc, "balanced_accuracy": acc - 0.05,
             "macro_f1": acc - 0.04, "macro_auc": acc + 0.05, "history": history}
            for i, (name, backbone, depth, acc) in enumerate([("baseline", "MobileNetV2", "frozen", 0.81),
                                                              ("deeper", "MobileNetV2", "last:2", 0.84),
                                                              ("resnet", "ResNet50", "frozen", 0.79)])]
    panel.show_runs(rows, "preview project")
    panel.table.selectAll()  # compare all three
    panel.resize(1000, 600)
    panel.show()
    app.exec()
