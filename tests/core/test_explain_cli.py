"""`foveal explain`: a heatmap picture and one JSON line per image, through the command line in this process."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from foveal.core.cli.explain import LISTING, PictureNames
from foveal.core.evaluation.gradcam import target_layer
from foveal.core.paths import printable
from tests import factory
from tests.reliability.generated import name_bytes

PICTURE = re.compile(r"[\w.-]+\.heatmap\.png")


def _explain(*args: object) -> tuple[int, str]:
    """``foveal explain ARGS`` in this process, knowing no dataset folder beforehand (as a new process would):
    ``(exit code, standard error)``."""
    from foveal.core import paths
    from foveal.core.cli import main

    with paths._lock:  # noqa: SLF001 - a fresh process knows no dataset folder
        paths._protected.clear()  # noqa: SLF001
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(["explain", *(str(a) for a in args)])
    return rc, err.getvalue()


def _lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / LISTING).read_text(encoding="utf-8").splitlines()]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_explains_files_and_folders_as_predict_sees_them(colour_run, tmp_path):
    from foveal.core.models.predict import files_under, predict_files
    from foveal.core.models.saved import load_classifier

    folder, out = colour_run.data / "red", tmp_path / "out"
    rc, err = _explain(colour_run.run_dir, folder, colour_run.odd, "--out", out)
    assert rc == 0, err
    assert "heatmap(s) written to" in err
    lines = _lines(out)
    files = files_under([folder, colour_run.odd])
    assert [line["file"] for line in lines] == [f.rel for f in files]
    clf = load_classifier(colour_run.run_dir)
    backbone = next(layer for layer in clf.model.layers if hasattr(layer, "layers"))
    expected = predict_files(clf, files).probs
    for line, f, probs in zip(lines, files, expected, strict=True):
        with Image.open(out / line["heatmap"]) as shown, Image.open(f.path) as original:
            assert PICTURE.fullmatch(line["heatmap"]) and shown.format == "PNG" and shown.mode == "RGB"
            width, height = original.size
        got = np.array([line["probabilities"][c] for c in clf.classes])
        np.testing.assert_allclose(got, probs, atol=1e-4)  # the model sees the image as `foveal predict` does
        assert line["class"] == line["predicted"] == clf.classes[int(np.argmax(probs))]
        assert 0 <= line["peak_x"] < width and 0 <= line["peak_y"] < height
        assert line["layer"] == target_layer(backbone) and "pad" not in line["layer"]
    assert not any(folder.parent.rglob("*.heatmap.png")), "nothing is written beside the images"


def test_class_option_explains_that_class_and_an_unknown_one_is_refused(colour_run, tmp_path):
    out = tmp_path / "out"
    assert _explain(colour_run.run_dir, colour_run.odd, "--out", out, "--class", "green")[0] == 0
    (line,) = _lines(out)
    assert line["class"] == "green" and line["predicted"] in ("red", "green", "blue")
    rc, err = _explain(colour_run.run_dir, colour_run.odd, "--out", tmp_path / "other", "--class", "purple")
    assert rc == 2 and "no class 'purple'" in err and all(f"{c}," in err or f"{c}." in err for c in ("red", "green"))
    assert not (tmp_path / "other").exists()


def test_output_inside_the_images_or_the_dataset_is_refused(colour_run, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for k, p in enumerate(sorted((colour_run.data / "blue").iterdir())[:2]):
        shutil.copy(p, images / f"{k}.png")
    before = _snapshot(images)
    for out in (images, images / "heatmaps"):
        rc, err = _explain(colour_run.run_dir, images, "--out", out)
        assert rc == 2 and "inside the dataset folder" in err and "Choose a place outside it" in err
    rc, err = _explain(colour_run.run_dir, images, "--out", colour_run.data / "heatmaps")  # the run's own dataset
    assert rc == 2 and "inside the dataset folder" in err
    assert _snapshot(images) == before and not (colour_run.data / "heatmaps").exists()


def test_bad_input_is_a_message_and_exit_code_2(colour_run, tmp_path):
    (tmp_path / "empty").mkdir()
    rc, err = _explain(colour_run.run_dir, tmp_path / "empty", "--out", tmp_path / "a")
    assert rc == 2 and "No files found in" in err
    rc, err = _explain(tmp_path / "no-run", colour_run.odd, "--out", tmp_path / "b")
    assert rc == 2 and "does not exist" in err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "notes.png").write_text("not an image")
    rc, err = _explain(colour_run.run_dir, bad, "--out", tmp_path / "c")
    assert rc == 2 and "none of the 1 file(s) could be explained" in err
    assert "error" in _lines(tmp_path / "c")[0]
    shutil.copy(colour_run.odd, bad / "odd.jpg")
    rc, err = _explain(colour_run.run_dir, bad, "--out", tmp_path / "d")
    assert rc == 0 and "1 of 2 file(s) could not be read" in err
    assert [("error" in line, "heatmap" in line) for line in _lines(tmp_path / "d")] == [(True, False), (False, True)]


@settings(max_examples=60, deadline=None)
@given(rels=st.lists(st.lists(name_bytes, min_size=1, max_size=3), min_size=1, max_size=12))
def test_picture_names_are_portable_and_unique(rels):
    names = PictureNames()
    made = [names.new(os.path.join(*(os.fsdecode(part) for part in rel))) for rel in rels]
    assert all(PICTURE.fullmatch(n) and len(n.encode("utf-8")) <= 255 for n in made)
    assert len({n.lower() for n in made}) == len(made)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.lists(name_bytes, min_size=1, max_size=4, unique_by=lambda b: b.lower()))
def test_images_of_odd_names_are_explained(colour_run, tmp_path_factory, raw):
    """Names of any bytes (not UTF-8, line breaks, leading dashes, very long): each readable image gets a picture
    with a portable name and a line naming the file printably; hidden and system files are left out as `foveal
    predict` leaves them out; nothing is written beside the images."""
    from foveal.core.models.predict import files_under

    root = tmp_path_factory.mktemp("odd")
    images, out = root / "images", root / "out"
    images.mkdir()
    for name in raw:
        factory.write_jpeg(images / os.fsdecode(name))
    before = _snapshot(images)
    listed = files_under([images])
    rc, err = _explain(colour_run.run_dir, images, "--out", out)
    assert _snapshot(images) == before
    if not listed:
        assert rc == 2 and "No files found" in err
        return
    assert rc == 0, err
    lines = _lines(out)
    assert len(lines) == len(listed) and all(PICTURE.fullmatch(line["heatmap"]) for line in lines)
    assert sorted(p.name for p in out.iterdir()) == sorted([LISTING, *(line["heatmap"] for line in lines)])
    assert all(printable(line["file"]) == line["file"] for line in lines)  # one line of valid text
