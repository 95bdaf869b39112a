"""The exported graph: raw RGB uint8 images of any size → class probabilities, in portable operations only.

Resizing is written as two matrix products with antialiased bilinear (triangle) weights: the formula of
:mod:`core.data.resize`, which Foveal's own prediction uses, and what ``tf.image.resize(..., antialias=True)``
computes; but it needs no special operation, so TFLite's builtin kernels and ONNX run it as it is.
"""

from __future__ import annotations

#: Name scope of the resize operations (int8 TFLite keeps them in float: see core.export.writers).
RESIZE_SCOPE = "foveal_resize"


def resize_weights(out: int, n):
    """:func:`core.data.resize.resize_weights` as graph operations (``n`` known only when the graph runs)."""
    import tensorflow as tf

    n_f = tf.cast(n, tf.float32)
    scale = n_f / float(out)
    support = tf.maximum(scale, 1.0)
    centre = (tf.range(out, dtype=tf.float32) + 0.5) * scale
    position = tf.range(n_f, dtype=tf.float32) + 0.5
    w = tf.maximum(0.0, 1.0 - tf.abs(position[None, :] - centre[:, None]) / support)
    return w / tf.reduce_sum(w, axis=1, keepdims=True)


def resize_images(images, size: int):
    """Antialiased bilinear resize of a float batch ``(N, H, W, C)`` to ``(N, size, size, C)``."""
    import tensorflow as tf

    with tf.name_scope(RESIZE_SCOPE):
        shape = tf.shape(images)
        rows, cols = resize_weights(size, shape[1]), resize_weights(size, shape[2])
        x = tf.einsum("ih,nhwc->niwc", rows, images)
        return tf.einsum("jw,niwc->nijc", cols, x)


def after_resize(model):
    """The classifier's layers after its ``resize`` layer, as one callable on ``(N, S, S, 3)`` float images."""
    names = [layer.name for layer in model.layers]
    if "resize" not in names:
        raise ValueError("not a Foveal classifier: it has no 'resize' layer")
    layers = model.layers[names.index("resize") + 1:]

    def call(x):
        for layer in layers:
            x = layer(x, training=False) if _takes_training(layer) else layer(x)
        return x

    return call


def _takes_training(layer) -> bool:
    import keras

    return isinstance(layer, (keras.Model, keras.layers.Dropout))


def raw_image_function(classifier):
    """A ``tf.function`` taking ``uint8 (N, H, W, 3)`` of any H, W and returning probabilities ``(N, K)``."""
    import tensorflow as tf

    size, body = classifier.image_size, after_resize(classifier.model)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name="image")])
    def predict(image):
        x = resize_images(tf.cast(image, tf.float32), size)
        return {"probabilities": body(x)}

    return predict
