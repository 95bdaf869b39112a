"""Colours for words that must stand out, readable on the palette in use (light or dark): at least 4.5:1."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication, QPalette


def _dark() -> bool:
    app = QGuiApplication.instance()
    return isinstance(app, QGuiApplication) and app.palette().color(QPalette.ColorRole.Window).lightness() < 128


def error_colour() -> str:
    """A problem, in red: dark red on a light window (5.4:1 on white), light red on a dark one (5:1 on #2d2d30)."""
    return "#ff8a7a" if _dark() else "#b03020"


def good_colour() -> str:
    """Passed or right, in green, readable on either palette."""
    return "#6fd99b" if _dark() else "#1e7045"
