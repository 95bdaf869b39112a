"""Evaluating a real trained run: predictions through the saved model, the files written, the CLI, safe mode."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from foveal.core.cli import main
from foveal.core.data.decode import decode_image
from foveal.core.errors import ModelFileError
from foveal.core.evaluation.evaluate import evaluate, read_evaluation, write_evaluation
from foveal.core.evaluation.review import export_marks_csv, read_marks, set_mark
from foveal.core.models.saved import load_classifier
from foveal.core.runs import read_run
from tests import factory


@pytest.fixture(scope="module")
def trained_run(colour_run):
    """The shared small real run (tests/conftest.py): three colour classes, 64 px, two head epochs."""
    return colour_run


def test_evaluation_predicts_what_the_saved_model_says_on_raw_images(trained_run):
    ev = evaluate(trained_run.run_dir)
    run = read_run(trained_run.run_dir)
    assert len(ev.predictions) == len(run.split.test) == ev.metrics["n"]
    assert {p.file for p in ev.predictions} == {r.file for r in run.split.test}
    # One test accuracy: the run measured its test split through the very path evaluation takes.
    assert ev.metrics["accuracy"] == pytest.approx(trained_run.test_accuracy, abs=1e-9)
    assert run.test.accuracy == pytest.approx(ev.metrics["accuracy"], abs=1e-9)
    model = load_classifier(trained_run.run_dir).model
    for p in ev.predictions:  # the saved model fed the raw decoded image, as any user of model.keras does
        raw = decode_image(p.path).astype(np.float32)
        assert np.abs(np.asarray(model(raw[None]))[0] - np.array(p.probs)).max() < 1e-4
    for p in ev.predictions:
        assert sum(p.probs) == pytest.approx(1.0, abs=1e-4)
        assert p.predicted == ev.classes[int(np.argmax(p.probs))]
        assert p.true == p.file.split("/")[0]


def test_confusion_counts_match_predictions(trained_run):
    ev = evaluate(trained_run.run_dir)
    k = len(ev.classes)
    counts = np.zeros((k, k), int)
    for p in ev.predictions:
        counts[ev.classes.index(p.true), ev.classes.index(p.predicted)] += 1
    assert counts.tolist() == ev.metrics["confusion"]


def test_evaluation_files_round_trip(trained_run, tmp_path):
    ev = evaluate(trained_run.run_dir)
    write_evaluation(ev, tmp_path)
    again = read_evaluation(tmp_path)
    assert again.metrics == json.loads(json.dumps(ev.metrics))
    rows = list(csv.DictReader((tmp_path / "predictions.csv").read_text(encoding="utf-8").splitlines()))
    assert [r["file"] for r in rows] == [p.file for p in ev.predictions]
    assert all(r[f"p_{c}"] for r in rows for c in ev.classes)
    # One convention for yes/no, as in every CSV Foveal writes.
    assert {r["correct"] for r in rows} | {r["low_confidence"] for r in rows} <= {"true", "false"}
    assert [r["correct"] == "true" for r in rows] == [p.correct for p in ev.predictions]


def test_evaluate_another_folder_skips_unknown_classes_and_broken_files(trained_run, tmp_path):
    data = factory.make_class_folder(tmp_path / "other", {"red": 3, "green": 3, "purple": 2}, size=40, seed=5)
    factory.truncate(data / "red" / "red_000.png", 0.3)
    ev = evaluate(trained_run.run_dir, str(data))
    reasons = {s["file"]: s["reason"] for s in ev.skipped}
    assert ev.metrics["n"] == 5
    assert "purple" in reasons["purple/purple_000.png"]
    assert "red/red_000.png" in reasons


def test_cli_evaluate_json_and_report(trained_run, capsys):
    assert main(["evaluate", trained_run.run_dir, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["metrics"]["n"] == len(out["predictions"]) > 0
    assert main(["report", trained_run.run_dir]) == 0
    html = (Path(trained_run.run_dir) / "report.html").read_text(encoding="utf-8")
    from foveal.core.evaluation.report import SECTION_TITLES

    for title in (*SECTION_TITLES, "Suspected mislabels"):
        assert f"<h2>{title}</h2>" in html
    assert "data:image/png;base64," in html and "src='http" not in html  # self-contained
    assert "MobileNetV2" in html and "1234" in html  # backbone and seed are written down
    assert "held-out test images right (95% interval" in html and "Always answering" in html
    assert "do not look like the images the model learned from" in html
    pdf = (Path(trained_run.run_dir) / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 3


def test_cli_evaluate_names_a_missing_model(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nothing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_model_with_code_is_refused_unless_allowed(tmp_path):
    import keras

    inp = keras.Input((8, 8, 3))
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.Lambda(lambda x: x * 2.0)(
        keras.layers.GlobalAveragePooling2D()(inp)))
    path = tmp_path / "lambda.keras"
    keras.Model(inp, out).save(path)
    (tmp_path / "labels.txt").write_text("cat\ndog\n", encoding="utf-8")
    with pytest.raises(ModelFileError, match="Lambda") as err:
        load_classifier(path)
    assert "window" not in str(err.value)  # the window has no such option: the message names the CLI's
    clf = load_classifier(path, allow_unsafe=True)
    assert clf.classes == ("cat", "dog") and clf.image_size == 8


def test_model_without_class_names_is_refused_not_given_placeholders(tmp_path):
    import keras

    inp = keras.Input((8, 8, 3))
    path = tmp_path / "bare.keras"
    keras.Model(inp, keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(inp))).save(path)
    with pytest.raises(ModelFileError, match="no class names.*labels.txt"):
        load_classifier(path)
    (tmp_path / "labels.txt").write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(ModelFileError, match="names 2 classes but the model bare.keras has 3 outputs"):
        load_classifier(path)


def test_mislabelled_marks_are_kept_and_exported(tmp_path):
    set_mark(tmp_path, "a/1.png", True, true="a", predicted="b")
    set_mark(tmp_path, "b/2.png", True, true="b", predicted="a", note="blurry")
    set_mark(tmp_path, "a/1.png", False)
    assert list(read_marks(tmp_path)) == ["b/2.png"]
    n = export_marks_csv(tmp_path, tmp_path / "marks.csv", "/data")
    rows = list(csv.DictReader((tmp_path / "marks.csv").read_text(encoding="utf-8").splitlines()))
    assert n == 1 and rows[0]["path"] == "/data/b/2.png" and rows[0]["note"] == "blurry"
