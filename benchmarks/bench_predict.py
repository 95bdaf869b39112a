"""Prediction throughput: ``foveal predict`` on a folder against the limit of one decode + one forward pass.

    python benchmarks/bench_predict.py --backbone MobileNetV2 \
        --weights ../shared/weights/mobilenet_v2_1.0_224_imagenet_no_top.h5

Generates --images JPEGs of 500×375 (as bench_train does), saves a classifier the way a run does (raw images in,
resize and preprocessing inside), then times (a) the limit: every image decoded and resized once in parallel,
plus one forward pass per image at the synthetic throughput of the whole saved model, and (b) the same files
through ``predict_files``, the function behind ``foveal predict`` and the window's Predict view.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def save_classifier(backbone: str, weights: str | None, out: Path) -> Path:
    from foveal.core.models.build import assemble_classifier, build_backbone, build_head
    from foveal.core.models.registry import get_backbone

    spec = get_backbone(backbone)
    base = build_backbone(spec, spec.input_size, weights)
    model = assemble_classifier(base, build_head(spec.feature_dim, 3), spec, spec.input_size)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    return out / "model.keras"


def limit(files: list[Path], clf) -> tuple[float, float, float]:
    import numpy as np

    from foveal.core.models.predict import compiled_forward, decode_for_model

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
        list(pool.map(lambda f: decode_for_model(str(f), clf.image_size), files))
    decode_s = time.perf_counter() - t0
    forward = compiled_forward(clf)
    batch = np.random.default_rng(0).uniform(0, 255, (32, clf.image_size, clf.image_size, 3)).astype(np.float32)
    forward(batch)  # trace
    reps = 6
    t0 = time.perf_counter()
    for _ in range(reps):
        forward(batch)
    rate = reps * 32 / (time.perf_counter() - t0)
    return decode_s, rate, decode_s + len(files) / rate


def main() -> None:
    from bench_train import generate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="MobileNetV2")
    parser.add_argument("--weights", default="none")
    parser.add_argument("--images", type=int, default=600)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from foveal.core.models.predict import files_under, predict_files
    from foveal.core.models.saved import load_classifier

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        generate(data, args.images)
        path = save_classifier(args.backbone, None if args.weights == "none" else args.weights, Path(tmp) / "m")
        clf = load_classifier(path)
        files = files_under([str(data)])
        decode_s, rate, limit_s = limit([Path(f.path) for f in files], clf)
        print(f"{len(files)} images 500×375; {args.backbone} at {clf.image_size} px")
        print(f"limit: decode+resize all {decode_s:.1f} s + forward {rate:.1f} img/s → {limit_s:.1f} s")
        predict_files(clf, files[:32])  # warm: the first call traces the graph, as in any session
        t0 = time.perf_counter()
        result = predict_files(clf, files)
        seconds = time.perf_counter() - t0
        print(f"predict: {seconds:.1f} s for {len(result.indices)} images ({len(result.indices) / seconds:.1f} img/s)"
              f"; {seconds / limit_s:.2f}× the limit (target ≤ 1.3)")


if __name__ == "__main__":
    main()
