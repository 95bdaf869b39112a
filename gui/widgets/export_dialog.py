"""*Export model…*: which format, described by what it is for, and where to save it (a Save dialog)."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

#: (what it is for, in words; the technical name; format; precision), in the order a user looks for them.
FORMAT_CHOICES = (
    ("To use in Python or to open in Foveal again", "Keras, .keras", "keras", "float32"),
    ("For a server or another TensorFlow program", "TensorFlow SavedModel", "savedmodel", "float32"),
    ("For a phone or tablet app, or a small device", "TFLite, full precision", "tflite", "float32"),
    ("For a phone app, half the size", "TFLite float16", "tflite", "float16"),
    ("For a phone app, smallest and fastest (answers may differ slightly)", "TFLite int8", "tflite", "int8"),
    ("For another program or language: C#, C++, Java, JavaScript", "ONNX", "onnx", "float32"),
)


def default_folder_name(model: str, fmt: str, precision: str) -> str:
    """``<run>-<format>``: a name that says what the folder holds."""
    base = Path(model).name if Path(model).is_dir() else Path(model).stem
    return f"{base}-{fmt}" + (f"-{precision}" if fmt == "tflite" else "")


class ExportDialog(QDialog):
    """Choose a format; *Save…* asks where (a new folder, which holds the model, labels.txt and an example)."""

    def __init__(self, model: str, parent: QWidget | None = None, start_dir: str | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.start_dir = start_dir or os.path.expanduser("~")
        self.folder: str | None = None
        self.setWindowTitle("Export model")
        intro = QLabel(f"Export <b>{Path(model).name}</b> to use it outside Foveal. Foveal checks the exported "
                       "model against its own answers on test images and says whether they agree.")
        intro.setWordWrap(True)
        self.group = QButtonGroup(self)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        self.buttons_by_id: list[QRadioButton] = []
        for i, (use, name, _fmt, _precision) in enumerate(FORMAT_CHOICES):
            b = QRadioButton(f"{use}  ({name})")
            b.setToolTip(name)
            self.group.addButton(b, i)
            self.buttons_by_id.append(b)
            layout.addWidget(b)
        self.buttons_by_id[0].setChecked(True)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        box.button(QDialogButtonBox.StandardButton.Save).setText("Save…")
        box.accepted.connect(self._on_save)
        box.rejected.connect(self.reject)
        layout.addWidget(box)

    @property
    def choice(self) -> tuple[str, str]:
        """``(format, precision)`` chosen."""
        _use, _name, fmt, precision = FORMAT_CHOICES[max(self.group.checkedId(), 0)]
        return fmt, precision

    def _on_save(self) -> None:
        fmt, precision = self.choice
        suggested = os.path.join(self.start_dir, default_folder_name(self.model, fmt, precision))
        path, _ = QFileDialog.getSaveFileName(self, "Save the exported model as (a new folder)", suggested, "")
        if path:
            self.folder = path
            self.accept()
