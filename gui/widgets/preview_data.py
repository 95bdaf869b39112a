"""Scripted data for the widgets' ``if __name__ == "__main__"`` previews: an evaluation of the bundled sample
images with made-up predictions, so a person can look at a view in seconds (no model, no TensorFlow)."""

from __future__ import annotations

import numpy as np

from foveal.core.evaluation.evaluate import Evaluation, Prediction
from foveal.core.evaluation.metrics import compute_metrics, uncalibrated_curve
from foveal.core.resources import samples_dir


def sample_evaluation(seed: int = 0) -> Evaluation:
    """Every bundled sample image, predicted right about four times in five."""
    rng = np.random.default_rng(seed)
    root = samples_dir()
    classes = tuple(sorted(p.name for p in root.iterdir() if p.is_dir()))
    predictions, y, probs = [], [], []
    for k, name in enumerate(classes):
        for path in sorted((root / name).glob("*.jpg")):
            p = rng.dirichlet(np.ones(len(classes)) * 0.5)
            if rng.random() < 0.8:  # mostly right: the true class gets the largest share
                p[[k, int(p.argmax())]] = p[[int(p.argmax()), k]]
            top = int(p.argmax())
            predictions.append(Prediction(f"{name}/{path.name}", str(path), name, classes[top], float(p[top]),
                                          tuple(float(v) for v in p), bool(p[top] < 0.6)))
            y.append(k)
            probs.append(p)
    metrics = compute_metrics(np.array(y), np.array(probs), classes)
    metrics["calibration_before"] = uncalibrated_curve(np.array(y), np.array(probs), 1.6)
    return Evaluation("test split", classes, metrics, predictions, [], "model.keras", None, 0.5)


def preview_comparison():
    """A comparison as ``foveal compare`` saves it (numbers of the kind measured on an ultrasound set)."""
    from foveal.core.compare.result import Comparison, Row

    rows = (Row("MobileNetV2", 224, "scored", "", 0.837, (0.807, 0.863), 0.816, (0.78, 0.85), (0.82, 0.85, 0.84),
                28.0, 9.0, "linear head (C=0.1), avg pooling", 70.0),
            Row("MobileNetV2", 320, "scored", "", 0.820, (0.789, 0.848), 0.813, (0.78, 0.85), (0.81, 0.83, 0.82),
                56.4, 9.0, "linear head (C=0.1), max pooling, classes weighted", 75.0),
            Row("NASNetMobile", 224, "skipped", "its ImageNet weights are not on this computer (Keras's cache has "
                "no NASNet-mobile-no-top.h5); train once with it while online, or give a weights file"))
    return Comparison("/data/busi", "imagenet", 662, 3, 0.56, "benign", rows, path="~/comparisons/busi.json")


def preview_split_warning() -> str:
    """The Data panel's split preview for a split that copies unbalance (seven classes of slices, as a tester's
    64,000-image set once gave): the warning core writes, then the shares."""
    from foveal.core.split.balance import Balance
    from foveal.core.split.plan import balance_warning

    classes = ("AbdomenCT", "BreastMRI", "CXR", "ChestCT", "Hand", "HeadCT", "Knee")
    mix = {"train": (38, 5, 24, 9, 24, 0, 0), "val": (14, 14, 14, 14, 14, 15, 15), "test": (61, 0, 10, 10, 9, 5, 5)}
    labels = {s: [c for c, n in zip(classes, counts, strict=True) for _ in range(n)] for s, counts in mix.items()}
    balance = Balance.of(labels, classes)
    shares = "; ".join(f"{s} {balance.sizes[s]}: " + ", ".join(f"{c} {balance.shares[s][c]:.0%}" for c in classes)
                       for s in balance.sizes)
    return (f"⚠ {balance_warning(balance, copies_kept=True, balance_over_copies=False, grouped=False).rstrip('.')}. "
            f"{shares}")
