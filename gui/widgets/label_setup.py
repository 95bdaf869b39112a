"""The Label view's first step: what Foveal learns from (a trained run or a dataset), the folder of unlabelled
images (only read), and the new dataset folder the answers go to (outside both; the reason is said when a folder
cannot be used)."""

from __future__ import annotations

import html
import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from foveal.core.errors import FovealError
from foveal.core.paths import is_inside
from foveal.gui.widgets.colours import error_colour

#: What labelling does, under the choices.
HOW = ("<b>How it works</b><ol>"
       "<li>Foveal predicts every unlabelled image (from a run, or from the dataset after a quick fit on its "
       "features) and sorts them by the class it suggests, unfamiliar ones apart.</li>"
       "<li>It asks about the images that teach it most first: those it hesitates about, not twenty near-copies "
       "of one. Answer with a number key, Enter to accept the suggestion, S to skip, U when unsure.</li>"
       "<li>Each answer is written at once into the new dataset folder: one sub-folder per class with copies (or "
       "links) of the images, the dataset's own images included, and <i>labels.csv</i> saying for each image "
       "where it came from, the suggestion, your answer and when. The image folders themselves are never "
       "changed.</li>"
       "<li>Every few answers the model learns again in the background and re-orders what is left; the "
       "accuracy it estimates is shown after each round.</li></ol>")
#: The source combo's last entry: choose any run or dataset folder.
OTHER = "A run or dataset folder…"


def is_run_folder(folder: str) -> bool:
    """A Foveal run folder (it has run.json), rather than a dataset folder."""
    return os.path.isfile(os.path.join(folder, "run.json"))


def source_dataset(source: str) -> str | None:
    """The dataset folder behind ``source``: the folder itself, or the one a run was trained on (None when the
    run's record cannot be read: opening the session will say why)."""
    if not is_run_folder(source):
        return source
    from foveal.core.runs import read_run

    try:
        return read_run(source).dataset.root
    except FovealError:
        return None


def folder_problem(source: str, unlabelled: str, out: str) -> str | None:
    """Why labelling cannot start with these folders (None: it can). Plain words naming the folder and the fix."""
    if not source:
        return "Choose what Foveal learns from: a trained run or a dataset folder with a few images per class."
    if not unlabelled:
        return "Choose the folder of unlabelled images (any folder tree; Foveal only reads it)."
    if not os.path.isdir(unlabelled):
        return f"The unlabelled folder {unlabelled} does not exist: choose it again."
    if not out:
        return "Choose a new dataset folder for the answers (outside the unlabelled and the dataset folders)."
    dataset = source_dataset(source)
    for name, folder in (("unlabelled folder", unlabelled), ("dataset folder", dataset)):
        if folder and is_inside(out, folder):
            return (f"The new dataset folder {out} is inside the {name} {folder}, which Foveal never writes to: "
                    "choose a folder outside it.")
        if folder and is_inside(folder, out):
            return (f"The new dataset folder {out} holds the {name} {folder}, which Foveal never writes to: "
                    "choose a new folder beside it instead.")
    if os.path.isdir(out) and os.listdir(out) and not os.path.isfile(os.path.join(out, "labels.csv")):
        return (f"{out} already holds other files: choose an empty or new folder (a folder with the labels.csv of "
                "an earlier labelling is taken up where it was left).")
    return None


def suggested_out(unlabelled: str) -> str:
    """A new folder beside the unlabelled one: ``<name>-labelled`` (``-2``, ``-3``… when taken)."""
    base = Path(unlabelled)
    candidate = base.with_name(f"{base.name}-labelled")
    n = 2
    while candidate.exists() and not (candidate / "labels.csv").is_file():
        candidate = base.with_name(f"{base.name}-labelled-{n}")
        n += 1
    return str(candidate)


class LabelSetup(QWidget):
    """Three choices and Start; while the session opens, its progress and Stop."""

    sig_start = Signal(str, str, str)
    """Start labelling: (source run or dataset folder, unlabelled folder, new dataset folder)."""
    sig_stop = Signal()
    """Stop opening the session."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.unlabelled, self.out, self._other = "", "", ""
        self.source_combo = QComboBox()
        self.source_combo.setToolTip("A run already knows the classes; a dataset is trained on first (seconds, on "
                                     "its cached features)")
        self.unlabelled_label, self.out_label = QLabel(""), QLabel("")
        for label in (self.unlabelled_label, self.out_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setMinimumWidth(120)
        self.unlabelled_button = QPushButton("Choose…")
        self.out_button = QPushButton("Choose…")
        self.start_button = QPushButton("Start labelling")
        self.stop_button = QPushButton("Stop")
        self.why = QLabel("")
        self.why.setWordWrap(True)
        self.progress = QProgressBar()
        self.words = QLabel("")
        self.words.setWordWrap(True)
        self.how = QLabel(HOW)
        self.how.setWordWrap(True)
        self._layout()
        self.source_combo.activated.connect(self._on_source_activated)
        self.unlabelled_button.clicked.connect(self._on_choose_unlabelled)
        self.out_button.clicked.connect(self._on_choose_out)
        self.start_button.clicked.connect(self._on_start_clicked)
        self.stop_button.clicked.connect(self.sig_stop)
        self.set_sources(None, None)
        self.show_opening(False)

    def _layout(self) -> None:
        grid = QGridLayout()
        grid.addWidget(QLabel("Learn from"), 0, 0)
        grid.addWidget(self.source_combo, 0, 1, 1, 2)
        grid.addWidget(QLabel("Unlabelled images"), 1, 0)
        grid.addWidget(self.unlabelled_label, 1, 1)
        grid.addWidget(self.unlabelled_button, 1, 2)
        grid.addWidget(QLabel("New dataset folder"), 2, 0)
        grid.addWidget(self.out_label, 2, 1)
        grid.addWidget(self.out_button, 2, 2)
        grid.setColumnStretch(1, 1)
        row = QHBoxLayout()
        row.addWidget(self.start_button)
        row.addWidget(self.why, 1)
        opening = QHBoxLayout()
        opening.addWidget(self.progress, 1)
        opening.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid)
        layout.addLayout(row)
        layout.addLayout(opening)
        layout.addWidget(self.words)
        layout.addSpacing(12)
        layout.addWidget(self.how)
        layout.addStretch(1)

    # ---- the choices -------------------------------------------------------------------------------------
    def set_sources(self, run: str | None, dataset: str | None) -> None:
        """Offer the run last trained or opened, and the dataset loaded (the choice made stays when offered)."""
        current = self.source
        self.source_combo.clear()
        for kind, folder in (("The run", run), ("The dataset", dataset), ("The folder", self._other)):
            if folder:
                self.source_combo.addItem(f"{kind}: {Path(folder).name}  ({folder})", folder)
        self.source_combo.addItem(OTHER, "")
        found = self.source_combo.findData(current) if current else -1
        self.source_combo.setCurrentIndex(max(found, 0))
        self._update()

    @property
    def source(self) -> str:
        return str(self.source_combo.currentData() or "")

    def choose(self, source: str | None = None, unlabelled: str | None = None, out: str | None = None) -> None:
        """Set the choices in code (a test, a script, a remembered session); None leaves one as it is."""
        if source is not None:
            found = self.source_combo.findData(source)
            if found < 0:
                self._other = source
                self.source_combo.insertItem(self.source_combo.count() - 1, f"The folder: {Path(source).name}  "
                                             f"({source})", source)
                found = self.source_combo.findData(source)
            self.source_combo.setCurrentIndex(found)
        if unlabelled is not None:
            self.unlabelled = unlabelled
            if not self.out:
                self.out = suggested_out(unlabelled)
        if out is not None:
            self.out = out
        self._update()

    @Slot(int)
    def _on_source_activated(self, index: int) -> None:
        if self.source_combo.itemData(index):
            self._update()
            return
        folder = QFileDialog.getExistingDirectory(self, "A Foveal run folder, or a dataset folder (class folders)")
        if folder:
            self.choose(source=folder)
        else:
            self.source_combo.setCurrentIndex(0)
            self._update()

    @Slot()
    def _on_choose_unlabelled(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "The folder of unlabelled images (only read)",
                                                  self.unlabelled)
        if folder:
            self.choose(unlabelled=folder)

    @Slot()
    def _on_choose_out(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A new, empty folder for the grown dataset",
                                                  self.out or self.unlabelled)
        if folder:
            self.choose(out=folder)

    def problem(self) -> str | None:
        return folder_problem(self.source, self.unlabelled, self.out)

    def _update(self) -> None:
        self.unlabelled_label.setText(self.unlabelled or "not chosen yet")
        self.out_label.setText(self.out or "not chosen yet")
        problem = self.problem()
        self.start_button.setEnabled(problem is None and not self.stop_button.isVisible())
        if problem is None:
            self.why.setText("Foveal sorts the unlabelled images, then asks about the ones that teach it most.")
        else:  # a refusal in red once the person has chosen folders; the first steps in plain words
            red = bool(self.unlabelled)
            self.why.setText(f"<span style='color:{error_colour()}'>{html.escape(problem)}</span>" if red else
                             html.escape(problem))

    @Slot()
    def _on_start_clicked(self) -> None:
        if self.problem() is None:
            self.sig_start.emit(self.source, self.unlabelled, self.out)

    # ---- opening ------------------------------------------------------------------------------------------
    def show_opening(self, opening: bool) -> None:
        self.progress.setVisible(opening)
        self.stop_button.setVisible(opening)
        self.words.setVisible(opening or bool(self.words.text()))
        for w in (self.source_combo, self.unlabelled_button, self.out_button):
            w.setEnabled(not opening)
        if opening:
            self.progress.setRange(0, 0)
            self.words.setText("Starting…")
        self._update()

    @Slot(int, int, str)
    def show_progress(self, done: int, total: int, what: str) -> None:
        self.progress.setRange(0, max(total, 0))
        if total > 0:
            self.progress.setValue(done)
        self.words.setText(f"{what} ({done} of {total})" if total > 0 else what)

    def show_error(self, message: str) -> None:
        self.show_opening(False)
        self.words.setText(f"<span style='color:{error_colour()}'>{html.escape(message)}</span>")
        self.words.setVisible(True)


if __name__ == "__main__":  # preview
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    setup = LabelSetup()
    setup.set_sources("/tmp/runs/20240501-MobileNetV2", "/data/busi")
    setup.choose(unlabelled="/tmp")
    setup.resize(700, 200)
    setup.show()
    app.exec()
