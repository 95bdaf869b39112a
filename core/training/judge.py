"""Whether fine-tuning beat the head it started from, judged on the validation images by what an overconfident head
cannot fake: accuracy (balanced accuracy where the classes are imbalanced, as the automatic recipe ranks its
candidates), then the loss after temperature scaling (core.training.calibrate) on the same images.

Raw validation loss is not a fair judge: a linear head that is right 70% of the time but very sure of its mistakes
(validation loss 2.46) loses on raw loss to a fine-tuned model that is right 62% of the time and unsure (loss 1.1).
Temperature scaling divides out the overconfidence (one number, fitted on the same images), so the loss that is
left compares what each model knows, not how loudly it says it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from foveal.core.training.calibrate import fit_temperature

#: Two models' ranked scores closer than this count as equal, and the calibrated loss decides (one image in 500).
TIE = 0.002


@dataclass(frozen=True)
class Judged:
    """One model on the validation images: its ranked score (accuracy or balanced accuracy), raw and
    temperature-scaled mean cross-entropy, and the temperature."""

    metric: str
    score: float
    loss: float
    calibrated_loss: float
    temperature: float

    def words(self) -> str:
        return f"{self.metric.replace('_', ' ')} {self.score:.1%}, calibrated loss {self.calibrated_loss:.3f}"


def judge(probs: np.ndarray, y: np.ndarray, metric: str) -> Judged:
    """``probs`` (N × K, softmax outputs) of the validation images with labels ``y``, judged by ``metric``
    ("accuracy" or "balanced_accuracy")."""
    logits = np.log(np.clip(np.asarray(probs, np.float64), 1e-12, 1.0))  # log-probabilities: logits up to a shift
    predicted = logits.argmax(axis=1)
    if metric == "balanced_accuracy":
        score = float(np.mean([np.mean(predicted[y == k] == k) for k in np.unique(y)]))
    else:
        score = float(np.mean(predicted == y))
    t = fit_temperature(logits, y)
    return Judged(metric, score, _nll(logits, y), _nll(logits / t, y), t)


def _nll(logits: np.ndarray, y: np.ndarray) -> float:
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean())


def wins(challenger: Judged, incumbent: Judged) -> bool:
    """Whether ``challenger`` beats ``incumbent``: a higher ranked score, or (within :data:`TIE`) a lower calibrated
    loss. Ties stay with the incumbent (the simpler model)."""
    if abs(challenger.score - incumbent.score) > TIE:
        return challenger.score > incumbent.score
    return challenger.calibrated_loss < incumbent.calibrated_loss - 1e-9 and not math.isnan(challenger.calibrated_loss)
