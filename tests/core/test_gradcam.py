"""Grad-CAM: the right layer in every seed backbone, the original image's size, and a peak on the object."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from foveal.core.evaluation.gradcam import GradCamExplainer, with_legend
from foveal.core.models.build import assemble_classifier, build_backbone, build_head
from foveal.core.models.registry import BACKBONES, get_backbone
from foveal.core.models.saved import Classifier, load_classifier
from foveal.core.training import TrainConfig, train

SEED_BACKBONES = {"VGG16": "block5_conv3", "VGG19": "block5_conv4", "ResNet50": "conv5_block3_out",
                  "ResNet101": "conv5_block3_out", "ResNet152": "conv5_block3_out", "InceptionV3": "mixed10",
                  "Xception": "block14_sepconv2_act"}


def _untrained_classifier(name: str, size: int | None = None) -> Classifier:
    """A real backbone (random weights) with a head whose class-0 weights are positive, so its map is not 0."""
    spec = get_backbone(name)
    size = size or spec.input_size
    backbone = build_backbone(spec, size, None)
    head = build_head(spec.feature_dim, 2)
    dense = head.get_layer("predictions")
    kernel, bias = dense.get_weights()
    kernel[:, 0] = np.abs(kernel[:, 0])
    dense.set_weights([kernel, bias])
    return Classifier(assemble_classifier(backbone, head, spec, size), ("a", "b"), size, "")


@pytest.mark.parametrize("name", sorted(SEED_BACKBONES))
def test_seed_backbones_explain_on_the_original_image(name, tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "wide.png"
    Image.fromarray(rng.integers(0, 255, (70, 130, 3), dtype=np.uint8)).save(path)
    explainer = GradCamExplainer(_untrained_classifier(name))
    assert explainer.layer == SEED_BACKBONES[name]
    cam = explainer.explain_file(path, class_index=0)
    assert cam.heatmap.shape == (70, 130) and cam.image.shape == (70, 130, 3)
    assert cam.heatmap.min() >= 0 and 0.9 < cam.heatmap.max() <= 1.0  # peak normalised to 1 before upsampling
    assert cam.heatmap.std() > 0.01
    shown = with_legend(cam.overlay(), "a")
    assert shown.shape[1] == 390 and shown.shape[0] > 3 * 70  # enlarged 3× so the legend is legible


def test_small_inputs_explain_from_a_map_that_can_show_where(tmp_path):
    """InceptionV3 at 96 px ends in a 1×1 map; Grad-CAM then uses the last map of at least 4×4."""
    path = tmp_path / "img.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (96, 96, 3), dtype=np.uint8)).save(path)
    explainer = GradCamExplainer(_untrained_classifier("InceptionV3", 96))
    side = explainer.backbone.get_layer(explainer.layer).output.shape[1]
    assert side >= 4 and explainer.layer != "mixed10"
    cam = explainer.explain_file(path, class_index=0)
    assert cam.heatmap.shape == (96, 96)


def _spot_image(rng, size: int = 224, radius: int = 20):
    a = rng.integers(60, 120, (size, size, 3)).astype(np.uint8)
    cy, cx = (int(v) for v in rng.integers(radius + 10, size - radius - 10, 2))
    yy, xx = np.mgrid[:size, :size]
    a[(yy - cy) ** 2 + (xx - cx) ** 2 < radius**2] = (250, 220, 40)
    return a, (cy, cx)


def test_heatmap_peaks_on_the_object(tmp_path, mobilenet_v2_weights):
    """A classifier that tells 'a yellow disc somewhere' from 'no disc' must look at the disc."""
    rng = np.random.default_rng(0)
    for cls in ("plain", "spot"):
        (tmp_path / "data" / cls).mkdir(parents=True)
        for i in range(20):
            img = _spot_image(rng)[0] if cls == "spot" else rng.integers(60, 120, (224, 224, 3)).astype(np.uint8)
            Image.fromarray(img).save(tmp_path / "data" / cls / f"{i}.png")
    result = train(TrainConfig(str(tmp_path / "data"), epochs=8, weights=str(mobilenet_v2_weights),
                               learning_rate=3e-3, out_dir=str(tmp_path / "run")))
    explainer = GradCamExplainer(load_classifier(result.run_dir))
    yy, xx = np.mgrid[:224, :224]
    for k in range(4):
        img, (cy, cx) = _spot_image(rng)
        Image.fromarray(img).save(tmp_path / f"t{k}.png")
        cam = explainer.explain_file(tmp_path / f"t{k}.png", class_index=1)
        near = (yy - cy) ** 2 + (xx - cx) ** 2 < 40**2
        assert cam.heatmap[near].mean() > 3 * cam.heatmap[~near].mean()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(BACKBONES) - set(SEED_BACKBONES)))
def test_every_backbone_has_a_map_to_explain(name, tmp_path):
    path = tmp_path / "img.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (50, 80, 3), dtype=np.uint8)).save(path)
    explainer = GradCamExplainer(_untrained_classifier(name))
    cam = explainer.explain_file(path, class_index=0)
    assert cam.heatmap.shape == (50, 80) and np.isfinite(cam.heatmap).all()
