"""Choosing the model: a backbone table that helps a non-expert, weights, fine-tune depth, and advanced settings."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from foveal.core.models.registry import BACKBONES, DEFAULT_BACKBONE, BackboneSpec
from foveal.gui.widgets.backbone_table import make_backbone_table
from foveal.gui.widgets.depth_choice import DepthChoice, block_count
from foveal.gui.widgets.weights_choice import WeightsChoice

#: The "Train on" choices: (words, TrainConfig.devices). Several GPUs train together (MirroredStrategy) on "auto".
DEVICE_CHOICES = [("Automatic (all GPUs, else CPU)", "auto"), ("CPU only", "cpu"), ("First GPU only", "gpu:0")]

class ModelPanel(QWidget):
    """Backbone, weights, fine-tune depth and advanced training settings."""

    sig_backbone_changed = Signal()
    """Another backbone is selected (its ImageNet weights' cache status is worth checking)."""
    sig_changed = Signal()
    """Any setting changed."""
    sig_compare_requested = Signal()
    """The user asked to compare backbones on the dataset."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = make_backbone_table()
        self.compare_button = QPushButton("Which suits my images? Compare backbones…")
        self.compare_button.setToolTip("Scores several backbones on your training and validation images and "
                                       "recommends one (a few minutes; the test images are not used)")
        self.compare_button.clicked.connect(self.sig_compare_requested)
        self.weights_choice = WeightsChoice(DEFAULT_BACKBONE)
        choice = self.weights_choice  # its parts, by the names the window and the tests use
        self.weights_imagenet, self.weights_file, self.weights_none = choice.imagenet, choice.file, choice.none
        self.imagenet_status, self.weights_button, self.weights_label = (choice.imagenet_status, choice.button,
                                                                         choice.label)
        self.depth_choice = DepthChoice(block_count(DEFAULT_BACKBONE))
        self.depth_slider, self.depth_label = self.depth_choice.slider, self.depth_choice.label
        self.advanced = self._make_advanced()
        self._layout()
        self.table.itemSelectionChanged.connect(self._on_backbone_changed)
        self.depth_choice.sig_changed.connect(self._on_depth_changed)
        choice.sig_changed.connect(self._on_weights_changed)
        self.select_backbone(DEFAULT_BACKBONE)
        self._on_depth_changed()

    def _make_advanced(self) -> QGroupBox:
        box = QGroupBox("Advanced")
        box.setCheckable(True)
        box.setChecked(False)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 1000)
        self.epochs.setValue(10)
        self.epochs.setToolTip("Passes over the training images while the new head learns (an epoch is one pass)")
        self.fine_tune_epochs = QSpinBox()
        self.fine_tune_epochs.setRange(0, 1000)
        self.fine_tune_epochs.setSpecialValueText("as many as the head")
        self.fine_tune_epochs.setValue(0)
        self.fine_tune_epochs.setToolTip("Passes over the training images while the backbone's last blocks learn "
                                         "too, after the head's epochs (only when part of the backbone learns)")
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 1024)
        self.batch_size.setValue(32)
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setDecimals(5)
        self.learning_rate.setRange(1e-5, 1.0)
        self.learning_rate.setSingleStep(1e-4)
        self.learning_rate.setValue(1e-3)
        self.learning_rate.setToolTip("For the new head; fine-tuning uses a tenth of it")
        self.augment = QCheckBox("Augment: flips, small rotations, zoom, contrast")
        self.recipe = QComboBox()
        self.recipe.addItem("Automatic: the best by cross-validation", "auto")
        self.recipe.addItem("Dense head, as set here", "manual")
        self.recipe.setToolTip("Foveal tries a linear and a dense head, average, max and grid pooling, with and "
                               "without class weights (and a larger image size when the images are large), each "
                               "scored by cross-validation on the training and validation images, and keeps the "
                               "best. The test images are never used.")
        self.class_weights = QComboBox()
        for words, value in (("when classes are unbalanced", "auto"), ("always", "balanced"), ("never", "none")):
            self.class_weights.addItem(words, value)
        self.class_weights.setToolTip("Class weights: images of a rare class count more in training, so the model "
                                      "does not just learn to answer the common class")
        self.image_size = QSpinBox()
        self.image_size.setRange(31, 1024)
        self.image_size.setSingleStep(32)
        self.image_size.setSpecialValueText("the backbone's own")
        self.image_size.setValue(31)
        self.image_size.setSuffix(" px")
        self.image_size.setToolTip("Each image is resized to this square before the backbone sees it. Larger "
                                   "keeps small structures (cells, a lesion's edge) but is slower.")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(1234)
        self.devices = QComboBox()
        for text, value in DEVICE_CHOICES:
            self.devices.addItem(text, value)
        self.devices.setToolTip("Automatic: every GPU (mixed precision and XLA on modern ones), else the CPU")
        self.folds = QSpinBox()
        self.folds.setRange(0, 10)
        self.folds.setSpecialValueText("off")
        self.folds.setToolTip("k-fold cross-validation (3–10): k runs, each fold the test split once; reports the "
                              "mean and spread of each metric. Respects 'Keep together'.")
        self.folds.valueChanged.connect(self._on_folds_changed)
        inner = QWidget()
        form = QFormLayout(inner)
        form.addRow("Classifier (head)", self.recipe)
        form.addRow("Image size", self.image_size)
        form.addRow("Epochs for the new head", self.epochs)
        form.addRow("Epochs fine-tuning the backbone", self.fine_tune_epochs)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Learning rate", self.learning_rate)
        form.addRow(self.augment)
        form.addRow("Rare classes count more", self.class_weights)
        form.addRow("Seed (fixes the split)", self.seed)
        form.addRow("Cross-validation folds", self.folds)
        form.addRow("Train on", self.devices)
        QVBoxLayout(box).addWidget(inner)
        inner.setVisible(False)
        box.toggled.connect(inner.setVisible)
        return box

    def _layout(self) -> None:
        # The settings scroll on a small screen, so opening Advanced never squeezes the backbone table to a few
        # rows nor makes the window taller than the screen.
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(QLabel("<b>Backbone</b> — a network pretrained on millions of photographs"))
        rows = self.table.verticalHeader().defaultSectionSize()
        self.table.setMinimumHeight(self.table.horizontalHeader().sizeHint().height() + 6 * rows + 4)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.compare_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.weights_choice)
        layout.addWidget(self.depth_choice)
        layout.addWidget(self.advanced)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidget(content)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # its contents take the focus, not the frame
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll_area)
        self.advanced.toggled.connect(self._on_advanced_toggled)

    # ---- public -------------------------------------------------------------------------------------
    @property
    def backbone(self) -> BackboneSpec:
        rows = self.table.selectionModel().selectedRows()
        return BACKBONES[self._name_at(rows[0].row() if rows else 0)]

    def _name_at(self, row: int) -> str:
        """The backbone named in ``row`` of the table."""
        item = self.table.item(row, 0)
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else DEFAULT_BACKBONE

    def select_backbone(self, name: str) -> None:
        for row in range(self.table.rowCount()):
            if self._name_at(row) == name:
                self.table.selectRow(row)
                return

    @property
    def weights(self) -> str:
        return self.weights_choice.weights

    @property
    def weights_path(self) -> str | None:
        """The weights file shown (chosen, or brought back for the backbone), whichever source is chosen."""
        return self.weights_choice.path

    @property
    def weights_not_ready(self) -> str:
        """Why Start must wait because of the weights ("" when it need not): a file that does not fit."""
        return self.weights_choice.not_ready

    @property
    def fine_tune(self) -> str:
        return self.depth_choice.fine_tune

    def settings(self) -> dict:
        """The training settings this panel holds, as TrainConfig keyword arguments."""
        return {"backbone": self.backbone.name, "weights": self.weights, "fine_tune": self.fine_tune,
                "epochs": self.epochs.value(), "fine_tune_epochs": self.fine_tune_epochs.value() or None,
                "batch_size": self.batch_size.value(),
                "learning_rate": self.learning_rate.value(), "augment": self.augment.isChecked(),
                "class_weights": self.class_weights.currentData(), "seed": self.seed.value(),
                "recipe": self.recipe.currentData(), "image_size": self.chosen_image_size,
                "devices": self.devices.currentData()}

    @property
    def chosen_image_size(self) -> int | None:
        """The input size asked for (None: the backbone's own)."""
        value = self.image_size.value()
        return None if value == self.image_size.minimum() else value

    def use_candidate(self, backbone: str, size: int) -> None:
        """Select ``backbone`` at ``size`` px (a comparison's recommendation)."""
        self.select_backbone(backbone)
        self.image_size.setValue(self.image_size.minimum() if size == BACKBONES[backbone].input_size else size)

    def apply_settings(self, settings: dict) -> None:
        """Show saved settings (a project's): the keys of :meth:`settings`; unknown or missing keys are skipped."""
        if settings.get("backbone") in BACKBONES:
            self.select_backbone(settings["backbone"])
        if isinstance(settings.get("weights"), str):
            self.weights_choice.restore(settings["weights"])
        self.depth_choice.set_fine_tune(str(settings.get("fine_tune", "frozen")))
        for key, spin in (("epochs", self.epochs), ("batch_size", self.batch_size), ("seed", self.seed)):
            if isinstance(settings.get(key), int):
                spin.setValue(settings[key])
        ft = settings.get("fine_tune_epochs")
        self.fine_tune_epochs.setValue(ft if isinstance(ft, int) and ft > 0 else 0)
        size = settings.get("image_size")
        self.image_size.setValue(size if isinstance(size, int) and size >= 32 else self.image_size.minimum())
        if isinstance(settings.get("learning_rate"), float):
            self.learning_rate.setValue(settings["learning_rate"])
        self.augment.setChecked(bool(settings.get("augment", False)))
        if settings.get("recipe") in ("auto", "manual"):
            self.recipe.setCurrentIndex(self.recipe.findData(settings["recipe"]))
        if settings.get("class_weights") in ("auto", "balanced", "none"):
            self.class_weights.setCurrentIndex(self.class_weights.findData(settings["class_weights"]))
        index = self.devices.findData(settings.get("devices", "auto"))
        self.devices.setCurrentIndex(max(index, 0))

    # ---- slots --------------------------------------------------------------------------------------
    @Slot(bool)
    def _on_advanced_toggled(self, shown: bool) -> None:
        """Opening Advanced shows it (scrolled into view) and keeps the chosen backbone's row visible."""
        if shown:
            QTimer.singleShot(0, self._show_advanced)
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.table.scrollTo(rows[0])

    @Slot()
    def _show_advanced(self) -> None:
        self.scroll_area.ensureWidgetVisible(self.advanced)
        self.scroll_area.horizontalScrollBar().setValue(0)  # down to it, never sideways

    @Slot(int)
    def _on_folds_changed(self, value: int) -> None:
        if 0 < value < 3:  # 1 and 2 folds are not cross-validation: jump to off or 3
            self.folds.setValue(3 if value == 2 else 0)

    @Slot()
    def _on_backbone_changed(self) -> None:
        self.depth_choice.set_blocks(block_count(self.backbone.name))
        self.weights_choice.set_backbone(self.backbone.name)
        self.sig_backbone_changed.emit()
        self.sig_changed.emit()

    @Slot()
    def _on_depth_changed(self) -> None:
        self.fine_tune_epochs.setEnabled(self.depth_choice.learns)
        self.sig_changed.emit()

    @Slot()
    def choose_weights_file(self) -> None:
        """Ask for a weights file for the chosen backbone (a dialog)."""
        self.weights_choice.choose_file()

    def set_weights_file(self, path: str) -> None:
        """Use the weights file at ``path`` for the chosen backbone; whether it fits is checked (gui.weights_status)."""
        self.weights_choice.set_file(path)

    def show_imagenet_checking(self) -> None:
        """Say that the ImageNet weights' cache status is being looked up."""
        self.weights_choice.show_imagenet_checking()

    def clear_imagenet_status(self) -> None:
        self.imagenet_status.setText("")

    def show_imagenet_status(self, backbone: str, name: str, path: str, cached: bool) -> None:
        """Say whether the ImageNet weights of ``backbone`` are already in Keras's cache."""
        self.weights_choice.show_imagenet_status(backbone, name, path, cached)

    @property
    def imagenet_cached(self) -> bool | None:
        return self.weights_choice.imagenet_cached

    @property
    def weights_missing(self) -> bool:
        """ImageNet weights are chosen and known not to be on this computer (Start must download them)."""
        return self.weights_choice.weights_missing

    @property
    def folds_wanted(self) -> int:
        """Cross-validation folds asked for (0: off, a single run)."""
        return self.folds.value()

    @Slot()
    def _on_weights_changed(self) -> None:
        self.depth_choice.set_from_scratch(self.weights_none.isChecked())
        self.sig_changed.emit()


if __name__ == "__main__":
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    panel = ModelPanel()
    panel.resize(800, 700)
    panel.show()
    app.exec()
