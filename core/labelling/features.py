"""The images labelling works on, and their pooled backbone features, extracted once.

The labelled images come from a trained run (its dataset, its backbone and classes) or from a dataset folder (the
default backbone with the weights given). The unlabelled images are any folder tree. Both folders are protected
from writes from the moment they are opened (core.paths.protect).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from foveal.core.cancel import Cancelled, CancelToken
from foveal.core.data.batches import iter_decoded
from foveal.core.errors import DatasetError, listing
from foveal.core.models.predict import ImageFile, decode_for_model, files_under
from foveal.core.paths import printable

ProgressFn = Callable[[int, int, str], None]
#: The fewest labelled images per class a dataset folder must hold to start from.
MIN_PER_CLASS = 2
#: Images decoded and passed through the backbone at once.
BATCH = 32


@dataclass(frozen=True)
class Encoder:
    """Image files → pooled features: the backbone's forward function and the size it reads images at."""

    forward: Callable[[np.ndarray], np.ndarray]
    size: int
    backbone: str


@dataclass(frozen=True)
class Labelled:
    """The labelled images a session starts from: paths, label indices, the classes and the dataset folder."""

    root: Path
    classes: tuple[str, ...]
    paths: tuple[str, ...]
    labels: np.ndarray  # int, index into classes


def is_run_folder(source: str | os.PathLike[str]) -> bool:
    """True for a run folder (a run.json or model.keras inside), False for a dataset folder."""
    p = Path(source)
    return p.is_dir() and ((p / "run.json").is_file() or (p / "model.keras").is_file())


def open_source(source: str | os.PathLike[str], weights: str | None) -> tuple[Labelled, Encoder]:
    """The labelled images and the encoder of a run folder or a dataset folder."""
    if is_run_folder(source):
        return _from_run(source)
    return _from_dataset(source, weights)


def _from_run(source: str | os.PathLike[str]) -> tuple[Labelled, Encoder]:
    """A run's dataset (scanned again) and its own feature path (core.models.predict)."""
    import keras

    from foveal.core.models.predict import feature_layer_output
    from foveal.core.models.saved import load_classifier

    clf = load_classifier(source)
    if clf.run is None:
        raise DatasetError(f"{printable(source)} has no run.json: Foveal cannot tell which images it was trained on. "
                           "Choose a run folder that finished training, or the dataset folder itself.")
    out = feature_layer_output(clf.model)
    if out is None:
        raise DatasetError(f"{printable(clf.path)} is not a Foveal classifier (no pooling layer). Choose a run "
                           "folder Foveal trained, or the dataset folder itself.")
    labelled = _labelled(clf.run.dataset.root, clf.classes)
    return labelled, Encoder(_compiled(keras.Model(clf.model.input, out), clf.image_size), clf.image_size,
                             clf.run.backbone.name)


def _from_dataset(source: str | os.PathLike[str], weights: str | None) -> tuple[Labelled, Encoder]:
    """A dataset folder and the default backbone (ImageNet weights from Keras's cache, or the file given)."""
    labelled = _labelled(source, None)
    return labelled, default_encoder(weights)


def default_encoder(weights: str | None) -> Encoder:
    """The default backbone's pooled features at its own input size (``weights``: a weights file, "imagenet" or
    None for Keras's ImageNet cache)."""
    from foveal.core.models.build import build_backbone, build_feature_model
    from foveal.core.models.registry import DEFAULT_BACKBONE, Weights, get_backbone

    spec = get_backbone(DEFAULT_BACKBONE)
    size = spec.input_size
    backbone = build_backbone(spec, size, str(Weights.IMAGENET) if weights is None else weights)
    return Encoder(_compiled(build_feature_model(backbone, spec, size), size), size, spec.name)


def _labelled(root: str | os.PathLike[str], classes: tuple[str, ...] | None) -> Labelled:
    """The usable images of a dataset folder in the given classes (default: the folder's own)."""
    from foveal.core.data.scan import scan_dataset

    summary = scan_dataset(root)
    classes = summary.classes if classes is None else classes
    records = [r for r in summary.images if r.label in classes]
    counts = {c: sum(r.label == c for r in records) for c in classes}
    few = [f"{c} ({n})" for c, n in counts.items() if n < MIN_PER_CLASS]
    if len(classes) < 2 or few:
        raise DatasetError(f"{printable(root)} needs at least {MIN_PER_CLASS} labelled images in each of at least "
                           f"two class folders to start labelling" + (f"; too few in {listing(few)}" if few else "")
                           + ". Put a few images of each class in its folder first.")
    index = {c: i for i, c in enumerate(classes)}
    return Labelled(Path(summary.root), tuple(classes), tuple(r.path for r in records),
                    np.array([index[r.label] for r in records], np.int64))


def unlabelled_files(folder: str | os.PathLike[str]) -> list[ImageFile]:
    """Every file under the unlabelled folder (protected from writes from here on); a DatasetError when there is
    no such folder or nothing in it."""
    p = Path(folder)
    if not p.is_dir():
        raise DatasetError(f"{printable(p)} is not a folder. Choose the folder that holds the unlabelled images.")
    files = [f for f in files_under([p]) if not f.problem]
    if not files:
        raise DatasetError(f"{printable(p)} holds no files. Choose the folder that holds the unlabelled images.")
    return files


def extract(encoder: Encoder, files: Sequence[ImageFile], what: str, *, on_progress: ProgressFn | None = None,
            cancel: CancelToken | None = None) -> tuple[np.ndarray, list[int]]:
    """``(features, indices)`` of the readable ``files`` (their positions); files that cannot be read are left
    out. Raises :class:`Cancelled` within one batch."""
    rows: list[np.ndarray] = []
    indices: list[int] = []
    done = 0
    for batch in iter_decoded(files, encoder.size, BATCH, decoder=decode_for_model):
        if cancel is not None and cancel.cancelled:
            raise Cancelled
        if len(batch.indices):
            rows.append(np.asarray(encoder.forward(batch.images), np.float32))
            indices += batch.indices
        done += len(batch.indices) + len(batch.failed)
        if on_progress is not None:
            on_progress(done, len(files), what)
    width = rows[0].shape[1] if rows else 0
    return (np.concatenate(rows) if rows else np.zeros((0, width), np.float32)), indices


def as_files(paths: Sequence[str], root: Path) -> list[ImageFile]:
    """Image files named relative to ``root`` for messages."""
    return [ImageFile(p, os.path.relpath(p, root)) for p in paths]


def _compiled(model: Any, size: int) -> Callable[[np.ndarray], np.ndarray]:
    """The feature model as one compiled function on float32 batches of ``size`` square images."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)], reduce_retracing=True)
    def forward(images):
        return model(images, training=False)

    return lambda batch: forward(np.asarray(batch, np.float32)).numpy()
