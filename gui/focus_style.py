"""A clear keyboard focus mark: the widget with the focus gets a 2-pixel ring in the palette's highlight colour,
instead of the style's faint dotted one (people who work by keyboard must see where they are)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette, QPen
from PySide6.QtWidgets import QProxyStyle, QStyle, QStyleFactory


class FocusStyle(QProxyStyle):
    """The application's style, with :data:`QStyle.PE_FrameFocusRect` drawn as a solid highlight ring."""

    def drawPrimitive(self, element, option, painter, widget=None) -> None:  # noqa: N802 (Qt override)
        if element == QStyle.PrimitiveElement.PE_FrameFocusRect:
            painter.save()
            painter.setRenderHint(painter.RenderHint.Antialiasing, True)
            painter.setPen(QPen(option.palette.color(QPalette.ColorRole.Highlight), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(option.rect.adjusted(1, 1, -1, -1), 3, 3)
            painter.restore()
            return
        super().drawPrimitive(element, option, painter, widget)


def install_focus_style(app) -> FocusStyle:
    """Wrap the application's current style (kept as it is otherwise)."""
    style = FocusStyle(QStyleFactory.create(app.style().name()))
    app.setStyle(style)
    return style
