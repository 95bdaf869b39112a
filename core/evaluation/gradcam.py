"""Where in the image the evidence for a class lies: HiResCAM (Draelos & Carin, 2020), which explains the head
actually used, for every pooling and head Foveal's recipe can choose.

Grad-CAM (Selvaraju et al., 2017) averages the score's gradient over the feature map and weights each position's
activations with that average. That is faithful to one head only, a linear layer on average pooling. Under max
pooling the gradient is non-zero at one position per channel, and its average spreads that channel's weight over
every position where the channel is active (the black background outside an MRI head included); a 2×2 grid weights
each quarter with its own columns of the head. HiResCAM multiplies gradient and activation element by element and
sums over channels. For Foveal's heads (one dense layer, trained or fitted, on average, max or grid pooling of the
backbone's last map) that is exactly each position's share of the score: the map sums to the score less the head's
bias. The heatmap shows that share per pooling window that reads the position: a 2×2 grid's cells overlap on an
odd-sided map, and its middle row and column, counted in two cells (the centre in four), would otherwise look two
or four times as important as they are to any one cell, and draw the peak away from where the evidence is.

The score explained is the class's logit less the mean of the other classes' logits: what makes this class more
likely than the others. (A two-class linear head keeps all its weights in one column, so the other class's own
logit is constant and had no gradient: its map was blank. Relative to each other, a two-class model's two maps are
each other's opposite.) The heatmap shows the positive shares (evidence for the class) scaled to their peak,
upsampled bicubically to the original image (its own aspect ratio, not the square model input: the peak falls
between two cells where both hold evidence) and widened slightly (the larger of the map and a blurred copy) so
that the few positions a max-pooled map picks stay visible, without moving the peak.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from foveal.core.models.saved import Classifier

#: Longest side of the original image the overlay is drawn on (larger images are shown scaled down).
OVERLAY_MAX_SIDE = 1024
#: The blur that keeps a sparse map readable, as a share of one feature-map cell's side in the shown image.
SMOOTHING = 0.35


@dataclass
class GradCam:
    """The heatmap of one image for one class."""

    heatmap: np.ndarray  # (H, W) float32 in [0, 1], the original image's (possibly scaled-down) size
    image: np.ndarray  # (H, W, 3) uint8, the original image the heatmap belongs to
    class_index: int
    probs: np.ndarray  # (K,) the model's probabilities for this image
    layer: str  # the backbone layer the heatmap comes from
    #: (height, width) of the image file itself, before it was scaled down for display (None: as shown).
    original_size: tuple[int, int] | None = None

    def overlay(self, alpha: float = 0.45) -> np.ndarray:
        """The heatmap in colour over the image (uint8 RGB)."""
        return overlay(self.image, self.heatmap, alpha)

    def peak(self) -> tuple[int, int] | None:
        """``(x, y)`` of the strongest evidence, in the image file's own pixels; None when no position holds
        evidence for the class (the model's answer then rests on its bias, or on evidence against the others)."""
        if not self.heatmap.size or not float(self.heatmap.max()) > 0:
            return None
        row, col = np.unravel_index(int(np.argmax(self.heatmap)), self.heatmap.shape)
        h, w = self.heatmap.shape
        oh, ow = self.original_size or (h, w)
        return min(ow - 1, int((col + 0.5) * ow / w)), min(oh - 1, int((row + 0.5) * oh / h))


@dataclass(frozen=True)
class Evidence:
    """Each feature-map position's signed share of a class's score, for one image.

    ``shares.sum() + bias == score`` exactly when the map explained is the backbone's last (pooled by the head).
    For a model that reads tiles, both maps cover the canvas: each tile's put in its box and the overlaps added
    (:func:`core.models.tiles.place_on_canvas`), so :attr:`per_window` averages the tiles that read a position."""

    shares: np.ndarray  # (h, w) float32 at feature-map resolution; positive: evidence for the class
    score: float  # the class's logit less the mean of the others'
    bias: float  # the head's bias in that score
    probs: np.ndarray  # (K,)
    class_index: int
    #: (h, w) how many of the pooling's windows read each position, relative to the mean (all 1 for global pooling).
    coverage: np.ndarray

    @property
    def per_window(self) -> np.ndarray:
        """Each position's share per pooling window that reads it: what the heatmap shows."""
        return self.shares / self.coverage


def target_layer(backbone, min_side: int = 4) -> str:
    """The backbone's last convolutional feature map: its last 4-D output that is not a pooling or padding layer.

    At small input sizes the last map can be 1×1 or 2×2, which cannot show *where* anything is; then the last
    map at least ``min_side`` pixels on a side is used (or the largest there is).
    """
    import keras

    maps = []
    for layer in backbone.layers:
        shape = getattr(getattr(layer, "output", None), "shape", None)
        if shape is None or len(shape) != 4 or isinstance(layer, keras.layers.InputLayer):
            continue
        kind = type(layer).__name__.lower()
        if "pool" not in kind and "padding" not in kind:  # a padded map is not aligned with the image
            maps.append((layer.name, min(shape[1] or 0, shape[2] or 0)))
    if not maps:
        raise ValueError(f"{backbone.name} has no convolutional feature map to explain")
    for name, side in reversed(maps):
        if side >= min(min_side, max(s for _, s in maps)):
            return name
    return maps[-1][0]


class GradCamExplainer:
    """The heatmap of a Foveal classifier; build once per model, call for any image and class."""

    def __init__(self, classifier: Classifier) -> None:
        import keras

        from foveal.core.models.orientation import averaging_part
        from foveal.core.models.tiles import n_tiles, tiles_of, tiles_part

        self.classifier = classifier
        model = classifier.model
        # A model that averages over orientations holds the backbone and its pooling in a nested model
        # (core.models.orientation): its 8 versions of the image run as one batch here, and their maps are turned
        # back and added up (see evidence). A model that reads tiles (core.models.tiles) holds them in another:
        # its tiles run as one batch, and their maps are put back in their boxes on the canvas.
        #: The grid of tiles the model reads (0: none).
        self.tiles = tiles_of(model)
        part = averaging_part(model) if not self.tiles else tiles_part(model)
        inner = list(part.layers) if part is not None else []
        self.backbone = next(layer for layer in inner or model.layers if isinstance(layer, keras.Model))
        names = [layer.name for layer in model.layers]
        at = names.index(part.name if part is not None else self.backbone.name)
        self.before = list(model.layers[1:at])  # resize, preprocess
        after = model.layers[at + 1:]
        #: The pooling (and flatten) inside the averaging model, then what follows it (dropout); the dense head.
        pool = [layer for layer in inner if layer.name in ("pool", "pool_flatten")]
        self.pooling, self.dense = pool + list(after[:-1]), after[-1]
        self.versions, self._averaged_after = (8, len(pool)) if part is not None else (1, 0)
        if self.tiles:
            self.versions = n_tiles(self.tiles)
        self.layer = target_layer(self.backbone)
        inner = self.backbone.get_layer(self.layer).output
        self.grad_model = keras.Model(self.backbone.inputs, [inner, self.backbone.output])
        self.coverage = self._coverage(tuple(inner.shape[1:3]))
        self._step: Any = None

    def evidence(self, image: np.ndarray, class_index: int | None = None) -> Evidence:
        """Each position's share of the score of ``class_index`` (default: the predicted class) for one image
        (H × W × 3, 0–255, the model's input size)."""
        import tensorflow as tf

        x = tf.convert_to_tensor(np.asarray(image, np.float32)[None])
        c = -1 if class_index is None else int(class_index)
        if not -1 <= c < len(self.classifier.classes):
            raise ValueError(f"class_index must be below {len(self.classifier.classes)}. Received: {class_index}")
        conv, grads, probs, chosen, score, bias = self._compiled()(x, tf.constant(c, tf.int32))
        per_version = (grads.numpy() * conv.numpy()).sum(axis=-1)  # (versions, h, w), each in its own orientation
        coverage = self.coverage
        if self.tiles:  # each tile's shares and coverage in its box on the canvas: per_window averages the overlaps
            from foveal.core.models.tiles import place_on_canvas

            size = self.classifier.image_size // self.tiles
            shares = place_on_canvas(per_version, size, self.tiles)
            coverage = place_on_canvas(np.broadcast_to(coverage, per_version.shape), size, self.tiles)
        else:
            shares = _in_original_orientation(per_version)
        return Evidence(shares.astype(np.float32), float(score), float(bias), probs.numpy(), int(chosen), coverage)

    def heatmap(self, image: np.ndarray, class_index: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
        """``(map at feature-map resolution in [0, 1], probabilities, class)`` for one image: the positive shares
        of :meth:`evidence` per pooling window, scaled to their peak (all zero when no position holds evidence for
        the class)."""
        ev = self.evidence(image, class_index)
        cam = np.maximum(ev.per_window, 0.0)
        peak = float(cam.max()) if cam.size else 0.0
        cam = cam / peak if peak > 0 else cam
        return cam.astype(np.float32), ev.probs, ev.class_index

    def explain_file(self, path: str | os.PathLike[str], class_index: int | None = None) -> GradCam:
        """The heatmap of one image file for ``class_index`` (default: the predicted class), on the original image.

        The model sees the image exactly as ``foveal predict`` does (decoded whole, resized with antialiasing), so
        the probabilities are the same."""
        from foveal.core.data.decode import decode_image
        from foveal.core.data.resize import resize_float

        full = decode_image(path)
        cam, probs, c = self.heatmap(resize_float(full, self.classifier.image_size), class_index)
        original = _fit_side(full, OVERLAY_MAX_SIDE)
        shown = readable(upsample(cam, original.shape[:2]), cam.shape)
        return GradCam(shown, original, c, probs, self.layer, (int(full.shape[0]), int(full.shape[1])))

    def _coverage(self, cells: tuple[int, int]) -> np.ndarray:
        """How many of the pooling's windows read each position of the backbone's output map, relative to the mean:
        the gradient of the pooled features' sum on a map of ones (a tie shares a maximum's gradient equally, so
        global max pooling covers every position once). All 1 when the map explained is an earlier one."""
        import tensorflow as tf

        out = tuple(self.backbone.output.shape[1:])
        if tuple(out[:2]) != cells or None in out:
            return np.ones(cells, np.float32)
        ones = tf.ones((self.versions, *out))
        with tf.GradientTape() as tape:
            tape.watch(ones)
            total = tf.reduce_sum(self._pool(ones))
        reads = tape.gradient(total, ones)[0, ..., 0].numpy()
        return (reads / reads.mean()).astype(np.float32) if reads.mean() > 0 else np.ones(cells, np.float32)

    def _compiled(self) -> Any:
        """One compiled pass: ``(map, gradient of the score on it, probabilities, class, score, bias in it)``."""
        import tensorflow as tf

        if self._step is not None:
            return self._step
        from foveal.core.models.orientation import stack_versions_tf
        from foveal.core.models.tiles import crop_tiles_tf

        k = len(self.classifier.classes)

        @tf.function(reduce_retracing=True)
        def step(x, c):
            with tf.GradientTape() as tape:
                for layer in self.before:
                    x = layer(x)
                if self.tiles:
                    x = crop_tiles_tf(x, self.classifier.image_size // self.tiles, self.tiles)  # (T, S, S, 3)
                elif self.versions == 8:
                    x = stack_versions_tf(x)  # (8, S, S, 3): the image's 8 versions, version 0 first
                conv, h = self.grad_model(x, training=False)
                logits = tf.matmul(self._pool(h), self.dense.kernel) + self.dense.bias
                c = tf.where(c < 0, tf.argmax(logits[0], output_type=tf.int32), c)
                weights = relative_to_others(c, k)
                score = tf.reduce_sum(logits[0] * weights)
            grads = tape.gradient(score, conv)
            return (conv, grads, tf.nn.softmax(logits)[0], c, score,
                    tf.reduce_sum(tf.cast(self.dense.bias, tf.float32) * weights))

        self._step = step
        return step


    def _pool(self, h):
        """The head's input from the backbone's output map: pooled, averaged over the versions (a model that
        averages over orientations) or the tiles' mean and maximum (one that reads tiles), then the dropout."""
        for i, layer in enumerate(self.pooling):
            if i == self._averaged_after:
                h = self._combine(h)
            h = layer(h, training=False)
        return self._combine(h) if self._averaged_after == len(self.pooling) else h

    def _combine(self, h):
        """One image's versions' or tiles' pooled features (``(versions, W)``) as the head reads them."""
        import tensorflow as tf

        from foveal.core.models.tiles import mean_and_max_tf

        if self.tiles:
            return mean_and_max_tf(h, self.versions)
        if self.versions == 8:
            return tf.reduce_mean(tf.reshape(h, (8, -1, h.shape[-1])), axis=0)
        return h


def _in_original_orientation(per_version: np.ndarray) -> np.ndarray:
    """Each version's shares (``(versions, h, w)``) turned back to the image's own orientation and added: the
    score is the head on the mean of the versions' features, so each version's shares already carry its 1/8, and
    their sum is each position's share of the score (for one version: its shares as they are)."""
    from foveal.core.models.orientation import unturn

    if len(per_version) == 1:
        return per_version[0]
    return np.sum([unturn(a, k) for k, a in enumerate(per_version)], axis=0)


def relative_to_others(c, k: int):
    """The weights that make a class's score from the logits: +1 for class ``c``, −1/(k−1) for each other."""
    import tensorflow as tf

    other = -1.0 / max(k - 1, 1)
    return tf.one_hot(c, k, on_value=1.0, off_value=other, dtype=tf.float32)


def readable(heatmap: np.ndarray, cells: tuple[int, int]) -> np.ndarray:
    """The upsampled map, widened slightly: the larger of it and a blurred copy (a few tenths of a feature-map
    cell), so that a sparse map (max pooling lights one position per channel) stays visible. The blurred copy is kept
    below the map's peak, so the peak stays where it was, and so does its value."""
    from scipy.ndimage import gaussian_filter

    h, w = heatmap.shape
    sigma = (SMOOTHING * h / max(cells[0], 1), SMOOTHING * w / max(cells[1], 1))
    if not heatmap.size or max(sigma) < 0.5:
        return heatmap
    blurred = gaussian_filter(heatmap.astype(np.float32), sigma, mode="nearest")
    # Kept just below the peak, so that rounding in the blur cannot make a neighbour of the peak the new one.
    return np.maximum(heatmap, np.minimum(blurred, 0.999 * float(heatmap.max()))).astype(np.float32)


def upsample(cam: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of a heatmap to ``(height, width)``, scaled back to the map's own peak value, in [0, 1].

    Where two neighbouring cells both hold evidence, the peak falls between them, where the evidence is centred: a
    map of 7×7 cells drawn linearly can only peak at a cell's centre, up to half a cell (16 of 224 pixels) off."""
    from PIL import Image

    img = Image.fromarray(cam.astype(np.float32), mode="F").resize((shape[1], shape[0]), Image.Resampling.BICUBIC)
    up = np.maximum(np.asarray(img, np.float32), 0.0)  # the cubic's small undershoot beside a peak
    top, peak = (float(a.max()) if a.size else 0.0 for a in (up, cam))
    return np.clip(up * (peak / top), 0.0, 1.0).astype(np.float32) if top > 0 else np.zeros_like(up)


def _fit_side(image: np.ndarray, max_side: int) -> np.ndarray:
    from PIL import Image

    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))


def colorize(heatmap: np.ndarray) -> np.ndarray:
    """Heatmap in [0, 1] → uint8 RGB with matplotlib's perceptually ordered 'turbo' colour map."""
    from matplotlib import colormaps

    return (colormaps["turbo"](np.clip(heatmap, 0, 1))[..., :3] * 255).astype(np.uint8)


def overlay(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """Blend the coloured heatmap over the image; weak evidence shows the image almost unchanged."""
    colour = colorize(heatmap).astype(np.float32)
    a = alpha * np.clip(heatmap, 0, 1)[..., None] ** 0.5
    return np.clip(image.astype(np.float32) * (1 - a) + colour * a, 0, 255).astype(np.uint8)


def with_legend(image: np.ndarray, title: str = "", min_width: int = 320) -> np.ndarray:
    """The overlay with a colour bar underneath ('weak' to 'strong evidence') and an optional title line.

    Small images are enlarged first (nearest neighbour, so pixels stay honest) so that the legend stays legible.
    """
    from PIL import Image, ImageDraw, ImageFont

    im = Image.fromarray(image)
    if im.width < min_width:
        factor = -(-min_width // im.width)
        im = im.resize((im.width * factor, im.height * factor), Image.Resampling.NEAREST)
    w, h = im.size
    # Labels scale with the picture (a fifteenth of its width), so they stay readable however it is shrunk.
    size = max(12, w // 15)
    font = ImageFont.load_default(size=size)
    pad, bar_h, line = size // 2, size, size + size // 3
    rows = 2 if title else 1
    canvas = Image.new("RGB", (w, h + 2 * pad + bar_h + rows * line), "white")
    canvas.paste(im, (0, 0))
    ramp = colorize(np.tile(np.linspace(0, 1, max(w - 2 * pad, 1))[None, :], (bar_h, 1)))
    canvas.paste(Image.fromarray(ramp), (pad, h + pad))
    draw = ImageDraw.Draw(canvas)
    y = h + pad + bar_h + pad // 2
    draw.text((pad, y), "weak", fill="black", font=font)
    label = "strong evidence"
    draw.text((w - pad - draw.textlength(label, font=font), y), label, fill="black", font=font)
    if title:
        draw.text(((w - draw.textlength(title, font=font)) / 2, y + line), title, fill="black", font=font)
    return np.asarray(canvas)
