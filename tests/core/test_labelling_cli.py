"""`foveal suggest` and `foveal label-import` through the command line in this process, on real images."""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

from tests import factory


def _foveal(*args: object) -> tuple[int, str]:
    """``foveal ARGS`` in this process, knowing no dataset folder beforehand: ``(exit code, standard error)``."""
    from foveal.core import paths
    from foveal.core.cli import main

    with paths._lock:  # noqa: SLF001 - a fresh process knows no dataset folder
        paths._protected.clear()  # noqa: SLF001
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main([str(a) for a in args])
    return rc, err.getvalue()


def _sources(tmp_path: Path) -> tuple[Path, Path]:
    data = factory.make_class_folder(tmp_path / "data", {"red": 3, "green": 3}, size=40)
    unlabelled = factory.make_class_folder(tmp_path / "unlabelled", {"a": 4, "b": 4}, size=40, seed=1)
    return data, unlabelled


def test_suggest_writes_the_images_to_label_next(tmp_path):
    data, unlabelled = _sources(tmp_path)
    rc, err = _foveal("suggest", data, unlabelled, "--n", 5, "--csv", tmp_path / "next.csv",
                      "--weights", factory.real_weights())
    assert rc == 0, err
    with open(tmp_path / "next.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert list(rows[0]) == ["rank", "path", "suggested", "confidence", "unfamiliar", "why"]
    assert len({r["path"] for r in rows}) == 5 and all(Path(r["path"]).is_relative_to(unlabelled) for r in rows)
    assert {r["suggested"] for r in rows} <= {"red", "green"} and {r["unfamiliar"] for r in rows} <= {"yes", "no"}
    assert all(0 < float(r["confidence"]) <= 1 and r["why"] for r in rows)


def test_suggest_refuses_an_output_inside_the_folder_it_reads_and_a_bad_n(tmp_path):
    data, unlabelled = _sources(tmp_path)
    rc, err = _foveal("suggest", data, unlabelled, "--csv", unlabelled / "next.csv")
    assert rc == 2 and f"{unlabelled}" in err and "Choose a file outside it" in err
    rc, err = _foveal("suggest", data, unlabelled, "--n", 0, "--csv", tmp_path / "next.csv")
    assert rc == 2 and "--n" in err
    assert not (unlabelled / "next.csv").exists() and not (tmp_path / "next.csv").exists()


def test_label_import_builds_the_new_folder_and_names_a_missing_file(tmp_path):
    data, unlabelled = _sources(tmp_path)
    labels = tmp_path / "labels.csv"
    labels.write_text("source,label\nunlabelled/a/a_000.png,red\nunlabelled/b/b_001.png,blue\n", encoding="utf-8")
    rc, err = _foveal("label-import", data, labels, "--out", tmp_path / "new")
    assert rc == 0, err
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["blue", "green", "labels.csv", "red"]
    assert len(list((tmp_path / "new" / "red").iterdir())) == 4
    labels.write_text("source,label\nunlabelled/a/nope.png,red\n", encoding="utf-8")
    rc, err = _foveal("label-import", data, labels, "--out", tmp_path / "new2")
    assert rc == 2 and "labels.csv, line 2" in err and "nope.png is not a file" in err
    assert not (tmp_path / "new2").exists()


def test_label_import_corrects_a_dataset_image_instead_of_placing_it_twice(tmp_path):
    data, _ = _sources(tmp_path)
    labels = tmp_path / "review.csv"  # a suspected mislabel reviewed: red_000 is green
    labels.write_text("source,label\ndata/red/red_000.png,green\n", encoding="utf-8")
    rc, err = _foveal("label-import", data, labels, "--out", tmp_path / "new")
    assert rc == 0, err
    placed = sorted(str(p.relative_to(tmp_path / "new")) for p in (tmp_path / "new").rglob("*.png"))
    assert len(placed) == 6 and "green/red_000.png" in placed and "red/red_000.png" not in placed
    with open(tmp_path / "new" / "labels.csv", encoding="utf-8", newline="") as fh:
        rows = {Path(r["source"]).name: r for r in csv.DictReader(fh)}
    assert len(rows) == 6
    assert (rows["red_000.png"]["label"], rows["red_000.png"]["status"], rows["red_000.png"]["suggested"]) == (
        "green", "corrected", "red")
    assert rows["red_001.png"]["status"] == "from dataset"


def test_suggest_on_a_folder_without_a_readable_image_says_so(tmp_path):
    data, _ = _sources(tmp_path)
    empty = tmp_path / "nothing here"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images", encoding="utf-8")
    rc, err = _foveal("suggest", data, empty, "--csv", tmp_path / "next.csv", "--weights", factory.real_weights())
    assert rc == 2 and "holds no image Foveal can read" in err and str(empty) in err
    assert not (tmp_path / "next.csv").exists()


def test_the_marks_a_review_exports_correct_the_dataset_through_label_import(tmp_path):
    """Evaluate → mark suspected mislabels → export the marks CSV → label-import: each marked image goes to the
    class the model said, in a new dataset folder; the dataset itself is unchanged."""
    from foveal.core.evaluation.review import export_marks_csv, set_mark

    data, _ = _sources(tmp_path)
    before = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}
    (tmp_path / "run").mkdir()
    set_mark(tmp_path / "run", "red/red_001.png", True, true="red", predicted="green")
    set_mark(tmp_path / "run", "green/green_002.png", True, true="green", predicted="red")
    assert export_marks_csv(tmp_path / "run", tmp_path / "marks.csv", str(data)) == 2
    rc, err = _foveal("label-import", data, tmp_path / "marks.csv", "--out", tmp_path / "corrected")
    assert rc == 0, err
    placed = sorted(str(p.relative_to(tmp_path / "corrected")) for p in (tmp_path / "corrected").rglob("*.png"))
    assert "green/red_001.png" in placed and "red/green_002.png" in placed and len(placed) == 6
    assert {p: p.read_bytes() for p in data.rglob("*") if p.is_file()} == before
