"""The compiled pieces the runner runs images through: the augmentation layers and the frozen feature pass."""

from __future__ import annotations


def augmenter(seed: int):
    """Flip, small rotation, zoom and contrast, as Keras preprocessing layers (active only when training)."""
    import keras

    return keras.Sequential([
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomRotation(0.05, seed=seed + 1),
        keras.layers.RandomZoom(0.1, seed=seed + 2),
        keras.layers.RandomContrast(0.1, seed=seed + 3),
    ], name="augment")


def forward_fn(backbone, spec, size: int, augmenter=None):
    """A compiled function: uint8 image batch → pooled features (augmented when an augmenter is given)."""
    import keras
    import tensorflow as tf

    from core.models.build import preprocess_layer

    pre = preprocess_layer(spec)
    pool = keras.layers.GlobalAveragePooling2D()

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.uint8)])
    def forward(images):
        x = tf.cast(images, tf.float32)
        if augmenter is not None:
            x = augmenter(x, training=True)
        if pre is not None:
            x = pre(x)
        return pool(backbone(x, training=False))

    return lambda batch: forward(batch).numpy()
