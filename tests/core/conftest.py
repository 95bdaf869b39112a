"""Fixtures for core tests: tiny datasets made in tmp_path, and the shared real weights and images."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import factory
from tests.factory import MOBILENET_V2_WEIGHTS, SHARED

MOBILENET_V1_WEIGHTS = SHARED / "weights" / "mobilenet_v1_0.25_224_imagenet_no_top.weights.h5"
MEDNIST = SHARED / "data" / "mednist_small"


@pytest.fixture
def tiny_dataset(tmp_path) -> Path:
    """Three visibly different classes of 10 small PNGs each."""
    return factory.make_class_folder(tmp_path / "data", {"red": 10, "green": 10, "blue": 10}, size=40)


@pytest.fixture
def mobilenet_v2_weights() -> Path:
    if not MOBILENET_V2_WEIGHTS.exists():
        pytest.skip(f"real ImageNet weights not found at {MOBILENET_V2_WEIGHTS} (shared/weights/README.md)")
    return MOBILENET_V2_WEIGHTS
