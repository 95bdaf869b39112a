"""The backbone table of the Model step: one row per pretrained network, in plain words."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem

from foveal.core.models.registry import BACKBONES, BLOCK_COUNTS, DEFAULT_BACKBONE

_COLUMNS = ["Pretrained network", "Size (MB)", "Speed on a laptop", "Image size", "Accuracy on photos",
            "Good for"]
#: The technical term behind each plain column name, for its tooltip.
_COLUMN_TIPS = ["The backbone: a network trained on millions of photographs, whose features the new classifier "
                "learns from", "Download and model size in megabytes", "How fast it classifies on a CPU",
                "The square size (pixels) the network was trained at; images are resized to it inside the model",
                "ImageNet top-1 accuracy: how often its first answer was right on 1,000 kinds of photographs",
                "What it suits"]


def make_backbone_table() -> QTableWidget:
    """Every backbone with its size, speed, image size, ImageNet accuracy and use; plain column names, the
    technical terms in their tooltips. Each item holds the backbone's name (UserRole)."""
    table = QTableWidget(len(BACKBONES), len(_COLUMNS))
    table.setHorizontalHeaderLabels(_COLUMNS)
    for col, tip in enumerate(_COLUMN_TIPS):
        header = table.horizontalHeaderItem(col)  # made by setHorizontalHeaderLabels
        if header is not None:
            header.setToolTip(tip)
    table.verticalHeader().setVisible(False)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for row, spec in enumerate(BACKBONES.values()):
        name = f"★ {spec.name} (recommended)" if spec.name == DEFAULT_BACKBONE else spec.name
        values = [name, f"{spec.size_mb:.0f}", spec.speed, f"{spec.input_size} px", f"{spec.top1:.1f} %",
                  spec.good_for]
        for col, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setData(Qt.ItemDataRole.UserRole, spec.name)
            item.setToolTip(f"{spec.name}: {spec.good_for}. {spec.params_m:.1f} M parameters, "
                            f"{spec.feature_dim} features, {BLOCK_COUNTS.get(spec.name, '?')} blocks.")
            if col in (1, 3, 4):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(row, col, item)
    table.setWordWrap(False)
    table.resizeColumnsToContents()
    table.resizeRowsToContents()
    table.horizontalHeader().setSectionResizeMode(len(_COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
    return table
