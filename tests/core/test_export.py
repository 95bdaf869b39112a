"""Exports predict what Foveal predicts: every format written, run with its own runtime, and its example run."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from foveal.core.cli import main
from foveal.core.data.resize import resize_float, resize_weights
from foveal.core.errors import ConfigError
from foveal.core.export import writers
from foveal.core.export.export import ExportResult, export_model
from foveal.core.models.predict import ImageFile, predict_files
from foveal.core.models.saved import load_classifier
from foveal.core.training import TrainConfig, train
from tests import factory


@pytest.fixture(scope="module")
def run(colour_run):
    """The shared small real run (tests/conftest.py), with an odd-sized JPEG: neither square nor the model's size."""
    return colour_run.run_dir, colour_run.odd, colour_run.data


@pytest.fixture(scope="module")
def exported(run):
    """``exported(fmt, precision)``: the shared run's export in that format, written once for this file (into the
    run folder, where an export goes by default)."""
    made: dict[tuple[str, str], ExportResult] = {}

    def get(fmt: str, precision: str = "float32") -> ExportResult:
        if (fmt, precision) not in made:
            made[fmt, precision] = export_model(run[0], fmt, tflite_type=precision)
        return made[fmt, precision]

    return get


def _foveal_top(run_dir: str, image: Path) -> tuple[str, float]:
    clf = load_classifier(run_dir)
    probs = predict_files(clf, [ImageFile(str(image), image.name)]).probs[0]
    return clf.classes[int(probs.argmax())], float(probs.max())


@pytest.mark.parametrize(("fmt", "precision"), [("keras", "float32"), ("savedmodel", "float32"),
                                                ("tflite", "float32"), ("tflite", "float16"), ("onnx", "float32")])
def test_export_agrees_with_foveal_and_its_example_runs(run, exported, fmt, precision):
    run_dir, odd, _data = run
    result = exported(fmt, precision)
    assert result.passed and result.n_images > 0 and result.top1_agreement == 1.0
    # checked on every test image, and said so exactly
    assert result.n_images == result.n_listed == len(load_classifier(run_dir).run.split.test)
    assert f" on all {result.n_images} test images, " in result.words()
    assert result.max_abs_diff < (1e-3 if precision == "float32" else 0.05)
    folder = Path(result.folder)
    assert folder.name == (f"tflite-{precision}" if fmt == "tflite" else fmt)
    assert (folder / "labels.txt").read_text().split() == list(load_classifier(run_dir).classes)
    check = json.loads((folder / "export_check.json").read_text())
    assert check["passed"] and check["max_abs_diff"] == result.max_abs_diff and len(check["images"]) == result.n_images
    assert check["files"] == sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    out = subprocess.run([sys.executable, "predict_example.py", str(odd)], cwd=folder, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    first = out.stdout.strip().splitlines()[-1].split(": ", 1)[1].split(", ")[0]
    name, prob = first.rsplit(" ", 1)
    expected_name, expected_prob = _foveal_top(run_dir, odd)
    assert name == expected_name and float(prob) == pytest.approx(expected_prob, abs=0.05 if precision ==
                                                                   "float16" else 1e-3)


def test_int8_tflite_is_approximate_but_keeps_the_top_class(tmp_path, mobilenet_v2_weights):
    data = factory.make_class_folder(tmp_path / "data", {"red": 12, "green": 12, "blue": 12}, size=64)
    # the candidates at the run's own size only: a model that averages over rotations and flips is checked (in
    # float32) by tests/core/test_orientation.py; in int8 its 8 branches' rounding adds up (measured: 67% agreement)
    result = train(TrainConfig(str(data), epochs=4, weights=str(mobilenet_v2_weights), image_size=96,
                               out_dir=str(tmp_path / "run"), search="quick"))
    exported = export_model(result.run_dir, "tflite", tflite_type="int8")
    assert exported.approximate and exported.precision == "int8"
    assert exported.passed and exported.top1_agreement >= 0.8
    assert Path(exported.model).stat().st_size < 0.5 * Path(result.model_path).stat().st_size


def test_an_export_that_disagrees_is_reported_and_kept_aside(run, monkeypatch, capsys):
    run_dir, _odd, _data = run
    real = writers.runner

    def off_by_much(fmt, path):
        honest = real(fmt, path)
        def wrong(image):  # certain of the wrong class, as a mismatched preprocessing would be
            probs = honest(image)
            return np.roll(np.eye(len(probs))[int(np.argmax(probs))], 1)

        return wrong

    monkeypatch.setattr("foveal.core.export.export.runner", off_by_much)
    assert main(["export", run_dir, "--format", "onnx", "--out", str(Path(run_dir) / "bad")]) == 1
    assert "FAILED" in capsys.readouterr().out
    assert not (Path(run_dir) / "bad").exists() and (Path(run_dir) / "bad.failed" / "model.onnx").exists()


def test_export_refuses_the_dataset_folder(run):
    run_dir, _odd, data = run
    with pytest.raises(ConfigError, match="never writes there"):
        export_model(run_dir, "keras", out=data / "exports")
    assert not (data / "exports").exists()


def test_export_never_replaces_a_folder_of_other_files(run, tmp_path):
    run_dir, _odd, _data = run
    mine = tmp_path / "Documents"
    mine.mkdir()
    (mine / "thesis.docx").write_bytes(b"years of work")
    with pytest.raises(ConfigError, match="not an earlier Foveal export"):
        export_model(run_dir, "keras", out=mine)
    assert (mine / "thesis.docx").read_bytes() == b"years of work" and len(list(mine.iterdir())) == 1


def test_a_savedmodel_exported_again_replaces_only_foveals_files(run, exported, tmp_path):
    run_dir, _odd, _data = run
    out = tmp_path / "savedmodel"
    shutil.copytree(exported("savedmodel").folder, out)  # an earlier SavedModel export (saved_model/ and variables/)
    (out / "notes.txt").write_text("mine")
    (out / "saved_model" / "README").write_text("mine too")
    with pytest.raises(ConfigError, match="saved_model holds files Foveal did not write"):
        export_model(run_dir, "savedmodel", out, n_check=2)
    (out / "saved_model" / "README").unlink()
    again = export_model(run_dir, "savedmodel", out, n_check=2)
    n_test = len(load_classifier(run_dir).run.split.test)
    assert again.passed and again.n_images == 2 and again.n_listed == n_test > 2
    assert f" on 2 of the {n_test} test images (spread evenly over them: " in again.words()  # never "all 2"
    assert (out / "notes.txt").read_text() == "mine" and (out / "saved_model" / "saved_model.pb").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name != "savedmodel"]


def test_cli_predict_writes_every_file_with_reasons(run, tmp_path, capsys):
    run_dir, odd, data = run
    (tmp_path / "in" / "deeper").mkdir(parents=True)
    with Image.open(odd) as im:
        im.save(tmp_path / "in" / "deeper" / "a.png")
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    factory.truncate(factory.write_jpeg(tmp_path / "in" / "broken.jpg"), 0.4)
    out_csv = tmp_path / "p.csv"
    assert main(["predict", run_dir, str(tmp_path / "in"), str(odd), "--csv", str(out_csv), "--top-k", "2"]) == 0
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8"))))
    by_name = {Path(r["path"]).name: r for r in rows}
    assert set(by_name) == {"a.png", "notes.txt", "broken.jpg", "odd.jpg"}
    assert by_name["notes.txt"]["error"] and by_name["broken.jpg"]["error"]
    good = by_name["odd.jpg"]
    assert good["predicted_class"] == good["top1_class"] == _foveal_top(run_dir, odd)[0]
    assert float(good["top1_probability"]) >= float(good["top2_probability"])
    assert "top3_class" not in good
    assert by_name["a.png"]["predicted_class"] == good["predicted_class"]  # same pixels, PNG instead of JPEG


@pytest.mark.parametrize(("h", "w"), [(500, 375), (100, 60), (64, 64), (30, 1000)])
def test_resize_matches_tensorflow_antialias_and_the_graph(h, w):
    import tensorflow as tf

    from foveal.core.export.graph import resize_images
    from foveal.core.export.graph import resize_weights as graph_weights

    image = np.random.default_rng(h * w).integers(0, 256, (h, w, 3)).astype(np.uint8)
    ours = resize_float(image, 64)
    theirs = tf.image.resize(image[None].astype(np.float32), (64, 64), antialias=True).numpy()[0]
    graph = resize_images(tf.constant(image[None].astype(np.float32)), 64).numpy()[0]
    assert np.abs(ours - theirs).max() < 0.01 and np.abs(ours - graph).max() < 0.01
    assert np.allclose(resize_weights(64, h), graph_weights(64, tf.constant(h)).numpy(), atol=1e-6)
    assert np.allclose(resize_weights(64, h).sum(axis=1), 1.0, atol=1e-5)
