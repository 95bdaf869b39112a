"""The compiled pieces the runner trains with: the cut below the top blocks, and the float32 copy of a
mixed-precision model. Each must compute what the whole classifier computes."""

from __future__ import annotations

import numpy as np
import pytest

from foveal.core.models.build import assemble_classifier, blocks_of, build_backbone, build_head
from foveal.core.models.registry import get_backbone
from foveal.core.training.devices import precision
from foveal.core.training.forward import float32_copy, split_at

SIZE = 32


@pytest.fixture(scope="module")
def parts():
    import keras

    keras.utils.set_random_seed(3)
    spec = get_backbone("MobileNetV2")
    backbone = build_backbone(spec, SIZE, None)
    head = build_head(spec.feature_dim, 3, dropout=0.2)
    return spec, backbone, head


def _images(n: int = 4) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)


def test_split_at_computes_what_the_whole_classifier_computes(parts):
    spec, backbone, head = parts
    whole = assemble_classifier(backbone, head, spec, SIZE, fixed_size=True)
    images = _images()
    expected = whole.predict(images.astype(np.float32), verbose=0)
    blocks = blocks_of(backbone, spec)
    cut = blocks[-3].last  # below the top two blocks
    bottom, shape, top = split_at(backbone, head, spec, SIZE, cut)
    activations = bottom(images)
    assert activations.shape == (len(images), *shape)
    assert shape == tuple(backbone.layers[cut].output.shape[1:])
    got = top.predict(activations, verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    # the top model trains only what lies above the cut: the bottom's weights are not among its own
    bottom_weights = {id(w) for layer in backbone.layers[:cut + 1] for w in layer.weights}
    assert not bottom_weights & {id(w) for w in top.weights}


def test_float32_copy_of_a_mixed_precision_model(parts):
    spec, _backbone, _head = parts
    import keras

    keras.utils.set_random_seed(4)
    with precision(True):
        backbone16 = build_backbone(spec, SIZE, None)
        head16 = build_head(spec.feature_dim, 3, dropout=0.2)
        mixed = assemble_classifier(backbone16, head16, spec, SIZE, fixed_size=True)
    assert backbone16.dtype_policy.name == "mixed_float16"
    copy = float32_copy(backbone16, head16, spec, SIZE, 3, 0.2)
    assert all(layer.dtype_policy.name == "float32" for layer in copy.layers if hasattr(layer, "dtype_policy"))
    assert all(w.dtype == "float32" for w in copy.weights)
    trained = mixed.get_weights()  # the same layers in the same order: the weights carried over unchanged
    assert len(copy.get_weights()) == len(trained)
    for a, b in zip(copy.get_weights(), trained, strict=True):
        np.testing.assert_array_equal(a, np.asarray(b, np.float32))
    images = _images().astype(np.float32)
    got = copy.predict(images, verbose=0)
    expected = np.asarray(mixed.predict(images, verbose=0), np.float32)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(got, expected, atol=2e-2)  # float16 compute differs by its rounding only


def test_pooled_features_side_by_side_are_what_each_saved_pooling_computes():
    """The automatic recipe compares poolings on one pass ("avg+max+grid"); the model it saves pools with
    standard Keras layers. The two must agree, or the head would see other numbers than it learned on."""
    import keras

    from foveal.core.training.forward import forward_fn

    keras.utils.set_random_seed(5)
    spec = get_backbone("MobileNetV2")
    backbone = build_backbone(spec, 64, None)  # a 2×2 feature map: the smallest a grid pools
    images = np.random.default_rng(1).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    both = forward_fn(backbone, spec, 64, pooling="avg+max+grid")(images)
    d = spec.feature_dim
    assert both.shape == (3, 6 * d)
    for name, cols in (("avg", slice(0, d)), ("max", slice(d, 2 * d)), ("grid", slice(2 * d, 6 * d))):
        head = build_head(cols.stop - cols.start, 3, dropout=0.0)
        whole = assemble_classifier(backbone, head, spec, 64, fixed_size=True, pooling=name)
        expected = np.asarray(whole(images.astype(np.float32), training=False))  # eager: no graph to trace
        np.testing.assert_allclose(np.asarray(head(both[:, cols], training=False)), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("frozen_batchnorm", [True, False])
def test_the_top_blocks_train_on_the_pretrained_batchnorm_statistics(frozen_batchnorm):
    """During fit the top blocks must compute what the head saw (BatchNormalization in inference mode); with
    BatchNormalization left trainable they do not, which is the loss jump fine-tuning used to start with."""
    import keras

    from foveal.core.models.build import FineTune, apply_fine_tune
    from foveal.core.training.fine_tune import set_batchnorm

    keras.utils.set_random_seed(6)
    spec = get_backbone("MobileNetV2")
    backbone = build_backbone(spec, SIZE, None)
    head = build_head(spec.feature_dim, 3, dropout=0.0)
    apply_fine_tune(backbone, spec, FineTune.parse("last:2"))
    if frozen_batchnorm:
        set_batchnorm(backbone, learns=False)
    cut = blocks_of(backbone, spec)[-3].last
    bottom, _shape, top = split_at(backbone, head, spec, SIZE, cut)
    activations = bottom(_images(8))
    trained, inferred = top(activations, training=True).numpy(), top(activations, training=False).numpy()
    assert np.allclose(trained, inferred, atol=1e-5) is frozen_batchnorm
