"""Bundled resources for the window: the sample dataset and the application icon (see :mod:`core.resources`)."""

from __future__ import annotations

from PySide6.QtGui import QIcon

from foveal.core.resources import icon_paths, resource_path, samples_dir

SAMPLES = samples_dir()

__all__ = ["SAMPLES", "app_icon", "resource_path"]


def app_icon() -> QIcon:
    """Foveal's icon with every drawn size, so each desktop picks a sharp one."""
    icon = QIcon()
    for path in icon_paths():
        icon.addFile(str(path))
    return icon
