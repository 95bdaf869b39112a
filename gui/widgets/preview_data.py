"""Scripted data for the widgets' ``if __name__ == "__main__"`` previews: an evaluation of the bundled sample
images with made-up predictions, so a person can look at a view in seconds (no model, no TensorFlow)."""

from __future__ import annotations

import numpy as np

from core.evaluation.evaluate import Evaluation, Prediction
from core.evaluation.metrics import compute_metrics
from core.resources import samples_dir


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
    return Evaluation("test split", classes, metrics, predictions, [], "model.keras", None, 0.5)
