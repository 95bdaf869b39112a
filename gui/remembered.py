"""What the window remembers between sessions, so that a person without internet does not choose it all again:
the model settings (backbone, how much of it learns, weights, the advanced ones), the weights file each backbone was
given, and the dataset folder last opened (reopened at start while it is still there; Foveal only reads it).

Kept in the window's QSettings (tests pass one in a temporary folder, never the user's).
"""

from __future__ import annotations

import json
import logging
import os

from PySide6.QtCore import QObject, QSettings, Slot

from foveal.core.models.registry import BACKBONES
from foveal.gui.widgets.model_panel import ModelPanel

log = logging.getLogger("foveal")

#: The QSettings keys: the model settings (JSON, ModelPanel.settings()), the weights file per backbone (JSON), the
#: backbone alone (what older versions kept), the dataset folder last opened.
SETTINGS, WEIGHTS_FILES, BACKBONE, LAST_FOLDER = ("model/settings", "model/weights_files", "model/backbone",
                                                 "data/last_folder")


class Remembered(QObject):
    """Restores the Model view's settings from ``settings`` when made, and saves them whenever they change."""

    def __init__(self, settings: QSettings, model_panel: ModelPanel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings, self.model_panel = settings, model_panel
        self.restore()
        model_panel.sig_changed.connect(self.save)  # after restoring: a half-restored view is never saved

    def restore(self) -> None:
        """Show the model settings last used, with the weights file each backbone was given (a file no longer
        there is forgotten, with a note, when it would be used)."""
        files = self._json(WEIGHTS_FILES)
        self.model_panel.weights_choice.files = {k: v for k, v in files.items()
                                                 if k in BACKBONES and isinstance(v, str) and v}
        saved = self._json(SETTINGS)
        if not saved and self.settings.value(BACKBONE):
            saved = {"backbone": str(self.settings.value(BACKBONE))}
        self.model_panel.apply_settings(saved)

    @Slot()
    def save(self) -> None:
        """Keep the settings shown now (each change is saved: a crash loses nothing)."""
        settings = self.model_panel.settings()
        self.settings.setValue(SETTINGS, json.dumps(settings))
        self.settings.setValue(BACKBONE, settings["backbone"])
        self.settings.setValue(WEIGHTS_FILES, json.dumps(self.model_panel.weights_choice.files))

    def last_folder(self) -> str | None:
        """The dataset folder last opened, while it is still a folder (None otherwise)."""
        folder = str(self.settings.value(LAST_FOLDER, "") or "")
        return folder if folder and os.path.isdir(folder) else None

    def _json(self, key: str) -> dict:
        """A JSON object kept under ``key`` ({} when there is none, or it is damaged)."""
        text = self.settings.value(key)
        try:
            value = json.loads(str(text)) if text else {}
        except ValueError:
            log.warning("Ignoring the remembered %s: not JSON (%r)", key, text)
            return {}
        return value if isinstance(value, dict) else {}
