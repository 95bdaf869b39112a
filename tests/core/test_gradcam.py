"""Heatmaps: the right layer in every seed backbone, the original image's size, a peak on the object; each position's
exact share of the score for every pooling and head; and two sanity checks on real images (the pointing game on a
pasted marker, the model-parameter randomisation test), small versions of benchmarks/bench_gradcam.py."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from benchmarks import bench_gradcam as checks
from foveal.core.evaluation.gradcam import GradCamExplainer, readable, upsample, with_legend
from foveal.core.models.build import POOLINGS, assemble_classifier, build_backbone, build_head, pooling_width
from foveal.core.models.registry import BACKBONES, get_backbone
from foveal.core.models.saved import Classifier, load_classifier
from foveal.core.training import TrainConfig, train
from tests.factory import MOBILENET_V2_WEIGHTS, SHARED

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


def _classifier(pooling: str, kernel: np.ndarray, bias: np.ndarray, size: int = 128) -> Classifier:
    """MobileNetV2 (real weights: random ones pass almost nothing on through 50 layers) with ``pooling`` and a head
    whose dense layer is ``kernel``, ``bias``."""
    if not MOBILENET_V2_WEIGHTS.exists():
        pytest.skip(f"real ImageNet weights not found at {MOBILENET_V2_WEIGHTS} (shared/weights/README.md)")
    spec = get_backbone("MobileNetV2")
    head = build_head(pooling_width(pooling, spec.feature_dim), kernel.shape[1])
    head.get_layer("predictions").set_weights([kernel, bias])
    backbone = build_backbone(spec, size, str(MOBILENET_V2_WEIGHTS))
    model = assemble_classifier(backbone, head, spec, size, pooling=pooling)
    return Classifier(model, tuple("abc"[: kernel.shape[1]]), size, "")


@pytest.mark.parametrize("pooling", POOLINGS)
def test_shares_add_up_to_the_score_for_every_pooling(pooling):
    """Each position's share is exact: the map sums to the class's logit less the others' mean, less the bias."""
    rng = np.random.default_rng(3)
    width = pooling_width(pooling, 1280)
    clf = _classifier(pooling, rng.normal(0, 0.05, (width, 3)).astype(np.float32), np.array([0.3, -0.2, 0.1], "f"))
    explainer = GradCamExplainer(clf)
    image = rng.uniform(0, 255, (128, 128, 3)).astype(np.float32)
    logits = np.log(clf.model(image[None]).numpy()[0])  # the softmax's logits, up to a constant
    for c in range(3):
        ev = explainer.evidence(image, c)
        assert ev.score == pytest.approx(logits[c] - np.delete(logits, c).mean(), abs=1e-3)
        assert ev.shares.sum() + ev.bias == pytest.approx(ev.score, abs=1e-3)
        assert ev.shares.shape == (4, 4) and explainer.layer == "out_relu"
        if pooling != "grid":  # global pooling reads every position once
            np.testing.assert_array_equal(ev.coverage, np.ones((4, 4)))
    cells = np.abs(explainer.evidence(image, 0).shares) > 1e-9
    assert cells.sum() >= 2  # the map says where: not one number spread evenly
    assert explainer.evidence(image).class_index == int(np.argmax(logits))


def test_a_two_class_linear_head_explains_both_classes_as_opposites():
    """The tester's run: a fitted two-class linear head keeps its weights in one column, so class 0's own logit
    is constant and its map was blank; explained relative to the other class, the two maps are opposites."""
    rng = np.random.default_rng(4)
    kernel = np.zeros((1280, 2), np.float32)
    kernel[:, 1] = rng.normal(0, 0.05, 1280)
    explainer = GradCamExplainer(_classifier("max", kernel, np.array([0.0, -0.4], "f")))
    image = rng.uniform(0, 255, (128, 128, 3)).astype(np.float32)
    zero, one = explainer.evidence(image, 0), explainer.evidence(image, 1)
    np.testing.assert_allclose(zero.shares, -one.shares, atol=1e-6)
    assert np.abs(zero.shares).max() > 1e-3
    cam, probs, c = explainer.heatmap(image)  # the predicted class
    assert c == int(np.argmax(probs)) and cam.max() == pytest.approx(1.0)


def test_grid_cells_that_overlap_count_once_in_the_heatmap():
    """A 7×7 map pooled as a 2×2 grid counts its middle row and column twice (the centre four times): the heatmap
    shows each position's share per cell that reads it, so the overlap does not draw the peak to the middle."""
    clf = _classifier("grid", np.full((4 * 1280, 2), 0.01, np.float32), np.zeros(2, np.float32), size=224)
    coverage = GradCamExplainer(clf).coverage
    assert coverage.shape == (7, 7) and coverage.mean() == pytest.approx(1.0)
    assert coverage[3, 3] == pytest.approx(4 * coverage[0, 0]) and coverage[0, 3] == pytest.approx(2 * coverage[0, 0])
    assert coverage[6, 6] == pytest.approx(coverage[0, 0])


@settings(max_examples=60, deadline=None)
@given(cells=st.tuples(st.integers(1, 9), st.integers(1, 9)), shown=st.tuples(st.integers(8, 300), st.integers(8, 300)),
       seed=st.integers(0, 2**32 - 1), sparse=st.floats(0.0, 0.95))
def test_smoothing_never_moves_the_peak(cells, shown, seed, sparse):
    """A sparse map (max pooling) is widened to stay visible; where it peaks, and how high, do not change."""
    rng = np.random.default_rng(seed)
    cam = rng.random(cells).astype(np.float32) * (rng.random(cells) >= sparse)
    cam = cam / cam.max() if cam.max() > 0 else cam
    up = upsample(cam, shown)
    smooth = readable(up, cells)
    assert smooth.shape == up.shape and (smooth >= up).all() and smooth.max() == up.max()
    assert np.argmax(smooth) == np.argmax(up)


@pytest.fixture(scope="module")
def marker_task(tmp_path_factory):
    """A frozen MobileNetV2 (real ImageNet weights) with each pooling and a fitted linear head, on 60 real MedNIST
    images each with and without a pasted marker, and 30 other marked images to test on."""
    source = SHARED / "data" / "mednist_small"
    if not MOBILENET_V2_WEIGHTS.exists() or not source.is_dir():
        pytest.skip(f"real weights or images not found under {SHARED} (shared/weights, shared/data)")
    data, marked = checks.marker_task(source, tmp_path_factory.mktemp("marker"), 60, 30)
    return checks.classifiers(data, str(MOBILENET_V2_WEIGHTS), 224), marked


@pytest.mark.parametrize("pooling", POOLINGS)
def test_heatmap_points_at_a_pasted_marker_for_every_pooling(marker_task, pooling):
    """The pointing game: the heatmap of 'marker' peaks on the marker (within 15 input pixels) in ≥ 80% of the
    marked test images (measured: 90% for each pooling)."""
    classifiers, marked = marker_task
    clf = classifiers[f"{pooling} linear"][0]
    hits, _strict = checks.pointing_game(GradCamExplainer(clf).explain_file, marked, clf.classes.index("marker"), 224)
    assert hits >= 0.8


@pytest.mark.parametrize(("pooling", "measured"), [("avg", 0.09), ("max", 0.23), ("grid", 0.17)])
def test_heatmaps_change_when_the_top_of_the_backbone_is_reinitialised(marker_task, pooling, measured):
    """Adebayo et al.'s randomisation test: with the top two blocks re-initialised (the head kept) the maps must
    change. The mean Spearman rank correlation with the trained model's maps is ``measured`` on these images; a map
    that ignores the model (an edge detector) stays near 1."""
    classifiers, marked = marker_task
    clf = classifiers[f"{pooling} linear"][0]
    trained = GradCamExplainer(clf).explain_file
    randomised = GradCamExplainer(checks.randomised(clf, pooling, 2)).explain_file
    assert checks.rank_correlation(trained, randomised, marked[:15], clf.classes.index("marker")) < measured + 0.15
