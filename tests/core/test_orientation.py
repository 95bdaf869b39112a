"""Averaging over an image's 8 orientations: features that do not change when the image is turned or mirrored, the
one-pass extraction of plain and averaged features, a classifier that averages in its own graph (saved, reloaded in
safe mode, exported in every format with the export's check passing) and its Grad-CAM turning with the image."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from foveal.core.evaluation.gradcam import GradCamExplainer
from foveal.core.export.export import export_model
from foveal.core.models.build import assemble_classifier, build_backbone, build_head
from foveal.core.models.orientation import (
    check_orientations,
    orientations_of,
    plain_and_averaged,
    stack_versions,
    turn,
    unturn,
)
from foveal.core.models.predict import ImageFile, feature_layer_output, predict_files
from foveal.core.models.registry import get_backbone
from foveal.core.models.saved import Classifier, load_classifier
from tests.factory import MOBILENET_V2_WEIGHTS

SIZE = 32
CLASSES = ("a", "b", "c")


def _images(n: int = 3, size: int = SIZE, seed: int = 0) -> np.ndarray:
    """Real-looking structure (smooth blobs, no symmetry) as uint8 images."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size
    out = []
    for _ in range(n):
        c = rng.uniform(0.2, 0.8, (3, 2))
        img = np.stack([np.exp(-((yy - cy) ** 2 + (xx - 1.3 * cx) ** 2) * 20) for cy, cx in c], -1)
        out.append(img * 200 + rng.uniform(0, 55, (size, size, 3)))
    return np.clip(out, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def parts():
    """A real MobileNetV2 (ImageNet weights) at 32 px and a head with random weights."""
    if not MOBILENET_V2_WEIGHTS.exists():
        pytest.skip(f"real ImageNet weights not found at {MOBILENET_V2_WEIGHTS} (shared/weights/README.md)")
    spec = get_backbone("MobileNetV2")
    backbone = build_backbone(spec, SIZE, str(MOBILENET_V2_WEIGHTS))
    backbone.trainable = False
    head = build_head(spec.feature_dim, len(CLASSES))
    kernel, bias = head.get_layer("predictions").get_weights()
    head.get_layer("predictions").set_weights([kernel * 20, bias])  # answers that differ from image to image
    return spec, backbone, head


@pytest.fixture(scope="module")
def averaged(parts):
    spec, backbone, head = parts
    return assemble_classifier(backbone, head, spec, SIZE, orientations=8)


@pytest.fixture(scope="module")
def saved(averaged, tmp_path_factory):
    """The averaged classifier saved with its labels, and a folder of odd-sized real-looking images."""
    folder = tmp_path_factory.mktemp("averaged")
    averaged.save(folder / "model.keras")
    (folder / "labels.txt").write_text("\n".join(CLASSES) + "\n")
    images = folder.parent / f"{folder.name}_images"
    images.mkdir()
    for i, img in enumerate(_images(4, 40, seed=3)):
        Image.fromarray(img[:, : 40 - 4 * i]).save(images / f"{i}.png")  # neither square nor the model's size
    return folder, images


def test_the_eight_versions_are_distinct_and_turn_back():
    img = np.arange(4 * 4 * 2).reshape(4, 4, 2)
    versions = [turn(img, k) for k in range(8)]
    assert len({v.tobytes() for v in versions}) == 8
    assert all(np.array_equal(unturn(v, k), img) for k, v in enumerate(versions))
    # the set of versions of any version is the same set: turning the image only reorders them
    assert {turn(versions[3], k).tobytes() for k in range(8)} == {v.tobytes() for v in versions}
    assert np.array_equal(turn(img, 2), np.rot90(img, -1)) or np.array_equal(turn(img, 2), np.rot90(img, 1))
    with pytest.raises(ValueError, match="1 .* or 8"):
        check_orientations(4)


def test_averaged_features_do_not_change_when_the_image_is_turned_or_mirrored(parts, averaged):
    import keras

    features = keras.Model(averaged.input, feature_layer_output(averaged))
    x = _images().astype(np.float32)
    reference = np.asarray(features(x, training=False))
    for k in range(1, 8):
        turned = np.asarray(features(np.ascontiguousarray(turn(x, k, (1, 2))), training=False))
        np.testing.assert_allclose(turned, reference, atol=1e-4 * np.abs(reference).max())
    plain = assemble_classifier(parts[1], parts[2], parts[0], SIZE)
    plain_features = keras.Model(plain.input, feature_layer_output(plain))
    assert np.abs(np.asarray(plain_features(turn(x, 1, (1, 2)).copy())) - np.asarray(plain_features(x))).max() > 0.01


def test_one_pass_gives_the_plain_and_the_averaged_features(parts, averaged):
    import keras

    from foveal.core.training.forward import forward_fn

    spec, backbone, _ = parts
    images = _images(5)
    plain, mean = plain_and_averaged(forward_fn(backbone, spec, SIZE), images)
    alone = forward_fn(backbone, spec, SIZE)(images)
    np.testing.assert_allclose(plain, alone, rtol=1e-5, atol=1e-5)
    in_model = keras.Model(averaged.input, feature_layer_output(averaged))(images.astype(np.float32), training=False)
    np.testing.assert_allclose(mean, np.asarray(in_model), rtol=1e-4, atol=1e-4)
    assert np.abs(mean - plain).max() > 0.01  # the average is not the plain features
    assert stack_versions(images).shape == (40, SIZE, SIZE, 3)


def test_saved_averaged_classifier_reloads_in_safe_mode_and_predicts_the_same(averaged, saved):
    folder, images = saved
    clf = load_classifier(folder / "model.keras")
    assert clf.orientations == 8 and orientations_of(averaged) == 8 and clf.image_size == SIZE
    files = [ImageFile(str(p), p.name) for p in sorted(images.iterdir())]
    ours = predict_files(clf, files)
    again = predict_files(Classifier(averaged, CLASSES, SIZE, ""), files)
    np.testing.assert_allclose(ours.probs, again.probs, atol=1e-6)
    # and a turned copy of each file gets the same answer
    turned = images.parent / f"{images.name}_turned"
    turned.mkdir(exist_ok=True)
    for k, f in enumerate(files):
        with Image.open(f.path) as im:
            Image.fromarray(turn(np.asarray(im), 1 + k)).save(turned / f.rel)
    other = predict_files(clf, [ImageFile(str(turned / f.rel), f.rel) for f in files])
    np.testing.assert_allclose(other.probs, ours.probs, atol=1e-4)


# TFLite in every run (its converter is the likeliest to change an in-graph average); the other formats, a minute
# each on 2 cores, with `pytest -m slow`.
@pytest.mark.parametrize(("fmt", "precision"), [
    pytest.param("keras", "float32", marks=pytest.mark.slow),
    pytest.param("savedmodel", "float32", marks=pytest.mark.slow), ("tflite", "float32"),
    pytest.param("onnx", "float32", marks=pytest.mark.slow)])
def test_every_export_of_an_averaged_classifier_passes_its_check(saved, tmp_path, fmt, precision):
    folder, images = saved
    result = export_model(folder / "model.keras", fmt, tmp_path / fmt, tflite_type=precision,
                          check_images=[str(images)])
    assert result.passed and result.top1_agreement == 1.0 and result.n_images == 4, result.summary()
    assert result.max_abs_diff < 1e-3


def test_the_check_fails_an_export_that_does_not_average(saved, tmp_path, monkeypatch):
    """An export of the same weights without the averaging answers like Foveal on most images as they lie, at best;
    on turned images it cannot: the check must see that."""
    from foveal.core.export import writers

    folder, images = saved
    clf = load_classifier(folder / "model.keras")
    version0 = clf.model.get_layer("orientations")

    def plain_only(classifier, path, **_):
        import keras

        from foveal.core.models.orientation import MEAN

        inner = version0.get_layer(MEAN).input[0]  # the branch of the image as it lies
        first = keras.Model(version0.input, inner)
        x = clf.model.get_layer("preprocess")(clf.model.get_layer("resize")(clf.model.input))
        out = clf.model.get_layer("predictions")(first(x, training=False))
        keras.Model(clf.model.input, out).save(path)

    monkeypatch.setitem(writers.WRITERS, "keras", plain_only)
    result = export_model(clf, "keras", tmp_path / "plain", check_images=[str(images)])
    assert not result.passed and result.max_abs_diff > 1e-3


def test_gradcam_of_an_averaged_model_turns_with_the_image(averaged):
    explainer = GradCamExplainer(Classifier(averaged, CLASSES, SIZE, ""))
    assert explainer.versions == 8
    x = _images(1, seed=5)[0].astype(np.float32)
    ev = explainer.evidence(x, 0)
    probs = np.asarray(averaged(x[None], training=False))[0]
    np.testing.assert_allclose(ev.probs, probs, atol=1e-5)
    cam, _, _ = explainer.heatmap(x, 0)
    assert cam.max() == pytest.approx(1.0)
    for k in range(1, 8):
        turned_cam, _, _ = explainer.heatmap(np.ascontiguousarray(turn(x, k)), 0)
        np.testing.assert_allclose(turned_cam, turn(cam, k), atol=1e-3)
    # the map is the versions' maps turned back: not simply version 0's (which would not turn with the image)
    assert not np.allclose(cam, np.rot90(cam), atol=1e-3)
