"""Regenerate Foveal's bundled sample dataset: synthetic stained-cell micrographs in three classes.

    python resources/make_samples.py

Writes ``round/``, ``elongated/`` and ``budding/`` in resources/samples/ (40 JPEG images each, 128×128 px), from a
fixed seed, so the demo and the documentation work offline on any machine. The shapes differ by class; stain
colour, brightness, cell count, size, orientation, blur and noise vary within every class.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent / "samples"
CLASSES = ("round", "elongated", "budding")
PER_CLASS = 40
SIZE = 128


def _cell(draw: ImageDraw.ImageDraw, kind: str, rng: np.random.Generator, stain: tuple[int, int, int]) -> None:
    cx, cy = rng.uniform(14, SIZE - 14, size=2)
    r = rng.uniform(7, 12)
    angle = rng.uniform(0, np.pi)
    if kind == "round":
        blobs = [(cx, cy, r, r * rng.uniform(0.9, 1.1))]
    elif kind == "elongated":
        blobs = [(cx, cy, r * rng.uniform(1.8, 2.4), r * rng.uniform(0.45, 0.6))]
    else:  # budding: a mother cell with a smaller daughter attached
        d = r * rng.uniform(1.1, 1.3)
        blobs = [(cx, cy, r, r), (cx + d * np.cos(angle), cy + d * np.sin(angle), r * 0.6, r * 0.6)]
    for bx, by, a, b in blobs:
        pts = [(bx + a * np.cos(t) * np.cos(angle) - b * np.sin(t) * np.sin(angle),
                by + a * np.cos(t) * np.sin(angle) + b * np.sin(t) * np.cos(angle))
               for t in np.linspace(0, 2 * np.pi, 36)]
        draw.polygon(pts, fill=stain, outline=tuple(max(0, c - 60) for c in stain))
    nucleus = tuple(max(0, c - 110) for c in stain)
    draw.ellipse([cx - r * 0.35, cy - r * 0.35, cx + r * 0.35, cy + r * 0.35], fill=nucleus)


def make_image(kind: str, rng: np.random.Generator) -> Image.Image:
    """One synthetic micrograph of the given class."""
    background = tuple(int(v) for v in rng.integers(215, 250, size=3))
    img = Image.new("RGB", (SIZE, SIZE), background)
    draw = ImageDraw.Draw(img)
    stain = (int(rng.integers(150, 220)), int(rng.integers(60, 130)), int(rng.integers(120, 200)))
    for _ in range(int(rng.integers(3, 8))):
        _cell(draw, kind, rng, stain)
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    pixels = np.asarray(img, dtype=np.float32) * rng.uniform(0.85, 1.1)
    pixels += rng.normal(0, 6, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def main() -> None:
    rng = np.random.default_rng(20261125)
    for kind in CLASSES:
        folder = HERE / kind
        folder.mkdir(exist_ok=True)
        for i in range(PER_CLASS):
            make_image(kind, rng).save(folder / f"{kind}_{i:03d}.jpg", quality=88)


if __name__ == "__main__":
    main()
