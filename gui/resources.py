"""The one place that knows where Foveal's bundled resources live."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
SAMPLES = RESOURCES / "samples"


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource file, e.g. ``resource_path("icons", "foveal.svg")``."""
    return RESOURCES.joinpath(*parts)
