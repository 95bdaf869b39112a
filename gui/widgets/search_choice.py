"""How far the automatic recipe looks, chosen before Start with the time each choice should take: quick (the run's
own size only), thorough (the extra passes the images allow, within a time budget; the default) or everything
(every extra pass, whatever it costs). gui/search_wiring.py keeps it in step with the dataset and the settings."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QAbstractButton,
    QButtonGroup,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from foveal.core.training.estimate import RunEstimate, about, estimate_run
from foveal.core.training.passes import WHY_LEFT

#: Each search as the window offers it: (search, name, what it does).
CHOICES = (
    ("quick", "Quick", "The images at the model's own size only: the shortest run."),
    ("auto", "Thorough", "Also larger sizes, rotations and tiles as the images allow, within a time budget."),
    ("full", "Everything", "Every extra pass the images allow, however long it takes."),
)


class SearchChoice(QGroupBox):
    """Quick / thorough / everything, each with its "about N min"; :attr:`chosen` is the search
    (``TrainConfig.search``)."""

    sig_changed = Signal()
    """The person chose another search."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("How thoroughly to look", parent)
        self.buttons: dict[str, QRadioButton] = {}
        self.group = QButtonGroup(self)
        row = QHBoxLayout()
        for search, name, tip in CHOICES:
            button = QRadioButton(name)
            button.setToolTip(tip)
            self.buttons[search] = button
            self.group.addButton(button)
            row.addWidget(button)
        row.addStretch(1)
        self.buttons["auto"].setChecked(True)
        self.words = QLabel("Choose a dataset folder to see how long training will take.")
        self.words.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.words)
        self.group.buttonToggled.connect(self._on_toggled)

    @property
    def chosen(self) -> str:
        """The search chosen: "quick", "auto" or "full"."""
        return next(s for s, b in self.buttons.items() if b.isChecked())

    def choose(self, search: str) -> None:
        """Select ``search`` in code (a test, a saved setting)."""
        self.buttons[search].setChecked(True)

    def show_estimate(self, estimate: RunEstimate | None, why: str = "") -> None:
        """Each choice with its time, and what the thorough search adds in words (None: no estimate, ``why``)."""
        for search, name, _ in CHOICES:
            self.buttons[search].setText(f"{name} ({about(estimate.of(search))})" if estimate else name)
        self.words.setText(why if estimate is None else included(estimate))

    @Slot(QAbstractButton, bool)
    def _on_toggled(self, _button: QAbstractButton, checked: bool) -> None:
        if checked:
            self.sig_changed.emit()


def included(estimate: RunEstimate) -> str:
    """What the chosen search does beyond the quick one, and what it leaves out, in words."""
    made = [words for words, _ in estimate.passes]
    if not made and not estimate.left_out:
        return (f"{about(estimate.total, start=True)} in all. These images allow no extra passes: the three choices "
                "take the same time.")
    text = f"{about(estimate.total, start=True)} in all"
    text += f". Beyond the quick search: {', '.join(made)}." if made else ", the images at the model's size only."
    if estimate.left_out:
        why = "Not tried" if estimate.why_left == "budget" else WHY_LEFT[estimate.why_left]
        text += f" {why}: {', '.join(w for w, _ in estimate.left_out)}."
    return text + ("" if estimate.remembered else " Times as on a 2-core CPU until this computer has trained once.")


if __name__ == "__main__":  # preview: the choice for 800 large images, with the default speed
    import tempfile
    from pathlib import Path

    from PySide6.QtWidgets import QApplication

    from foveal.core.training.config import TrainConfig
    from foveal.core.training.estimate import SpeedBook

    app = QApplication([])
    widget = SearchChoice()
    book = SpeedBook(Path(tempfile.mkdtemp()) / "speeds.json", {})
    widget.show_estimate(estimate_run(TrainConfig("preview"), [600] * 800, 800, book=book))
    widget.resize(700, 120)
    widget.show()
    app.exec()
