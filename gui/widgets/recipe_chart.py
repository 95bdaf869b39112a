"""The automatic recipe's comparison as it happens: each candidate's cross-validated score with its 95% interval
appears as it is scored, the leader so far marked (a candidate dropped part-way, clearly below the leader, in grey
with its name saying so), so the minutes before the first epoch show what is being weighed
rather than empty curves. The score is what the recipe ranks by: accuracy, or, where the classes are imbalanced,
balanced accuracy (each class counted equally), and the chart's axis says which and why."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics, QGuiApplication
from PySide6.QtWidgets import QVBoxLayout, QWidget

from foveal.core.training.events import CandidateTried
from foveal.gui.widgets.training_plot import SparseAxis, text_colour

_POINT = (40, 90, 200)
_LEADER = (230, 120, 20)
_DROPPED = (150, 150, 150)
_AXIS = {"accuracy": "accuracy in cross-validation (bar: 95% interval)",
         "balanced_accuracy": "balanced accuracy in cross-validation: each class counted equally, as the classes "
                              "are imbalanced (bar: 95% interval)"}


def score(row: CandidateTried) -> tuple[float, float, float]:
    """``(score, low, high)`` of a candidate on what the recipe ranks by (``row.ranked_by``)."""
    if row.ranked_by == "balanced_accuracy" and row.balanced_accuracy is not None:
        value = row.balanced_accuracy
        low, high = row.balanced_low, row.balanced_high
    else:
        value, low, high = row.accuracy or 0.0, row.low, row.high
    return value, value if low is None else low, value if high is None else high


class PercentAxis(SparseAxis):
    """Accuracy as percentages (0.85 → "85%"); none past 100% (the room there is for the candidates' names)."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph override)
        return [f"{v:.0%}" if v <= 1.0001 else "" for v in values]


class RecipeChart(QWidget):
    """One row per candidate scored, best-scoring marked. Feed it :class:`CandidateTried` events with
    :meth:`add`; :meth:`choose` marks the winner the run chose."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[CandidateTried] = []
        self.chosen: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = pg.PlotWidget(axisItems={"bottom": PercentAxis("bottom")})
        self.plot.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.plot.setBackground(None)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        ink = text_colour()
        bottom = self.plot.getAxis("bottom")
        bottom.setTextPen(ink)
        bottom.setPen(ink)
        self.plot.setLabel("bottom", _AXIS["accuracy"], color=ink.name())
        self.ranked_by = "accuracy"
        self.plot.hideAxis("left")
        self.title = ("Ways to train the head, each scored on images it did not learn from")
        self.plot.setTitle(self.title, color=ink.name(), size="9pt")
        self._items: list = []
        layout.addWidget(self.plot)

    def reset(self) -> None:
        self.rows.clear()
        self.chosen = None
        self.ranked_by = "accuracy"
        self.plot.setLabel("bottom", _AXIS["accuracy"], color=text_colour().name())
        self._redraw()

    def add(self, event: CandidateTried) -> None:
        """A candidate was scored (one without a score only moves the count)."""
        if event.accuracy is not None:
            self.rows.append(event)
            if event.ranked_by != self.ranked_by and event.ranked_by in _AXIS:
                self.ranked_by = event.ranked_by
                self.plot.setLabel("bottom", _AXIS[event.ranked_by], color=text_colour().name())
            self._redraw()

    def choose(self, name: str) -> None:
        """The run chose ``name``: it is marked as the winner."""
        self.chosen = name
        self._redraw()

    def leader(self) -> CandidateTried | None:
        """The best-scoring candidate so far on what the recipe ranks by (ties: the other score)."""
        if self.chosen is not None:
            for row in self.rows:
                if row.name == self.chosen:
                    return row
        scored = [r for r in self.rows if r.accuracy is not None and not r.dropped]
        return max(scored, key=_rank_key, default=None)

    def leader_words(self) -> str:
        """The leader so far in words (empty before any candidate)."""
        best = self.leader()
        if best is None or best.accuracy is None:
            return ""
        value, low, high = score(best)
        interval = f" ({low:.0%}–{high:.0%})" if high > low else ""
        who = "chosen" if self.chosen is not None else "best so far"
        what = " balanced accuracy" if best.ranked_by == "balanced_accuracy" else ""
        return f"{who}: {best.name}, {value:.0%}{what}{interval}"

    def _redraw(self) -> None:
        for item in self._items:
            self.plot.removeItem(item)
        self._items = []
        if not self.rows:
            return
        best = self.leader()
        ink = text_colour()
        rows = self._rows_that_fit(best)
        n = len(rows)
        for i, row in enumerate(rows):
            y = float(n - i)
            acc, low, high = score(row)
            lead = row is best
            colour = _LEADER if lead else _DROPPED if row.dropped else _POINT
            bar = pg.ErrorBarItem(x=np.array([acc]), y=np.array([y]), left=np.array([acc - low]),
                                  right=np.array([high - acc]), beam=0.25,
                                  pen=pg.mkPen(colour, width=3 if lead else 1.5))
            dot = pg.ScatterPlotItem([acc], [y], symbol="star" if lead else "o", size=16 if lead else 8,
                                     brush=pg.mkBrush(colour), pen=pg.mkPen(colour))
            label = pg.TextItem(("★ " if lead else "") + row.name, color=ink, anchor=(0, 0.5))
            if lead:
                font = QFont()
                font.setBold(True)
                label.setFont(font)
            label.setPos(high + 0.01, y)
            for item in (bar, dot, label):
                self.plot.addItem(item)
                self._items.append(item)
        lows = [score(r)[1] for r in rows]
        self.plot.setXRange(max(0.0, min(lows) - 0.05), 1.6, padding=0)  # room on the right for the names
        self.plot.setYRange(0.3, n + 0.7, padding=0)


    def _rows_that_fit(self, best: CandidateTried | None) -> list[CandidateTried]:
        """The candidates in the order they were scored, or, when more than fit the chart's height (a laptop
        screen), the best of them, leader included, best first; the title says how many are shown."""
        line = QFontMetrics(QGuiApplication.font()).height()
        fit = max(4, int(self.plot.height() * 0.75 / (1.6 * line)))
        if len(self.rows) <= fit:
            self.plot.setTitle(self.title, color=text_colour().name(), size="9pt")
            return list(self.rows)
        ranked = sorted(self.rows, key=_rank_key, reverse=True)[:fit]
        if best is not None and best not in ranked:
            ranked[-1] = best
        self.plot.setTitle(f"{self.title} (the {fit} best of {len(self.rows)})", color=text_colour().name(),
                           size="9pt")
        return ranked

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override: as many rows as the new height holds)
        super().resizeEvent(event)
        self._redraw()


def _rank_key(row: CandidateTried) -> tuple[float, float]:
    """Larger is better: the ranked score, then the other one."""
    other = row.accuracy if row.ranked_by == "balanced_accuracy" else row.balanced_accuracy
    return score(row)[0], other or 0.0


if __name__ == "__main__":  # preview: a scripted comparison
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    chart = RecipeChart()
    for i, (acc, sd) in enumerate([(0.78, 0.05), (0.83, 0.04), (0.81, 0.06), (0.74, 0.08), (0.85, 0.03)]):
        chart.add(CandidateTried(i + 1, 18, f"linear head (C={10 ** (i - 2):g}), grid pooling", acc, acc - sd,
                                 acc + sd, acc - 0.1 * i, acc - 0.1 * i - sd, acc - 0.1 * i + sd, "balanced_accuracy"))
    chart.resize(900, 500)
    chart.show()
    app.exec()
