"""The dataset: drop or choose a folder, see its classes with examples, the split, and its problems."""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from foveal.core.data.scan import DatasetSummary
from foveal.gui.widgets.colours import error_colour
from foveal.gui.widgets.copies_dialog import CopiesDialog
from foveal.gui.widgets.done_banner import DoneBanner
from foveal.gui.workers.thumbnails import THUMB_SIZE, ThumbnailLoader

THUMBS_PER_CLASS = 6


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def plain_kind(key: str) -> str:
    """``"JPEG RGB 8-bit"`` in words: ``"colour JPEG"``; 16-bit and other depths are said (they keep more detail)."""
    fmt, _, rest = key.partition(" ")
    mode, _, depth = rest.rpartition(" ")
    colour = {"RGB": "colour", "RGBA": "colour", "gray": "greyscale", "gray+alpha": "greyscale",
              "palette": "colour", "CMYK": "colour (print)", "YCbCr": "colour", "binary": "black and white"}
    words = f"{colour.get(mode, mode or 'other')} {fmt}"
    return words if depth in ("8-bit", "1-bit", "") else f"{words} at {depth} (more detail than usual)"


def kinds_in_words(depths: dict[str, int]) -> str:
    """How many images of each kind, each kind said once (RGB and RGBA PNGs are both "colour PNG"), every image
    counted: the three commonest kinds, then the rest as "N of other kinds"."""
    plain: Counter[str] = Counter()
    for key, n in depths.items():
        plain[plain_kind(key)] += n
    kinds = plain.most_common()
    if len(kinds) == 1:
        return kinds[0][0]
    shown = kinds if len(kinds) <= 4 else kinds[:3]
    words = [f"{n} {kind}" for kind, n in shown]
    rest = sum(n for _, n in kinds[len(shown):])
    return ", ".join(words + ([f"{rest} of {len(kinds) - len(shown)} other kinds"] if rest else []))


class DatasetPanel(QWidget):
    """Shows a scanned dataset; emits ``sig_folder_chosen`` when the user picks a folder."""

    sig_folder_chosen = Signal(str)
    """The user chose or dropped this folder."""
    sig_split_settings_changed = Signal()
    """Fractions, grouping or duplicate handling changed: the split preview is out of date."""
    sig_export_split = Signal()
    """The user wants the split as CSV."""
    sig_scan_cancel = Signal()
    """The user wants the folder being read to stop being read."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.start_dir = ""  # where the folder dialog opens: the last folder used
        self.hint = QLabel("<b>Drop a folder of images here</b><br>one sub-folder per class, e.g. "
                           "<i>normal/</i> and <i>tumour/</i>")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.choose_button = QPushButton("Choose folder…")
        self.choose_button.setToolTip("Ctrl+O")
        self.stop_scan_button = QPushButton("Stop reading")
        self.stop_scan_button.setToolTip("Stop reading this folder (choosing another folder stops it too)")
        self.stop_scan_button.setVisible(False)
        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Class", "Images", "Examples"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.val_spin, self.test_spin = self._percent_spin(15), self._percent_spin(15)
        self.train_label = QLabel("")
        self.problems_button = QPushButton("")
        self.problems_button.setCheckable(True)
        self.problems_button.setVisible(False)
        self.problems = QListWidget()
        self.problems.setWordWrap(True)  # a reason is a sentence with its fix: read whole, not scrolled sideways
        self.problems.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.problems.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.problems.setVisible(False)
        self.thumbs = ThumbnailLoader(self)
        self.thumbs.sig_ready.connect(self._on_thumbnail_ready)
        self._make_grouping()
        self._layout()
        self.choose_button.clicked.connect(self.choose_folder)
        self.stop_scan_button.clicked.connect(self.sig_scan_cancel)
        self.problems_button.toggled.connect(self.problems.setVisible)
        self.val_spin.valueChanged.connect(self._on_split_changed)
        self.test_spin.valueChanged.connect(self._on_split_changed)
        self._on_split_changed()

    def _make_grouping(self) -> None:
        self.group_combo = QComboBox()
        self.group_combo.addItems(["nothing: each image on its own", "DICOM patient (PatientID)",
                                   "a file-name pattern"])
        self.group_combo.setToolTip("Images of one patient, specimen or slide must not be in both training and "
                                    "test: that would overstate accuracy (leakage).")
        self.group_pattern = QLineEdit()
        self.group_pattern.setPlaceholderText("the part of the name before the first _")
        self.group_pattern.setToolTip("Images whose names share this part belong together (one patient or slide). "
                                      "Leave empty for the text before the first _, or give a regular expression "
                                      "whose first group names the group, e.g. ^(P\\d+)")
        self.group_pattern.setEnabled(False)
        self.keep_duplicates = QCheckBox("Keep copies of an image together")
        self.keep_duplicates.setChecked(True)  # as TrainConfig.keep_duplicates_together
        self.keep_duplicates.setToolTip("Resized or re-saved copies of one picture are found automatically. A copy "
                                        "of a training image in the test split would make the accuracy look "
                                        "better than it is.")
        self.balance_copies = QCheckBox("Split copies apart to balance classes")
        self.balance_copies.setChecked(False)  # as TrainConfig.balance_over_copies
        self.balance_copies.setToolTip("Only when keeping copies together would leave a class far from its share in "
                                       "training, validation or test (the preview below says so): the sets of copies "
                                       "that cause it are split apart, and the copies then in two splits are named "
                                       "beside the accuracy.")
        self.split_preview = QLabel("")
        self.split_preview.setWordWrap(True)
        self.copies_button = QPushButton("Show the copies…")
        self.copies_button.setToolTip("Look at each set of copies the split keeps together: are they one picture?")
        self.copies_button.setVisible(False)
        self.copies_button.clicked.connect(self._on_copies_clicked)
        self.copies: tuple = ()  # (check, files) sets of the split shown, with the dataset folder and splits
        self.copies_dialog: CopiesDialog | None = None
        self.done = DoneBanner()  # the split written as CSV, said here
        self.export_split_button = QPushButton("Export split as CSV…")
        self.export_split_button.setEnabled(False)
        self.group_combo.currentIndexChanged.connect(self._on_grouping_changed)
        self.group_pattern.textChanged.connect(self._on_grouping_changed)
        self.keep_duplicates.toggled.connect(self._on_grouping_changed)
        self.balance_copies.toggled.connect(self._on_grouping_changed)
        self.export_split_button.clicked.connect(self.sig_export_split)

    @property
    def grouping(self) -> dict:
        """The TrainConfig keyword arguments of the grouping settings."""
        mode = ("none", "dicom", "filename")[self.group_combo.currentIndex()]
        return {"group_by": mode, "group_pattern": (self.group_pattern.text().strip() or None)
                if mode == "filename" else None, "keep_duplicates_together": self.keep_duplicates.isChecked(),
                "balance_over_copies": self.balance_copies.isChecked()}

    def show_split_preview(self, text: str, ok: bool = True, ready: bool = True) -> None:
        """Words about the split; ``ok`` false for a problem, ``ready`` false while it is being worked out."""
        colour = "" if ok else f"color:{error_colour()}"
        self.split_preview.setText(f"<small style='{colour}'>{text}</small>")
        self.export_split_button.setEnabled(ok and ready)

    def set_copies(self, root: str, copies: tuple, split_of: dict[str, str]) -> None:
        """The sets of copies the split shown keeps together (``(check, files)``), to look at on demand."""
        self.copies, self._copies_root, self._split_of = copies, root, split_of
        self.copies_button.setText(f"Show the {len(copies)} set(s) of copies…")
        self.copies_button.setVisible(bool(copies))

    @Slot()
    def _on_copies_clicked(self) -> None:
        self.copies_dialog = CopiesDialog(self._copies_root, self.copies, self._split_of, self)
        self.copies_dialog.open()

    @Slot()
    def _on_grouping_changed(self, *args) -> None:
        self.group_pattern.setEnabled(self.group_combo.currentIndex() == 2)
        self.balance_copies.setEnabled(self.keep_duplicates.isChecked())
        self.export_split_button.setEnabled(False)
        self.sig_split_settings_changed.emit()

    def _percent_spin(self, value: int) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(0, 45)
        spin.setSuffix(" %")
        spin.setValue(value)
        return spin

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.hint, 1)
        top.addWidget(self.stop_scan_button)
        top.addWidget(self.choose_button)
        split_box = QGroupBox("Split")
        split_box.setToolTip("Images are split by class, fixed by the seed: validation picks the best epoch, "
                             "test measures the final accuracy and is never used for training.")
        form = QFormLayout(split_box)
        shares = QHBoxLayout()  # one row: a laptop screen at 2× has little height to spare
        test_words = QLabel("Test")
        test_words.setBuddy(self.test_spin)
        training_words = QLabel("Training")
        for widget in (self.val_spin, test_words, self.test_spin, training_words, self.train_label):
            shares.addWidget(widget)
        shares.addStretch(1)
        form.addRow("Validation", shares)
        form.addRow("Keep together", self.group_combo)
        form.addRow("Pattern", self.group_pattern)
        form.addRow(self.keep_duplicates)
        form.addRow(self.balance_copies)
        form.addRow(self.split_preview)
        buttons = QHBoxLayout()
        buttons.addWidget(self.copies_button)
        buttons.addWidget(self.export_split_button)
        buttons.addStretch(1)
        form.addRow(buttons)
        form.addRow(self.done)
        self.split_box = split_box
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.info)
        layout.addWidget(self.table, 1)
        layout.addWidget(split_box)
        layout.addWidget(self.problems_button)
        layout.addWidget(self.problems)

    # ---- public -------------------------------------------------------------------------------------
    @property
    def fractions(self) -> tuple[float, float]:
        """(validation, test) fractions."""
        return self.val_spin.value() / 100.0, self.test_spin.value() / 100.0

    def settings(self) -> dict:
        """The split settings this panel holds, as TrainConfig keyword arguments."""
        val, test = self.fractions
        return {"val_fraction": val, "test_fraction": test, **self.grouping}

    def apply_settings(self, settings: dict) -> None:
        """Show saved settings (a project's): the keys of :meth:`settings`; missing or unusable ones are skipped."""
        for key, spin in (("val_fraction", self.val_spin), ("test_fraction", self.test_spin)):
            if isinstance(settings.get(key), int | float):
                spin.setValue(round(settings[key] * 100))
        modes = ("none", "dicom", "filename")
        if settings.get("group_by") in modes:
            self.group_combo.setCurrentIndex(modes.index(settings["group_by"]))
        self.group_pattern.setText(settings.get("group_pattern") or "")
        self.keep_duplicates.setChecked(bool(settings.get("keep_duplicates_together", True)))
        self.balance_copies.setChecked(bool(settings.get("balance_over_copies", False)))

    def show_scanning(self, folder: str) -> None:
        self.thumbs.cancel_all()
        self.hint.setText(f"<b>Reading</b> {folder}…")
        self.table.setRowCount(0)
        self.info.setText("Listing the files…")
        self.split_preview.setText("")  # the previous dataset's split says nothing about this one
        self.stop_scan_button.setVisible(True)
        self.problems_button.setVisible(False)
        self.problems.setVisible(False)

    def show_progress(self, done: int, total: int) -> None:
        self.info.setText(f"Listing the files: {done:,} found so far…" if total == 0 else
                          f"Reading image headers: {done:,} / {total:,}")

    def show_error(self, message: str) -> None:
        self.stop_scan_button.setVisible(False)
        self.split_preview.setText("")
        self.table.setRowCount(0)
        self.hint.setText("<b>Drop a folder of images here</b>")
        self.info.setText(f"<span style='color:{error_colour()}'>{message}</span>")

    def show_summary(self, summary: DatasetSummary) -> None:
        """Fill the panel from a finished scan."""
        self.stop_scan_button.setVisible(False)
        self.hint.setText(f"<b>{summary.root}</b>")
        size = summary.size_range
        sizes = ("" if not size else f", all {size[0][0]}×{size[0][1]} pixels" if size[0] == size[1] else
                 f", from {size[0][0]}×{size[0][1]} to {size[1][0]}×{size[1][1]} pixels")
        kinds = list(summary.depths.items())
        formats = kinds_in_words(summary.depths)
        text = f"{summary.total} images in {len(summary.classes)} classes{sizes}; {formats}."
        self.info.setToolTip("File formats, pixel layouts and bit depths: "
                             + ", ".join(f"{k} ({v})" for k, v in kinds))
        if summary.problem:
            text += f"<br><span style='color:{error_colour()}'>{summary.problem}</span>"
        self.info.setText(text)
        self._fill_table(summary)
        pre_split = summary.layout == "pre-split"
        self.val_spin.setEnabled(not pre_split)
        self.test_spin.setEnabled(not pre_split)
        if pre_split:
            counts = {s: sum(c.values()) for s, c in summary.split_counts.items()}
            self.train_label.setText("the folder's own split: " + ", ".join(f"{s} {n}" for s, n in counts.items()))
        else:
            self._on_split_changed()
        self._fill_problems(summary)

    def _fill_table(self, summary: DatasetSummary) -> None:
        counts = summary.counts
        self.table.setRowCount(len(counts))
        self.table.verticalHeader().setDefaultSectionSize(THUMB_SIZE + 8)
        for row, (name, n) in enumerate(counts.items()):
            self.table.setItem(row, 0, QTableWidgetItem(name))
            count = QTableWidgetItem(str(n))
            count.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, 1, count)
            strip = QWidget()
            strip_layout = QHBoxLayout(strip)
            strip_layout.setContentsMargins(2, 2, 2, 2)
            strip_layout.setSpacing(3)
            for _ in range(THUMBS_PER_CLASS):
                label = QLabel()
                label.setFixedSize(THUMB_SIZE, THUMB_SIZE)
                strip_layout.addWidget(label)
            strip_layout.addStretch(1)
            self.table.setCellWidget(row, 2, strip)
            paths = [r.path for r in summary.images if r.label == name][:THUMBS_PER_CLASS]
            self.thumbs.request(name, paths)
        self.table.resizeColumnsToContents()

    def _fill_problems(self, summary: DatasetSummary) -> None:
        self.problems.clear()
        for warning in summary.warnings:
            self.problems.addItem(f"⚠ {warning}")
        for skipped in summary.skipped:
            self.problems.addItem(f"Skipped {skipped.rel}: {skipped.reason}")
        n_warn, n_skip = len(summary.warnings), len(summary.skipped)
        if n_warn or n_skip:
            self.problems_button.setText(f"{_count(n_skip, 'file')} skipped, {_count(n_warn, 'warning')} — show / "
                                         "hide the list")
            self.problems_button.setVisible(True)

    # ---- slots --------------------------------------------------------------------------------------
    @Slot()
    def choose_folder(self) -> None:
        """Ask for the dataset folder (a dialog); :attr:`sig_folder_chosen` when one is chosen."""
        folder = QFileDialog.getExistingDirectory(self, "Choose the dataset folder (one sub-folder per class)",
                                                  self.start_dir)
        if folder:
            self.sig_folder_chosen.emit(folder)

    @Slot()
    def _on_split_changed(self) -> None:
        train = 100 - self.val_spin.value() - self.test_spin.value()
        self.train_label.setText(f"{train} %")
        self.export_split_button.setEnabled(False)
        self.sig_split_settings_changed.emit()

    @Slot(str, int, QImage)
    def _on_thumbnail_ready(self, key: str, index: int, image: QImage) -> None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.text() == key:
                strip = self.table.cellWidget(row, 2)
                labels = strip.findChildren(QLabel) if strip else []
                if index < len(labels):
                    labels[index].setPixmap(QPixmap.fromImage(image))
                return


if __name__ == "__main__":  # preview on the bundled sample
    from PySide6.QtWidgets import QApplication

    from foveal.core.data.scan import scan_dataset
    from foveal.gui.resources import SAMPLES
    from foveal.gui.widgets.preview_data import preview_split_warning

    app = QApplication([])
    panel = DatasetPanel()
    panel.show_summary(scan_dataset(SAMPLES))
    panel.show_split_preview(preview_split_warning())
    panel.resize(700, 600)
    panel.show()
    app.exec()
