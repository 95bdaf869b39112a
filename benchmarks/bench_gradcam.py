"""Two sanity checks of Foveal's heatmaps (core.evaluation.gradcam), on real images with real ImageNet weights.

    python benchmarks/bench_gradcam.py --weights ../shared/weights/mobilenet_v2_1.0_224_imagenet_no_top.h5 \
        [--data ../shared/data/busi ../shared/data/mednist_small] [--size 224] [--train 200] [--test 100]

1. The pointing game (Zhang et al., "Top-down neural attention by excitation backprop", 2016), on a task whose
   answer has a known place: real images (of every class of the dataset) with a small marker (a checkerboard a
   fifth of the image's shorter side) pasted at a random place are class ``marker``, the same images without it
   class ``plain``. A frozen MobileNetV2 with each
   pooling Foveal's recipe can choose (average, max, 2×2 grid) and each head (the linear head fitted directly, the
   dense head trained), built through core.models.build the way core.training.auto_head builds the winner (the
   runner itself always chooses its pooling); the automatic recipe itself (core.training.train) too. A marked test
   image is a hit when the heatmap of ``marker`` peaks on the marker (within 15 input pixels, as in the original
   game; "strict": on it). Target: ≥ 80% hits for every pooling.
2. The model-parameter randomisation test (Adebayo et al., "Sanity checks for saliency maps", 2018): the top
   backbone blocks re-initialised (1, 2, 4 and 8 blocks, the head kept), the maps of the marked test images (the
   first 40) must change: the mean Spearman rank correlation between the trained and the randomised model's maps
   is reported
   (a map that ignores the model, e.g. an edge detector, stays near 1).

The pointing game of Grad-CAM as Foveal computed it before (the class's own logit, its gradient averaged over
the map; drawn as the heatmap is now) is printed beside, for comparison. tests/core/test_gradcam.py runs a small
version of both checks.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: The marker's side as a share of the image's shorter side.
MARKER_SHARE = 0.2
#: The pointing game's tolerance (Zhang et al. 2016), in the model's input pixels.
TOLERANCE = 15
CLASSES = ("marker", "plain")
#: The dense head's training, as a run's defaults (core.training.config.TrainConfig).
DENSE = {"epochs": 10, "learning_rate": 1e-3, "dropout": 0.2, "batch_size": 32}
#: How many marked test images the randomisation test compares maps on.
RANDOMISED = 40


@dataclass(frozen=True)
class Marked:
    """A test image with the marker, and where the marker is: ``(x0, y0, x1, y1)`` in the image's pixels."""

    path: Path
    box: tuple[int, int, int, int]


def paste_marker(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The image (RGB uint8) with a small red-and-yellow checkerboard pasted at a random place, and its box."""
    h, w = image.shape[:2]
    side = max(4, round(MARKER_SHARE * min(h, w)))
    y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    yy, xx = np.mgrid[:side, :side] * 4 // side
    tile = np.where(((yy + xx) % 2 == 0)[..., None], (230, 20, 20), (250, 220, 30)).astype(np.uint8)
    out = image.copy()
    out[y0:y0 + side, x0:x0 + side] = tile
    return out, (x0, y0, x0 + side, y0 + side)


def marker_task(source: str | Path, out: Path, n_train: int, n_test: int, seed: int = 0) -> tuple[Path, list[Marked]]:
    """A dataset folder ``out/data`` made from ``n_train`` real images of ``source`` (any of its classes), each
    once with the marker (class ``marker``) and once without (``plain``), so that nothing but the marker tells the
    classes apart; and ``n_test`` other images with the marker, never trained on, with the marker's boxes."""
    from PIL import Image

    from foveal.core.data.decode import decode_image
    from foveal.core.data.scan import scan_dataset

    rng = np.random.default_rng(seed)
    paths = [r.path for r in scan_dataset(source).images]
    chosen = rng.choice(len(paths), min(len(paths), n_train + n_test), replace=False)
    data = out / "data"
    for folder in (data / "marker", data / "plain", out / "test"):
        folder.mkdir(parents=True, exist_ok=True)
    marked: list[Marked] = []
    for k, i in enumerate(chosen):
        image = decode_image(paths[i])
        pixels, box = paste_marker(image, rng)
        if k < n_train:
            Image.fromarray(pixels).save(data / "marker" / f"{k}.png")
            Image.fromarray(image).save(data / "plain" / f"{k}.png")
        else:
            Image.fromarray(pixels).save(out / "test" / f"{k}.png")
            marked.append(Marked(out / "test" / f"{k}.png", box))
    return data, marked


def classifiers(data: Path, weights: str, size: int, heads: tuple[str, ...] = ("linear",),
                poolings: tuple[str, ...] = ("avg", "max", "grid"), seed: int = 0) -> dict[str, tuple[Any, str]]:
    """``{"avg linear": (Classifier, its recipe in words), …}``: a frozen MobileNetV2 on ``data`` with each pooling
    and head, built as core.training.auto_head builds the automatic recipe's winner: the head's regularisation and
    class weighting chosen by the recipe's cross-validation (core.training.recipe), the head fitted on every image,
    the classifier assembled by core.models.build."""
    from foveal.core.data.decode import decode_image
    from foveal.core.data.scan import scan_dataset
    from foveal.core.models.build import assemble_classifier, build_backbone, build_head
    from foveal.core.models.registry import get_backbone
    from foveal.core.models.saved import Classifier
    from foveal.core.training.auto_head import pooling_columns
    from foveal.core.training.forward import forward_fn
    from foveal.core.training.recipe import choose_recipe, fit_dense, fit_linear

    spec = get_backbone("MobileNetV2")
    backbone = build_backbone(spec, size, weights)
    summary = scan_dataset(data)
    y = np.array([summary.classes.index(r.label) for r in summary.images])
    forward = forward_fn(backbone, spec, size, pooling="+".join(poolings))
    x = np.concatenate([forward(np.stack([decode_image(r.path, size) for r in summary.images[i:i + 32]]))
                        for i in range(0, len(y), 32)])
    columns, dense = pooling_columns("+".join(poolings), spec.feature_dim), DENSE
    out = {}
    for pooling in poolings:
        features = x[:, columns[pooling]]
        ranked = choose_recipe({pooling: features}, y, 2, seed=seed, **dense).candidates
        for head_kind in heads:
            best = next(c for c in ranked if c.head == head_kind)
            fitted = (fit_linear(features, y, 2, best.strength or 1.0, best.balanced) if head_kind == "linear" else
                      fit_dense(features, y, 2, balanced=best.balanced, seed=seed, **dense))
            head = build_head(features.shape[1], len(summary.classes))
            head.get_layer("predictions").set_weights(list(fitted))
            model = assemble_classifier(backbone, head, spec, size, pooling=pooling)
            out[f"{pooling} {head_kind}"] = (Classifier(model, tuple(summary.classes), size, ""), best.describe())
    return out


def is_hit(peak: tuple[int, int] | None, box: tuple[int, int, int, int], tolerance: float = 0.0) -> bool:
    """Whether a peak ``(x, y)`` falls on the box, or within ``tolerance`` pixels of it."""
    if peak is None:
        return False
    x, y = peak
    x0, y0, x1, y1 = box
    return x0 - tolerance <= x < x1 + tolerance and y0 - tolerance <= y < y1 + tolerance


def pointing_game(explain: Any, marked: list[Marked], class_index: int, size: int) -> tuple[float, float]:
    """``(hit rate within the tolerance, strict hit rate)`` of ``explain(path, class_index) -> GradCam``."""
    hits = strict = 0
    for m in marked:
        cam = explain(m.path, class_index)
        h, w = cam.original_size or cam.heatmap.shape
        tolerance = TOLERANCE * max(h, w) / size  # the model sees the image squeezed to size × size
        hits += is_hit(cam.peak(), m.box, tolerance)
        strict += is_hit(cam.peak(), m.box)
    return hits / len(marked), strict / len(marked)


def randomised(classifier: Any, pooling: str, n_blocks: int, seed: int = 1) -> Any:
    """The classifier with the top ``n_blocks`` blocks of its backbone re-initialised (Keras's own initialisers,
    ``seed``), everything below them and the head kept: the cascading randomisation of Adebayo et al."""
    import keras

    from foveal.core.models.build import assemble_classifier, blocks_of, build_backbone, build_head
    from foveal.core.models.registry import get_backbone
    from foveal.core.models.saved import Classifier

    spec = get_backbone("MobileNetV2")
    trained = next(layer for layer in classifier.model.layers if isinstance(layer, keras.Model))
    keras.utils.set_random_seed(seed)
    fresh = build_backbone(spec, classifier.image_size, None)
    start = blocks_of(fresh, spec)[-n_blocks].first
    for i, layer in enumerate(fresh.layers[:start]):
        layer.set_weights(trained.layers[i].get_weights())
    dense = classifier.model.get_layer("predictions")
    head = build_head(int(dense.kernel.shape[0]), len(classifier.classes))
    head.get_layer("predictions").set_weights(dense.get_weights())
    model = assemble_classifier(fresh, head, spec, classifier.image_size, pooling=pooling)
    return Classifier(model, classifier.classes, classifier.image_size, "")


def rank_correlation(explain_a: Any, explain_b: Any, marked: list[Marked], class_index: int) -> float:
    """The mean Spearman rank correlation between two explainers' heatmaps of the same images."""
    from scipy.stats import spearmanr

    rhos = []
    for m in marked:
        a, b = explain_a(m.path, class_index).heatmap, explain_b(m.path, class_index).heatmap
        rho = spearmanr(a.ravel(), b.ravel()).statistic if a.std() > 0 and b.std() > 0 else 0.0
        rhos.append(float(rho))
    return float(np.mean(rhos))


def gradcam_before(explainer: Any) -> Any:
    """Grad-CAM as Foveal computed it before (the class's own logit, its gradient averaged over the map), with
    explain_file's signature, for comparison."""
    import tensorflow as tf

    from foveal.core.data.decode import decode_image
    from foveal.core.data.resize import resize_float
    from foveal.core.evaluation.gradcam import GradCam, upsample

    def explain(path: Path, c: int) -> GradCam:
        full = decode_image(path)
        x = tf.convert_to_tensor(resize_float(full, explainer.classifier.image_size)[None])
        with tf.GradientTape() as tape:
            for layer in explainer.before:
                x = layer(x)
            conv, h = explainer.grad_model(x, training=False)
            for layer in explainer.pooling:
                h = layer(h, training=False)
            logits = tf.matmul(h, explainer.dense.kernel) + explainer.dense.bias
            score = logits[0, c]
        grads = tape.gradient(score, conv)[0].numpy()
        cam = np.maximum((conv[0].numpy() * grads.mean(axis=(0, 1))).sum(axis=-1), 0.0)
        cam = cam / cam.max() if cam.max() > 0 else cam
        probs = tf.nn.softmax(logits)[0].numpy()
        return GradCam(upsample(cam, full.shape[:2]), full, c, probs, explainer.layer, full.shape[:2])

    return explain


def _auto_run(data: Path, weights: str, size: int, out: Path) -> tuple[Any, str]:
    """Foveal's own run (the automatic recipe) on the marker task: its classifier and the recipe it chose."""
    from foveal.core.models.saved import load_classifier
    from foveal.core.training import TrainConfig, train

    result = train(TrainConfig(str(data), weights=weights, image_size=size, out_dir=str(out / "run")))
    clf = load_classifier(result.run_dir)
    recipe = clf.run.recipe if clf.run is not None else None
    if recipe is None or not recipe.candidates:
        return clf, "?"
    return clf, recipe.candidates[0].description


def map_correlations(a: Any, b: Any, marked: list[Marked], class_index: int) -> tuple[float, float]:
    """Mean Spearman rank correlations between two explainers' maps of the same images: of the heatmaps shown, and
    of the signed shares they come from (positions with evidence against the class included)."""
    from scipy.stats import spearmanr

    from foveal.core.data.decode import decode_image
    from foveal.core.data.resize import resize_float

    signed = []
    for m in marked:
        image = resize_float(decode_image(m.path), a.classifier.image_size)
        pair = [e.evidence(image, class_index).per_window.ravel() for e in (a, b)]
        signed.append(float(spearmanr(*pair).statistic) if min(p.std() for p in pair) > 0 else 0.0)
    return rank_correlation(a.explain_file, b.explain_file, marked, class_index), float(np.mean(signed))


def _report(name: str, clf: Any, marked: list[Marked], size: int, pooling: str | None) -> None:
    """One classifier's line: hits now and with Grad-CAM as before; the randomisation test's correlations."""
    from foveal.core.evaluation.gradcam import GradCamExplainer

    explainer = GradCamExplainer(clf)
    c = clf.classes.index("marker")
    t0 = time.monotonic()
    hit, strict = pointing_game(explainer.explain_file, marked, c, size)
    per_image = (time.monotonic() - t0) / len(marked)
    old, old_strict = pointing_game(gradcam_before(explainer), marked, c, size)
    print(f"  {name}\n      hits {hit:6.1%} (strict {strict:6.1%}; {per_image * 1000:4.0f} ms/image); Grad-CAM as "
          f"before: {old:6.1%} (strict {old_strict:6.1%})", flush=True)
    if pooling is not None:
        pairs = [map_correlations(explainer, GradCamExplainer(randomised(clf, pooling, n)), marked[:RANDOMISED], c)
                 for n in (1, 2, 4, 8)]
        shown, signed = (" / ".join(f"{pair[k]:+.2f}" for pair in pairs) for k in (0, 1))
        print(f"      rank correlation with the top 1/2/4/8 blocks re-initialised: heatmaps {shown}, signed maps "
              f"{signed}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", required=True, help="MobileNetV2 ImageNet weights without top (.h5)")
    parser.add_argument("--data", nargs="+", default=[str(ROOT.parent / "shared/data/busi"),
                                                      str(ROOT.parent / "shared/data/mednist_small")])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--train", type=int, default=200, help="training images per class")
    parser.add_argument("--test", type=int, default=100, help="marked test images")
    parser.add_argument("--no-auto", action="store_true", help="skip Foveal's own run with the automatic recipe")
    args = parser.parse_args()
    for source in args.data:
        with tempfile.TemporaryDirectory(prefix="foveal-bench-gradcam-") as tmp:
            data, marked = marker_task(source, Path(tmp), args.train, args.test)
            print(f"{source}: {args.train} images each with and without the marker, {len(marked)} marked test "
                  f"images, {args.size} px; a hit: the peak within {TOLERANCE} input px of the marker (strict: on it). "
                  "Grad-CAM as before explained the class's own logit: a fitted two-class linear head's first class "
                  "(here 'marker') has none, and its map was blank", flush=True)
            for name, (clf, recipe) in classifiers(data, args.weights, args.size, ("linear", "dense")).items():
                _report(recipe, clf, marked, args.size, name.split()[0])
            if not args.no_auto:
                clf, recipe = _auto_run(data, args.weights, args.size, Path(tmp))
                _report(f"auto ({recipe})", clf, marked, args.size, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
