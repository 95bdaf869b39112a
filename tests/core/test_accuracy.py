"""Honest accuracy on real medical images with real ImageNet weights (MedNIST, six modalities)."""

from __future__ import annotations

import pytest

from foveal.core.training import TrainConfig, train
from tests.core.conftest import MEDNIST


@pytest.mark.slow  # a full 224-px run on ~600 real images: minutes on 2 cores; benchmarks/ measures accuracy too
def test_frozen_mobilenet_v2_on_mednist_is_clinically_sane(tmp_path, mobilenet_v2_weights):
    if not MEDNIST.exists():
        pytest.skip(f"MedNIST sample not found at {MEDNIST}")
    result = train(TrainConfig(str(MEDNIST), backbone="MobileNetV2", weights=str(mobilenet_v2_weights),
                               epochs=10, out_dir=str(tmp_path / "run"), seed=1))
    print(f"MedNIST test accuracy: {result.test_accuracy:.3f} (best epoch {result.best_epoch})")
    assert result.outcome in ("completed", "early-stopped")
    assert result.test_accuracy >= 0.95
