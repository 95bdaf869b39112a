"""Building backbones (with their weights), the classification head, and the classifier Foveal saves.

The saved classifier takes raw RGB images of any size with values 0–255: resizing and the backbone's own
preprocessing are layers inside it (standard Keras layers only, so it loads in safe mode anywhere).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from foveal.core.errors import ConfigError, WeightsError
from foveal.core.models.blocks import Block, find_blocks
from foveal.core.models.registry import BackboneSpec, Weights
from foveal.core.resources import bundled_weights

log = logging.getLogger(__name__)

_IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN, _TORCH_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


#: The blocks ``--fine-tune auto`` tries: the top of the backbone, where features are most specific to ImageNet.
AUTO_BLOCKS = 2
#: Epochs ``auto`` fine-tunes before it checks whether the validation loss fell below the head's.
TRIAL_EPOCHS = 2


@dataclass(frozen=True)
class FineTune:
    """How much of the backbone learns: ``frozen``, the last ``n`` blocks, or ``all`` of it.

    ``trial``: fine-tuning is tried, and goes on only while it improves on the head (``auto``: the last
    :data:`AUTO_BLOCKS` blocks; the run says whether it kept them).
    """

    kind: str  # "frozen" | "last" | "all"
    n: int = 0
    trial: bool = False

    @classmethod
    def parse(cls, text: str) -> FineTune:
        """Parse ``frozen``, ``last:N``, ``all`` or ``auto`` (try the last :data:`AUTO_BLOCKS`)."""
        t = text.strip().lower()
        if t in ("frozen", "none", "head"):
            return cls("frozen")
        if t == "auto":
            return cls("last", AUTO_BLOCKS, trial=True)
        if t in ("all", "everything", "full"):
            return cls("all")
        m = re.fullmatch(r"last:(\d+)", t)
        if m and int(m.group(1)) >= 1:
            return cls("last", int(m.group(1)))
        raise ConfigError("Fine-tune depth must be 'frozen', 'last:N' (N ≥ 1 blocks), 'all' or 'auto' (try the "
                          f"last {AUTO_BLOCKS}, keep them only if they help). Received: {text!r}")

    def __str__(self) -> str:
        return f"last:{self.n}" if self.kind == "last" else self.kind

    def describe(self, n_blocks: int | None = None) -> str:
        if self.kind == "frozen":
            return "frozen backbone, training only the new head"
        if self.kind == "all":
            return "fine-tuning the whole backbone"
        of = f" of {n_blocks}" if n_blocks else ""
        if self.trial:
            return f"trying fine-tuning of the last {self.n}{of} blocks (kept only if it improves on the head)"
        return f"fine-tuning the last {self.n}{of} blocks"


# ---- weights ----------------------------------------------------------------------------------------------

DownloadFn = Callable[[int, int], None]


def keras_cache_dir() -> str:
    """Where Keras keeps downloaded weights (``~/.keras/models`` unless KERAS_HOME says otherwise)."""
    base = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    return os.path.join(base, "models")


# Keras's download function is patched for the duration of a build; one build at a time may patch it.
_GET_FILE_LOCK = threading.Lock()


class _FileNamed(Exception):
    pass


def imagenet_weights_status(spec: BackboneSpec, image_size: int | None = None) -> tuple[str, str, bool]:
    """``(file name, cache path, cached?)`` of the ImageNet weights Keras would use; nothing is downloaded.

    Builds the backbone's architecture once with Keras's download intercepted, so it costs a second or more.
    """
    import keras
    from keras.src.utils import file_utils

    def name_only(fname=None, origin=None, *args, **kwargs):
        raise _FileNamed(fname or os.path.basename(origin or ""))

    size = image_size or spec.input_size
    builder = getattr(keras.applications, spec.name)
    with _GET_FILE_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original = file_utils.get_file
        file_utils.get_file = name_only
        try:
            builder(include_top=False, weights="imagenet", input_shape=(size, size, 3), **spec.builder_kwargs)
            name = ""
        except _FileNamed as found:
            name = str(found)
        finally:
            file_utils.get_file = original
    path = os.path.join(keras_cache_dir(), name)
    if name and not os.path.isfile(path) and (bundled := bundled_weights(name)) is not None:
        return name, str(bundled), True
    return name, path, bool(name) and os.path.isfile(path)


@contextlib.contextmanager
def _download_hooks(spec: BackboneSpec, on_download: DownloadFn | None) -> Iterator[None]:
    """Report Keras's weight download as progress, and turn a failed download into an actionable WeightsError."""
    from keras.src.utils import file_utils

    with _GET_FILE_LOCK:
        yield from _hooked(spec, on_download, file_utils)


def _hooked(spec: BackboneSpec, on_download: DownloadFn | None, file_utils) -> Iterator[None]:
    """The body of :func:`_download_hooks`, run while it holds the lock."""
    original_get_file, original_retrieve = file_utils.get_file, file_utils.urlretrieve

    def retrieve(url, filename, reporthook=None, data=None):
        def hook(count, block_size, total):
            if reporthook is not None:
                reporthook(count, block_size, total)
            if on_download is not None:
                on_download(min(count * block_size, total) if total > 0 else count * block_size, max(total, 0))

        return original_retrieve(url, filename, hook, data)

    def get_file(fname=None, origin=None, *args, **kwargs):
        name = fname or os.path.basename(origin or "")
        bundled = bundled_weights(name)
        if bundled is not None and not os.path.isfile(os.path.join(keras_cache_dir(), name)):
            return str(bundled)  # the installation's own copy: no download, and the user's cache is left alone
        try:
            return original_get_file(fname, origin, *args, **kwargs)
        except Exception as exc:
            target = os.path.join(keras_cache_dir(), name)
            raise WeightsError(
                f"ImageNet weights for {spec.name} could not be downloaded ({exc}). Keras expects the file "
                f"'{name}' at {target}. Either put Keras's own copy of that file there (Keras checks its checksum), "
                "or choose a weights file you already have "
                "(--weights PATH, or 'Choose weights file…' in the window), or train every layer from random "
                "initialisation (--weights none --fine-tune all; slow, and needs thousands of images)."
            ) from None

    file_utils.get_file, file_utils.urlretrieve = get_file, retrieve
    try:
        yield
    finally:
        file_utils.get_file, file_utils.urlretrieve = original_get_file, original_retrieve


def build_backbone(spec: BackboneSpec, image_size: int, weights: str | None,
                   on_download: DownloadFn | None = None):
    """Build ``spec``'s backbone without its top, for square inputs of ``image_size``.

    Parameters
    ----------
    weights:
        ``"imagenet"`` (Keras's download and cache), ``None``/``"none"`` (random initialisation) or a path to a
        weights file (``.h5`` / ``.weights.h5``) for this backbone without its top.
    on_download:
        Called with ``(bytes_done, bytes_total)`` while ImageNet weights download.
    """
    import keras

    if image_size < spec.min_size:
        raise ConfigError(f"{spec.name} needs images of at least {spec.min_size}×{spec.min_size} pixels. "
                          f"Received: image_size={image_size}. Choose a larger image size or another backbone.")
    source = Weights.parse(weights)
    weights = None if source == Weights.NONE else str(source)
    if source not in (Weights.NONE, Weights.IMAGENET) and not os.path.isfile(str(weights)):
        raise WeightsError(f"Weights file {weights} does not exist. Choose an existing .h5 or .weights.h5 file "
                           f"for {spec.name} without its top, or use --weights imagenet or --weights none.")
    builder = getattr(keras.applications, spec.name)
    kwargs = dict(include_top=False, weights=weights, input_shape=(image_size, image_size, 3), **spec.builder_kwargs)
    failed: Exception | None = None
    with warnings.catch_warnings(record=True) as caught, _download_hooks(spec, on_download):
        warnings.simplefilter("always")
        try:
            model = builder(**kwargs)
        except WeightsError:
            raise
        except (ValueError, OSError, KeyError) as exc:
            if source in (Weights.NONE, Weights.IMAGENET):
                raise
            failed = exc
    if failed is not None:  # the check builds the backbone too: after the download hooks have let go of Keras
        from foveal.core.models.weights_check import check_weights_file

        said = check_weights_file(spec, str(weights))  # what is wrong, in plain words, and what would fit
        raise WeightsError(f"Weights file {weights} does not fit {spec.name} without its top. "
                           f"{said or f'Keras says: {failed}. Choose the file made for this backbone.'}")
    for w in caught:
        log.info("Keras: %s", w.message)
    return model


# ---- layers around the backbone ----------------------------------------------------------------------------


def preprocess_affine(mode: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The backbone's preprocess_input as ``y = x @ kernel + bias`` per pixel (None: nothing to do)."""
    if mode == "none":
        return None
    if mode == "tf":
        return np.eye(3, dtype=np.float32) / 127.5, -np.ones(3, np.float32)
    if mode == "torch":
        std, mean = np.array(_TORCH_STD, np.float32), np.array(_TORCH_MEAN, np.float32)
        return np.diag(1.0 / (255.0 * std)).astype(np.float32), (-mean / std).astype(np.float32)
    if mode == "caffe":  # RGB -> BGR, then subtract the ImageNet mean
        return np.eye(3, dtype=np.float32)[:, ::-1].copy(), -np.array(_IMAGENET_MEAN_BGR, np.float32)
    raise ValueError(f"Unknown preprocess mode {mode!r}")


def preprocess_layer(spec: BackboneSpec):
    """A frozen 1×1 convolution equal to the backbone's ``preprocess_input`` (a standard, portable layer)."""
    import keras

    affine = preprocess_affine(spec.preprocess)
    if affine is None:
        return None
    kernel, bias = affine
    layer = keras.layers.Conv2D(3, 1, name="preprocess", trainable=False, dtype="float32")
    layer.build((None, None, None, 3))
    layer.set_weights([kernel.reshape(1, 1, 3, 3), bias])
    return layer


def build_head(feature_dim: int, n_classes: int, dropout: float = 0.2):
    """The new classification head on pooled features: dropout, then a dense softmax."""
    import keras

    inp = keras.Input((feature_dim,), name="features")
    x = keras.layers.Dropout(dropout, name="head_dropout")(inp)
    out = keras.layers.Dense(n_classes, activation="softmax", name="predictions", dtype="float32")(x)
    return keras.Model(inp, out, name="head")


#: How the backbone's feature map becomes one vector: global average, global max, or a 2×2 grid of averages
#: (four regions, flattened: where in the image something is stays visible to the head).
POOLINGS = ("avg", "max", "grid")


def pooling_width(pooling: str, feature_dim: int) -> int:
    """The length of the pooled vector."""
    return feature_dim * (4 if pooling == "grid" else 1)


def pooling_layers(pooling: str = "avg", map_side: int = 7) -> list:
    """The standard Keras layers that pool a ``map_side`` square feature map as ``pooling`` says."""
    import keras

    if pooling == "max":
        return [keras.layers.GlobalMaxPooling2D(name="pool")]
    if pooling == "avg":
        return [keras.layers.GlobalAveragePooling2D(name="pool")]
    if pooling == "grid":
        if map_side < 2:
            raise ValueError("grid pooling needs a feature map of at least 2×2")
        size = -(-map_side // 2)  # two overlapping (odd side) or touching (even side) cells per direction
        return [keras.layers.AveragePooling2D(size, strides=map_side - size, name="pool"),
                keras.layers.Flatten(name="pool_flatten")]
    raise ValueError(f"Unknown pooling {pooling!r}")


def map_side(backbone) -> int:
    """The side of the backbone's output feature map (its input size is fixed when built)."""
    return int(backbone.output.shape[1] or 1)


def build_feature_model(backbone, spec: BackboneSpec, image_size: int, augment=None):
    """Images (0–255, ``image_size`` square) → pooled features, with optional augmentation layers first."""
    import keras

    inp = keras.Input((image_size, image_size, 3), name="image")
    x = augment(inp) if augment is not None else inp
    pre = preprocess_layer(spec)
    if pre is not None:
        x = pre(x)
    x = backbone(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inp, x, name="features")


def assemble_classifier(backbone, head, spec: BackboneSpec, image_size: int, *, fixed_size: bool = False,
                        batchnorm_learns: bool = False, pooling: str = "avg", orientations: int = 1,
                        tiles: int = 0):
    """The whole classifier: raw RGB images (any size, 0–255) → class probabilities.

    With ``fixed_size`` the input is ``image_size`` square (used for training); otherwise any size, resized
    inside the model with antialiased bilinear interpolation, the same way Foveal's decoder resizes.
    BatchNormalization runs in inference mode (pretrained statistics kept) unless ``batchnorm_learns``, which
    is for training from random initialisation, where there are no statistics to keep. With ``orientations=8``
    the head reads the pooled features averaged over the image's 8 quarter-turns and mirror images
    (:mod:`core.models.orientation`: a nested model named ``orientations`` between the preprocessing and the head).
    With ``tiles=2`` the image is resized to a canvas of twice ``image_size`` and the head reads the mean and the
    maximum of its 3×3 overlapping tiles' features (:mod:`core.models.tiles`: a nested model named ``tiles``; the
    head must take twice the pooled width). One of the two at a time.
    """
    import keras

    from foveal.core.models.orientation import averaging_model, check_orientations
    from foveal.core.models.tiles import canvas_size, check_tiles, tiles_model

    if check_orientations(orientations) == 8 and check_tiles(tiles) > 0:
        raise ValueError("a classifier averages over orientations or reads tiles, not both: give orientations=8 or "
                         f"tiles={tiles}. Received: orientations={orientations}, tiles={tiles}")
    side = canvas_size(image_size, check_tiles(tiles))
    shape = (side, side, 3) if fixed_size else (None, None, 3)
    inp = keras.Input(shape, name="image", dtype="float32")
    x = keras.layers.Resizing(side, side, interpolation="bilinear", antialias=True, name="resize")(inp)
    pre = preprocess_layer(spec)
    if pre is not None:
        x = pre(x)
    pools = pooling_layers(pooling, map_side(backbone))
    if orientations == 8 or tiles:
        part = (averaging_model(backbone, pools, image_size, batchnorm_learns=batchnorm_learns) if orientations == 8
                else tiles_model(backbone, pools, image_size, tiles, batchnorm_learns=batchnorm_learns))
        x = part(x) if batchnorm_learns else part(x, training=False)
    else:
        x = backbone(x) if batchnorm_learns else backbone(x, training=False)
        for layer in pools:
            x = layer(x)
    for layer in head.layers[1:]:
        x = layer(x)
    return keras.Model(inp, x, name=f"foveal_{spec.name.lower()}")


def blocks_of(backbone, spec: BackboneSpec) -> list[Block]:
    """The backbone's unfreezable blocks, bottom to top."""
    return find_blocks(backbone, spec.block_pattern)


def check_depth(spec: BackboneSpec, depth: FineTune, n_blocks: int) -> None:
    """Raise :class:`ConfigError` when ``last:N`` asks for more blocks than the backbone has."""
    if depth.kind == "last" and depth.n > n_blocks:
        raise ConfigError(f"{spec.name} has {n_blocks} blocks; cannot fine-tune the last {depth.n}. "
                          f"Choose last:1 … last:{n_blocks}, or all.")


def apply_fine_tune(backbone, spec: BackboneSpec, depth: FineTune) -> int:
    """Make the chosen top blocks trainable and the rest frozen; return the number of trainable layers.

    BatchNormalization layers stay in inference mode whatever their trainable flag, because the backbone is
    always called with ``training=False`` (the Keras transfer-learning recipe).
    """
    if depth.kind == "frozen":
        backbone.trainable = False
        return 0
    backbone.trainable = True
    if depth.kind == "all":
        return len(backbone.layers)
    blocks = blocks_of(backbone, spec)
    check_depth(spec, depth, len(blocks))
    start = blocks[-depth.n].first
    for i, layer in enumerate(backbone.layers):
        layer.trainable = i >= start
    return len(backbone.layers) - start
