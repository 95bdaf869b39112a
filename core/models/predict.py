"""Batched, parallel prediction over image files with a loaded classifier.

Each image is decoded whole by Foveal's decoder (the same rules as training) and resized in floating point with
the antialiased bilinear weights of :mod:`core.data.resize`, which are exactly what the saved model and every
export do with a raw image; so Foveal's predictions and the exports' agree to float precision. Decoding runs a
batch ahead of the network, in parallel. Unreadable files are reported, never fatal.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from core.cancel import Cancelled, CancelToken
from core.data.batches import iter_decoded
from core.models.saved import Classifier


@dataclass(frozen=True)
class ImageFile:
    """A file to predict: its path, and how to name it to the user."""

    path: str
    rel: str


@dataclass
class Predictions:
    """Probabilities for the files that could be read, in input order, and the files that could not."""

    probs: np.ndarray  # (N, K) float32
    indices: list[int]  # positions in the input list of the rows of probs
    failed: list[tuple[int, str]]  # (position in the input list, reason)


def decode_for_model(path: str, size: int) -> np.ndarray:
    """One image as the model sees it: decoded whole, resized to ``size`` square in float32 (0–255)."""
    from core.data.decode import decode_image
    from core.data.resize import resize_float

    return resize_float(decode_image(path), size)


def compiled_forward(classifier: Classifier) -> Callable[[np.ndarray], np.ndarray]:
    """The model as one compiled function on float32 batches already at its own input size (made once)."""
    import tensorflow as tf

    if classifier.compiled is not None:
        return classifier.compiled

    size, model = classifier.image_size, classifier.model

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)], reduce_retracing=True)
    def forward(images):
        return model(images, training=False)

    classifier.compiled = lambda batch: forward(batch).numpy()
    return classifier.compiled


def predict_files(classifier: Classifier, files: Sequence[ImageFile], *, batch_size: int = 32,
                  on_progress: Callable[[int, int], None] | None = None,
                  cancel: CancelToken | None = None) -> Predictions:
    """Probabilities of every readable file in ``files``; raises :class:`Cancelled` within one batch on cancel."""
    forward = compiled_forward(classifier)
    k = len(classifier.classes)
    rows: list[np.ndarray] = []
    indices: list[int] = []
    failed: list[tuple[int, str]] = []
    position = {f.rel: i for i, f in enumerate(files)}
    done = 0
    for batch in iter_decoded(files, classifier.image_size, batch_size, decoder=decode_for_model):
        if cancel is not None and cancel.cancelled:
            raise Cancelled
        if len(batch.indices):
            rows.append(forward(batch.images).astype(np.float32))
            indices += batch.indices
        failed += [(position[rel], reason) for rel, reason in batch.failed]
        done += len(batch.indices) + len(batch.failed)
        if on_progress is not None:
            on_progress(done, len(files))
    probs = np.concatenate(rows) if rows else np.zeros((0, k), np.float32)
    return Predictions(probs, indices, sorted(failed))


def files_under(paths: Sequence[str | os.PathLike[str]]) -> list[ImageFile]:
    """Files given by the user, folders expanded recursively (hidden and system files left out), sorted.

    Every folder images are read from is protected from writes for the rest of the process (results go
    elsewhere), as a dataset folder is."""
    from core.data.image_formats import is_system_file
    from core.paths import protect

    out: list[ImageFile] = []
    for given in paths:
        p = os.fspath(given)
        protect(p if os.path.isdir(p) else os.path.dirname(os.path.abspath(p)))
        if os.path.isdir(p):
            found = []
            for root, dirs, names in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found += [os.path.join(root, n) for n in names if not is_system_file(n)]
            out += [ImageFile(f, os.path.relpath(f, os.path.dirname(os.path.abspath(p)))) for f in sorted(found)]
        else:
            out.append(ImageFile(p, p))
    return out
