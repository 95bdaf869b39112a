"""How well the *unfamiliar* flag separates images like the training ones from foreign ones, on every real set.

    python benchmarks/bench_unfamiliar.py --weights ../shared/weights/mobilenet_v2_1.0_224_imagenet_no_top.h5

For each set in ../shared/data (breast ultrasound BUSI, MedNIST, PneumoniaMNIST chest X-rays at 28 px), trains
Foveal on it (frozen MobileNetV2 with real ImageNet weights, the automatic recipe; its own split), then predicts the
run's own held-out test images and foreign ones: the other two sets and Foveal's bundled yeast-cell micrographs.
Prints the threshold with what it was set on, and per set of images the share flagged *unfamiliar* and the AUROC
of the score (own test images against the foreign ones). Targets: the own test images flagged at most 10% (about
5%), the foreign ones at least 90%. ``--per-class N`` trains on a copy of at most N images per class (quicker).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
SETS = {"busi": "breast ultrasound (BUSI)", "mednist_small": "MedNIST (6 kinds of scan)",
        "pneumoniamnist": "chest X-ray 28 px (PneumoniaMNIST)"}


def _files(folder: Path, limit: int, seed: int = 0) -> list[str]:
    """At most ``limit`` image files under ``folder``, a spread sample."""
    files = sorted(str(p) for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    if len(files) > limit:
        pick = np.random.default_rng(seed).choice(len(files), limit, replace=False)
        files = [files[i] for i in sorted(pick)]
    return files


def _dataset(name: str, per_class: int | None, tmp: Path) -> Path:
    """The set's folder, or a copy of at most ``per_class`` images of each class."""
    source = SHARED / name
    if per_class is None:
        return source
    data = tmp / name
    for cls in sorted(p for p in source.iterdir() if p.is_dir()):
        (data / cls.name).mkdir(parents=True)
        for f in _files(cls, per_class):
            shutil.copy(f, data / cls.name)
    return data


def _auroc(own: np.ndarray, foreign: np.ndarray) -> float:
    """The chance that a foreign image scores above an own one (ties count half)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.zeros(len(own)), np.ones(len(foreign))], np.r_[own, foreign]))


def bench_set(name: str, args: argparse.Namespace, tmp: Path) -> dict:
    """Train on one set, then score its own test images and the foreign ones; print a table; return the shares."""
    from foveal.core.models.predict import files_under, predict_files
    from foveal.core.models.saved import load_classifier
    from foveal.core.resources import samples_dir
    from foveal.core.training import TrainConfig, train

    data = _dataset(name, args.per_class, tmp)
    t0 = time.perf_counter()
    result = train(TrainConfig(str(data), weights=args.weights, seed=args.seed, out_dir=str(tmp / f"run-{name}")))
    seconds = time.perf_counter() - t0
    run = json.loads((Path(result.run_dir) / "run.json").read_text())
    clf = load_classifier(result.run_dir)
    fam = clf.familiarity
    sets = {"own test images": [str(data / f["file"]) for f in run["split"]["test"]]}
    sets |= {SETS[other]: _files(SHARED / other, args.foreign) for other in SETS if other != name}
    sets["yeast micrographs (bundled)"] = _files(samples_dir(), args.foreign)
    scores = {label: predict_files(clf, files_under(paths)).unfamiliar_scores for label, paths in sets.items()}
    n_train, n_val = len(run["split"]["train"]), len(run["split"]["val"])
    print(f"\n== {SETS[name]}: trained on {n_train} + {n_val} validation images in {seconds:.0f} s, test accuracy "
          f"{result.test_accuracy:.3f}\nthreshold {fam.threshold:.4f} (k={fam.k}), set on {fam.n_threshold} images "
          f"({fam.threshold_on}); run.json: {run['familiarity']['test_unfamiliar']:.1%} of the test split flagged")
    print(f"{'images':<38}{'n':>6}{'flagged':>9}{'AUROC':>8}")
    own = scores.pop("own test images")
    print(f"{'own test images':<38}{len(own):>6}{np.mean(own > fam.threshold):>9.1%}{'':>8}")
    for label, s in scores.items():
        print(f"{label:<38}{len(s):>6}{np.mean(s > fam.threshold):>9.1%}{_auroc(own, s):>8.3f}")
    foreign = np.concatenate(list(scores.values()))
    print(f"{'all foreign':<38}{len(foreign):>6}{np.mean(foreign > fam.threshold):>9.1%}{_auroc(own, foreign):>8.3f}")
    return {"own": float(np.mean(own > fam.threshold)), "foreign": float(np.mean(foreign > fam.threshold))}


def main() -> int:
    """Every set in turn, then the summary against the targets (exit status 1 when one is missed)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", required=True, help="MobileNetV2 ImageNet weights without the top")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--per-class", type=int, default=None, help="train on at most this many images per class")
    parser.add_argument("--foreign", type=int, default=300, help="foreign images per other set, at most")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="foveal-bench-unfamiliar-"))
    try:
        shares = {name: bench_set(name, args, tmp) for name in args.sets}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{'set':<38}{'own flagged':>12}{'foreign flagged':>17}   targets: own ≤ 10%, foreign ≥ 90%")
    for name, s in shares.items():
        print(f"{SETS[name]:<38}{s['own']:>12.1%}{s['foreign']:>17.1%}")
    return 0 if all(s["own"] <= 0.10 and s["foreign"] >= 0.90 for s in shares.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
