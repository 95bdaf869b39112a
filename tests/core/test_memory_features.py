"""Memory that does not grow with the search: features that spill to disk are float16 memory-maps a run still
learns from, and larger inputs go through the backbone in fewer images per batch."""

from __future__ import annotations

import numpy as np

from foveal.core.data.scan import scan_dataset
from foveal.core.training import features as feature_cache
from foveal.core.training.features import FORWARD_BATCH, extract_features, images_per_batch


def test_larger_inputs_go_in_fewer_images_per_batch():
    assert images_per_batch(224, 32) == 32
    assert images_per_batch(224, 16) == 16  # never more than asked
    assert images_per_batch(336, 32) == 14  # the pixels of 32 images at 224 px
    assert images_per_batch(640, FORWARD_BATCH) == 3
    assert images_per_batch(4096, 32) == 1


def test_spilled_features_are_float16_memory_maps_with_the_same_values(tiny_dataset, tmp_path, monkeypatch):
    from foveal.core.models.build import build_backbone
    from foveal.core.models.registry import get_backbone
    from foveal.core.training.forward import forward_fn

    spec = get_backbone("MobileNetV2")
    forward = forward_fn(build_backbone(spec, 32, None), spec, 32)
    summary = scan_dataset(tiny_dataset)
    index = {c: i for i, c in enumerate(summary.classes)}

    def run(name: str):
        return extract_features(forward, summary.images, index, size=32, batch_size=8, feature_dim=spec.feature_dim,
                                spill_dir=tmp_path / "cache", name=name)

    in_ram = run("ram")
    monkeypatch.setattr(feature_cache, "SPILL_BYTES", 0)  # everything counts as large
    spilled = run("spilled")
    assert in_ram.features.dtype == np.float32 and not isinstance(in_ram.features, np.memmap)
    assert spilled.features.dtype == np.float16 and isinstance(spilled.features, np.memmap)
    assert (tmp_path / "cache" / "spilled.npy").is_file()
    np.testing.assert_allclose(spilled.features.astype(np.float32), in_ram.features, rtol=2e-3, atol=2e-3)
    assert (spilled.labels == in_ram.labels).all()


def test_a_run_learns_from_spilled_float16_features_as_from_float32_ones(tiny_dataset, tmp_path, monkeypatch,
                                                                           mobilenet_v2_weights):
    from foveal.core.training import TrainConfig, train

    def run(name: str):
        return train(TrainConfig(str(tiny_dataset), weights=str(mobilenet_v2_weights), image_size=64, epochs=2,
                                 out_dir=str(tmp_path / name), seed=1))

    in_ram = run("ram")
    monkeypatch.setattr(feature_cache, "SPILL_BYTES", 0)
    spilled = run("spilled")
    assert spilled.model_path is not None and spilled.test_accuracy is not None
    assert spilled.test_accuracy == in_ram.test_accuracy
    assert abs(spilled.test_loss - in_ram.test_loss) < 0.1 * in_ram.test_loss  # 3 test images: a temperature apart


def test_prediction_batches_hold_the_pixels_of_a_224_px_batch():
    from foveal.core.models.predict import pixel_batch

    assert pixel_batch(32, 224) == 32
    assert pixel_batch(32, 336) == 14
    assert pixel_batch(8, 112) == 8  # never more than asked
    assert pixel_batch(32, 2048) == 1
