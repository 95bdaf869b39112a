"""Backbone registry, blocks, preprocessing layers and weights handling."""

from __future__ import annotations

import urllib.error

import numpy as np
import pytest

from foveal.core.errors import ConfigError, WeightsError
from foveal.core.models import BACKBONES, get_backbone
from foveal.core.models.build import (
    FineTune,
    apply_fine_tune,
    assemble_classifier,
    blocks_of,
    build_backbone,
    build_head,
    preprocess_affine,
)
from foveal.core.models.registry import BLOCK_COUNTS
from tests.core.conftest import MOBILENET_V1_WEIGHTS

SEED_SEVEN = ["VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152", "InceptionV3", "Xception"]
# One backbone of each family in the default run (each family builds, cuts blocks and preprocesses its own way);
# the deeper members of a family and the rest run under `pytest -m slow`.
FAMILIES = ["VGG16", "ResNet50", "InceptionV3", "Xception", "MobileNetV2", "EfficientNetB0"]
OTHERS_SLOW = sorted(set(BACKBONES) - set(FAMILIES))


def test_registry_has_every_required_backbone():
    required = SEED_SEVEN + ["ResNet50V2", "ResNet101V2", "ResNet152V2", "InceptionResNetV2", "MobileNet",
                             "MobileNetV2", "MobileNetV3Small", "MobileNetV3Large", "DenseNet121", "DenseNet169",
                             "DenseNet201", "NASNetMobile", "NASNetLarge", "ConvNeXtTiny", "ConvNeXtSmall",
                             "ConvNeXtBase", "ConvNeXtLarge"]
    required += [f"EfficientNetB{i}" for i in range(8)]
    required += [f"EfficientNetV2{s}" for s in ("B0", "B1", "B2", "B3", "S", "M", "L")]
    assert set(required) <= set(BACKBONES)
    assert get_backbone("inceptionv3").input_size == 299 and get_backbone("Xception").input_size == 299
    assert get_backbone("ResNet50").input_size == 224


def test_unknown_backbone_suggests_close_names():
    with pytest.raises(ConfigError, match="Did you mean ResNet50"):
        get_backbone("ResNet05")


@pytest.mark.parametrize("mode, module", [("tf", "mobilenet_v2"), ("caffe", "resnet50"), ("torch", "densenet")])
def test_preprocess_affine_equals_keras_preprocess_input(mode, module):
    import importlib

    keras_pre = importlib.import_module(f"keras.applications.{module}").preprocess_input
    x = np.random.default_rng(0).uniform(0, 255, (2, 5, 5, 3)).astype(np.float32)
    kernel, bias = preprocess_affine(mode)
    ours = x @ kernel + bias
    np.testing.assert_allclose(ours, np.asarray(keras_pre(x.copy())), rtol=1e-5, atol=1e-4)


def _exercise(name: str) -> None:
    """Build with random weights at a small size, check features and blocks, train one step at last:1."""
    import keras

    spec = get_backbone(name)
    size = max(spec.min_size, 32)
    backbone = build_backbone(spec, size, None)
    assert backbone.output.shape[-1] == spec.feature_dim
    blocks = blocks_of(backbone, spec)
    assert len(blocks) == BLOCK_COUNTS[name]
    assert blocks[0].first == 0 and blocks[-1].last == len(backbone.layers) - 1
    n = apply_fine_tune(backbone, spec, FineTune("last", 1))
    assert 0 < n < len(backbone.layers)
    assert backbone.layers[0].trainable is False and backbone.layers[-1].trainable is True
    model = assemble_classifier(backbone, build_head(spec.feature_dim, 2), spec, size, fixed_size=True)
    model.compile(keras.optimizers.SGD(1e-3), "sparse_categorical_crossentropy")
    before = [w.copy() for w in backbone.get_weights()]
    x = np.random.default_rng(0).integers(0, 255, (2, size, size, 3)).astype(np.float32)
    loss = model.train_on_batch(x, np.array([0, 1]))
    assert np.isfinite(loss)
    changed = [not np.array_equal(a, b) for a, b in zip(before, backbone.get_weights(), strict=True)]
    assert any(changed) and not all(changed)  # the top block learned, the bottom did not


@pytest.mark.parametrize("name", FAMILIES)
def test_backbone_builds_and_trains_one_step(name):
    _exercise(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", OTHERS_SLOW)
def test_heavy_backbone_builds_and_trains_one_step(name):
    _exercise(name)


def test_fine_tune_parsing():
    assert FineTune.parse("frozen").kind == "frozen" and FineTune.parse("ALL").kind == "all"
    assert FineTune.parse("last:3") == FineTune("last", 3)
    for bad in ("last:0", "last", "half", "last:x"):
        with pytest.raises(ConfigError, match="frozen"):
            FineTune.parse(bad)


def test_too_small_image_is_a_clear_error():
    with pytest.raises(ConfigError, match="at least 75×75"):
        build_backbone(get_backbone("InceptionV3"), 40, None)


def test_offline_imagenet_names_the_file_and_the_ways_out(monkeypatch, tmp_path):
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    with pytest.raises(WeightsError) as info:
        build_backbone(get_backbone("MobileNetV2"), 96, "imagenet")
    message = str(info.value)
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5" in message
    assert "--weights PATH" in message and "--weights none" in message


def test_weights_file_loads_and_changes_features(mobilenet_v2_weights):
    spec = get_backbone("MobileNetV2")
    real = build_backbone(spec, 64, str(mobilenet_v2_weights))
    random = build_backbone(spec, 64, None)
    kernel = next(w for w in real.weights if "Conv1" in w.path and "kernel" in w.path)
    import h5py

    with h5py.File(mobilenet_v2_weights) as f:
        names: list[str] = []
        f.visit(names.append)
        stored = next(f[n][()] for n in names if "Conv1" in n and "kernel" in n and isinstance(f[n], h5py.Dataset))
    np.testing.assert_array_equal(np.asarray(kernel), stored)
    assert not np.array_equal(np.asarray(kernel), np.asarray(next(w for w in random.weights if w.path == kernel.path)))


def test_wrong_weights_file_is_refused(tmp_path):
    if not MOBILENET_V1_WEIGHTS.exists():
        pytest.skip("shared MobileNet v1 weights not present")
    with pytest.raises(WeightsError, match="does not fit MobileNetV2"):
        build_backbone(get_backbone("MobileNetV2"), 96, str(MOBILENET_V1_WEIGHTS))
    with pytest.raises(WeightsError, match="does not exist"):
        build_backbone(get_backbone("MobileNetV2"), 96, str(tmp_path / "missing.h5"))


def test_imagenet_weights_status_names_the_cache_file(monkeypatch, tmp_path, mobilenet_v2_weights):
    import shutil

    from foveal.core.models.build import imagenet_weights_status

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    name, path, cached = imagenet_weights_status(get_backbone("MobileNetV2"), 224)
    assert name == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
    assert path == str(tmp_path / "models" / name) and not cached
    (tmp_path / "models").mkdir()
    shutil.copy(mobilenet_v2_weights, path)  # a user who put the file in Keras's cache, as the error message says
    assert imagenet_weights_status(get_backbone("MobileNetV2"), 224)[2] is True


def test_weights_carried_by_the_installation_are_used_offline_and_leave_the_cache_alone(monkeypatch, tmp_path,
                                                                                       mobilenet_v2_weights):
    """A bundle built with packaging/bundle_weights.py carries the file under Keras's name: with an empty Keras
    cache and no network, ImageNet weights come from it, and they are the file's weights."""
    import shutil

    import foveal.core.resources as resources
    from foveal.core.models.build import imagenet_weights_status

    name = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
    (tmp_path / "install" / "weights").mkdir(parents=True)
    shutil.copy(mobilenet_v2_weights, tmp_path / "install" / "weights" / name)
    monkeypatch.setattr(resources, "resource_root", lambda: tmp_path / "install")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # any download attempt fails at once
    spec = get_backbone("MobileNetV2")
    assert imagenet_weights_status(spec, 224) == (name, str(tmp_path / "install" / "weights" / name), True)
    carried = build_backbone(spec, 96, "imagenet")
    direct = build_backbone(spec, 96, str(mobilenet_v2_weights))
    for a, b in zip(carried.get_weights(), direct.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not (tmp_path / "keras" / "models" / name).exists()
    assert resources.bundled_weights("../" + name) is None and resources.bundled_weights("missing.h5") is None
