"""Features of overlapping tiles at full resolution: small structures that shrinking the whole image would lose.

A 640×480 smear shrunk to 224 px keeps a cell a few pixels wide; a lesion's edge blurs away. With tiles, the image is
resized to a square canvas of ``grid × size`` (448 px for 224 and grid 2) and read as overlapping tiles of ``size``
px, each the backbone's own input, at a stride of half a tile: ``(2·grid − 1)²`` tiles (3×3 for grid 2), their tops
and lefts at 0, size/2, size, …. Each tile's pooled features go two ways: their mean over the tiles (what the
image holds overall) and their maximum (whatever one tile holds strongly: a single abnormal cell), side by side,
so the head reads ``2 × W`` features.

In a saved classifier the tiles are a nested model of standard Keras layers only (``Cropping2D`` per tile, the
shared backbone and pooling, ``Average``, ``Maximum`` and ``Concatenate``), so the model loads in safe mode with
nothing of Foveal's, and every export traces it as it is. :func:`tile_features` computes the same features with
NumPy around Foveal's compiled feature pass, in the layers' own order of arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: The grids a classifier may read: 0 (the whole image at once) or 2 (3×3 tiles on a canvas of twice the size).
TILE_GRIDS = (0, 2)
#: The name of the nested model that reads the tiles (its output is the features the head reads).
SUBMODEL = "tiles"
#: Names of the layers inside it that combine the tiles.
MEAN, MAX, BOTH = "tiles_mean", "tiles_max", "tiles_mean_max"


def check_tiles(grid: int) -> int:
    """``grid`` when a classifier can read tiles on it; raises ValueError otherwise."""
    if grid not in TILE_GRIDS:
        raise ValueError("tiles must be 0 (the whole image at once) or 2 (3×3 overlapping tiles on a canvas of twice "
                         f"the input size). Received: {grid!r}")
    return grid


def describe(grid: int, size: int) -> str:
    """The reading in words, for the window and the report."""
    return f"tiles of {size} px at full resolution" if grid else "the whole image at once"


# ---- geometry ----------------------------------------------------------------------------------------------


def canvas_size(size: int, grid: int) -> int:
    """The side of the square the image is resized to: ``grid × size`` (the input size itself without tiles)."""
    return size * grid if grid else size


def n_tiles(grid: int) -> int:
    """How many tiles a canvas of ``grid`` holds: ``(2·grid − 1)²`` (1 without tiles)."""
    return (2 * grid - 1) ** 2 if grid else 1


def tile_boxes(size: int, grid: int) -> list[tuple[int, int]]:
    """``(top, left)`` of each tile of ``size`` px on the canvas, row by row, at a stride of half a tile."""
    if not grid:
        return [(0, 0)]
    if size % 2:
        raise ValueError(f"tiles need an even input size (they overlap by half). Received: {size}")
    starts = [i * (size // 2) for i in range(2 * grid - 1)]
    return [(top, left) for top in starts for left in starts]


# ---- the features with NumPy around Foveal's compiled pass ----------------------------------------------------


def crop_tiles(images: np.ndarray, size: int, grid: int) -> np.ndarray:
    """``(N, canvas, canvas, C)`` → ``(T·N, size, size, C)``: all images' tile 0, then all images' tile 1, …

    One copy of each tile's pixels (the batch the feature pass reads must be contiguous), nothing more."""
    side = canvas_size(size, grid)
    if images.ndim != 4 or images.shape[1:3] != (side, side):
        raise ValueError(f"tiles of {size} px on grid {grid} need a batch of (N, {side}, {side}, C) images. "
                         f"Received: {images.shape}")
    n = len(images)
    out = np.empty((n_tiles(grid) * n, size, size, images.shape[3]), images.dtype)
    for t, (top, left) in enumerate(tile_boxes(size, grid)):
        out[t * n:(t + 1) * n] = images[:, top:top + size, left:left + size]
    return out


def mean_and_max(features: np.ndarray, n: int) -> np.ndarray:
    """``(T·N, W)`` in :func:`crop_tiles`' order → ``(N, 2W)``: the mean over the tiles, then the maximum, summed
    and compared in the order Keras's ``Average`` and ``Maximum`` layers do, so that they equal a saved model's."""
    parts = np.split(np.asarray(features, np.float32), len(features) // n) if n else []
    if not parts:
        return np.zeros((0, 2 * features.shape[-1]), np.float32)
    total, top = parts[0], parts[0]
    for part in parts[1:]:
        total, top = total + part, np.maximum(top, part)
    return np.concatenate([total / np.float32(len(parts)), top], axis=-1).astype(np.float32)


def tile_features(forward: Callable[[np.ndarray], Any], images: np.ndarray, size: int) -> np.ndarray:
    """``(N, 2W)`` float32 features of a uint8 batch of canvases ``(N, canvas, canvas, 3)``: every tile of the
    batch through ``forward`` (Foveal's compiled feature pass: ``size`` square uint8 → pooled ``(·, W)``) in one
    call, then the mean over each image's tiles and their maximum, side by side."""
    side = images.shape[1] if images.ndim == 4 else 0
    grid = side // size if size and side % size == 0 else -1
    if grid < 1:
        raise ValueError(f"tiles of {size} px need canvases a whole number of tiles wide. Received: {images.shape}")
    check_tiles(grid)
    return mean_and_max(np.asarray(forward(crop_tiles(images, size, grid)), np.float32), len(images))


# ---- the tiles as standard Keras layers -------------------------------------------------------------------


def tiles_model(backbone, pool_layers: list, size: int, grid: int, *, batchnorm_learns: bool = False):
    """A model: a preprocessed canvas (``canvas_size(size, grid)`` square, float32) → ``(2W,)`` features: each tile
    cropped (``Cropping2D``), through the shared backbone and pooling, then ``[mean, max]`` over the tiles."""
    import keras

    side = canvas_size(size, check_tiles(grid))
    if not grid:
        raise ValueError("a tiles model needs tiles: grid 2. Received: 0")
    inp = keras.Input((side, side, 3), name="canvas", dtype="float32")
    pooled = []
    for t, (top, left) in enumerate(tile_boxes(size, grid)):
        crop = ((top, side - top - size), (left, side - left - size))
        h = keras.layers.Cropping2D(crop, name=f"tile_{t}", dtype="float32")(inp)
        h = backbone(h) if batchnorm_learns else backbone(h, training=False)
        for layer in pool_layers:
            h = layer(h)
        pooled.append(h)
    mean = keras.layers.Average(name=MEAN, dtype="float32")(pooled)
    top_ = keras.layers.Maximum(name=MAX, dtype="float32")(pooled)
    out = keras.layers.Concatenate(name=BOTH, dtype="float32")([mean, top_])
    return keras.Model(inp, out, name=SUBMODEL)


def tiles_part(model) -> Any:
    """The nested tiles model of a classifier, or None for one that reads the whole image at once."""
    try:
        return model.get_layer(SUBMODEL)
    except (ValueError, AttributeError):
        return None


def backbone_of(part) -> Any:
    """The backbone inside a tiles model (its one nested model)."""
    import keras

    return next(layer for layer in part.layers if isinstance(layer, keras.Model))


def tiles_of(model) -> int:
    """The grid a classifier reads its tiles on (0: none): its tiles model's input side over its backbone's."""
    part = tiles_part(model)
    if part is None:
        return 0
    side, size = part.input_shape[1], backbone_of(part).input_shape[1]
    if not side or not size or side % size:
        raise ValueError(f"the tiles model's canvas ({side} px) is not a whole number of tiles of {size} px")
    return side // size


# ---- Grad-CAM: the tiles in a graph, and their maps put back on the canvas ------------------------------------


def crop_tiles_tf(canvas, size: int, grid: int):
    """``(1, canvas, canvas, C)`` → ``(T, size, size, C)``: one image's tiles as a batch (Grad-CAM runs them
    together)."""
    import tensorflow as tf

    return tf.concat([canvas[:, top:top + size, left:left + size] for top, left in tile_boxes(size, grid)], axis=0)


def mean_and_max_tf(features, n: int):
    """``(T, W)`` pooled features of one image's tiles → ``(1, 2W)``: their mean, then their maximum."""
    import tensorflow as tf

    h = tf.reshape(features, (n, -1, features.shape[-1]))
    return tf.concat([tf.reduce_mean(h, axis=0), tf.reduce_max(h, axis=0)], axis=-1)


def place_on_canvas(maps: np.ndarray, size: int, grid: int) -> np.ndarray:
    """Each tile's map (``(T, h, w)``, at the tile's own resolution) put in its box on the canvas and added: a
    ``(k·g·h, k·g·w)`` map whose cells are ``1/g`` of a tile's (g = 2 when the half-tile stride falls mid-cell),
    each tile's values spread evenly over the cells its own cell becomes (so the total is kept)."""
    _, h, w = maps.shape
    g = 2 if h % 2 or w % 2 else 1
    fine = np.repeat(np.repeat(maps, g, axis=1), g, axis=2) / np.float32(g * g)
    out = np.zeros((grid * g * h, grid * g * w), np.float32)
    for tile, (top, left) in zip(fine, tile_boxes(size, grid), strict=True):
        r, c = top * g * h // size, left * g * w // size
        out[r:r + g * h, c:c + g * w] += tile
    return out
