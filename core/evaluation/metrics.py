"""Metrics of a set of predictions, all computed by scikit-learn (and SciPy for the interval).

Everything returned is plain JSON-able Python: lists, floats, ints and strings, so it can be written to the run
folder, shown in the window and printed by the command line without conversion.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from foveal.core.run_record import OperatingPoint
from foveal.core.stats import CALIBRATION_BINS, accuracy_interval, expected_calibration_error

#: A prediction whose top probability is below this is flagged as low-confidence (unless told otherwise).
LOW_CONFIDENCE = 0.6
#: Bins of the reliability curve and the expected calibration error.


def format_value(x, pct: bool = False, digits: int = 3) -> str:
    """A metric for people: ``–`` when undefined (None or NaN), a percentage with one decimal, or a number."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * x:.1f}%" if pct else f"{x:.{digits}f}"


def compute_metrics(y_true: Sequence[int] | np.ndarray, probs: np.ndarray, classes: Sequence[str], *,
                    low_confidence: float = LOW_CONFIDENCE, operating: OperatingPoint | None = None) -> dict:
    """Everything Foveal reports about predictions ``probs`` (N×K) of true classes ``y_true`` (N).

    Returns a dict with ``n``, ``accuracy`` and its 95% ``accuracy_ci``, ``balanced_accuracy``, ``per_class``
    (precision, recall, F1, support), ``macro`` and ``weighted`` averages, ``confusion`` (rows: true, columns:
    predicted), ``roc`` (one-vs-rest curves and AUC per class; for two classes also the binary curve and an
    operating threshold with its sensitivity and specificity), ``calibration`` (reliability curve and ECE) and
    ``n_low_confidence``.
    """
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    y = np.asarray(y_true, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    k = len(classes)
    labels = list(range(k))
    pred = probs.argmax(axis=1) if len(y) else np.zeros(0, np.int64)
    conf = probs.max(axis=1) if len(y) else np.zeros(0)
    correct = int((pred == y).sum())
    out: dict = {"n": int(len(y)), "classes": list(classes), "low_confidence_threshold": low_confidence}
    out["accuracy"] = float(accuracy_score(y, pred)) if len(y) else math.nan
    out["accuracy_ci"] = list(accuracy_interval(correct, len(y)))
    present = np.unique(y)
    with warnings.catch_warnings():  # a class predicted but absent here (another folder) is no error: its recall
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")  # is simply not counted
        out["balanced_accuracy"] = float(balanced_accuracy_score(y, pred)) if len(present) > 1 else math.nan
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    out["per_class"] = [{"class": c, "precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                         "support": int(s[i])} for i, c in enumerate(classes)]
    for avg in ("macro", "weighted"):
        pa, ra, fa, _ = precision_recall_fscore_support(y, pred, labels=labels, average=avg, zero_division=0)
        out[avg] = {"precision": float(pa), "recall": float(ra), "f1": float(fa)}
    out["confusion"] = confusion_matrix(y, pred, labels=labels).tolist()
    out["roc"] = _roc(y, probs, classes, operating)
    out["calibration"] = _calibration(conf, pred == y)
    out["n_low_confidence"] = int((conf < low_confidence).sum())
    return out


def _roc(y: np.ndarray, probs: np.ndarray, classes: Sequence[str], operating: OperatingPoint | None = None) -> dict:
    """One-vs-rest ROC curves with AUC per class; for two classes, the binary curve and an operating point."""
    from sklearn.metrics import roc_auc_score, roc_curve

    curves: list[dict] = []
    for i, name in enumerate(classes):
        positive = y == i
        if positive.all() or not positive.any():  # AUC is undefined without both positives and negatives
            curves.append({"class": name, "auc": None, "fpr": [], "tpr": []})
            continue
        fpr, tpr, _ = roc_curve(positive, probs[:, i])
        curves.append({"class": name, "auc": float(roc_auc_score(positive, probs[:, i])),
                       "fpr": fpr.tolist(), "tpr": tpr.tolist()})
    aucs = [c["auc"] for c in curves if c["auc"] is not None]
    out: dict = {"per_class": curves, "macro_auc": float(np.mean(aucs)) if aucs else None}
    if len(classes) == 2 and len(np.unique(y)) == 2:
        out["binary"] = operating_point(y, probs, classes, operating)
    return out


def operating_point(y: np.ndarray, probs: np.ndarray, classes: Sequence[str],
                    operating: OperatingPoint | None) -> dict:
    """Sensitivity, specificity, PPV and NPV for the positive class at the operating threshold, and at 0.5.

    ``operating`` is the run's: its positive class and the threshold chosen on the validation images (Youden's J
    there), never on the images measured here. Without one (runs made before), the threshold is chosen on these
    images and says so: an optimistic number."""
    from foveal.core.stats import youden_threshold

    positive_class = operating.positive_class if operating is not None else None
    k = list(classes).index(positive_class) if positive_class is not None and positive_class in classes else 1
    positive, score = y == k, probs[:, k]
    if operating is not None and operating.threshold is not None:
        threshold = float(operating.threshold)
        rule = f"Youden's J on the {operating.chosen_on or 'validation images'}"
        plain = "chosen before testing, on images the model had not learned from"
    else:
        threshold, rule = youden_threshold(positive, score), "Youden's J on these same images (optimistic)"
        plain = "chosen on these same images, so these numbers are optimistic"

    def at(t: float) -> dict:
        said = score >= t
        tp, fn = int((said & positive).sum()), int((~said & positive).sum())
        tn, fp = int((~said & ~positive).sum()), int((said & ~positive).sum())
        return {"threshold": t, "sensitivity": tp / max(tp + fn, 1), "specificity": tn / max(tn + fp, 1),
                "ppv": tp / (tp + fp) if tp + fp else None, "npv": tn / (tn + fn) if tn + fn else None,
                "tp": tp, "fn": fn, "tn": tn, "fp": fp}

    reason = (operating.positive_reason if operating is not None and operating.positive_class == classes[k]
              else None) or "the second class"
    chosen = {**at(threshold), "rule": rule, "rule_plain": plain}  # the technical rule, and in plain words
    return {"positive_class": classes[k], "positive_reason": reason, "chosen": chosen,
            "default": at(0.5)}


def cautions(metrics: dict) -> list[str]:
    """What a reader must not miss, in words: each class with no image here (nothing measured for it) and each
    class the model never recognises (recall 0)."""
    out = []
    for row in metrics.get("per_class", []):
        if not row["support"]:
            out.append(f"'{row['class']}' has no test image: its recall and precision are not measured.")
        elif row["recall"] == 0:
            out.append(f"The model never recognises '{row['class']}': none of its {row['support']} image(s) here "
                       f"was answered '{row['class']}'.")
    return out


def add_headline(metrics: dict, y_true: np.ndarray, classes: Sequence[str], train_labels: Sequence[str]) -> None:
    """``metrics["headline"]`` against always answering the most common training class (core.stats; the most
    common class here when ``train_labels`` is empty), and ``metrics["cautions"]``."""
    from foveal.core.stats import majority_baseline

    labels = [classes[int(i)] for i in np.asarray(y_true)]
    if not labels:
        return
    metrics.update(**majority_baseline(metrics["accuracy"], labels, list(train_labels), classes),
                   cautions=cautions(metrics))


def uncalibrated_curve(y_true: Sequence[int] | np.ndarray, probs: np.ndarray, temperature: float) -> dict:
    """The reliability curve and ECE the model had before temperature scaling (core.training.calibrate):
    the calibrated probabilities raised back, ``softmax(T · log p)``, exactly."""
    z = temperature * np.log(np.clip(np.asarray(probs, np.float64), 1e-12, 1.0))
    z -= z.max(axis=1, keepdims=True)
    before = np.exp(z)
    before /= before.sum(axis=1, keepdims=True)
    y = np.asarray(y_true)
    return {**_calibration(before.max(axis=1), before.argmax(axis=1) == y), "temperature": temperature}


def _calibration(confidence: np.ndarray, correct: np.ndarray) -> dict:
    """Reliability of the top-1 confidence: mean confidence vs accuracy per bin, and the ECE."""
    from sklearn.calibration import calibration_curve

    correct = correct.astype(np.float64)
    if len(confidence) == 0:
        return {"bins": CALIBRATION_BINS, "confidence": [], "accuracy": [], "ece": math.nan}
    if len(np.unique(correct)) < 2:  # calibration_curve needs both outcomes; one bin per populated range
        edges = np.linspace(0, 1, CALIBRATION_BINS + 1)
        which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, CALIBRATION_BINS - 1)
        mean_conf = [float(confidence[which == b].mean()) for b in range(CALIBRATION_BINS) if (which == b).any()]
        acc = [float(correct[0])] * len(mean_conf)
    else:
        acc_arr, conf_arr = calibration_curve(correct, confidence, n_bins=CALIBRATION_BINS, strategy="uniform")
        acc, mean_conf = acc_arr.tolist(), conf_arr.tolist()
    return {"bins": CALIBRATION_BINS, "confidence": mean_conf, "accuracy": acc,
            "ece": expected_calibration_error(confidence, correct)}
