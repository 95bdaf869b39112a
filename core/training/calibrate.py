"""Calibrated confidence: temperature scaling (Guo et al., "On Calibration of Modern Neural Networks", 2017).

A model's probabilities are often over- or under-confident. One number, the temperature T, divides the logits
before the softmax; it is fitted on the validation images (minimum cross-entropy), never on the test split. It
is folded into the classifier's last dense layer (kernel and bias divided by T: softmax((xW + b) / T) exactly),
so ``model.keras`` stays plain Keras, loads in safe mode, and every export carries it without knowing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from foveal.core.stats import expected_calibration_error

#: The temperatures searched (log-uniformly bounded): beyond these the model is broken, not miscalibrated.
T_RANGE = (0.05, 20.0)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def ece(probs: np.ndarray, y: np.ndarray) -> float:
    return expected_calibration_error(probs.max(axis=1), (probs.argmax(axis=1) == y).astype(float))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature minimising the mean cross-entropy of ``softmax(logits / T)`` on labels ``y``."""
    from scipy.optimize import minimize_scalar

    logits = np.asarray(logits, np.float64)

    def nll(log_t: float) -> float:
        z = logits / math.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-log_p[np.arange(len(y)), y].mean())

    lo, hi = (math.log(t) for t in T_RANGE)
    found = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-4})
    return float(math.exp(found.x)) if nll(found.x) < nll(0.0) else 1.0


@dataclass(frozen=True)
class Calibration:
    """The temperature and the expected calibration error (ECE) before and after, on validation and test."""

    temperature: float
    val_ece_before: float
    val_ece_after: float
    test_ece_before: float | None = None
    test_ece_after: float | None = None
    on: str = "validation images"  # what the temperature was fitted on

    def words(self) -> str:
        text = (f"Confidence calibrated on the {self.on} (temperature {self.temperature:.2f}): "
                f"calibration error {self.val_ece_before:.3f} → {self.val_ece_after:.3f} there")
        if self.test_ece_before is None or self.test_ece_after is None:
            return text
        text += f", {self.test_ece_before:.3f} → {self.test_ece_after:.3f} on the test images"
        if self.test_ece_after > self.test_ece_before + 1e-4:
            # Only a temperature fitted on the validation images alone can blame their number; one fitted on the
            # out-of-fold answers of every training and validation image cannot.
            why = ("the validation images may be too few to fit it well" if self.on == "validation images" else
                   "on few test images a difference this small can be chance")
            text += f". On the test images calibration made the confidence slightly less reliable, not more: {why}"
        return text

    def plain(self) -> str:
        """The calibration in words without its technical terms (:meth:`words` has them): what was adjusted and how
        far the confidence was off, in percentage points, before and after."""
        text = (f"The model's confidence was adjusted to match how often it is right: on images it had not learned "
                f"from it was off by {self.val_ece_before:.1%} on average before, {self.val_ece_after:.1%} after")
        if self.test_ece_before is None or self.test_ece_after is None:
            return text
        text += f"; on the test images {self.test_ece_before:.1%} before, {self.test_ece_after:.1%} after"
        if self.test_ece_after > self.test_ece_before + 1e-4:
            text += " (on few test images a difference this small can be chance)"
        return text

    def with_test(self, calibrated: np.ndarray, y: np.ndarray) -> Calibration:
        """The same, with the test split's ECE from its calibrated probabilities (and the uncalibrated ones,
        recovered exactly: softmax(T · log p))."""
        if len(y) == 0:
            return self
        before = softmax(self.temperature * np.log(np.clip(calibrated, 1e-12, 1.0)))
        return Calibration(self.temperature, self.val_ece_before, self.val_ece_after, ece(before, y),
                           ece(calibrated, y), self.on)

    def to_dict(self) -> dict:
        return {"temperature": self.temperature, "val_ece_before": self.val_ece_before,
                "val_ece_after": self.val_ece_after, "test_ece_before": self.test_ece_before,
                "test_ece_after": self.test_ece_after, "fitted_on": self.on, "words": self.words()}


def calibrate_model(model, val_features: np.ndarray, val_y: np.ndarray) -> Calibration | None:
    """Fit the temperature on the validation features (the pooled vectors the head reads) and fold it into the
    model's ``predictions`` layer; None when there are no validation images."""
    if len(val_y) == 0:
        return None
    kernel, bias = (np.asarray(w, np.float64) for w in model.get_layer("predictions").get_weights())
    return calibrate_on_logits(model, val_features.astype(np.float64) @ kernel + bias, val_y)


def calibrate_on_logits(model, logits: np.ndarray, y: np.ndarray, on: str = "validation images") -> Calibration:
    """Fit the temperature on ``logits`` of images the head never saw (the validation images, or out-of-fold
    answers for a head fitted on every image but the test ones) and fold it into the ``predictions`` layer."""
    layer = model.get_layer("predictions")
    kernel, bias = (np.asarray(w, np.float64) for w in layer.get_weights())
    t = fit_temperature(logits, y)
    layer.set_weights([(kernel / t).astype(np.float32), (bias / t).astype(np.float32)])
    return Calibration(t, ece(softmax(logits), y), ece(softmax(logits / t), y), on=on)


#: Class names that usually mean "no finding" (compared case-blind, with ``-`` and ``_`` read as spaces); a name
#: starting with "no ", "non " or "not " (``no_tumor``, ``non-malignant``) counts too.
NEGATIVE_NAMES = frozenset({"normal", "no", "negative", "neg", "benign", "healthy", "control", "controls", "none",
                            "absent", "clear", "clean", "good", "ok", "pass", "unaffected", "background"})


def reads_as_negative(name: str) -> bool:
    """Whether a class name reads as the absence of a finding (``normal``, ``No``, ``no_tumour``, ``benign``…)."""
    words = " ".join(name.casefold().replace("-", " ").replace("_", " ").split())
    return words in NEGATIVE_NAMES or words.startswith(("no ", "non ", "not "))


def positive_class(classes, train_labels) -> tuple[int, str]:
    """Two classes: which one a clinical reading is about (sensitivity is "how many of these are found"), and why.

    The finding: the class whose name is not a usual negative (``normal``, ``no``, ``benign``, ``healthy``,
    ``control``…) when exactly one of the two is; else the rarer class in training (the second on a tie)."""
    negative = [reads_as_negative(c) for c in classes]
    if negative.count(True) == 1:
        k = negative.index(False)
        return k, f"'{classes[1 - k]}' reads as the absence of a finding"
    counts = [sum(1 for label in train_labels if label == c) for c in classes]
    k = 0 if counts[0] < counts[1] else 1
    return k, "the rarer class in training" if counts[0] != counts[1] else "the second class (as many of each)"


def validation_operating_point(model, val_features: np.ndarray, val_y: np.ndarray, classes,
                               train_labels) -> dict | None:
    """Two classes: the positive class (:func:`positive_class`) and the threshold on its
    (calibrated) probability that maximises Youden's J on the validation images, for evaluation to report on."""
    kernel, bias = (np.asarray(w, np.float64) for w in model.get_layer("predictions").get_weights())
    return operating_point_on(softmax(val_features.astype(np.float64) @ kernel + bias), val_y, classes,
                              train_labels)


def operating_point_on(probs: np.ndarray, y: np.ndarray, classes, train_labels,
                       on: str = "validation images") -> dict | None:
    """:func:`validation_operating_point` from (calibrated) probabilities of images the head never saw."""
    from foveal.core.stats import youden_threshold

    if len(classes) != 2 or len(y) == 0:
        return None
    k, why = positive_class(classes, train_labels)
    return {"positive_class": classes[k], "threshold": youden_threshold(y == k, probs[:, k]),
            "chosen_on": on, "n_val": int(len(y)), "positive_reason": why}
