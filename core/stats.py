"""The statistics every layer may state: an accuracy's interval, and a headline that cannot mislead.

A number on the screen is believed. So a test accuracy is never shown alone: with how many images it rests on,
its 95% interval, and what always answering the most common class would score on the same images.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

#: Equal-width confidence bins of the reliability diagram and the expected calibration error.
CALIBRATION_BINS = 10


def accuracy_interval(correct: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of an accuracy of ``correct`` out of ``n`` (good at small n and near 0 or 1)."""
    if n == 0:
        return (math.nan, math.nan)
    from scipy.stats import binomtest

    ci = binomtest(int(correct), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def majority_baseline(accuracy: float, labels: list[str], train_labels: list[str], classes) -> dict:
    """What always answering the most common training class (the first of ``classes`` on a tie; the most common
    of ``labels`` when no training labels are known) scores on ``labels``, and the headline against it."""
    counts = Counter(train_labels or labels)
    common = max(classes, key=lambda c: counts[c])
    baseline = sum(label == common for label in labels) / len(labels)
    return {"baseline": baseline, "baseline_class": common,
            "headline": headline(accuracy, len(labels), baseline, common)}


def headline(accuracy: float, n: int, baseline: float, common_class: str) -> str:
    """The accuracy in words with its count, interval and the majority-class baseline; says plainly when the
    interval reaches down to the baseline."""
    lo, hi = accuracy_interval(round(accuracy * n), n)
    text = (f"{accuracy:.1%} of {n} held-out test images right (95% interval {lo:.0%}–{hi:.0%}). Always "
            f"answering '{common_class}' would score {baseline:.0%}")
    if lo <= baseline:
        return text + (": the model is not shown to be better than always giving that most common answer. More "
                       "test images, or a better model, are needed before trusting it.")
    return text + "."


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Mean |accuracy − confidence| over equal-width confidence bins, weighted by how many predictions fall in each.

    scikit-learn has the reliability curve but no ECE; this is the standard definition (Guo et al., 2017).
    """
    if len(confidence) == 0:
        return math.nan
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            total += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(total)


def youden_threshold(positive: np.ndarray, score: np.ndarray) -> float:
    """The threshold on ``score`` (the positive class's probability) that maximises Youden's J, sensitivity +
    specificity − 1; 0.5 when there are not both positives and negatives."""
    from sklearn.metrics import roc_curve

    positive = np.asarray(positive, bool)
    if positive.all() or not positive.any():
        return 0.5
    fpr, tpr, thresholds = roc_curve(positive, score)
    return float(min(thresholds[int(np.argmax(tpr - fpr))], 1.0))  # roc_curve's first threshold is +inf
