"""Live loss and accuracy curves (pyqtgraph).

Data is appended to growable arrays as events arrive; the plot redraws from a QTimer only when something
changed, so a flood of batch points never floods the event loop (throttle rendering, never data).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QColor, QFontMetrics, QGuiApplication, QPalette
from PySide6.QtWidgets import QVBoxLayout, QWidget

REDRAW_MS = 100


class SparseAxis(pg.AxisItem):
    """Major ticks only, never closer than two lines of text (labels never run into each other, even on a small
    plot at 2× scaling)."""

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph override)
        levels = super().tickSpacing(minVal, maxVal, size)
        if not levels or maxVal <= minVal:
            return levels
        spacing, offset = levels[0]
        room = QFontMetrics(QGuiApplication.font()).height() * (2 if self.orientation in ("left", "right") else 4)
        while size * spacing / (maxVal - minVal) < room:
            spacing *= 2
        return [(spacing, offset)]


class EpochAxis(SparseAxis):
    """An epoch axis: whole epochs only (never 0.5 of one), as many as fit."""

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph override)
        spacings = super().tickSpacing(minVal, maxVal, size)
        whole = [(max(1.0, float(np.ceil(s))), 0) for s, _ in spacings[:1]]
        return whole or [(1.0, 0)]


def text_colour() -> QColor:
    """The palette's text colour (dark on a light palette, light on a dark one): full contrast for axes and
    legends, never pyqtgraph's mid grey."""
    app = QGuiApplication.instance()
    if isinstance(app, QGuiApplication):
        return app.palette().color(QPalette.ColorRole.WindowText)
    return QColor(20, 20, 20)


class GrowingArray:
    """An append-only float array with amortised O(1) appends."""

    def __init__(self) -> None:
        self._data = np.empty(256, np.float64)
        self._n = 0

    def extend(self, values) -> None:
        values = np.asarray(values, np.float64)
        need = self._n + len(values)
        if need > len(self._data):
            grown = np.empty(max(need, 2 * len(self._data)), np.float64)
            grown[: self._n] = self._data[: self._n]
            self._data = grown
        self._data[self._n:need] = values
        self._n = need

    def clear(self) -> None:
        self._n = 0

    @property
    def values(self) -> np.ndarray:
        return self._data[: self._n]

    def __len__(self) -> int:
        return self._n


class TrainingPlot(QWidget):
    """Training loss per batch (thin) and per epoch (bold), validation loss, and accuracy on a second plot."""

    SERIES = ("batch_x", "batch_loss", "batch_acc", "epoch_x", "loss", "val_loss", "accuracy", "val_accuracy")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data = {name: GrowingArray() for name in self.SERIES}
        self._dirty = False
        self._phase_lines: list[tuple[pg.PlotWidget, pg.InfiniteLine]] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.loss_plot = self._make_plot("Loss", layout)
        self.acc_plot = self._make_plot("Accuracy", layout)
        self.acc_plot.setXLink(self.loss_plot)
        self.acc_plot.setYRange(0, 1.0, padding=0.04)  # room for the top tick's label
        self.set_planned_epochs(10)
        pen = pg.mkPen
        self.curves = {
            "batch_loss": self.loss_plot.plot(name="training, each batch", pen=pen((90, 140, 220, 110), width=1)),
            "loss": self.loss_plot.plot(name="training, per epoch", pen=pen((40, 90, 200), width=3),
                                        symbol="o", symbolSize=6, symbolBrush=(40, 90, 200)),
            "val_loss": self.loss_plot.plot(name="validation", pen=pen((230, 120, 20), width=3),
                                            symbol="s", symbolSize=6, symbolBrush=(230, 120, 20)),
            "batch_acc": self.acc_plot.plot(name="training, so far", pen=pen((90, 140, 220, 110), width=1)),
            "accuracy": self.acc_plot.plot(name="training, per epoch", pen=pen((40, 90, 200), width=3),
                                           symbol="o", symbolSize=6, symbolBrush=(40, 90, 200)),
            "val_accuracy": self.acc_plot.plot(name="validation", pen=pen((230, 120, 20), width=3),
                                               symbol="s", symbolSize=6, symbolBrush=(230, 120, 20)),
        }
        for key in ("batch_loss", "batch_acc"):
            self.curves[key].setClipToView(True)
            self.curves[key].setDownsampling(auto=True, method="peak")
        self.hover = pg.TextItem(anchor=(0, 1), color=(60, 60, 60), fill=(255, 255, 255, 200))
        self.hover.setZValue(10)
        self.loss_plot.addItem(self.hover, ignoreBounds=True)
        self.hover.hide()
        self.loss_plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._on_redraw_timer)
        self.timer.start()

    def _make_plot(self, title: str, layout: QVBoxLayout) -> pg.PlotWidget:
        plot = pg.PlotWidget(axisItems={"bottom": EpochAxis("bottom"), "left": SparseAxis("left")})
        plot.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a picture: Tab never stops on it
        plot.setBackground(None)
        # No grid: pyqtgraph grid lines cost ~80 ms per redraw on a software raster, which froze the GUI thread.
        ink = text_colour()
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            axis.setTextPen(ink)
            axis.setPen(ink)
        plot.setLabel("left", title, color=ink.name())
        plot.getAxis("left").enableAutoSIPrefix(False)
        plot.setLabel("bottom", "epoch", color=ink.name())
        item = plot.getPlotItem()
        item.setContentsMargins(2, 8, 8, 2)  # the top and last ticks' labels are never cut
        # The legend in a row of its own under the plot: it never covers a curve, however small the plot.
        legend = pg.LegendItem(colCount=3, labelTextSize="8pt", labelTextColor=ink, verSpacing=-6)
        item.layout.addItem(legend, 4, 1)
        item.legend = legend  # PlotItem.plot(name=…) adds each named curve to it
        plot.setMouseEnabled(x=True, y=False)
        layout.addWidget(plot)
        return plot

    # ---- data in -------------------------------------------------------------------------------------
    def reset(self) -> None:
        for arr in self.data.values():
            arr.clear()
        for plot, line in self._phase_lines:
            plot.removeItem(line)
        self._phase_lines.clear()
        self._dirty = True

    def add_batches(self, steps, batch_losses, running_accuracy, steps_per_epoch: int) -> None:
        """Batch points; x is in epochs (step 30 of 10 per epoch is x = 3.0)."""
        self.data["batch_x"].extend(np.asarray(steps, np.float64) / max(steps_per_epoch, 1))
        self.data["batch_loss"].extend(batch_losses)
        self.data["batch_acc"].extend(running_accuracy)
        self._dirty = True

    def add_epoch(self, epoch: int, loss: float, val_loss: float, accuracy: float, val_accuracy: float) -> None:
        self.data["epoch_x"].extend([epoch])
        for key, value in (("loss", loss), ("val_loss", val_loss), ("accuracy", accuracy),
                           ("val_accuracy", val_accuracy)):
            self.data[key].extend([value])
        self._dirty = True

    def set_planned_epochs(self, epochs: int) -> None:
        """Show the epochs a run plans (0 to ``epochs``) before any point exists, rather than an empty 0–1 axis."""
        self.planned = max(int(epochs), 1)
        self.loss_plot.setXRange(0, self.planned, padding=0.02)

    def set_title(self, text: str) -> None:
        """A title above the curves (e.g. "Fold 2 of 5"); empty for none."""
        self.loss_plot.setTitle(text or None)

    def mark_phase(self, x: float, text: str) -> None:
        """A vertical line where a phase starts (e.g. the switch to fine-tuning)."""
        for plot in (self.loss_plot, self.acc_plot):
            ink = text_colour()
            line = pg.InfiniteLine(pos=x, angle=90, pen=pg.mkPen(ink, style=Qt.PenStyle.DashLine),
                                   label=text if plot is self.loss_plot else None,
                                   labelOpts={"position": 0.9, "color": ink})
            plot.addItem(line)
            self._phase_lines.append((plot, line))

    # ---- drawing ------------------------------------------------------------------------------------
    @Slot()
    def _on_redraw_timer(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        d = {k: v.values for k, v in self.data.items()}
        self.curves["batch_loss"].setData(d["batch_x"], d["batch_loss"])
        self.curves["batch_acc"].setData(d["batch_x"], d["batch_acc"])
        for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
            self.curves[key].setData(d["epoch_x"], d[key])
        reached = max([self.planned, *(float(d[k].max()) for k in ("batch_x", "epoch_x") if len(d[k]))])
        if reached > self.planned:  # more epochs than planned (a later fold): the axis follows
            self.planned = int(np.ceil(reached))
            self.loss_plot.setXRange(0, self.planned, padding=0.02)

    def _on_mouse_moved(self, pos) -> None:
        if not self.loss_plot.sceneBoundingRect().contains(pos) or not len(self.data["epoch_x"]):
            self.hover.hide()
            return
        x = self.loss_plot.getPlotItem().vb.mapSceneToView(pos).x()
        ex = self.data["epoch_x"].values
        i = int(np.argmin(np.abs(ex - x)))
        v = {k: self.data[k].values[i] for k in ("loss", "val_loss", "accuracy", "val_accuracy")}
        self.hover.setText(f"epoch {int(ex[i])}\nloss {v['loss']:.4f}   val {v['val_loss']:.4f}\n"
                           f"acc {v['accuracy']:.3f}   val {v['val_accuracy']:.3f}")
        self.hover.setPos(ex[i], v["loss"])
        self.hover.show()


if __name__ == "__main__":  # preview with scripted data
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    w = TrainingPlot()
    rng = np.random.default_rng(0)
    for epoch in range(1, 13):
        steps = np.arange((epoch - 1) * 20 + 1, epoch * 20 + 1)
        w.add_batches(steps, 1.2 * np.exp(-steps / 80) + rng.normal(0, 0.05, 20), 1 - np.exp(-steps / 60), 20)
        w.add_epoch(epoch, 1.2 * np.exp(-epoch / 4), 1.1 * np.exp(-epoch / 5) + 0.1, 1 - np.exp(-epoch / 3),
                    0.95 - np.exp(-epoch / 3))
        if epoch == 8:
            w.mark_phase(8, "fine-tuning")
    w.resize(800, 600)
    w.show()
    app.exec()
