"""Features averaged over an image's 8 orientations against plain features: where a picture has no "up", and where
it has one.

    python benchmarks/bench_orientation.py --weights ../shared/weights/mobilenet_v2_1.0_224_imagenet_no_top.h5

Frozen MobileNetV2 (ImageNet weights) at ``--size`` px, average pooling. Each image's features are extracted once by
``core.models.orientation.plain_and_averaged``: one pass over its 8 versions gives both the plain features (version
0, the image as it lies) and their mean over all 8. The plain pass alone is timed too, for the cost ratio. Then
5-fold stratified cross-validation (same folds for both) of a logistic regression on standardised features:
accuracy and balanced accuracy, mean ± standard deviation over the folds.

Sets (``--per-class`` images of each class at most, drawn at random):

- ``mednist-turned``: MedNIST-small with each image at a random one of its 8 orientations. None of the shared sets
  is orientation-free (no microscopy, no pathology: CT, MRI, X-rays, hands and ultrasound are all taken the same way
  up), so this is the stand-in for cells or tissue: which way up an image lies says nothing about its class.
- ``mednist``: the same images as they lie (an "up" that is the same in every image).
- ``busi-turned``: BUSI with each image at a random orientation: a hard set (MedNIST is near 100% either way) with
  no up.
- ``busi``: breast ultrasound as it lies (the probe at the top: an up that carries information).

One CPU thread for TensorFlow and the BLAS, as on a shared machine. Prints a table; ``--json FILE`` saves it.
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
DATA = ROOT.parent / "shared" / "data"
BATCH = 16


def load_set(folder: Path, per_class: int, size: int, seed: int, turned: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(images uint8 (N, size, size, 3), labels)``: at most ``per_class`` images of each class folder, decoded
    and resized as Foveal does; each put at a random one of its 8 orientations when ``turned``."""
    from foveal.core.data.decode import decode_image
    from foveal.core.data.resize import resize_float
    from foveal.core.models.orientation import turn

    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label, cls in enumerate(sorted(p for p in folder.iterdir() if p.is_dir())):
        files = sorted(f for f in cls.iterdir() if f.is_file())
        for i in sorted(rng.choice(len(files), min(per_class, len(files)), replace=False)):
            img = np.clip(np.rint(resize_float(decode_image(str(files[i])), size)), 0, 255).astype(np.uint8)
            images.append(turn(img, int(rng.integers(8))) if turned else img)
            labels.append(label)
    return np.ascontiguousarray(images), np.array(labels)


def extract(forward, images: np.ndarray) -> dict:
    """Plain features alone (timed), then plain and averaged in one pass over the 8 versions (timed)."""
    from foveal.core.models.orientation import plain_and_averaged

    forward(images[:2])  # traced once, outside the timings
    plain_and_averaged(forward, images[:2])
    t0 = time.perf_counter()
    alone = np.concatenate([forward(images[i:i + BATCH]) for i in range(0, len(images), BATCH)])
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    pairs = [plain_and_averaged(forward, images[i:i + BATCH]) for i in range(0, len(images), BATCH)]
    t_both = time.perf_counter() - t0
    plain, mean = (np.concatenate([p[k] for p in pairs]) for k in (0, 1))
    return {"plain": plain, "averaged": mean, "seconds_plain": t_plain, "seconds_both": t_both,
            "plain_matches": float(np.abs(plain - alone).max())}


def cross_validate(features: np.ndarray, labels: np.ndarray, seed: int) -> dict:
    """5-fold stratified cross-validation of a logistic regression on standardised features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    acc, bal = [], []
    for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(features, labels):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=3000))
        model.fit(features[train], labels[train])
        guess = model.predict(features[test])
        acc.append(float(np.mean(guess == labels[test])))
        bal.append(float(balanced_accuracy_score(labels[test], guess)))
    return {"accuracy": float(np.mean(acc)), "accuracy_sd": float(np.std(acc)),
            "balanced": float(np.mean(bal)), "balanced_sd": float(np.std(bal))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", required=True, help="MobileNetV2 ImageNet weights without the top (.h5)")
    parser.add_argument("--data", default=str(DATA), help="the shared data folder (busi/, mednist_small/)")
    parser.add_argument("--sets", default="mednist-turned,mednist,busi-turned,busi")
    parser.add_argument("--per-class", type=int, default=50)
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    from foveal.core.models.build import build_backbone
    from foveal.core.models.registry import get_backbone
    from foveal.core.training.forward import forward_fn

    spec = get_backbone("MobileNetV2")
    backbone = build_backbone(spec, args.size, args.weights)
    forward = forward_fn(backbone, spec, args.size)
    folders = {"mednist-turned": "mednist_small", "mednist": "mednist_small", "busi-turned": "busi", "busi": "busi"}
    rows = []
    print(f"MobileNetV2 at {args.size} px, average pooling, ≤ {args.per_class} images per class, 5-fold CV, "
          "logistic regression")
    print(f"{'set':16} {'n':>4} {'plain acc':>14} {'8-avg acc':>14} {'plain bal':>14} {'8-avg bal':>14} {'time ×':>7}")
    for name in args.sets.split(","):
        images, labels = load_set(Path(args.data) / folders[name], args.per_class, args.size, args.seed,
                                  turned=name.endswith("-turned"))
        got = extract(forward, images)
        plain, mean = (cross_validate(got[k], labels, args.seed) for k in ("plain", "averaged"))
        ratio = got["seconds_both"] / got["seconds_plain"]
        rows.append({"set": name, "n": len(labels), "plain": plain, "averaged": mean, "time_ratio": ratio,
                     "seconds_plain": got["seconds_plain"], "seconds_both": got["seconds_both"],
                     "plain_max_difference": got["plain_matches"]})
        cell = "{:.3f} ± {:.3f}".format
        print(f"{name:16} {len(labels):4d} {cell(plain['accuracy'], plain['accuracy_sd']):>14} "
              f"{cell(mean['accuracy'], mean['accuracy_sd']):>14} {cell(plain['balanced'], plain['balanced_sd']):>14} "
              f"{cell(mean['balanced'], mean['balanced_sd']):>14} {ratio:7.1f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
