"""The Label view's asking page: one image large, what the model suggests with its confidence and why, the classes
numbered; answered by keyboard (1–9 a class, Enter the suggestion, S skip, U unsure, H heatmap, Ctrl+Z undo).

The page only shows and reports: it emits :attr:`AskView.sig_answer` and :attr:`AskView.sig_undo`, and the panel
decides what comes next. :attr:`shown_path` and :attr:`shown_at` say which picture is on screen since when (a
walk-through measures the seconds per image with them).
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from foveal.gui.widgets.colours import error_colour

#: Classes past the ninth have buttons but no number key.
NUMBERED = 9


class AskView(QWidget):
    """Keys work while the page or one of its buttons has the focus (the buttons never take it)."""

    sig_answer = Signal(str, object, bool)
    """(image path, class chosen or None for a skip, unsure)."""
    sig_undo = Signal()
    """Take the last answer back."""
    sig_heatmap = Signal(bool)
    """Show (True) or hide the heatmap."""
    sig_refit = Signal()
    """Refit now (the button)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.classes: tuple[str, ...] = ()
        self.current: Any = None  # the core.labelling.Suggestion asked about
        self.shown_path, self.shown_at = "", 0.0
        self.heatmap_on = False
        self._image = QImage()
        self.picture = QLabel("")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(280, 240)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.file_label = QLabel("")
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.suggestion = QLabel("")
        self.suggestion.setWordWrap(True)
        self.class_box = QGridLayout()
        self.class_buttons: list[QPushButton] = []
        self.accept_button = QPushButton("Accept  (Enter)")
        self.skip_button = QPushButton("Skip  (S)")
        self.unsure_button = QPushButton("Unsure  (U)")
        self.heatmap_button = QPushButton("Heatmap  (H)")
        self.heatmap_button.setCheckable(True)
        self.undo_button = QPushButton("Undo  (Ctrl+Z)")
        self.note = QLabel("")  # about the heatmap
        self.note.setWordWrap(True)
        self.counters = QLabel("")
        self.every = QSpinBox()
        self.every.setRange(1, 500)
        self.every.setValue(20)
        self.every.setSuffix(" answers")
        self.every.setToolTip("After this many answers the model learns again in the background and re-orders "
                              "what is left; you keep answering meanwhile")
        self.refit_button = QPushButton("Refit now")
        self.refit_state = QLabel("")
        self.rounds = QLabel("")  # the accuracy estimate of each round, newest first
        self.rounds.setWordWrap(True)
        self.rounds.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.rounds.setToolTip("The accuracy estimate after each round of learning, newest first: cross-validated "
                               "on every labelled image (the dataset's and your answers)")
        self._connect()
        self._layout()

    def _connect(self) -> None:
        for button in (self.accept_button, self.skip_button, self.unsure_button, self.heatmap_button,
                       self.undo_button, self.refit_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.accept_button.clicked.connect(self.accept)
        self.skip_button.clicked.connect(self.skip)
        self.unsure_button.clicked.connect(self.unsure)
        self.heatmap_button.toggled.connect(self._on_heatmap_toggled)
        self.undo_button.clicked.connect(self.sig_undo)
        self.refit_button.clicked.connect(self.sig_refit)

    def _layout(self) -> None:
        answers = QHBoxLayout()
        for b in (self.accept_button, self.skip_button, self.unsure_button):
            answers.addWidget(b)
        tools = QHBoxLayout()
        tools.addWidget(self.heatmap_button)
        tools.addWidget(self.undo_button)
        refit = QHBoxLayout()
        refit.addWidget(QLabel("Learn again every"))
        refit.addWidget(self.every)
        refit.addWidget(self.refit_button)
        side = QVBoxLayout()
        side.addWidget(self.file_label)
        side.addWidget(self.suggestion)
        side.addLayout(self.class_box)
        side.addLayout(answers)
        side.addLayout(tools)
        side.addWidget(self.note)
        side.addSpacing(8)
        side.addWidget(self.counters)
        side.addLayout(refit)
        side.addWidget(self.refit_state)
        side.addWidget(self.rounds)
        side.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.picture, 3)
        layout.addLayout(side, 2)

    def set_classes(self, classes: Sequence[str]) -> None:
        """One button per class, numbered 1–9 (the number keys)."""
        self.classes = tuple(classes)
        for b in self.class_buttons:
            self.class_box.removeWidget(b)
            b.deleteLater()
        self.class_buttons = []
        columns = 2 if len(self.classes) > 3 else 1
        for i, name in enumerate(self.classes):
            b = QPushButton(f"{i + 1}  {name}" if i < NUMBERED else name)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setToolTip(f"Label this image '{name}'" + (f" (key {i + 1})" if i < NUMBERED else ""))
            b.setStyleSheet("text-align: left; padding: 3px 8px;")
            b.clicked.connect(self._on_class_clicked)
            self.class_box.addWidget(b, i // columns, i % columns)
            self.class_buttons.append(b)

    # ---- showing ------------------------------------------------------------------------------------------
    def ask(self, suggestion: Any, picture: tuple[QImage, str] | None) -> None:
        """Ask about ``suggestion``; ``picture`` is its decoded image (None: still decoding, :meth:`show_picture`
        follows)."""
        self.current = suggestion
        self._image = QImage()
        name = suggestion.path.replace("\\", "/").rsplit("/", 1)[-1]
        self.file_label.setText(f"<b>{html.escape(name)}</b>")
        self.file_label.setToolTip(suggestion.path)
        why, guess = html.escape(suggestion.why), html.escape(suggestion.suggested)
        if suggestion.unfamiliar:  # no suggestion to accept: its guess is shown as a guess only, as in Predict
            self.suggestion.setText(
                f"<span style='color:#a03c00'><b>No suggestion</b>: {why}</span><br>"
                f"<i>The model's guess would be {guess} ({suggestion.confidence:.0%}): choose the class with its "
                "number, or skip it.</i>")
        else:
            self.suggestion.setText(f"Suggested: <b>{guess}</b> ({suggestion.confidence:.0%})<br><i>{why}</i>")
        self.accept_button.setEnabled(not suggestion.unfamiliar)
        for b, name in zip(self.class_buttons, self.classes, strict=False):
            b.setDefault(name == suggestion.suggested and not suggestion.unfamiliar)
        if picture is None:
            self.shown_path = ""
            self.picture.setPixmap(QPixmap())
            self.picture.setText("Loading the image…")
        else:
            self.show_picture(suggestion.path, *picture)

    def show_picture(self, path: str, image: QImage, problem: str = "") -> None:
        """The decoded picture of ``path`` (ignored when another image is asked about now)."""
        if self.current is None or path != self.current.path:
            return
        if image.isNull():
            self.picture.setText(f"<span style='color:{error_colour()}'>{html.escape(problem)}</span>")
        else:
            self._image = image
            self._draw()
        self.shown_path, self.shown_at = path, time.perf_counter()

    def show_heatmap(self, path: str, image: QImage | None, problem: str = "") -> None:
        """The heatmap of ``path`` (while the heatmap is on), or why there is none."""
        if self.current is None or path != self.current.path or not self.heatmap_on:
            return
        if image is None or image.isNull():
            self.note.setText(f"No heatmap: {problem}")
            return
        self.note.setText("Heatmap: where the evidence for the suggested class lies (in the run's model).")
        self._image = image
        self._draw()

    def clear(self, text: str) -> None:
        """Nothing to ask about: say why."""
        self.current = None
        self.shown_path = ""
        self.picture.setPixmap(QPixmap())
        self.picture.setText(text)
        self.file_label.setText("")
        self.suggestion.setText("")

    def _draw(self) -> None:
        if self._image.isNull():
            return
        pixmap = QPixmap.fromImage(self._image)
        self.picture.setPixmap(pixmap.scaled(self.picture.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                             Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._draw()

    def show_counts(self, answered: int, left: int) -> None:
        self.counters.setText(f"<b>{answered}</b> answered · <b>{left}</b> left")

    def show_rounds(self, rounds: Sequence[Any], refitting: bool) -> None:
        """Each round's accuracy estimate (newest first), and whether the model is learning again now."""
        lines = [f"Round {n}: {html.escape(r.plain)}" for n, r in reversed(list(enumerate(rounds, 1)))]
        if lines:
            lines[0] = f"<b>{lines[0]}</b>"
        self.rounds.setText("<br>".join(lines[:4]) + ("<br>…" if len(lines) > 4 else ""))
        self.refit_state.setText("Learning from your answers in the background…" if refitting else "")
        self.refit_button.setEnabled(not refitting)

    # ---- answering ----------------------------------------------------------------------------------------
    def answer(self, label: str | None, unsure: bool = False) -> None:
        if self.current is not None:
            self.sig_answer.emit(self.current.path, label, unsure)

    @Slot()
    def accept(self) -> None:
        if self.current is not None and self.current.unfamiliar:
            self.note.setText("An unfamiliar image has no suggestion to accept: choose its class with its number "
                              "key, or skip it (S).")
        elif self.current is not None:
            self.answer(self.current.suggested)

    @Slot()
    def skip(self) -> None:
        self.answer(None)

    @Slot()
    def unsure(self) -> None:
        self.answer(None, unsure=True)

    @Slot()
    def _on_class_clicked(self) -> None:
        button = self.sender()
        if button in self.class_buttons:
            self.answer(self.classes[self.class_buttons.index(button)])

    @Slot(bool)
    def _on_heatmap_toggled(self, on: bool) -> None:
        self.heatmap_on = on
        self.note.setText("Computing the heatmap…" if on else "")
        self.sig_heatmap.emit(on)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        key, mods = event.key(), event.modifiers()
        ctrl = Qt.KeyboardModifier.ControlModifier
        if key == Qt.Key.Key_Z and mods & ctrl:
            self.sig_undo.emit()
        elif mods & (ctrl | Qt.KeyboardModifier.AltModifier):
            super().keyPressEvent(event)
        elif Qt.Key.Key_1 <= key <= Qt.Key.Key_9 and key - Qt.Key.Key_1 < min(len(self.classes), NUMBERED):
            self.answer(self.classes[key - Qt.Key.Key_1])
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept()
        elif key == Qt.Key.Key_S:
            self.skip()
        elif key == Qt.Key.Key_U:
            self.unsure()
        elif key == Qt.Key.Key_H:
            self.heatmap_button.toggle()
        else:
            super().keyPressEvent(event)


if __name__ == "__main__":  # preview: a bundled sample image asked about, with a scripted suggestion
    from types import SimpleNamespace

    from PySide6.QtWidgets import QApplication

    from foveal.gui.resources import SAMPLES

    app = QApplication([])
    view = AskView()
    view.set_classes(["budding", "elongated", "round"])
    path = str(next(p for p in sorted((SAMPLES / "round").iterdir()) if p.is_file()))
    view.ask(SimpleNamespace(path=path, suggested="round", confidence=0.62, unfamiliar=False,
                             why="the model hesitates between round (62%) and budding (30%)"),
             (QImage(path), ""))
    view.show_counts(3, 57)
    view.show_rounds([SimpleNamespace(plain="Estimated accuracy 84% (78–89%) from 5-fold cross-validation on 60 "
                                            "labelled images")], refitting=True)
    view.resize(900, 520)
    view.show()
    app.exec()
