"""One image large, with its Grad-CAM overlay, the top-3 probabilities and a 'mislabelled' mark."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QVBoxLayout,
)

from foveal.core.evaluation.evaluate import Prediction
from foveal.gui.widgets.colours import error_colour, good_colour
from foveal.gui.workers.thumbnails import array_to_qimage

TOP_K = 3


class ImageDetail(QDialog):
    """Non-modal: stays open while the user goes through the gallery."""

    sig_explain_requested = Signal(str, int)
    """Grad-CAM wanted for (image path, class index)."""
    sig_mark_toggled = Signal(int, bool)
    """The user marked (True) or unmarked the prediction with this index as mislabelled."""
    sig_step = Signal(int)
    """The user wants the previous (-1) or next (+1) image of the list this one came from (arrow keys)."""

    def __init__(self, classes: Sequence[str], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Foveal: image")
        self.classes = list(classes)
        self.index = -1
        self.path = ""
        self.picture = QLabel("")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(420, 420)
        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bars = [QProgressBar() for _ in range(min(TOP_K, len(self.classes)))]
        for bar in self.bars:
            bar.setRange(0, 1000)
        self.explain_combo = QComboBox()
        self.explain_combo.addItems(self.classes)
        self.explain_combo.setToolTip("Show where the evidence for this class lies (Grad-CAM)")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(45)
        self.opacity.setToolTip("How strongly the heatmap covers the image (0: the image alone)")
        self.original_box = QCheckBox("Show the image without the heatmap")
        self.previous_button = QPushButton("← Previous")
        self.next_button = QPushButton("Next →")
        for b, step in ((self.previous_button, -1), (self.next_button, 1)):
            b.setToolTip("Left and right arrow keys")
            b.clicked.connect(lambda _=False, s=step: self.sig_step.emit(s))
        self.explanation = None  # the last Grad-CAM shown (its image and heatmap, to blend again)
        self.mark_box = QCheckBox("Mislabelled: the folder's class for this image is wrong")
        self.mark_box.setToolTip("Recorded in the run; your files are not changed. Export the list as CSV.")
        self._layout()
        self.explain_combo.activated.connect(self._on_explain_chosen)
        self.mark_box.toggled.connect(self._on_mark_toggled)
        self.opacity.valueChanged.connect(self._redraw)
        self.original_box.toggled.connect(self._redraw)

    def _layout(self) -> None:
        side = QVBoxLayout()
        side.addWidget(self.info)
        form = QFormLayout()
        for k, bar in enumerate(self.bars, 1):
            form.addRow(f"#{k}", bar)
        side.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(QLabel("Heatmap for"))
        row.addWidget(self.explain_combo, 1)
        side.addLayout(row)
        shade = QHBoxLayout()
        shade.addWidget(QLabel("Heatmap opacity"))
        shade.addWidget(self.opacity, 1)
        side.addLayout(shade)
        side.addWidget(self.original_box)
        side.addWidget(self.mark_box)
        steps = QHBoxLayout()
        steps.addWidget(self.previous_button)
        steps.addWidget(self.next_button)
        side.addLayout(steps)
        side.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addWidget(self.picture, 3)
        layout.addLayout(side, 2)
        self.resize(980, 600)

    def show_prediction(self, index: int, p: Prediction, marked: bool) -> None:
        """Show one prediction; asks for its Grad-CAM for the predicted class."""
        self.index, self.path = index, p.path
        low = "<br><b>Low confidence</b>: the model is unsure about this image." if p.low_confidence else ""
        if p.unfamiliar:
            low += ("<br><span style='color:#a03c00'><b>No answer</b>: this image is unlike the training images, so "
                    "the model's guess below means little.</span>")
        guessed = "the model's guess is" if p.unfamiliar else "predicted"
        if p.true:
            verdict = f"<span style='color:{good_colour()}'>right</span>" if p.correct else \
                f"<span style='color:{error_colour()}'><b>wrong</b></span>"
            said = f"labelled <b>{p.true}</b>, {guessed} <b>{p.predicted}</b> ({p.confidence:.1%}): {verdict}"
        else:  # a new image, no label to compare with
            said = f"{guessed} <b>{p.predicted}</b> ({p.confidence:.1%})"
        self.info.setText(f"<b>{p.file}</b><br>{said}{low}")
        self.mark_box.setVisible(bool(p.true))
        order = np.argsort(p.probs)[::-1][: len(self.bars)]
        for bar, k in zip(self.bars, order, strict=False):
            bar.setValue(int(round(p.probs[k] * 1000)))
            bar.setFormat(f"{self.classes[k]}  {p.probs[k]:.1%}")
        self.mark_box.blockSignals(True)
        self.mark_box.setChecked(marked)
        self.mark_box.blockSignals(False)
        predicted = self.classes.index(p.predicted)
        self.explain_combo.setCurrentIndex(predicted)
        self.picture.setText("Computing the heatmap…")
        self.picture.setPixmap(QPixmap())
        self.explanation = None
        self.sig_explain_requested.emit(p.path, predicted)

    def show_explanation(self, path: str, class_index: int, picture: np.ndarray, explanation=None) -> None:
        """The Grad-CAM overlay arrived (ignored if the user has moved on to another image or class). With the
        ``explanation`` (its image and heatmap), the opacity slider and the original-image box work on it."""
        if path != self.path or class_index != self.explain_combo.currentIndex():
            return
        self.explanation = explanation if getattr(explanation, "heatmap", None) is not None else None
        if self.explanation is not None and (self.opacity.value() != 45 or self.original_box.isChecked()):
            self._redraw()
            return
        self._show_picture(picture)

    def _show_picture(self, picture: np.ndarray) -> None:
        self.shown_picture = picture
        pixmap = QPixmap.fromImage(array_to_qimage(picture))
        self.picture.setPixmap(pixmap.scaled(self.picture.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                             Qt.TransformationMode.SmoothTransformation))

    @Slot()
    def _redraw(self, *args) -> None:
        """Blend the heatmap again at the chosen opacity (0, or the box ticked: the image alone)."""
        e = self.explanation
        if e is None:
            return
        from foveal.core.evaluation.gradcam import overlay, with_legend

        alpha = 0.0 if self.original_box.isChecked() else self.opacity.value() / 100
        self._show_picture(with_legend(overlay(e.image, e.heatmap, alpha), e.title))

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Left and right arrows: the previous and next image of the list."""
        if event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            self.sig_step.emit(-1 if event.key() == Qt.Key.Key_Left else 1)
            return
        super().keyPressEvent(event)

    def show_failure(self, message: str) -> None:
        self.picture.setText(f"<span style='color:{error_colour()}'>No heatmap: {message}</span>")

    @Slot(int)
    def _on_explain_chosen(self, class_index: int) -> None:
        if self.path:
            self.picture.setText("Computing the heatmap…")
            self.sig_explain_requested.emit(self.path, class_index)

    @Slot(bool)
    def _on_mark_toggled(self, checked: bool) -> None:
        if self.index >= 0:
            self.sig_mark_toggled.emit(self.index, checked)


if __name__ == "__main__":  # preview: one sample image of a scripted evaluation
    from PySide6.QtWidgets import QApplication

    from foveal.gui.widgets.preview_data import sample_evaluation

    app = QApplication([])
    ev = sample_evaluation()
    detail = ImageDetail(ev.classes)
    detail.show_prediction(0, ev.predictions[0], marked=False)
    detail.resize(700, 600)
    detail.show()
    app.exec()
