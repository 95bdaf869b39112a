"""The confusion matrix as a colour-coded grid: click a cell to see exactly those images."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

_RIGHT, _WRONG = QColor(46, 139, 87), QColor(192, 57, 43)


def cell_colour(count: int, row_total: int, diagonal: bool) -> QColor:
    """Green on the diagonal, red off it, stronger the larger the share of the true class."""
    share = count / row_total if row_total else 0.0
    base = _RIGHT if diagonal else _WRONG
    alpha = 0 if count == 0 else int(40 + 200 * share)
    return QColor(base.red(), base.green(), base.blue(), alpha)


class ConfusionGrid(QTableWidget):
    """Rows: the true class; columns: the predicted class. Cells hold counts."""

    sig_cell_chosen = Signal(int, int)
    """The user clicked the cell (true class index, predicted class index)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.setToolTip("Rows: the actual class (the folder) · columns: the predicted class. Click a cell to see "
                        "its images.")
        self.cellClicked.connect(self._on_cell_clicked)
        self.matrix: list[list[int]] = []

    def show_matrix(self, matrix: Sequence[Sequence[int]], classes: Sequence[str]) -> None:
        self.matrix = [list(map(int, row)) for row in matrix]
        k = len(classes)
        self.setRowCount(k)
        self.setColumnCount(k)
        self.setHorizontalHeaderLabels([f"Predicted:\n{c}" for c in classes])  # two lines: narrow columns
        self.setVerticalHeaderLabels([f"Actual: {c}" for c in classes])
        for i, row in enumerate(self.matrix):
            total = sum(row)
            for j, count in enumerate(row):
                item = QTableWidgetItem(str(count))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setBackground(QBrush(cell_colour(count, total, i == j)))
                share = f" ({count / total:.0%} of them)" if total else ""
                item.setToolTip(f"{count} image(s) actually '{classes[i]}' predicted '{classes[j]}'{share}")
                self.setItem(i, j, item)

    @Slot(int, int)
    def _on_cell_clicked(self, row: int, column: int) -> None:
        self.sig_cell_chosen.emit(row, column)


if __name__ == "__main__":
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    grid = ConfusionGrid()
    grid.show_matrix([[40, 3, 1], [5, 30, 0], [0, 2, 19]], ["normal", "benign", "malignant"])
    grid.resize(500, 300)
    grid.show()
    app.exec()
