"""How long the automatic recipe takes to choose the head, against the feature extraction it follows, at 500, 4,000
and 50,000 training and validation images.

    python benchmarks/bench_head_choice.py --weights ../shared/weights/mobilenet_v2_1.0_224_imagenet_no_top.h5

- Extraction: MobileNetV2 at 224 px with the three poolings a run extracts (average, max, 2×2 grid: 7,680 numbers
  per image), timed on ``--sample`` real BUSI images (``--data``), after the first batch; its time per image
  times N is the extraction time at N images (extraction grows linearly with the images: one decode and one
  forward pass each).
- Head choice: what ``core.training.auto_head.choose_head`` does after the extraction of a frozen run: every
  candidate scored (``core.training.recipe.choose_recipe``), then the winner fitted on all images with its
  out-of-fold answers (``fit_on_all``). At 500 images on the real BUSI features; at 4,000 and 50,000 on
  synthetic features of the same widths (three classes, 60/25/15%, overlapping blobs in the non-negative range
  of real features, differing in 2% of them): the timing of the head choice alone, which depends on the number
  and width of the features, not on what the pictures show.

Both with one CPU thread each (TensorFlow's and the BLAS's), as on a shared machine. Prints seconds and the ratio
head choice / extraction; ``--json FILE`` saves them. ``--sizes 500,4000`` leaves out the 50,000 (minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
              "TF_NUM_INTEROP_THREADS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402  (after the thread settings)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WIDTHS = {"avg": 1280, "max": 1280, "grid": 5120}


def real_features(data: str, weights: str, n: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray, float]:
    """Features of ``n`` images of ``data`` (a stratified sample) and the extraction's seconds per image."""
    from foveal.core.data.scan import scan_dataset
    from foveal.core.models.build import build_backbone
    from foveal.core.models.registry import get_backbone
    from foveal.core.training.auto_head import pooling_columns
    from foveal.core.training.features import DECODE_BATCH, extract_features
    from foveal.core.training.forward import forward_fn

    summary = scan_dataset(data)
    rng = np.random.default_rng(seed)
    records = [summary.images[i] for i in sorted(rng.choice(len(summary.images), n, replace=False))]
    index = {c: i for i, c in enumerate(summary.classes)}
    spec = get_backbone("MobileNetV2")
    backbone = build_backbone(spec, 224, weights)
    forward = forward_fn(backbone, spec, 224, pooling="avg+max+grid")
    first: list[tuple[int, float]] = []

    def on_progress(done: int, total: int) -> None:
        if not first:
            first.append((done, time.perf_counter()))  # the first batch also traces the graph

    fs = extract_features(forward, records, index, size=224, batch_size=DECODE_BATCH,
                          feature_dim=sum(WIDTHS.values()), on_progress=on_progress)
    n_first, t_first = first[0]
    per_image = (time.perf_counter() - t_first) / max(len(records) - n_first, 1)
    columns = pooling_columns("avg+max+grid", spec.feature_dim)
    return ({k: np.ascontiguousarray(fs.features[:, c]) for k, c in columns.items()}, np.asarray(fs.labels),
            per_image)


def synthetic_features(n: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Three classes (60/25/15%) as overlapping blobs in non-negative features of the real widths."""
    rng = np.random.default_rng(seed)
    y = rng.choice(3, n, p=[0.6, 0.25, 0.15])
    out = {}
    for name, width in WIDTHS.items():
        # the classes differ in 2% of the features, by about a third of the noise: 75-90% accuracy, as on real sets
        shift = rng.normal(0.0, 0.3, (3, width)) * (rng.random((1, width)) < 0.02)
        centres = (rng.gamma(1.0, 0.4, (1, width)) + shift).astype(np.float32)
        x = np.empty((n, width), np.float32)
        for start in range(0, n, 4096):  # in blocks: no N × D float64 temporary
            part = slice(start, start + 4096)
            noise = rng.standard_normal((len(y[part]), width), dtype=np.float32)
            x[part] = np.maximum(centres[y[part]] + 0.9 * noise, 0.0)
        out[name] = x
    return out, y


def head_choice(features: dict[str, np.ndarray], y: np.ndarray, seed: int) -> dict:
    """The head choice of a frozen run, timed: every candidate scored, then the winner fitted on all images
    (with its out-of-fold answers when linear), as core.training.auto_head does."""
    from foveal.core.training.config import TrainConfig
    from foveal.core.training.recipe import choose_recipe, fit_linear, out_of_fold_logits

    d = TrainConfig.default
    t0 = time.perf_counter()
    choice = choose_recipe(features, y, 3, seed=seed, epochs=d("epochs"), learning_rate=d("learning_rate"),
                           dropout=d("dropout"), batch_size=d("batch_size"))
    t1 = time.perf_counter()
    w = choice.winner
    if w.head == "linear":
        x = features[w.pooling]
        fit_linear(x, y, 3, w.strength or 1.0, w.balanced)
        out_of_fold_logits(x, y, 3, w.strength or 1.0, w.balanced, seed)
    t2 = time.perf_counter()
    dropped = sum(bool(getattr(c, "dropped", False)) for c in choice.candidates)
    return {"scoring_s": t1 - t0, "winner_s": t2 - t1, "head_choice_s": t2 - t0, "winner": w.describe(),
            "candidates": len(choice.candidates), "dropped": dropped, "folds": w.folds,
            "ranked_by": choice.ranking.metric}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", required=True, help="MobileNetV2 ImageNet weights without the top (.h5)")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "busi"))
    parser.add_argument("--sample", type=int, default=500, help="real images extracted (and the first size)")
    parser.add_argument("--sizes", default="500,4000,50000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", default=None, metavar="FILE")
    args = parser.parse_args()
    real, labels, per_image = real_features(args.data, args.weights, args.sample, args.seed)
    print(f"extraction: {1000 * per_image:.1f} ms per image (MobileNetV2, 224 px, 3 poolings, 1 thread)")
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        source = "real BUSI" if n == args.sample else "synthetic"
        features, y = (real, labels) if n == args.sample else synthetic_features(n, args.seed)
        timing = head_choice(features, y, args.seed)
        extraction = per_image * n
        rows.append({"images": n, "features": source, "extraction_s": extraction, **timing,
                     "ratio": timing["head_choice_s"] / extraction})
        r = rows[-1]
        print(f"{n:>7} images ({source:>9}): extraction {extraction:8.1f} s, head choice {r['head_choice_s']:8.1f} s "
              f"(scoring {r['scoring_s']:.1f} s, winner {r['winner_s']:.1f} s; {r['candidates']} candidates, "
              f"{r['dropped']} dropped, {r['folds']} folds) = {r['ratio']:.2f}× the extraction; {r['winner']}",
              flush=True)
        del features
    if args.json:
        Path(args.json).write_text(json.dumps({"ms_per_image": 1000 * per_image, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
