"""Metrics on prediction sets small enough to check by hand (no TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest

from foveal.core.evaluation.metrics import compute_metrics
from foveal.core.run_record import OperatingPoint
from foveal.core.stats import accuracy_interval, expected_calibration_error

CLASSES = ("cat", "dog", "fox")


def _probs(rows):
    return np.array(rows, dtype=float)


def test_multiclass_metrics_match_hand_counts():
    y = [0, 0, 1, 1, 2, 2]
    p = _probs([[.9, .05, .05], [.2, .7, .1],   # cat right, cat → dog
                [.1, .8, .1], [.1, .6, .3],      # dog right twice
                [.3, .1, .6], [.5, .1, .4]])     # fox right, fox → cat (at 0.5: low confidence)
    m = compute_metrics(y, p, CLASSES)
    assert m["n"] == 6
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    per = {r["class"]: r for r in m["per_class"]}
    assert per["cat"]["precision"] == pytest.approx(1 / 2) and per["cat"]["recall"] == pytest.approx(1 / 2)
    assert per["dog"]["precision"] == pytest.approx(2 / 3) and per["dog"]["recall"] == 1.0
    assert per["fox"]["precision"] == 1.0 and per["fox"]["recall"] == pytest.approx(1 / 2)
    assert per["dog"]["f1"] == pytest.approx(2 * (2 / 3) / (2 / 3 + 1))
    assert [r["support"] for r in m["per_class"]] == [2, 2, 2]
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert m["macro"]["recall"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert m["n_low_confidence"] == 1  # top probabilities .9 .7 .8 .6 .6 .5: only 0.5 is below 0.6
    assert m["n_low_confidence"] == sum(row.max() < 0.6 for row in p)
    # every class has positives and negatives: one AUC each, cat's by hand (scores .9,.2 vs .1,.1,.3,.5)
    aucs = {c["class"]: c["auc"] for c in m["roc"]["per_class"]}
    assert aucs["cat"] == pytest.approx((4 + 2) / 8)  # .9 beats all four negatives, .2 beats the two .1s
    assert "binary" not in m["roc"]


def test_wilson_interval_matches_published_values():
    """Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score, no continuity
    correction), to the four decimals printed there."""
    published = {(81, 263): (0.2553, 0.3662), (15, 148): (0.0624, 0.1605), (0, 20): (0.0, 0.1611),
                 (1, 29): (0.0061, 0.1718)}
    for (k, n), (lo, hi) in published.items():
        got = accuracy_interval(k, n)
        assert got == pytest.approx((lo, hi), abs=5e-5), (k, n)
    assert accuracy_interval(10, 10)[1] == pytest.approx(1.0)
    assert accuracy_interval(10, 10)[0] < 1.0  # ten right out of ten does not prove perfection


def test_binary_operating_point_and_roc():
    y = np.array([0, 0, 0, 1, 1, 1])
    score = np.array([0.1, 0.2, 0.7, 0.6, 0.8, 0.9])  # one negative scores 0.7, above one positive
    p = np.stack([1 - score, score], axis=1)
    m = compute_metrics(y, p, ("normal", "tumour"))
    b = m["roc"]["binary"]
    assert b["positive_class"] == "tumour"
    d = b["default"]  # at 0.5: TP 3, FN 0, TN 2, FP 1
    assert (d["tp"], d["fn"], d["tn"], d["fp"]) == (3, 0, 2, 1)
    assert d["sensitivity"] == 1.0 and d["specificity"] == pytest.approx(2 / 3)
    chosen = b["chosen"]
    assert chosen["sensitivity"] + chosen["specificity"] - 1 >= d["sensitivity"] + d["specificity"] - 1
    assert m["roc"]["per_class"][1]["auc"] == pytest.approx(8 / 9)


def test_expected_calibration_error_by_hand():
    conf = np.array([0.9, 0.9, 0.9, 0.9])
    correct = np.array([1, 1, 0, 0], float)
    assert expected_calibration_error(conf, correct) == pytest.approx(0.4)
    conf = np.array([0.25, 0.25, 0.95, 0.95])
    correct = np.array([0, 1, 1, 1], float)  # bins: |0.5-0.25| and |1-0.95|, half the weight each
    assert expected_calibration_error(conf, correct) == pytest.approx(0.5 * 0.25 + 0.5 * 0.05)


def test_class_missing_from_test_set_has_no_auc():
    m = compute_metrics([0, 0, 1], _probs([[.8, .1, .1], [.6, .3, .1], [.2, .7, .1]]), CLASSES)
    fox = m["per_class"][2]
    assert fox["support"] == 0 and fox["recall"] == 0.0
    assert m["roc"]["per_class"][2]["auc"] is None
    assert m["roc"]["macro_auc"] == pytest.approx(1.0)


def test_the_headline_names_count_interval_and_the_common_answer():
    from foveal.core.stats import headline

    good = headline(0.789, 38, 0.61, "yes")
    assert good.startswith("78.9% of 38 held-out test images right (95% interval 64%–89%)")
    assert "Always answering 'yes' would score 61%." in good and "not shown" not in good
    weak = headline(0.70, 20, 0.60, "benign")
    assert "not shown to be better than always giving that most common answer" in weak


def test_a_class_never_recognised_is_named_and_the_headline_uses_the_training_majority():
    from foveal.core.evaluation.metrics import add_headline

    y = np.array([0] * 6 + [1] * 3 + [2] * 3)
    p = np.zeros((12, 3))
    p[:, 0] = 0.8  # always answers the first class
    p[:, 1:] = 0.1
    m = compute_metrics(y, p, ("normal", "benign", "malignant"))
    add_headline(m, y, ("normal", "benign", "malignant"), ["normal"] * 5 + ["benign"] * 2)
    assert m["cautions"] == ["The model never recognises 'benign': none of its 3 image(s) here was answered 'benign'.",
                             "The model never recognises 'malignant': none of its 3 image(s) here was answered "
                             "'malignant'."]
    assert m["baseline"] == 0.5 and "Always answering 'normal' would score 50%: the model is not shown" in m["headline"]
    add_headline(m, y, ("normal", "benign", "malignant"), [])  # no training labels: the common class here
    assert m["baseline_class"] == "normal"


def test_the_operating_threshold_comes_from_the_validation_images_with_ppv_and_npv():
    y = np.array([0, 0, 0, 1, 1, 1])
    score = np.array([0.1, 0.2, 0.7, 0.6, 0.8, 0.9])
    p = np.stack([1 - score, score], axis=1)
    m = compute_metrics(y, p, ("normal", "tumour"), operating=OperatingPoint("tumour", 0.75))
    chosen = m["roc"]["binary"]["chosen"]
    assert chosen["threshold"] == 0.75 and chosen["rule"] == "Youden's J on the validation images"
    assert chosen["rule_plain"] == "chosen before testing, on images the model had not learned from"
    assert (chosen["tp"], chosen["fp"], chosen["tn"], chosen["fn"]) == (2, 0, 3, 1)
    assert chosen["ppv"] == 1.0 and chosen["npv"] == 0.75
    other = compute_metrics(y, p, ("normal", "tumour"), operating=OperatingPoint("normal"))
    assert other["roc"]["binary"]["positive_class"] == "normal"
    assert "optimistic" in other["roc"]["binary"]["chosen"]["rule"]  # no validation threshold: said so
    assert "optimistic" in other["roc"]["binary"]["chosen"]["rule_plain"]
