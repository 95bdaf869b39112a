"""ROC curves and the reliability diagram of an evaluation, in pyqtgraph."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf"]


def follow_palette(plot: pg.PlotWidget) -> None:
    """Axes and labels in the palette's text colour (readable on a light or dark window); never a Tab stop."""
    from foveal.gui.widgets.training_plot import text_colour

    ink = text_colour()
    for side in ("left", "bottom"):
        plot.getAxis(side).setTextPen(ink)
        plot.getAxis(side).setPen(ink)
        plot.getAxis(side).labelStyle = {"color": ink.name()}  # kept by the setLabel calls that follow
    plot.setFocusPolicy(Qt.FocusPolicy.NoFocus)


class RocPlot(pg.PlotWidget):
    """One-vs-rest ROC curve per class, AUC in the legend; the chosen threshold's point for two classes."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background=None)
        follow_palette(self)
        self.setLabel("bottom", "false positive rate (1 − specificity)")
        self.setLabel("left", "true positive rate (sensitivity)")
        self.setMouseEnabled(x=False, y=False)
        self.legend = self.addLegend(offset=(-10, 10))
        self.curves: dict[str, pg.PlotDataItem] = {}

    def show_roc(self, roc: dict) -> None:
        self.clear()
        self.curves = {}
        self.plot([0, 1], [0, 1], pen=pg.mkPen("#999", style=pg.QtCore.Qt.PenStyle.DotLine))
        for i, c in enumerate(roc["per_class"]):
            if c["auc"] is None:
                continue
            pen = pg.mkPen(_COLOURS[i % len(_COLOURS)], width=2)
            self.curves[c["class"]] = self.plot(c["fpr"], c["tpr"], pen=pen, name=f"{c['class']}  AUC {c['auc']:.3f}")
        op = roc.get("binary", {}).get("chosen")
        if op:
            self.plot([1 - op["specificity"]], [op["sensitivity"]], pen=None, symbol="o", symbolBrush="k",
                      name=f"threshold {op['threshold']:.2f}: sens {op['sensitivity']:.0%}, "
                           f"spec {op['specificity']:.0%}")
        self.setXRange(0, 1, padding=0.02)
        self.setYRange(0, 1, padding=0.02)


class ReliabilityPlot(pg.PlotWidget):
    """Fraction correct against confidence, per bin; the diagonal is perfect calibration."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background=None)
        follow_palette(self)
        self.setLabel("bottom", "confidence of the predicted class")
        self.setLabel("left", "fraction correct")
        self.setMouseEnabled(x=False, y=False)
        self.addLegend(offset=(10, 10))
        self.curve: pg.PlotDataItem | None = None

    def show_calibration(self, calibration: dict, before: dict | None = None) -> None:
        """The reliability curve; with ``before``, also the curve before temperature scaling."""
        self.clear()
        self.plot([0, 1], [0, 1], pen=pg.mkPen("#999", style=pg.QtCore.Qt.PenStyle.DotLine),
                  name="perfectly calibrated")
        self.before_curve = None
        if before is not None:
            self.before_curve = self.plot(before["confidence"], before["accuracy"],
                                          pen=pg.mkPen("#b85c00", width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine),
                                          symbol="t", symbolBrush="#b85c00",
                                          name=f"before calibration (error {before['ece']:.3f})")
        name = "this model" if before is None else f"calibrated, T = {before['temperature']:.2f}"
        self.curve = self.plot(calibration["confidence"], calibration["accuracy"], pen=pg.mkPen("#1f77b4", width=2),
                               symbol="o", symbolBrush="#1f77b4", name=name)
        title = f"Expected calibration error {calibration['ece']:.3f}"
        if before is not None:
            title += f" (before calibration {before['ece']:.3f})"
        self.setTitle(title, color="k")
        self.setXRange(0, 1, padding=0.02)
        self.setYRange(0, 1, padding=0.02)


if __name__ == "__main__":
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    roc = RocPlot()
    roc.show_roc({"per_class": [{"class": "a", "auc": 0.9, "fpr": [0, 0.1, 1], "tpr": [0, 0.8, 1]}]})
    roc.show()
    app.exec()
