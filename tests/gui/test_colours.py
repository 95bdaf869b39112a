"""Words that must stand out are readable on a light and on a dark palette (WCAG contrast at least 4.5:1)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from foveal.gui.widgets.colours import error_colour, good_colour


def _luminance(c: QColor) -> float:
    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())


def contrast(a: QColor, b: QColor) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("window", [QColor(255, 255, 255), QColor(239, 239, 239), QColor(45, 45, 48),
                                    QColor(30, 30, 32)], ids=["white", "light grey", "dark grey", "near black"])
def test_error_and_good_words_and_plot_text_are_readable(qtbot, window):
    from foveal.gui.widgets.training_plot import text_colour

    app = QApplication.instance()
    old = app.palette()
    palette = QPalette(old)
    palette.setColor(QPalette.ColorRole.Window, window)
    palette.setColor(QPalette.ColorRole.WindowText, QColor(235, 235, 235) if window.lightness() < 128 else
                     QColor(20, 20, 20))
    app.setPalette(palette)
    try:
        for colour in (error_colour(), good_colour()):
            assert contrast(QColor(colour), window) >= 4.5, (colour, window.name())
        assert contrast(text_colour(), window) >= 4.5
    finally:
        app.setPalette(old)


def test_the_focus_ring_is_solid_and_in_the_highlight_colour(qtbot):
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QStyle, QStyleFactory, QStyleOptionFocusRect

    from foveal.gui.focus_style import FocusStyle

    style = FocusStyle(QStyleFactory.create("Fusion"))
    image = QImage(40, 20, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    option = QStyleOptionFocusRect()
    option.rect = QRect(0, 0, 40, 20)
    option.palette.setColor(QPalette.ColorRole.Highlight, QColor(42, 130, 218))
    painter = QPainter(image)
    style.drawPrimitive(QStyle.PrimitiveElement.PE_FrameFocusRect, option, painter)
    painter.end()
    edge = [image.pixelColor(x, 1) for x in range(5, 35)]  # the top edge of the ring
    assert all(contrast(c, QColor("white")) > 2.5 for c in edge)  # solid all along, not dotted
    assert image.pixelColor(20, 10) == QColor("white")  # inside stays as it was
