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
from typing import Any

import numpy as np

from foveal.core.cancel import Cancelled, CancelToken
from foveal.core.data.batches import iter_decoded
from foveal.core.models.saved import Classifier


@dataclass(frozen=True)
class ImageFile:
    """A file to predict: its path, how to name it to the user, and why it cannot be read when that is known
    before decoding (a folder that could not be listed), in which case it is reported, never opened."""

    path: str
    rel: str
    problem: str | None = None


@dataclass
class Predictions:
    """Probabilities for the files that could be read, in input order, and the files that could not."""

    probs: np.ndarray  # (N, K) float32
    indices: list[int]  # positions in the input list of the rows of probs
    failed: list[tuple[int, str]]  # (position in the input list, reason)
    #: Unfamiliar scores of the rows of probs (core.models.familiar); None for a run without the statistics.
    unfamiliar_scores: np.ndarray | None = None
    threshold: float | None = None

    @property
    def unfamiliar(self) -> np.ndarray | None:
        """Whether each row's image looks unlike the training images (None: not known for this model)."""
        if self.unfamiliar_scores is None or self.threshold is None:
            return None
        return self.unfamiliar_scores > self.threshold


def decode_for_model(path: str, size: int) -> np.ndarray:
    """One image as the model sees it: decoded whole, resized to ``size`` square in float32 (0–255)."""
    from foveal.core.data.decode import decode_image
    from foveal.core.data.resize import resize_float

    return resize_float(decode_image(path), size)


def feature_layer_output(model: Any) -> Any:
    """The pooled features the head reads (the output of the classifier's pooling, core.models.build; of a
    classifier that averages over orientations, the averaged features; of one that reads tiles, their mean and
    maximum side by side), or None for a model that is not Foveal's."""
    from foveal.core.models.orientation import averaging_part
    from foveal.core.models.tiles import tiles_part

    part = averaging_part(model)
    part = part if part is not None else tiles_part(model)
    if part is not None:  # a nested model's ``output`` is its inner tensor: take its call's in the classifier
        nodes = part._inbound_nodes  # noqa: SLF001 - Keras offers no public view of a layer's calls
        return nodes[-1].output_tensors[0] if nodes else None
    for name in ("pool_flatten", "pool"):
        try:
            return model.get_layer(name).output
        except (ValueError, AttributeError):
            continue
    return None


def compiled_forward(classifier: Classifier) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]:
    """The model as one compiled function on float32 batches already at its own input size (made once):
    ``(probabilities, pooled features)``; the features only when the run keeps familiarity statistics."""
    import keras
    import tensorflow as tf

    if classifier.compiled is not None:
        return classifier.compiled

    size, model = classifier.image_size, classifier.model
    features = feature_layer_output(model) if classifier.familiarity is not None else None
    both = keras.Model(model.input, [model.output, features]) if features is not None else None

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)], reduce_retracing=True)
    def forward(images):
        return both(images, training=False) if both is not None else (model(images, training=False), None)

    def run(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        probs, feats = forward(batch)
        return probs.numpy(), None if feats is None else feats.numpy()

    classifier.compiled = run
    return classifier.compiled


def pixel_batch(batch_size: int, size: int) -> int:
    """``batch_size``, or fewer images when ``size`` px images would hold more pixels than ``batch_size`` images at
    224 px: the network's activations (and the pooling allocator's high-water mark) stay those of a 224-px batch.
    At 336 px, batches of 32 raised a 5-fold run's peak on 640×480 pictures from 1.5 to 2.2 GB."""
    return max(1, min(batch_size, batch_size * 224 * 224 // (size * size)))


def predict_files(classifier: Classifier, files: Sequence[ImageFile], *, batch_size: int = 32,
                  on_progress: Callable[[int, int], None] | None = None,
                  cancel: CancelToken | None = None) -> Predictions:
    """Probabilities of every readable file in ``files``; raises :class:`Cancelled` within one batch on cancel."""
    forward = compiled_forward(classifier)
    batch_size = pixel_batch(batch_size, classifier.image_size)
    familiarity = classifier.familiarity
    k = len(classifier.classes)
    rows: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    indices: list[int] = []
    failed: list[tuple[int, str]] = []
    position = {f.rel: i for i, f in enumerate(files)}
    done = 0
    for batch in iter_decoded(files, classifier.image_size, batch_size, decoder=_decoder(files)):
        if cancel is not None and cancel.cancelled:
            raise Cancelled
        if len(batch.indices):
            probs, feats = forward(batch.images)
            rows.append(probs.astype(np.float32))
            if feats is not None and familiarity is not None:
                scores.append(familiarity.scores(feats))
            indices += batch.indices
        failed += [(position[rel], reason) for rel, reason in batch.failed]
        done += len(batch.indices) + len(batch.failed)
        if on_progress is not None:
            on_progress(done, len(files))
    probs = np.concatenate(rows) if rows else np.zeros((0, k), np.float32)
    unfamiliar = None
    if familiarity is not None and len(scores) == len(rows):
        unfamiliar = np.concatenate(scores) if scores else np.zeros(0, np.float32)
    return Predictions(probs, indices, sorted(failed), unfamiliar,
                       familiarity.threshold if familiarity is not None else None)


def pooled_features(classifier: Classifier, files: Sequence[ImageFile], *, batch_size: int = 32,
                    cancel: CancelToken | None = None) -> tuple[np.ndarray, list[int]]:
    """``(features, indices)``: the pooled features the head reads, through the saved model's path, for the
    readable files (their positions in ``files``)."""
    import keras
    import tensorflow as tf

    out = feature_layer_output(classifier.model)
    if out is None:
        raise ValueError("not a Foveal classifier: no 'predictions' layer")
    model = keras.Model(classifier.model.input, out)
    size = classifier.image_size
    batch_size = pixel_batch(batch_size, size)

    # Compiled, as every other pass: run eagerly, the same model peaked at 3.8 GB on 200 images against 1.4 GB
    # (MobileNetV2 at 224 px, batches of 32), and it is the peak of a whole default run.
    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)], reduce_retracing=True)
    def forward(images):
        return model(images, training=False)

    rows, indices = [], []
    for batch in iter_decoded(files, size, batch_size, decoder=_decoder(files)):
        if cancel is not None and cancel.cancelled:
            raise Cancelled
        if len(batch.indices):
            rows.append(np.asarray(forward(batch.images), np.float32))
            indices += batch.indices
    return (np.concatenate(rows) if rows else np.zeros((0, int(out.shape[-1])), np.float32)), indices


def _decoder(files: Sequence[ImageFile]) -> Callable[[str, int], np.ndarray]:
    """:func:`decode_for_model`, except that a file whose problem is already known fails with it unopened."""
    from foveal.core.errors import ImageDecodeError

    problems = {f.path: f.problem for f in files if f.problem}

    def decode(path: str, size: int) -> np.ndarray:
        if path in problems:
            raise ImageDecodeError(path, problems[path])
        return decode_for_model(path, size)

    return decode


def files_under(paths: Sequence[str | os.PathLike[str]]) -> list[ImageFile]:
    """Files given by the user, folders expanded recursively (hidden and system files left out), sorted; a
    folder that cannot be listed is an entry of its own whose ``problem`` says why (a row, never left out).

    Names are kept as they are, even of bytes that are not UTF-8: such files are predicted, and whoever prints a
    path shows it with :func:`core.paths.printable`. Pipes, sockets and devices are listed and refused unopened
    by the decoder. Every folder images are read from is protected from writes for the rest of the process
    (results go elsewhere), as a dataset folder is."""
    from foveal.core.paths import protect

    out: list[ImageFile] = []
    for given in paths:
        p = os.fspath(given)
        protect(p if os.path.isdir(p) else os.path.dirname(os.path.abspath(p)))
        out += _folder_files(p) if os.path.isdir(p) else [ImageFile(p, p)]
    return out


def _folder_files(folder: str) -> list[ImageFile]:
    """Every file under ``folder`` (named relative to its parent), and every sub-folder that could not be read."""
    from foveal.core.data.image_formats import is_system_file

    base = os.path.dirname(os.path.abspath(folder))
    found: list[ImageFile] = []

    def unreadable(exc: OSError) -> None:
        where = os.fspath(exc.filename) if exc.filename is not None else folder
        found.append(ImageFile(where, os.path.relpath(where, base), f"folder cannot be read ({exc.strerror}): "
                               "the images in it are not predicted; check its permissions"))

    for root, dirs, names in os.walk(folder, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [ImageFile(f, os.path.relpath(f, base))
                  for f in (os.path.join(root, n) for n in names if not is_system_file(n))]
    return sorted(found, key=lambda f: f.path)
