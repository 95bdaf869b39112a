"""The Predict view's table: one row per image with its thumbnail, its name with any warning, and the model's
first answers, as many as the model has classes (three at most).

An image that looks unlike the training images (core.models.familiar) gets no answer: its row says so in words,
and the model's guess is one click away (*Show the model's guess*), shown then as a guess."""

from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QProgressBar,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from foveal.core.models.familiar import NO_ANSWER_WORDS, UNFAMILIAR_WORDS

ROW_THUMB = 56
#: The most ranks shown per image.
MAX_RANKS = 3
#: The link of an unfamiliar image's row that shows the model's guess.
SHOW_GUESS = "Show the model's guess"
#: Before the first class of a guess shown on request.
GUESS_PREFIX = "guess: "


class PredictTable(QTableWidget):
    """Rows of prediction dicts (core.evaluation.predict_table.prediction_rows); column 0 holds the thumbnail."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 2 + MAX_RANKS, parent)
        self.rows: list[dict] = []
        self.ranks = MAX_RANKS
        self._shown: set[int] = set()  # unfamiliar rows whose guess is shown
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(ROW_THUMB + 6)
        self.setIconSize(QSize(ROW_THUMB, ROW_THUMB))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.set_ranks(MAX_RANKS)

    def set_ranks(self, n_classes: int) -> None:
        """Columns for a model with ``n_classes`` classes (no empty ``#3`` for two); the rows are cleared."""
        self.clear_rows()
        self.ranks = max(1, min(MAX_RANKS, n_classes))
        self.setColumnCount(2 + self.ranks)
        self.setHorizontalHeaderLabels(["image", "file", *(f"#{k}" for k in range(1, self.ranks + 1))])
        header = self.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for c in range(2, 2 + self.ranks):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.Fixed)
            self.setColumnWidth(c, 150)
        self.setColumnWidth(0, ROW_THUMB + 8)

    def clear_rows(self) -> None:
        """No rows."""
        self.rows, self._shown = [], set()
        self.clearSpans()
        self.setRowCount(0)

    def add_rows(self, rows: list[dict]) -> int:
        """Append ``rows``; returns the index of the first."""
        start = len(self.rows)
        self.rows += rows
        self.setRowCount(len(self.rows))
        for r, row in enumerate(rows, start):
            self._fill_row(r, row)
        return start

    def guess_hidden(self, r: int) -> bool:
        """Row ``r`` is an unfamiliar image whose guess is not shown yet."""
        return self.rows[r].get("unfamiliar") is True and r not in self._shown

    def _fill_row(self, r: int, row: dict) -> None:
        placeholder = QPixmap(ROW_THUMB, ROW_THUMB)
        placeholder.fill(QColor(225, 225, 225))
        self.setItem(r, 0, QTableWidgetItem(QIcon(placeholder), ""))
        unfamiliar = row.get("unfamiliar") is True
        marks = ("  ⚠ unfamiliar" if unfamiliar else "") + ("  ⚠ unsure" if row.get("low_confidence") else "")
        name = QTableWidgetItem(os.path.basename(row["path"]) + marks)
        tip = row["path"] + (f"\n{row['error']}" if row["error"] else "")
        if unfamiliar:
            tip += f"\n{UNFAMILIAR_WORDS[0].upper()}{UNFAMILIAR_WORDS[1:]}."
            name.setForeground(QColor(160, 60, 0))
        name.setToolTip(tip)
        self.setItem(r, 1, name)
        if row["error"]:
            bad = QTableWidgetItem(f"not read: {row['error']}")
            bad.setForeground(QColor(192, 57, 43))
            self.setItem(r, 2, bad)
            self._span(r)
        elif unfamiliar:
            self._no_answer(r)
        else:
            self._bars(r, row)

    def _span(self, r: int) -> None:
        if self.ranks > 1:
            self.setSpan(r, 2, 1, self.ranks)

    def _no_answer(self, r: int) -> None:
        """Words instead of the answer, and the link to the guess."""
        label = QLabel(f"<b>{NO_ANSWER_WORDS}.</b> <a href='guess:{r}'>{SHOW_GUESS}</a>")
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        label.setToolTip("Its answer could be meaningless: the model answers for any image, even one unlike "
                         "everything it learned from.")
        label.setStyleSheet("color: #a03c00; padding: 2px 6px;")
        label.linkActivated.connect(self._on_link)
        self.setCellWidget(r, 2, label)
        self._span(r)

    @Slot(str)
    def _on_link(self, link: str) -> None:
        if link.startswith("guess:"):
            self.show_guess(int(link.split(":", 1)[1]))

    def show_guess(self, r: int) -> None:
        """Show the model's guess in an unfamiliar image's row, as a guess."""
        if not self.guess_hidden(r):
            return
        self._shown.add(r)
        self.removeCellWidget(r, 2)
        if self.ranks > 1:
            self.setSpan(r, 2, 1, 1)
        self._bars(r, self.rows[r], guess=True)

    def _bars(self, r: int, row: dict, guess: bool = False) -> None:
        for k in range(1, self.ranks + 1):
            if f"top{k}_class" not in row:
                continue
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setValue(int(round(row[f"top{k}_probability"] * 1000)))
            prefix = GUESS_PREFIX if guess and k == 1 else ""
            bar.setFormat(f"{prefix}{row[f'top{k}_class']}  {row[f'top{k}_probability']:.1%}")
            if guess:
                bar.setToolTip("The model's guess for an image unlike the training images: not an answer.")
            self.setCellWidget(r, 1 + k, bar)


if __name__ == "__main__":  # preview: a two-class model's rows, one unfamiliar image and one unreadable file
    from PySide6.QtWidgets import QApplication

    def _row(name: str, yes: float, unfamiliar: bool = False) -> dict:
        top = ("yes", yes) if yes >= 0.5 else ("no", 1 - yes)
        other = ("no", 1 - yes) if top[0] == "yes" else ("yes", yes)
        return {"path": name, "predicted_class": top[0], "confidence": top[1], "low_confidence": top[1] < 0.6,
                "unfamiliar": unfamiliar, "error": "", "top1_class": top[0], "top1_probability": top[1],
                "top2_class": other[0], "top2_probability": other[1]}

    app = QApplication([])
    table = PredictTable()
    table.set_ranks(2)
    table.add_rows([_row("mri_001.png", 0.93), _row("cat.jpg", 0.845, unfamiliar=True), _row("mri_002.png", 0.45),
                    {"path": "notes.txt", "error": "not an image Foveal can read"}])
    table.resize(760, 320)
    table.show()
    app.exec()
