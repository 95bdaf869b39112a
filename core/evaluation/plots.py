"""Figures for the report, drawn with matplotlib's object API on the Agg canvas (no pyplot, no display,
safe off the main thread) and returned as PNG bytes."""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence

import numpy as np

from foveal.core.run_record import Epoch


def _figure(width: float = 6.0, height: float = 4.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():  # a class name with a character the font lacks (an emoji) draws as a box
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
        fig.savefig(buf, format="png")
    return buf.getvalue()


def training_curves(history: Sequence[Epoch], fine_tune_from: int | None = None) -> bytes:
    """Loss and accuracy per epoch, training and validation; a dashed line where fine-tuning starts."""
    fig = _figure(7.0, 3.4)
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = [h.epoch for h in history]
    for ax, key, title in ((ax_loss, "loss", "Loss"), (ax_acc, "accuracy", "Accuracy")):
        ax.plot(epochs, [getattr(h, key) for h in history], "o-", label="training", ms=3)
        ax.plot(epochs, [getattr(h, f"val_{key}") for h in history], "s-", label="validation", ms=3)
        if fine_tune_from:
            ax.axvline(fine_tune_from - 0.5, ls="--", c="gray", lw=1, label="fine-tuning starts")
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    ax_acc.set_ylim(0, 1.02)
    ax_loss.legend(fontsize=8)
    return _png(fig)


def confusion(matrix: Sequence[Sequence[int]], classes: Sequence[str]) -> bytes:
    """The confusion matrix with counts and row-normalised colour (rows: true class)."""
    m = np.asarray(matrix, dtype=float)
    k = len(classes)
    side = min(2.0 + 0.6 * k, 9.0)
    fig = _figure(side + 1.0, side)
    ax = fig.subplots()
    rows = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    im = ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center", fontsize=9,
                    color="white" if rows[i, j] > 0.6 else "black")
    ax.set_xticks(range(k), classes, rotation=45, ha="right")
    ax.set_yticks(range(k), classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    fig.colorbar(im, ax=ax, label="fraction of the true class")
    return _png(fig)


def roc(roc_data: dict) -> bytes:
    """One-vs-rest ROC curves with their AUC; the chosen operating point for two classes."""
    fig = _figure(5.0, 4.4)
    ax = fig.subplots()
    for curve in roc_data["per_class"]:
        if curve["auc"] is not None:
            ax.plot(curve["fpr"], curve["tpr"], lw=1.5, label=f"{curve['class']} (AUC {curve['auc']:.3f})")
    op = roc_data.get("binary", {}).get("chosen")
    if op:
        ax.plot(1 - op["specificity"], op["sensitivity"], "ko", label=f"threshold {op['threshold']:.2f}")
    ax.plot([0, 1], [0, 1], ":", c="gray", lw=1)
    ax.set_xlabel("false positive rate (1 − specificity)")
    ax.set_ylabel("true positive rate (sensitivity)")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return _png(fig)


def reliability(calibration: dict) -> bytes:
    """Accuracy against confidence per bin; the diagonal is perfect calibration."""
    fig = _figure(5.0, 4.4)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], ":", c="gray", lw=1, label="perfectly calibrated")
    ax.plot(calibration["confidence"], calibration["accuracy"], "o-", label="this model")
    ax.set_xlabel("confidence of the predicted class")
    ax.set_ylabel("fraction correct")
    ax.set_title(f"Expected calibration error {calibration['ece']:.3f}")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.01)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return _png(fig)
