"""Grad-CAM (Selvaraju et al., 2017): where in the image the evidence for a class lies.

The heatmap comes from the last convolutional feature map of the backbone, weighted by the gradient of the
class's logit, and is laid over the original image (its own aspect ratio, not the square model input).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from foveal.core.models.saved import Classifier

#: Longest side of the original image the overlay is drawn on (larger images are shown scaled down).
OVERLAY_MAX_SIDE = 1024


@dataclass
class GradCam:
    """A Grad-CAM result for one image and one class."""

    heatmap: np.ndarray  # (H, W) float32 in [0, 1], the original image's (possibly scaled-down) size
    image: np.ndarray  # (H, W, 3) uint8, the original image the heatmap belongs to
    class_index: int
    probs: np.ndarray  # (K,) the model's probabilities for this image
    layer: str  # the backbone layer the heatmap comes from

    def overlay(self, alpha: float = 0.45) -> np.ndarray:
        """The heatmap in colour over the image (uint8 RGB)."""
        return overlay(self.image, self.heatmap, alpha)


def target_layer(backbone, min_side: int = 4) -> str:
    """The backbone's last convolutional feature map: its last 4-D output that is not a pooling layer.

    At small input sizes the last map can be 1×1 or 2×2, which cannot show *where* anything is; then the last
    map at least ``min_side`` pixels on a side is used (or the largest there is).
    """
    import keras

    maps = []
    for layer in backbone.layers:
        shape = getattr(getattr(layer, "output", None), "shape", None)
        if shape is None or len(shape) != 4 or isinstance(layer, keras.layers.InputLayer):
            continue
        if "pool" not in type(layer).__name__.lower():
            maps.append((layer.name, min(shape[1] or 0, shape[2] or 0)))
    if not maps:
        raise ValueError(f"{backbone.name} has no convolutional feature map to explain")
    for name, side in reversed(maps):
        if side >= min(min_side, max(s for _, s in maps)):
            return name
    return maps[-1][0]


class GradCamExplainer:
    """Grad-CAM for a Foveal classifier; build once per model, call for any image and class."""

    def __init__(self, classifier: Classifier) -> None:
        import keras

        self.classifier = classifier
        model = classifier.model
        self.backbone = next(layer for layer in model.layers if isinstance(layer, keras.Model))
        names = [layer.name for layer in model.layers]
        at = names.index(self.backbone.name)
        self.before = [layer for layer in model.layers[1:at]]  # resize, preprocess
        after = model.layers[at + 1:]
        self.pool, self.dense = after[0], after[-1]
        self.middle = after[1:-1]  # dropout (inactive at inference)
        self.layer = target_layer(self.backbone)
        inner = self.backbone.get_layer(self.layer).output
        self.grad_model = keras.Model(self.backbone.inputs, [inner, self.backbone.output])

    def heatmap(self, image: np.ndarray, class_index: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
        """``(cam at feature-map resolution in [0, 1], probabilities, class)`` for one uint8 image."""
        import tensorflow as tf

        x = tf.convert_to_tensor(image[None].astype(np.float32))
        with tf.GradientTape() as tape:
            for layer in self.before:
                x = layer(x)
            conv, features = self.grad_model(x, training=False)
            h = self.pool(features)
            for layer in self.middle:
                h = layer(h, training=False)
            logits = tf.matmul(h, self.dense.kernel) + self.dense.bias
            probs = tf.nn.softmax(logits)
            c = int(tf.argmax(probs[0])) if class_index is None else int(class_index)
            score = logits[:, c]
        grads = tape.gradient(score, conv)[0].numpy()
        fmap = conv[0].numpy()
        weights = grads.mean(axis=(0, 1))
        cam = np.maximum((fmap * weights).sum(axis=-1), 0.0)
        peak = cam.max()
        cam = cam / peak if peak > 0 else cam
        return cam.astype(np.float32), probs[0].numpy(), c

    def explain_file(self, path: str | os.PathLike[str], class_index: int | None = None) -> GradCam:
        """Grad-CAM of one image file for ``class_index`` (default: the predicted class)."""
        from foveal.core.data.decode import decode_image

        original = _fit_side(decode_image(path), OVERLAY_MAX_SIDE)
        model_input = decode_image(path, size=self.classifier.image_size)
        cam, probs, c = self.heatmap(model_input, class_index)
        return GradCam(upsample(cam, original.shape[:2]), original, c, probs, self.layer)


def upsample(cam: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a heatmap to ``(height, width)``, values kept in [0, 1]."""
    from PIL import Image

    img = Image.fromarray(cam.astype(np.float32), mode="F").resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(img, np.float32), 0.0, 1.0)


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
