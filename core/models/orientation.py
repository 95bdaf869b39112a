"""Features that do not depend on which way up an image lies: the mean over its 8 dihedral versions.

Cells, tissue, colonies and most microscopy have no "up": a picture turned a quarter or mirrored shows the same
thing. Averaging the backbone's pooled features over the image's 8 versions (as it is, turned 90°, 180° and 270°,
and the mirror image of each) gives features, and so a classifier, that answer the same for all 8.

The versions come from two moves on a square image: ``F`` mirrors left to right, ``T`` swaps rows and columns
(mirrors about the diagonal). Applied in turn, ``F, T, F, T, …``, they walk through all 8 of the square's
symmetries: version ``k`` is the first ``k`` moves applied to the image; version 0 is the image itself, the even
versions its quarter-turns, the odd ones their mirror images. Each move is its own inverse, so version ``k`` goes
back to the original orientation by the same moves in reverse order (:func:`unturn`): what Grad-CAM does with each
version's heatmap.

In a saved classifier the averaging is a nested model of standard Keras layers only (``Permute`` swaps axes, a
frozen ``Dense`` whose weights are the reversed identity mirrors an axis, and ``Average`` takes the mean), so the
model loads in safe mode with nothing of Foveal's, and every export traces it as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: How many orientations a classifier may average over: 1 (as the image lies) or all 8.
ORIENTATIONS = (1, 8)
#: The name of the nested model that averages (its output is the pooled features the head reads).
SUBMODEL = "orientations"
#: Names of the layers inside it.
MEAN, MIRROR, TO_LAST, SWAP = "orientation_mean", "orientation_mirror", "orientation_width_last", "orientation_swap"


def check_orientations(n: int) -> int:
    """``n`` when a classifier can average over that many orientations; raises ValueError otherwise."""
    if n not in ORIENTATIONS:
        raise ValueError(f"orientations must be 1 (as the image lies) or 8 (every quarter-turn and mirror image). "
                         f"Received: {n!r}")
    return n


def describe(n: int) -> str:
    """The averaging in words, for the window and the report."""
    return "averaged over rotations and flips" if n == 8 else "as the image lies"


# ---- the 8 versions as arrays (NumPy) ---------------------------------------------------------------------


def _move(a: np.ndarray, step: int, axes: tuple[int, int]) -> np.ndarray:
    """Move ``step`` (1, 2, …) of the walk: odd steps mirror the second axis, even ones swap the two."""
    if step % 2:
        return np.flip(a, axis=axes[1])
    order = list(range(a.ndim))
    order[axes[0]], order[axes[1]] = order[axes[1]], order[axes[0]]
    return np.transpose(a, order)


def turn(a: np.ndarray, k: int, axes: tuple[int, int] = (0, 1)) -> np.ndarray:
    """Version ``k`` (0–7) of ``a``, whose rows and columns are ``axes``."""
    for step in range(1, k + 1):
        a = _move(a, step, axes)
    return a


def unturn(a: np.ndarray, k: int, axes: tuple[int, int] = (0, 1)) -> np.ndarray:
    """``a``, seen in version ``k``'s orientation, back in the original one (:func:`turn` undone)."""
    for step in range(k, 0, -1):
        a = _move(a, step, axes)
    return a


def stack_versions(images: np.ndarray) -> np.ndarray:
    """``(N, S, S, C)`` → ``(8N, S, S, C)``: all of version 0, then all of version 1, …"""
    if images.ndim != 4 or images.shape[1] != images.shape[2]:
        raise ValueError(f"the 8 orientations need a batch of square images (N, S, S, C). Received: {images.shape}")
    return np.ascontiguousarray(np.concatenate([turn(images, k, (1, 2)) for k in range(8)]))


def mean_of_versions(features: np.ndarray) -> np.ndarray:
    """``(8N, …)`` in :func:`stack_versions`' order → ``(N, …)``: the mean over the 8, summed in the order Keras's
    ``Average`` layer sums, so that it equals a saved model's averaged features to the last bit."""
    parts = np.split(np.asarray(features, np.float32), 8)
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return (total / np.float32(8)).astype(np.float32)


def plain_and_averaged(forward: Callable[[np.ndarray], Any], images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(plain, averaged)`` pooled features of a batch in one pass of ``forward`` over its 8 versions.

    ``forward`` maps a batch of images to pooled features (Foveal's compiled feature pass). ``plain`` are the
    features of the images as they lie (version 0), ``averaged`` the mean over all 8: the recipe can score both as
    candidates for the price of one pass over 8 times the images."""
    features = np.asarray(forward(stack_versions(images)), np.float32)
    return features[: len(images)].copy(), mean_of_versions(features)


# ---- the 8 versions in a graph (TensorFlow) --------------------------------------------------------------


def stack_versions_tf(images):
    """:func:`stack_versions` as TensorFlow operations (Grad-CAM runs the 8 versions as one batch)."""
    import tensorflow as tf

    versions, x = [images], images
    for step in range(1, 8):
        x = tf.reverse(x, axis=[2]) if step % 2 else tf.transpose(x, [0, 2, 1, 3])
        versions.append(x)
    return tf.concat(versions, axis=0)


# ---- the averaging as standard Keras layers -------------------------------------------------------------


def averaging_model(backbone, pool_layers: list, image_size: int, *, batchnorm_learns: bool = False):
    """A model: preprocessed images (``image_size`` square) → pooled features averaged over the 8 versions.

    The backbone and the pooling layers are shared by the 8 branches (one set of weights); the mirror is a frozen
    ``Dense`` on the width axis whose weights are the reversed identity (each output is one input times 1.0: exact).
    """
    import keras

    inp = keras.Input((image_size, image_size, 3), name="preprocessed", dtype="float32")
    mirror = keras.layers.Dense(image_size, use_bias=False, trainable=False, name=MIRROR, dtype="float32")
    mirror.build((None, image_size))
    mirror.set_weights([np.eye(image_size, dtype=np.float32)[::-1].copy()])
    to_last = keras.layers.Permute((1, 3, 2), name=TO_LAST, dtype="float32")  # (H, W, C) <-> (H, C, W)
    swap = keras.layers.Permute((2, 1, 3), name=SWAP, dtype="float32")  # rows <-> columns

    pooled, x = [], inp
    for step in range(8):
        if step:
            x = to_last(mirror(to_last(x))) if step % 2 else swap(x)
        h = backbone(x) if batchnorm_learns else backbone(x, training=False)
        for layer in pool_layers:
            h = layer(h)
        pooled.append(h)
    out = keras.layers.Average(name=MEAN, dtype="float32")(pooled)
    return keras.Model(inp, out, name=SUBMODEL)


def averaging_part(model) -> Any:
    """The nested averaging model of a classifier, or None for one that sees images only as they lie."""
    try:
        return model.get_layer(SUBMODEL)
    except (ValueError, AttributeError):
        return None


def orientations_of(model) -> int:
    """How many orientations a classifier averages over: 8 when it has the averaging model, else 1."""
    return 8 if averaging_part(model) is not None else 1
