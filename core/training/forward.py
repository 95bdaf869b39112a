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


def forward_fn(backbone, spec, size: int, augmenter=None, pooling: str = "avg"):
    """A compiled function: uint8 image batch → pooled features (augmented when an augmenter is given).

    ``pooling`` is one of core.models.build.POOLINGS, or several joined by "+" (e.g. "avg+max+grid"): each
    pooled vector side by side, in that order (one pass for the automatic recipe, which compares them).
    """
    import tensorflow as tf

    from foveal.core.models.build import map_side, pooling_layers, preprocess_layer

    pre = preprocess_layer(spec)
    stacks = [pooling_layers(name, map_side(backbone)) for name in pooling.split("+")]

    def pool(x):
        outs = []
        for layers in stacks:
            h = x
            for layer in layers:
                h = layer(h)
            outs.append(h)
        return outs[0] if len(outs) == 1 else tf.concat(outs, axis=-1)

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.uint8)])
    def forward(images):
        x = tf.cast(images, tf.float32)
        if augmenter is not None:
            x = augmenter(x, training=True)
        if pre is not None:
            x = pre(x)
        return pool(backbone(x, training=False))

    return lambda batch: forward(batch).numpy()


def float32_copy(backbone, head, spec, size: int, n_classes: int, dropout: float, pooling: str = "avg", *,
                 orientations: int = 1, tiles: int = 0):
    """The classifier rebuilt in float32 with the trained weights (a run in mixed precision saves this), reading
    images as the run's does (core.models.build.assemble_classifier's ``orientations``, ``tiles``)."""
    from foveal.core.models.build import assemble_classifier, build_backbone, build_head
    from foveal.core.training.devices import precision

    with precision(False):
        backbone32 = build_backbone(spec, size, None)
        head32 = build_head(int(head.inputs[0].shape[-1]), n_classes, dropout)
        backbone32.set_weights(backbone.get_weights())
        head32.set_weights(head.get_weights())
        return assemble_classifier(backbone32, head32, spec, size, pooling=pooling, orientations=orientations,
                                   tiles=tiles)


def split_at(backbone, head, spec, size: int, cut: int, pooling: str = "avg"):
    """Cut the backbone after layer ``cut``: a compiled pass through the frozen bottom (uint8 batch →
    activations), the activations' shape, and the trainable top + head as a model taking those activations."""
    import keras
    import tensorflow as tf

    from foveal.core.models.build import map_side, pooling_layers, preprocess_layer

    boundary = backbone.layers[cut].output
    bottom = keras.Model(backbone.input, boundary)
    top = keras.Model(boundary, backbone.output)
    pre = preprocess_layer(spec)
    shape = tuple(boundary.shape[1:])

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.uint8)])
    def forward(images):
        x = tf.cast(images, tf.float32)
        return bottom(pre(x) if pre is not None else x, training=False)

    inp = keras.Input(shape, name="boundary")
    x = top(inp, training=False)
    for layer in pooling_layers(pooling, map_side(backbone)):
        x = layer(x)
    for layer in head.layers[1:]:
        x = layer(x)
    return (lambda batch: forward(batch).numpy()), shape, keras.Model(inp, x, name="fine_tune_top")
