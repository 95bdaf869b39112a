"""Antialiased bilinear resizing as two small matrix products, the same on every runtime.

The weights are the triangle (bilinear) filter widened by the downscale factor, normalised per output pixel:
what ``tf.image.resize(..., antialias=True)``, Keras's ``Resizing(antialias=True)`` and Pillow's bilinear
resize compute. Foveal's prediction path uses this NumPy version; exported models carry the same formula as
graph operations (core.export.graph), so both see identical pixels.
"""

from __future__ import annotations

import numpy as np


def resize_weights(out: int, n: int) -> np.ndarray:
    """``(out, n)`` float32 matrix mapping ``n`` input pixels to ``out`` output pixels along one axis."""
    scale = n / out
    support = max(scale, 1.0)
    centre = (np.arange(out, dtype=np.float32) + 0.5) * np.float32(scale)
    position = np.arange(n, dtype=np.float32) + 0.5
    w = np.maximum(0.0, 1.0 - np.abs(position[None, :] - centre[:, None]) / np.float32(support)).astype(np.float32)
    return w / w.sum(axis=1, keepdims=True)


def resize_float(image: np.ndarray, size: int) -> np.ndarray:
    """Resize an ``(H, W, C)`` image to ``(size, size, C)`` float32 without rounding (values stay 0–255)."""
    x = image.astype(np.float32, copy=False)
    h, w = x.shape[:2]
    if (h, w) == (size, size):
        return x
    rows, cols = resize_weights(size, h), resize_weights(size, w)
    x = np.tensordot(rows, x, axes=([1], [0]))  # (size, W, C)
    return np.einsum("jw,iwc->ijc", cols, x, optimize=True).astype(np.float32, copy=False)
