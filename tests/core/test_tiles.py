"""Overlapping tiles at full resolution: the tiles' geometry, the extraction's features equal to a saved model's, a
classifier that reads tiles in its own graph (saved, reloaded in safe mode, predicting images of any size, exported
in every format with the export's check passing) and its Grad-CAM assembled from the tiles' maps."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from foveal.core.evaluation.gradcam import GradCamExplainer
from foveal.core.export.export import export_model
from foveal.core.models.build import assemble_classifier, build_backbone, build_head
from foveal.core.models.predict import ImageFile, feature_layer_output, predict_files
from foveal.core.models.registry import get_backbone
from foveal.core.models.saved import Classifier, load_classifier
from foveal.core.models.tiles import (
    TILE_GRIDS,
    canvas_size,
    check_tiles,
    describe,
    n_tiles,
    tile_boxes,
    tile_features,
    tiles_of,
)
from tests.core.test_orientation import _images
from tests.core.test_run_record import _older_run
from tests.factory import MOBILENET_V2_WEIGHTS

SIZE = 32
CANVAS = 2 * SIZE
CLASSES = ("a", "b", "c")


def _backbone(size: int):
    if not MOBILENET_V2_WEIGHTS.exists():
        pytest.skip(f"real ImageNet weights not found at {MOBILENET_V2_WEIGHTS} (shared/weights/README.md)")
    spec = get_backbone("MobileNetV2")
    backbone = build_backbone(spec, size, str(MOBILENET_V2_WEIGHTS))
    backbone.trainable = False
    return spec, backbone


@pytest.fixture(scope="module")
def parts():
    """A real MobileNetV2 (ImageNet weights) at 32 px and a head on twice its width with random weights."""
    spec, backbone = _backbone(SIZE)
    head = build_head(2 * spec.feature_dim, len(CLASSES))
    kernel, bias = head.get_layer("predictions").get_weights()
    head.get_layer("predictions").set_weights([kernel * 20, bias])  # answers that differ from image to image
    return spec, backbone, head


@pytest.fixture(scope="module")
def large():
    """MobileNetV2 at 128 px, whose last map (4×4, the one the head pools) can show where something is."""
    return _backbone(128)


@pytest.fixture(scope="module")
def tiled(parts):
    spec, backbone, head = parts
    return assemble_classifier(backbone, head, spec, SIZE, tiles=2)


@pytest.fixture(scope="module")
def saved(tiled, tmp_path_factory):
    """The tiled classifier saved with its labels, and a folder of odd-sized real-looking images."""
    folder = tmp_path_factory.mktemp("tiled")
    tiled.save(folder / "model.keras")
    (folder / "labels.txt").write_text("\n".join(CLASSES) + "\n")
    images = folder.parent / f"{folder.name}_images"
    images.mkdir()
    for i, img in enumerate(_images(4, 90, seed=3)):
        Image.fromarray(img[: 90 - 7 * i, : 77 + 5 * i]).save(images / f"{i}.png")  # neither square nor the canvas
    return folder, images


@pytest.mark.parametrize("grid", [2, 3])
def test_tiles_cover_the_canvas_at_half_a_tile_apart(grid):
    size = 8
    side = canvas_size(size, grid)
    boxes = tile_boxes(size, grid)
    assert side == grid * size and len(boxes) == n_tiles(grid) == (2 * grid - 1) ** 2
    seen = np.zeros((side, side), int)
    for top, left in boxes:
        assert 0 <= top <= side - size and 0 <= left <= side - size
        seen[top:top + size, left:left + size] += 1
    assert seen.min() >= 1 and seen.max() == 4  # everywhere read; inside, by the four tiles that overlap there
    assert sorted({t for t, _ in boxes}) == list(range(0, side - size + 1, size // 2))
    assert boxes == sorted(boxes)  # row by row


def test_grids_other_than_none_and_two_are_refused(parts):
    assert TILE_GRIDS == (0, 2) and check_tiles(2) == 2 and n_tiles(0) == 1 and canvas_size(224, 0) == 224
    assert canvas_size(224, 2) == 448 and tile_boxes(224, 2)[:3] == [(0, 0), (0, 112), (0, 224)]
    assert describe(2, 224) == "tiles of 224 px at full resolution" and describe(0, 224) == "the whole image at once"
    with pytest.raises(ValueError, match="0 .* or 2"):
        check_tiles(3)
    spec, backbone, head = parts
    with pytest.raises(ValueError, match="not both"):
        assemble_classifier(backbone, head, spec, SIZE, tiles=2, orientations=8)
    with pytest.raises(ValueError, match="0 .* or 2"):
        assemble_classifier(backbone, head, spec, SIZE, tiles=1)


def test_tile_features_equal_the_classifiers_features(parts, tiled):
    import keras

    from foveal.core.training.forward import forward_fn

    spec, backbone, _ = parts
    canvases = _images(3, CANVAS, seed=1)
    forward = forward_fn(backbone, spec, SIZE)
    ours = tile_features(forward, canvases, SIZE)
    assert ours.shape == (3, 2 * spec.feature_dim) and ours.dtype == np.float32
    in_model = keras.Model(tiled.input, feature_layer_output(tiled))(canvases.astype(np.float32), training=False)
    np.testing.assert_allclose(ours, np.asarray(in_model), rtol=1e-4, atol=1e-4)
    # the mean of the tiles' features, then their maximum: not the whole canvas, and not two copies of one number
    top_left = forward(np.ascontiguousarray(canvases[:, :SIZE, :SIZE]))
    assert np.all(ours[:, spec.feature_dim:] >= top_left - 1e-5)
    assert np.abs(ours[:, spec.feature_dim:] - ours[:, :spec.feature_dim]).max() > 0.01
    with pytest.raises(ValueError, match="whole number of tiles"):
        tile_features(forward, canvases[:, :40, :40], SIZE)


def test_saved_tiled_classifier_reloads_in_safe_mode_and_predicts_the_same(tiled, saved):
    import keras

    folder, images = saved
    plain = keras.saving.load_model(folder / "model.keras", safe_mode=True, compile=False)
    assert tiles_of(plain) == 2 and tiles_of(tiled) == 2
    clf = load_classifier(folder / "model.keras")
    assert clf.tiles == 2 and clf.image_size == CANVAS and clf.orientations == 1
    files = [ImageFile(str(p), p.name) for p in sorted(images.iterdir())]
    ours = predict_files(clf, files)
    assert ours.probs.shape == (4, 3) and not ours.failed
    again = predict_files(Classifier(tiled, CLASSES, CANVAS, ""), files)
    np.testing.assert_allclose(ours.probs, again.probs, atol=1e-6)
    assert np.abs(ours.probs - ours.probs[0]).max() > 1e-3  # the answers depend on the image


def test_run_json_may_say_tiles_and_must_agree_with_the_model(saved, tmp_path):
    from foveal.core.errors import ModelFileError, RunFolderError
    from foveal.core.run_record import RunRecord

    data = _older_run(tmp_path)
    assert RunRecord.from_dict(data).tiles == 0 and RunRecord.from_dict({**data, "tiles": 2}).tiles == 2
    for wrong, words in [(3, "'tiles' is 3, not 0 or 2"), ("2", "'tiles' should be a whole number")]:
        with pytest.raises(RunFolderError, match=words):
            RunRecord.from_dict({**data, "tiles": wrong})
    with pytest.raises(RunFolderError, match="not both"):
        RunRecord.from_dict({**data, "tiles": 2, "orientations": 8})
    # a run.json that says the model reads the whole image, beside one that reads tiles, is refused
    from foveal.core.models.saved import _tiles

    model = load_classifier(saved[0] / "model.keras").model
    with pytest.raises(ModelFileError, match="reads the whole image at once, but model.keras reads tiles of"):
        _tiles(model, saved[0] / "model.keras", RunRecord.from_dict({**data, "tiles": 0}))
    assert _tiles(model, saved[0] / "model.keras", RunRecord.from_dict(data)) == 2  # not said: the model's own


# Every format with `pytest -m slow` (half a minute to a minute each on 2 cores); tests/core/test_orientation.py
# checks the TFLite export of a model with a nested averaging part in every run.
@pytest.mark.slow
@pytest.mark.parametrize(("fmt", "precision"), [("keras", "float32"), ("savedmodel", "float32"),
                                                ("tflite", "float32"), ("onnx", "float32")])
def test_every_export_of_a_tiled_classifier_passes_its_check(saved, tmp_path, fmt, precision):
    folder, images = saved
    result = export_model(folder / "model.keras", fmt, tmp_path / fmt, tflite_type=precision,
                          check_images=[str(images)])
    assert result.passed and result.top1_agreement == 1.0 and result.n_images == 4, result.summary()
    assert result.max_abs_diff < 1e-3


def _picture(rng, side: int, spot: tuple[int, int] | None, radius: int) -> np.ndarray:
    """Grey noise, with a small yellow disc centred at ``spot`` when one is given."""
    a = rng.integers(60, 120, (side, side, 3)).astype(np.uint8)
    if spot is not None:
        yy, xx = np.mgrid[:side, :side]
        a[(yy - spot[0]) ** 2 + (xx - spot[1]) ** 2 < radius**2] = (250, 220, 40)
    return a


def test_gradcam_of_a_tiled_classifier_peaks_on_a_small_object_in_a_corner(large, tmp_path):
    """A head fitted on tile features to tell 'a small yellow disc somewhere' from 'none' must look at the disc,
    found in the map assembled from the tiles' maps, on an image four times the tile's side."""
    from sklearn.linear_model import LogisticRegression

    from foveal.core.data.resize import resize_float
    from foveal.core.training.forward import forward_fn

    (spec, backbone), size, side, radius = large, 128, 512, 16
    rng = np.random.default_rng(0)
    pictures, labels = [], []
    for i in range(32):
        spot = tuple(int(v) for v in rng.integers(radius, side - radius, 2)) if i % 2 else None
        pictures.append(resize_float(_picture(rng, side, spot, radius), 2 * size).round().astype(np.uint8))
        labels.append(i % 2)
    features = tile_features(forward_fn(backbone, spec, size), np.stack(pictures), size)
    fit = LogisticRegression(C=1.0, max_iter=500).fit(features, labels)
    head = build_head(features.shape[1], 2)
    head.get_layer("predictions").set_weights([np.stack([np.zeros_like(fit.coef_[0]), fit.coef_[0]], 1),
                                               np.array([0.0, fit.intercept_[0]], np.float32)])
    clf = Classifier(assemble_classifier(backbone, head, spec, size, tiles=2), ("plain", "spot"), 2 * size, "")
    explainer = GradCamExplainer(clf)
    assert explainer.tiles == 2 and explainer.versions == 9
    yy, xx = np.mgrid[:side, :side]
    for k, spot in enumerate([(30, 34), (478, 470)]):
        path = tmp_path / f"corner{k}.png"
        Image.fromarray(_picture(rng, side, spot, radius)).save(path)
        cam = explainer.explain_file(path, class_index=1)
        assert cam.heatmap.shape == (side, side) and cam.probs[1] > 0.5
        near = (yy - spot[0]) ** 2 + (xx - spot[1]) ** 2 < (3 * radius) ** 2
        assert cam.heatmap[near].mean() > 3 * cam.heatmap[~near].mean()
        x, y = cam.peak()  # within the map's resolution: the canvas holds 8×8 cells (4×4 per tile, half overlapping)
        assert np.hypot(y - spot[0], x - spot[1]) < 1.5 * side / 8


def test_tiled_evidence_adds_up_to_the_score(large):
    """With the map the head pools (MobileNetV2's last, 4×4 at 128 px), each canvas cell's share is exact: the
    assembled map sums to the class's score less the head's bias, the maximum over the tiles included."""
    (spec, backbone), size = large, 128
    rng = np.random.default_rng(3)
    head = build_head(2 * spec.feature_dim, 3)
    head.get_layer("predictions").set_weights([rng.normal(0, 0.05, (2 * spec.feature_dim, 3)).astype(np.float32),
                                               np.array([0.3, -0.2, 0.1], np.float32)])
    model = assemble_classifier(backbone, head, spec, size, tiles=2)
    explainer = GradCamExplainer(Classifier(model, CLASSES, 2 * size, ""))
    image = _images(1, 2 * size, seed=4)[0].astype(np.float32)
    logits = np.log(model(image[None]).numpy()[0])
    ev = explainer.evidence(image, 2)
    assert explainer.layer == "out_relu" and ev.shares.shape == ev.coverage.shape == (8, 8)
    assert ev.score == pytest.approx(logits[2] - np.delete(logits, 2).mean(), abs=1e-3)
    assert ev.shares.sum() + ev.bias == pytest.approx(ev.score, abs=1e-3)
    np.testing.assert_allclose(ev.coverage[[0, 0, 3], [0, 3, 3]], [1, 2, 4])  # tiles reading each cell
