"""The backbone's pretrained weights in the Model view: ImageNet (saying whether Keras already has them), a file the
person has, or none. Next to a file it says whether the file fits the backbone (the check runs off the GUI thread,
in gui.weights_status), and it keeps the file each backbone was given: choosing that backbone again brings its
file back."""

from __future__ import annotations

import html
import os

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QAbstractButton,
    QButtonGroup,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from foveal.core.models.registry import Weights
from foveal.gui.widgets.colours import error_colour, good_colour


class WeightsChoice(QGroupBox):
    """Where the weights of :attr:`backbone` come from: :attr:`weights` is ``imagenet``, ``none`` or a file's path.

    :attr:`files` is the file last chosen for each backbone (the window remembers it between sessions). The answer
    of the fit check is kept for one (backbone, file) pair: any other pair is not known to fit until checked.
    """

    sig_changed = Signal()
    """The source, the file, or what is known about the file changed."""
    sig_check_wanted = Signal()
    """A file was chosen, brought back, or the backbone changed under it: whether it fits is worth checking."""

    def __init__(self, backbone: str, parent: QWidget | None = None) -> None:
        super().__init__("Pretrained weights", parent)
        self.backbone = backbone
        self.path: str | None = None
        self.files: dict[str, str] = {}  # backbone → the file last chosen for it
        self.imagenet_cached: bool | None = None  # None: not known yet for the chosen backbone
        self._fit: tuple[str, str, str | None] | None = None  # (backbone, file, problem or None) last answered
        self.imagenet = QRadioButton("Pretrained on photographs (ImageNet; downloaded once, then kept)")
        self.imagenet.setToolTip("Keras's ImageNet weights, kept in Keras's cache folder after the first download")
        self.file = QRadioButton("From a file…")
        self.none = QRadioButton("None — random start (needs far more images)")
        self.group = QButtonGroup(self)
        for b in (self.imagenet, self.file, self.none):
            self.group.addButton(b)
        self.imagenet.setChecked(True)
        self.imagenet_status = QLabel("")
        self.imagenet_status.setWordWrap(True)
        self.imagenet_status.setIndent(24)
        self.button = QPushButton("Choose weights file…")
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setIndent(24)
        self.fit_label = QLabel("")  # whether the file fits, or what is wrong and which file would
        self.fit_label.setWordWrap(True)
        self.fit_label.setIndent(24)
        layout = QVBoxLayout(self)
        layout.addWidget(self.imagenet)
        layout.addWidget(self.imagenet_status)
        row = QHBoxLayout()
        row.addWidget(self.file)
        row.addWidget(self.button)
        row.addStretch(1)
        layout.addLayout(row)
        # The file's name on a line of its own: a long name has no spaces to wrap at, and beside the button it
        # would make the whole left side scroll sideways.
        layout.addWidget(self.label)
        layout.addWidget(self.fit_label)
        layout.addWidget(self.none)
        self.button.clicked.connect(self.choose_file)
        self.group.buttonToggled.connect(self._on_toggled)

    # ---- what is chosen -----------------------------------------------------------------------------
    @property
    def weights(self) -> str:
        if self.none.isChecked():
            return Weights.NONE
        if self.file.isChecked() and self.path:
            return self.path
        return Weights.IMAGENET

    @property
    def weights_missing(self) -> bool:
        """ImageNet weights are chosen and known not to be on this computer (Start must download them)."""
        return self.weights == Weights.IMAGENET and self.imagenet_cached is False

    @property
    def check_due(self) -> bool:
        """A file is chosen whose fit with the backbone is not known yet."""
        return self.file.isChecked() and bool(self.path) and self._fit_for_now() is None

    @property
    def not_ready(self) -> str:
        """Why Start must wait because of the weights ("" when it need not): a file known not to fit."""
        known = self._fit_for_now()
        if not self.file.isChecked() or known is None or known[2] is None:
            return ""
        return (f"The weights file {os.path.basename(known[1])} does not fit {self.backbone}. Step 2, Model, says "
                "what is wrong and which file would fit.")

    def _fit_for_now(self) -> tuple[str, str, str | None] | None:
        """The check's answer when it is about the backbone and file shown now."""
        return self._fit if self._fit is not None and self._fit[:2] == (self.backbone, self.path) else None

    # ---- choosing -----------------------------------------------------------------------------------
    @Slot()
    def choose_file(self) -> None:
        """Ask for a weights file for the chosen backbone (a dialog)."""
        start = os.path.dirname(self.path) if self.path else ""
        path, _ = QFileDialog.getOpenFileName(self, f"Weights file for {self.backbone} (without its top)", start,
                                              "Keras weights (*.h5 *.weights.h5);;All files (*)")
        if path:
            self.set_file(path)

    def set_file(self, path: str) -> None:
        """Use the weights file at ``path`` for the backbone (chosen, or restored), and have it checked."""
        self.files[self.backbone] = path
        self._show_file(path)
        if self.file.isChecked():
            self._want_check()
        else:
            self.file.setChecked(True)  # which asks for the check

    def restore(self, weights: str | None) -> None:
        """Show saved weights (``imagenet``, ``none`` or a file); a file that is no longer there is forgotten, with
        a note saying so, and ImageNet is chosen instead."""
        source = Weights.parse(weights) if isinstance(weights, str) else None
        if source == Weights.NONE:
            self.none.setChecked(True)
        elif source == Weights.IMAGENET:
            self.imagenet.setChecked(True)
        elif isinstance(source, str) and os.path.isfile(source):
            self.set_file(source)
        elif isinstance(source, str):
            self._forget(source)

    def set_backbone(self, name: str) -> None:
        """Another backbone: the file it was last given comes back; any file shown is checked against it."""
        self.backbone = name
        remembered = self.files.get(name)
        if remembered and remembered != self.path:
            if os.path.isfile(remembered):
                self._show_file(remembered)
            else:
                self._forget(remembered)
        self._want_check()

    def _show_file(self, path: str) -> None:
        self.path = path
        # The name only (a long path would force the whole left side wide); the full path in the tooltip.
        self.label.setText(os.path.basename(path))
        self.label.setToolTip(path)

    def _forget(self, path: str) -> None:
        """A remembered file is no longer there: forgotten, with a note, and ImageNet is chosen instead."""
        self.files = {b: p for b, p in self.files.items() if p != path}
        if self.path == path:
            self.path = None
            self.label.setText("")
            self.label.setToolTip("")
        self.imagenet.setChecked(True)  # before the note: choosing another source clears what was said
        self.fit_label.setText(f"<small>The weights file {html.escape(path)} chosen before is no longer there "
                               "(moved or deleted?), so Foveal forgot it. Choose it again where it is now.</small>")
        self.sig_changed.emit()

    def _want_check(self) -> None:
        known = self._fit_for_now()
        if self.file.isChecked() and self.path and known is None:
            self.fit_label.setText(f"<small>Checking whether this file fits {self.backbone}…</small>")
            self.sig_check_wanted.emit()
        elif known is not None:
            self._show_fit(known[2])
        self.sig_changed.emit()

    # ---- the check's answers -------------------------------------------------------------------------
    def show_fit(self, backbone: str, path: str, problem: str | None) -> None:
        """The check's answer for ``path`` on ``backbone`` (None: it fits); an answer about another backbone or
        file than the ones shown now is kept, not shown. A file that does not fit is not brought back later."""
        self._fit = (backbone, path, problem)
        if problem is not None and self.files.get(backbone) == path:
            del self.files[backbone]
        if self._fit_for_now() is not None:
            self._show_fit(problem)
            self.sig_changed.emit()

    def show_fit_unknown(self, message: str) -> None:
        """The check itself failed: nothing is known, and Start is not held back (training will say)."""
        self.fit_label.setText(f"<small>Could not check whether this file fits: {html.escape(message)}</small>")

    def _show_fit(self, problem: str | None) -> None:
        if problem is None:
            self.fit_label.setText(f"<span style='color:{good_colour()}'>✓ fits {self.backbone}</span>")
        else:
            self.fit_label.setText(f"<span style='color:{error_colour()}'>{html.escape(problem, quote=False)}</span>")

    def show_imagenet_checking(self) -> None:
        """Say that the ImageNet weights' cache status is being looked up."""
        self.imagenet_cached = None
        self.imagenet_status.setText("<small>Checking whether they are on this computer…</small>")

    def show_imagenet_status(self, backbone: str, name: str, path: str, cached: bool) -> None:
        """Say whether the ImageNet weights of ``backbone`` are already in Keras's cache."""
        if backbone != self.backbone:
            return  # an answer about a backbone the user has moved away from
        self.imagenet_cached = cached
        self.imagenet_status.setToolTip(path)
        if cached:
            self.imagenet_status.setText("<small>✓ Already on this computer.</small>")
        else:
            self.imagenet_status.setText("<small>Not on this computer yet: downloaded on Start (internet needed "
                                         "once). No internet here? Choose the weights file you have, below."
                                         "</small>")
        self.sig_changed.emit()

    @Slot(QAbstractButton, bool)
    def _on_toggled(self, button: QAbstractButton, checked: bool) -> None:
        if not checked:
            return  # the button now checked says what to do
        self.fit_label.setText("")
        if button is self.file and not self.path:
            self.choose_file()  # shows the file and asks for its check when one is chosen
        self._want_check()


if __name__ == "__main__":
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    preview = WeightsChoice("MobileNetV2")
    preview.show_imagenet_status("MobileNetV2", "mobilenet_v2_no_top.h5", "~/.keras/models/mobilenet_v2_no_top.h5",
                                 False)
    preview.path = "/data/weights/mobilenet_v1_0.25_224_imagenet_no_top.weights.h5"  # shown as if chosen
    preview.label.setText(os.path.basename(preview.path))
    preview.file.setChecked(True)
    preview.show_fit("MobileNetV2", preview.path, "This file holds the weights of a different network (54 layers "
                     "with weights; MobileNetV2 has 104). Choose MobileNetV2's weights without its top: Keras names "
                     "that file 'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5'.")
    preview.resize(560, 260)
    preview.show()
    app.exec()
