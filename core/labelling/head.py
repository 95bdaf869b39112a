"""The head refitted while labelling: logistic regression on the cached features, calibrated, cross-validated.

Features are extracted once, so a refit is seconds: the features are standardised, a multinomial logistic
regression is fitted on every labelled image, and its accuracy is estimated by stratified k-fold cross-validation
on the labelled images (with the Wilson 95% interval of core.stats). The out-of-fold answers also fit a temperature
(core.training.calibrate), so the confidence shown is calibrated on images the model had not learned from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from foveal.core.labelling.records import Round
from foveal.core.stats import accuracy_interval
from foveal.core.training.calibrate import fit_temperature, softmax

#: Inverse regularisation strength of the logistic regression on standardised features (chosen on the three
#: benchmark sets: benchmarks/bench_active.py).
C = 0.05
#: Folds of the cross-validated accuracy (fewer when a class has fewer labelled images).
FOLDS = 5


@dataclass(frozen=True)
class Head:
    """A fitted head: standardisation, the regression, and the temperature of its log-probabilities."""

    mean: np.ndarray
    scale: np.ndarray
    model: Any  # sklearn LogisticRegression
    n_classes: int
    temperature: float = 1.0

    def log_probs(self, features: np.ndarray) -> np.ndarray:
        """Uncalibrated log-probabilities over all classes (a class without labelled images gets almost none)."""
        return _log_probs(self.model, (features - self.mean) / self.scale, self.n_classes)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (N × classes)."""
        if len(features) == 0:
            return np.zeros((0, self.n_classes), np.float32)
        return softmax(self.log_probs(features) / self.temperature).astype(np.float32)


def fit(features: np.ndarray, labels: np.ndarray, n_classes: int, *, seed: int = 0) -> Head:
    """The head on every labelled image, uncalibrated."""
    mean = features.mean(axis=0)
    scale = features.std(axis=0) + 1e-6
    if len(np.unique(labels)) < 2:  # one class only: it is the answer, with nothing learned
        return Head(mean, scale, _OneClass(np.unique(labels)), n_classes)
    return Head(mean, scale, _regression(seed).fit((features - mean) / scale, labels), n_classes)


@dataclass(frozen=True)
class _OneClass:
    """What a head fitted on a single class knows: that class."""

    classes_: np.ndarray


def fit_and_measure(features: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], *,
                    seed: int = 0, folds: int = FOLDS) -> tuple[Head, Round]:
    """The head on every labelled image, calibrated on its out-of-fold answers, and the round's accuracy."""
    head = fit(features, labels, len(classes), seed=seed)
    k = min(folds, int(np.bincount(labels, minlength=len(classes))[np.unique(labels)].min()))
    n = len(labels)
    if k < 2 or len(np.unique(labels)) < 2:
        return head, Round(n, None, None, None, f"No accuracy estimate yet from {n} labelled images: each class "
                           "needs at least 2 for cross-validation")
    out_of_fold = _out_of_fold(features, labels, len(classes), k, seed)
    correct = int((out_of_fold.argmax(axis=1) == labels).sum())
    low, high = accuracy_interval(correct, n)
    temperature = fit_temperature(out_of_fold, labels)
    accuracy = correct / n
    plain = (f"Estimated accuracy {accuracy:.0%} ({low:.0%}–{high:.0%}) from {k}-fold cross-validation on {n} "
             "labelled images")
    return Head(head.mean, head.scale, head.model, head.n_classes, temperature), Round(n, accuracy, low, high, plain)


def _out_of_fold(features: np.ndarray, labels: np.ndarray, n_classes: int, k: int, seed: int) -> np.ndarray:
    """Each labelled image's log-probabilities from the head fitted on the other folds."""
    from sklearn.model_selection import StratifiedKFold

    out = np.zeros((len(labels), n_classes), np.float64)
    for train, test in StratifiedKFold(k, shuffle=True, random_state=seed).split(features, labels):
        head = fit(features[train], labels[train], n_classes, seed=seed)
        out[test] = head.log_probs(features[test])
    return out


def _regression(seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=500, random_state=seed)


def _log_probs(model: Any, x: np.ndarray, n_classes: int) -> np.ndarray:
    """Log-probabilities over all ``n_classes`` (classes the regression never saw get log 1e-6)."""
    out = np.full((len(x), n_classes), np.log(1e-6))
    seen = np.asarray(model.classes_, int)
    if len(seen) == 1:
        out[:, seen[0]] = 0.0
        return out
    logits = np.asarray(model.decision_function(x), np.float64)
    if logits.ndim == 1:  # two classes: the second's logit against the first's
        logits = np.stack([np.zeros_like(logits), logits], axis=1)
    logits = logits - logits.max(axis=1, keepdims=True)
    out[:, seen] = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return out
