"""Temperature scaling: the temperature is recovered from data made with it, folded exactly into the last
dense layer, recorded in run.json, and a calibration that does worse on the test images says so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from foveal.core.training.calibrate import (
    NEGATIVE_NAMES,
    Calibration,
    calibrate_model,
    ece,
    fit_temperature,
    softmax,
)
from foveal.core.training.heldout import OUT_OF_FOLD
from tests.factory import real_weights


def _labels_from(logits: np.ndarray, t: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = softmax(logits / t)
    return np.array([rng.choice(len(row), p=row) for row in p])


def test_the_temperature_that_made_the_labels_is_found():
    logits = np.random.default_rng(1).normal(0, 4, (4000, 3))
    for true_t in (0.5, 2.0):
        assert fit_temperature(logits, _labels_from(logits, true_t)) == pytest.approx(true_t, rel=0.1)


def test_folded_into_the_dense_layer_and_the_ece_before_is_recovered():
    import keras

    rng = np.random.default_rng(2)
    x = rng.normal(size=(600, 8)).astype(np.float32)
    kernel = rng.normal(0, 2, (8, 3)).astype(np.float32)
    inp = keras.Input((8,))
    model = keras.Model(inp, keras.layers.Dense(3, activation="softmax", name="predictions")(inp))
    model.get_layer("predictions").set_weights([kernel, np.zeros(3, np.float32)])
    y = _labels_from(x @ kernel, 3.0)  # the model is overconfident: the truth is 3x softer
    cal = calibrate_model(model, x[:300], y[:300])
    assert cal.temperature == pytest.approx(3.0, rel=0.3) and cal.val_ece_after < cal.val_ece_before
    after = np.asarray(model(x[300:]))
    np.testing.assert_allclose(after, softmax(x[300:] @ kernel / cal.temperature), atol=1e-5)
    with_test = cal.with_test(after, y[300:])
    assert with_test.test_ece_before == pytest.approx(ece(softmax(x[300:] @ kernel), y[300:]), abs=1e-4)
    assert with_test.test_ece_after < with_test.test_ece_before and "less reliable" not in with_test.words()
    worse = Calibration(1.5, 0.1, 0.05, 0.04, 0.06)
    assert "made the confidence slightly less reliable" in worse.words()
    assert calibrate_model(model, x[:0], y[:0]) is None


def test_a_run_records_its_calibration_and_its_saved_model_carries_it(tiny_dataset, tmp_path):
    from foveal.core.evaluation.evaluate import evaluate
    from foveal.core.training import TrainConfig, train

    result = train(TrainConfig(str(tiny_dataset), weights=real_weights(), image_size=32, epochs=3,
                               recipe="manual", out_dir=str(tmp_path / "run")))
    run = json.loads((Path(result.run_dir) / "run.json").read_text())
    cal = run["calibration"]
    assert cal["temperature"] > 0 and cal["val_ece_after"] <= cal["val_ece_before"] + 1e-9
    assert cal["test_ece_after"] is not None and "calibrated on the validation images" in cal["words"]
    assert any("confidence was adjusted" in note and "temperature" not in note for note in result.notes)
    ev = evaluate(result.run_dir)  # the saved model, as the window and the exports run it
    assert ev.metrics["calibration"]["ece"] == pytest.approx(cal["test_ece_after"], abs=1e-4)
    before = ev.metrics["calibration_before"]  # the reliability diagram shows both
    assert before["temperature"] == cal["temperature"]
    assert before["ece"] == pytest.approx(cal["test_ece_before"], abs=1e-4)


def test_two_classes_report_on_a_threshold_chosen_on_the_validation_images(tmp_path, capsys):
    from foveal.core.cli import main as cli_main
    from foveal.core.evaluation.evaluate import evaluate
    from foveal.core.training import TrainConfig, train
    from tests import factory

    data = factory.make_class_folder(tmp_path / "data", {"normal": 16, "tumour": 10}, size=40)
    result = train(TrainConfig(str(data), weights=real_weights(), image_size=32, out_dir=str(tmp_path / "run")))
    run = json.loads((Path(result.run_dir) / "run.json").read_text())
    op = run["operating_point"]
    # never on images the head was fitted on: the validation images, or out-of-fold answers for a linear head
    # fitted on the training and validation images
    assert op["chosen_on"] == run["calibration"]["fitted_on"]
    assert op["chosen_on"] == (OUT_OF_FOLD
                               if run["recipe"]["winner"]["head"] == "linear" else "validation images")
    assert op["positive_class"] == "tumour" and 0 <= op["threshold"] <= 1
    assert op["positive_reason"] == "'normal' reads as the absence of a finding"
    binary = evaluate(result.run_dir).metrics["roc"]["binary"]
    assert binary["chosen"]["threshold"] == op["threshold"] and "validation" in binary["chosen"]["rule"]
    other = evaluate(result.run_dir, positive_class="normal").metrics["roc"]["binary"]
    assert other["positive_class"] == "normal" and other["chosen"]["threshold"] == pytest.approx(1 - op["threshold"])
    # The window's positive-class chooser: the same numbers from the predictions already made, none made again.
    from foveal.core.evaluation.evaluate import with_positive_class

    switched = with_positive_class(evaluate(result.run_dir), "normal").metrics["roc"]["binary"]
    counts = ("tp", "fn", "tn", "fp")
    assert switched["positive_class"] == "normal" and switched["chosen"]["rule"] == other["chosen"]["rule"]
    assert switched["chosen"]["threshold"] == pytest.approx(other["chosen"]["threshold"])
    assert [switched["chosen"][k] for k in counts] == [other["chosen"][k] for k in counts]
    assert cli_main(["evaluate", result.run_dir, "--positive-class", "tumour"]) == 0
    out = capsys.readouterr().out
    assert "Positive class 'tumour' ('normal' reads as the absence of a finding;" in out
    assert "PPV" in out and "NPV" in out
    assert cli_main(["evaluate", result.run_dir, "--positive-class", "cyst"]) == 2
    assert "Unknown positive class 'cyst'" in capsys.readouterr().err


def test_the_positive_class_is_the_finding_not_the_smaller_class():
    """A brain-MRI set with fewer 'no' than 'yes' scans: the clinical reading is about 'yes' (the tumour), not about
    finding healthy scans; names that are no usual negative fall back to the rarer class."""
    from foveal.core.training.calibrate import positive_class

    assert positive_class(("no", "yes"), ["no"] * 3 + ["yes"] * 9) == (1, "'no' reads as the absence of a finding")
    assert positive_class(("Tumour", "No_Tumour"), ["Tumour"] * 9 + ["No_Tumour"] * 3)[0] == 0
    assert positive_class(("benign", "malignant"), ["benign"] * 2 + ["malignant"] * 9)[0] == 1
    assert positive_class(("cats", "dogs"), ["cats"] * 9 + ["dogs"] * 3) == (1, "the rarer class in training")
    assert positive_class(("normal", "healthy"), ["normal"] * 3 + ["healthy"] * 9)[0] == 0  # both negative: rarer
    assert positive_class(("nonunion", "union"), ["nonunion"] * 9 + ["union"] * 3)[0] == 1  # a finding, not "non "


@given(negative=st.sampled_from(sorted(NEGATIVE_NAMES) + ["no tumour", "non malignant", "not infected"]),
       finding=st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12),
       style=st.sampled_from([str, str.upper, str.title, lambda s: s.replace(" ", "_"), lambda s: s.replace(" ", "-")]),
       negative_first=st.booleans(), n_negative=st.integers(1, 50), n_finding=st.integers(1, 50))
@settings(max_examples=200, deadline=None, database=None)
def test_generated_pairs_put_the_finding_first(negative, finding, style, negative_first, n_negative, n_finding):
    from foveal.core.training.calibrate import positive_class, reads_as_negative

    assume(not reads_as_negative(finding))
    name = style(negative)
    classes = (name, finding) if negative_first else (finding, name)
    labels = [name] * n_negative + [finding] * n_finding
    k, why = positive_class(classes, labels)
    assert classes[k] == finding and name in why  # whichever is rarer, and however the negative is written


def test_the_plain_words_say_how_far_the_confidence_was_off_without_technical_terms():
    from foveal.core.training.calibrate import Calibration

    cal = Calibration(0.84, 0.042, 0.022, 0.125, 0.106, on="training and validation images, out of fold")
    words = cal.plain()
    assert "4.2%" in words and "2.2%" in words and "12.5%" in words and "10.6%" in words
    assert not any(term in words.lower() for term in ("temperature", "ece", "out of fold", "calibration error"))
    worse = Calibration(1.2, 0.05, 0.03, 0.10, 0.12).plain()
    assert "can be chance" in worse
