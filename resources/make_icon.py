"""Draws Foveal's application icon: an eye's fovea as concentric rings over a stained-cell teal, as an SVG and
as PNGs at the sizes desktops ask for (16–512 px). Run ``python resources/make_icon.py`` to make them again."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
#: (radius as a fraction of half the side, fill colour): back to front.
RINGS = ((1.00, "#0f4c5c"), (0.78, "#2a9d8f"), (0.52, "#e9f5f2"), (0.30, "#264653"), (0.12, "#f4a261"))

SVG = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512" width="512" height="512">
  <title>Foveal</title>
{circles}</svg>
"""


def svg() -> str:
    circles = "".join(f'  <circle cx="256" cy="256" r="{256 * r:.1f}" fill="{c}"/>\n' for r, c in RINGS)
    return SVG.format(circles=circles)


def png(size: int) -> Image.Image:
    scale = 4  # drawn large and scaled down: smooth edges without an anti-aliasing renderer
    side = size * scale
    im = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    for r, colour in RINGS:
        half = side / 2 * r
        draw.ellipse((side / 2 - half, side / 2 - half, side / 2 + half - 1, side / 2 + half - 1), fill=colour)
    return im.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    HERE.mkdir(exist_ok=True)
    (HERE / "foveal.svg").write_text(svg(), encoding="utf-8")
    for size in SIZES:
        png(size).save(HERE / f"foveal-{size}.png", optimize=True)
    png(256).save(HERE / "foveal.ico", sizes=[(s, s) for s in SIZES if s <= 256])  # the Windows installer's


if __name__ == "__main__":
    main()
