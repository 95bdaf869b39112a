"""How well the *unfamiliar* flag separates images like the training ones from foreign ones.

    python benchmarks/bench_unfamiliar.py --weights ../shared/weights/mobilenet_v2_1.0_224_imagenet_no_top.h5

Trains Foveal (frozen MobileNetV2, the automatic recipe) on four MedNIST classes copied to a temporary folder,
then predicts the run's own held-out test images and foreign ones: the two MedNIST classes left out, breast
ultrasound (BUSI), chest X-rays at 28 px (PneumoniaMNIST) and Foveal's bundled yeast-cell micrographs. Prints the
AUROC of the unfamiliar score (own test images against each foreign set, and all foreign together) and the share
of each set flagged. Targets: at least 90% of foreign images flagged, at most 10% of the set's own test images.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
KEEP = ("AbdomenCT", "BreastMRI", "CXR", "ChestCT")
LEFT_OUT = ("Hand", "HeadCT")


def _files(folder: Path, limit: int, seed: int = 0) -> list[str]:
    files = sorted(str(p) for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    if len(files) > limit:
        pick = np.random.default_rng(seed).choice(len(files), limit, replace=False)
        files = [files[i] for i in sorted(pick)]
    return files


def main() -> int:
    from sklearn.metrics import roc_auc_score

    from foveal.core.models.predict import files_under, predict_files
    from foveal.core.models.saved import load_classifier
    from foveal.core.resources import samples_dir
    from foveal.core.training import TrainConfig, train

    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="foveal-bench-unfamiliar-"))
    try:
        data = tmp / "mednist4"
        for name in KEEP:
            shutil.copytree(SHARED / "mednist_small" / name, data / name)
        result = train(TrainConfig(str(data), weights=args.weights, seed=args.seed, out_dir=str(tmp / "run")))
        clf = load_classifier(result.run_dir)
        import json

        run = json.loads((Path(result.run_dir) / "run.json").read_text())
        own = [str(data / f["file"]) for f in run["split"]["test"]]
        sets = {
            "own test images": own,
            "MedNIST classes left out": [f for c in LEFT_OUT for f in _files(SHARED / "mednist_small" / c, 100)],
            "breast ultrasound (BUSI)": _files(SHARED / "busi", 200),
            "chest X-ray 28 px (PneumoniaMNIST)": _files(SHARED / "pneumoniamnist", 200),
            "yeast micrographs (bundled)": _files(samples_dir(), 120),
        }
        scores = {}
        for name, paths in sets.items():
            pred = predict_files(clf, files_under(paths))
            scores[name] = pred.unfamiliar_scores
        threshold = clf.familiarity.threshold
        print(f"Trained on {', '.join(KEEP)} ({len(run['split']['train'])} training images); threshold "
              f"{threshold:.4f} (k={clf.familiarity.k}); test accuracy {result.test_accuracy:.3f}")
        print(f"{'set':<38}{'images':>7}{'flagged':>9}{'AUROC':>8}")
        foreign_all = []
        for name, s in scores.items():
            auroc = ""
            if name != "own test images":
                foreign_all.append(s)
                y = np.r_[np.zeros(len(scores["own test images"])), np.ones(len(s))]
                auroc = f"{roc_auc_score(y, np.r_[scores['own test images'], s]):.3f}"
            print(f"{name:<38}{len(s):>7}{np.mean(s > threshold):>9.1%}{auroc:>8}")
        f = np.concatenate(foreign_all)
        y = np.r_[np.zeros(len(scores["own test images"])), np.ones(len(f))]
        print(f"{'all foreign':<38}{len(f):>7}{np.mean(f > threshold):>9.1%}"
              f"{roc_auc_score(y, np.r_[scores['own test images'], f]):>8.3f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
