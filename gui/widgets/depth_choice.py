"""How much of the backbone learns: a slider from frozen to everything, its meaning in words, and "let Foveal try
fine-tuning" (the ``auto`` depth: the last blocks learn only while they improve on the head)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QCheckBox, QGroupBox, QLabel, QSlider, QVBoxLayout, QWidget

from foveal.core.models.build import AUTO_BLOCKS, TRIAL_EPOCHS
from foveal.core.models.registry import BLOCK_COUNTS


def block_count(name: str) -> int:
    return BLOCK_COUNTS.get(name, 5)


def depth_text(value: int, blocks: int) -> tuple[str, str]:
    """(setting, explanation) for a slider position: 0 = frozen, blocks = everything."""
    if value == 0:
        return "frozen", ("Frozen — learn only the new head. Fastest, works with a few dozen images per class, "
                          "hardly overfits. Start here.")
    if value >= blocks:
        return "all", ("Everything — the whole backbone learns. Needs thousands of images and the most time; "
                       "the highest risk of overfitting. Best for images very unlike photographs.")
    return f"last:{value}", (f"Last {value} of {blocks} blocks — the top of the backbone adapts to your images. "
                             "Needs a few hundred images per class, takes longer, can overfit on small sets.")


AUTO_TEXT = (f"Let Foveal try — after the head, the last {AUTO_BLOCKS} blocks learn too, for {TRIAL_EPOCHS} epochs "
             "at first; they go on only if the images set aside for checking are then answered better than by the "
             "head alone. The better model is kept, and the run says which.")
FROM_SCRATCH_TEXT = ("Everything — without pretrained weights the whole network must learn: a frozen one would "
                     "only pass random features to the head. Needs thousands of images and the most time.")


class DepthChoice(QGroupBox):
    """The fine-tune depth: :attr:`fine_tune` is ``frozen``, ``last:N``, ``all`` or ``auto``."""

    sig_changed = Signal()

    def __init__(self, blocks: int, parent: QWidget | None = None) -> None:
        super().__init__("How much of the backbone learns", parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, blocks)
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.auto = QCheckBox("Let Foveal try fine-tuning, and keep it only if it helps")
        self.auto.setToolTip(f"Trains the head first, then the last {AUTO_BLOCKS} blocks of the backbone too. "
                             f"If after {TRIAL_EPOCHS} epochs the validation loss is no lower than the head's, "
                             "fine-tuning stops and the head-only model is kept; the run says which it kept.")
        self.from_scratch = False
        layout = QVBoxLayout(self)
        layout.addWidget(self.slider)
        layout.addWidget(self.auto)
        layout.addWidget(self.label)
        self.slider.valueChanged.connect(self._update)
        self.auto.toggled.connect(self._update)
        self._update()

    @property
    def fine_tune(self) -> str:
        if self.auto.isChecked() and not self.from_scratch:
            return "auto"
        return depth_text(self.slider.value(), self.slider.maximum())[0]

    @property
    def learns(self) -> bool:
        """Some of the backbone learns (its own epochs apply)."""
        return self.fine_tune != "frozen"

    def set_fine_tune(self, depth: str) -> None:
        """Show a saved depth (``frozen``, ``last:N``, ``all`` or ``auto``)."""
        if self.from_scratch:  # everything learns, set when random weights were chosen
            return
        blocks = self.slider.maximum()
        self.auto.setChecked(depth == "auto")
        if depth != "auto":
            self.slider.setValue(0 if depth == "frozen" else blocks if depth == "all" else
                                 min(blocks, int(depth.split(":")[1])) if depth.startswith("last:") else 0)

    def set_blocks(self, blocks: int) -> None:
        """Another backbone: its number of blocks (everything stays everything without pretrained weights)."""
        value = blocks if self.from_scratch else min(self.slider.value(), blocks)
        self.slider.setRange(0, blocks)
        self.slider.setValue(value)
        self._update()

    def set_from_scratch(self, from_scratch: bool) -> None:
        """Without pretrained weights, everything learns: the choice is fixed."""
        self.from_scratch = from_scratch
        if from_scratch:
            self.slider.setValue(self.slider.maximum())
        self._update()

    @Slot()
    def _update(self, *args) -> None:
        trying = self.auto.isChecked() and not self.from_scratch
        self.slider.setEnabled(not self.from_scratch and not trying)
        self.auto.setEnabled(not self.from_scratch)
        if self.from_scratch:
            text = FROM_SCRATCH_TEXT
        elif trying:
            text = AUTO_TEXT
        else:
            text = depth_text(self.slider.value(), self.slider.maximum())[1]
        self.label.setText(text)
        self.sig_changed.emit()
