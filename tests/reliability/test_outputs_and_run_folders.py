"""Promises that hold against inputs nobody listed: outputs that are not regular files, standard output that is
full or gone, run folders whose run.json lies (nested, retyped, pointing out of its dataset), and a dataset that
moved after training. Every command ends with success or a message naming the file, option or key; nothing that
was not Foveal's to write is replaced, and nothing outside a run's dataset folder is read."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import types
import typing
from collections.abc import Mapping
from pathlib import Path

import pytest

from foveal.core import runs
from foveal.core.errors import RunFolderError
from foveal.core.run_record import RunRecord
from tests import factory
from tests.factory import real_weights
from tests.reliability.conftest import run_cli


@pytest.fixture
def image(trained_run) -> Path:
    return sorted((trained_run.parent / "data" / "benign").iterdir())[0]


def _identity(path: Path) -> tuple:
    st = os.lstat(path)
    return st.st_mode, st.st_ino, os.readlink(path) if path.is_symlink() else None


# ---- outputs ---------------------------------------------------------------------------------------------------

def test_predict_never_replaces_a_device_a_fifo_a_folder_or_a_link(trained_run, image, tmp_path):
    victim = tmp_path / "victim.csv"
    victim.write_text("the user's own file")
    targets = {"link to /dev/null": tmp_path / "null", "FIFO": tmp_path / "fifo", "folder": tmp_path / "folder",
               "link to a file": tmp_path / "link.csv"}
    targets["link to /dev/null"].symlink_to("/dev/null")
    os.mkfifo(targets["FIFO"])
    targets["folder"].mkdir()
    targets["link to a file"].symlink_to(victim)
    for name, target in targets.items():
        before = _identity(target)
        o = run_cli("predict", trained_run, image, "--csv", target)
        assert o.rc == 2 and o.traceback is None, f"{name}: {o.traceback or o.err}"
        assert str(target) in o.err, f"{name}: {o.err}"
        words = "does not write through links" if name == "link to a file" else "is not a regular file"
        assert words in o.err and "choose" in o.err.lower(), f"{name}: {o.err}"
        assert _identity(target) == before, f"the {name} was replaced"
    assert victim.read_text() == "the user's own file"


def test_an_output_folder_that_is_a_file_or_the_root_is_a_message(trained_run, tmp_path):
    afile = tmp_path / "results"
    afile.write_text("keep")
    data = trained_run.parent / "data"
    train = ("train", data, "--epochs", "1", "--image-size", "32", "--weights", real_weights(), "--out")
    for args in (("evaluate", trained_run, "--out", afile), ("report", trained_run, "--out", afile),
                 (*train, afile), (*train, "/")):
        o = run_cli(*args)
        assert o.rc == 2 and o.traceback is None, f"{args}: {o.traceback or o.err}"
        assert str(args[-1]) in o.err and ("not a folder" in o.err or "not empty" in o.err), o.err
    assert afile.read_text() == "keep"


def test_evaluate_and_report_never_write_into_the_root(trained_run):
    before = {n: os.path.lexists(Path("/", n)) for n in ("evaluation.json", "predictions.csv", "report.html",
                                                          "report.pdf")}
    for command in ("evaluate", "report"):
        o = run_cli(command, trained_run, "--out", "/")
        assert o.rc == 2 and o.traceback is None, f"{command}: {o.traceback or o.err}"
        assert "root of the file system" in o.err and "Choose a new or empty folder" in o.err, o.err
    assert {n: os.path.lexists(Path("/", n)) for n in before} == before


_FOREIGN = {"evaluation.json": b'{"mine": true}\n', "predictions.csv": b"MINE\n", "report.html": b"mine\n",
            "report.pdf": b"%PDF-1.4 the user's own\n"}


@pytest.mark.parametrize("name", sorted(_FOREIGN))
def test_a_users_file_in_the_out_folder_is_never_replaced(trained_run, tmp_path, name):
    folder = tmp_path / "U"
    folder.mkdir()
    (folder / name).write_bytes(_FOREIGN[name])
    command = "evaluate" if name in ("evaluation.json", "predictions.csv") else "report"
    o = run_cli(command, trained_run, "--out", folder)
    assert o.rc == 2 and o.traceback is None, o.traceback or o.err
    assert f"{folder / name} is not a file Foveal wrote" in o.err and "Choose a new or empty folder" in o.err, o.err
    assert sorted(os.listdir(folder)) == [name] and (folder / name).read_bytes() == _FOREIGN[name]


def test_an_earlier_foveal_evaluation_and_report_in_the_out_folder_are_replaced(trained_run, tmp_path):
    folder = tmp_path / "U"
    for command in ("evaluate", "report"):
        for _ in range(2):
            o = run_cli(command, trained_run, "--out", folder)
            assert o.rc == 0 and o.traceback is None, o.traceback or o.err
    assert {"evaluation.json", "predictions.csv", "report.html", "report.pdf"} <= set(os.listdir(folder))
    assert b'<meta name="generator" content="Foveal">' in (folder / "report.html").read_bytes()
    assert b"/Creator (Foveal)" in (folder / "report.pdf").read_bytes()
    other = tmp_path / "V"  # an evaluation of older days, without the marker
    other.mkdir()
    old = json.loads((folder / "evaluation.json").read_text())
    del old["format"]
    (other / "evaluation.json").write_text(json.dumps(old))
    shutil.copy(folder / "predictions.csv", other / "predictions.csv")
    assert run_cli("evaluate", trained_run, "--out", other).rc == 0
    assert json.loads((other / "evaluation.json").read_text())["format"] == "foveal-evaluation"


def test_csv_to_a_full_standard_output_is_a_message(trained_run, image, monkeypatch, capsys):
    from foveal.core.cli.main import main

    with open("/dev/full", "w") as full:
        monkeypatch.setattr(sys, "stdout", full)
        rc = main(["predict", str(trained_run), str(image), "--csv", "-"])
        monkeypatch.undo()
    err = capsys.readouterr().err
    assert rc == 2 and "Not enough space for standard output" in err and "--csv FILE" in err, err


def test_csv_to_a_reader_that_went_away_ends_quietly(trained_run, image, monkeypatch, capsys):
    from foveal.core.cli.main import main

    read, write = os.pipe()
    os.close(read)  # `foveal predict … --csv - | head -0`
    with os.fdopen(write, "w") as pipe:
        monkeypatch.setattr(sys, "stdout", pipe)
        rc = main(["predict", str(trained_run), str(image), "--csv", "-"])
        monkeypatch.undo()
    # closing the pipe (above) flushed nothing into it again: what was buffered was dropped
    assert rc == 0 and "Traceback" not in capsys.readouterr().err


# ---- run folders -----------------------------------------------------------------------------------------------

def _copy_run(trained_run: Path, dst: Path, run: dict | str) -> Path:
    """A run folder beside the shared one: its own run.json, the other files linked (nothing is copied twice)."""
    dst.mkdir(parents=True)
    for f in trained_run.iterdir():
        if f.name not in ("run.json", "evaluation.json", "predictions.csv", "report.html", "report.pdf"):
            (dst / f.name).symlink_to(f)
    (dst / "run.json").write_text(run if isinstance(run, str) else json.dumps(run), encoding="utf-8")
    return dst


def _good(trained_run: Path) -> dict:
    return json.loads((trained_run / "run.json").read_text(encoding="utf-8"))


def _secret(tmp_path: Path) -> Path:
    """An image outside the run's dataset: a crafted run folder must not have Foveal read it into a report."""
    return factory.make_class_folder(tmp_path / "private", {"photos": 1}, size=40) / "photos" / "photos_000.png"


def _lying_runs(trained_run: Path, tmp_path: Path) -> dict[str, tuple[str, str]]:
    """name → (run.json text, what the message must name)."""
    good = _good(trained_run)
    secret = _secret(tmp_path)
    climb = "../" * 40 + str(secret).lstrip("/")
    data = tmp_path / "data-with-a-link"
    shutil.copytree(trained_run.parent / "data", data)
    (data / "benign" / "link.png").symlink_to(secret)

    def test0(**change) -> str:
        run = json.loads(json.dumps(good))
        run["split"]["test"][0].update(change)
        return json.dumps(run)

    no_class = json.loads(json.dumps(good))
    del no_class["split"]["test"][0]["class"]
    linked = json.loads(test0(file="benign/link.png"))
    linked["dataset"]["root"] = str(data)
    deep = json.dumps(good)[:-1] + ', "note": ' + '{"a": ' * 50_000 + "1" + "}" * 50_000 + "}"
    return {"nested lists": ("[" * 100_000, "nested"), "nested objects": (deep, "nested"),
            "split entry without class": (json.dumps(no_class), "split.test[0].class"),
            "class not among classes": (test0(**{"class": "neither"}), "split.test[0].class"),
            "file out through ..": (test0(file=climb), "split.test[0].file"),
            "absolute file": (test0(file=str(secret)), "split.test[0].file"),
            "file with NUL": (test0(file="benign/a\0.png"), "split.test[0].file"),
            "drive path": (test0(file="C:\\private\\photos_000.png"), "split.test[0].file"),
            "backslash ..": (test0(file="..\\..\\photos_000.png"), "split.test[0].file"),
            "link out of the dataset": (json.dumps(linked), "split.test[0].file")}


@pytest.mark.parametrize("command", ["evaluate", "report"])
def test_a_run_json_that_lies_is_refused_naming_the_key(trained_run, tmp_path, command):
    for i, (name, (text, key)) in enumerate(_lying_runs(trained_run, tmp_path).items()):
        folder = _copy_run(trained_run, tmp_path / f"run{i}", text)
        o = run_cli(command, folder)
        assert o.rc == 2 and o.traceback is None, f"{name}: {o.traceback or o.err}"
        assert str(folder / "run.json") in o.err and key in o.err, f"{name}: {o.err}"
        assert not (folder / "report.html").exists() and not (folder / "evaluation.json").exists(), name


def _break(run: dict, key: str, how: str) -> None:
    """Delete, null or retype the value at a dotted key (``history[0].epoch``: the first element's)."""
    *parents, last = key.replace("[0]", ".0").split(".")
    obj = run
    for part in parents:
        obj = obj[int(part)] if part.isdigit() else obj.get(part)
        if not isinstance(obj, (dict, list)):
            return
    if isinstance(obj, list):  # an element itself
        if how == "delete":
            del obj[0]
        else:
            obj[0] = None if how == "null" else "x"
        return
    if not isinstance(obj, dict):
        return
    if how == "delete":
        obj.pop(last, None)
    elif how == "null":
        obj[last] = None
    else:
        value = obj.get(last)
        obj[last] = ({"x": 1} if isinstance(value, (list, str)) else [] if isinstance(value, dict)
                     else "many" if value is not None else 7)


def _every_key() -> list[str]:
    """Every key the run record names (core.run_record), nested (a list by its first item: ``history[0].epoch``),
    and the ones it reads before its fields."""
    return ["format", "classes", "dataset.root", *_keys(RunRecord)]


def _keys(hint: object, key: str = "") -> list[str]:
    """The keys below ``key`` that the record type ``hint`` names."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if typing.get_origin(hint) in (tuple, Mapping) and typing.get_args(hint)[-1] is Ellipsis:
        return [f"{key}[0]", *_keys(typing.get_args(hint)[0], f"{key}[0]")]
    if not (isinstance(hint, type) and dataclasses.is_dataclass(hint)):
        return []
    hints, out = typing.get_type_hints(hint), []
    for f in dataclasses.fields(hint):
        if f.name not in ("extra", "absent"):
            name = f"{key}.{f.metadata.get('key', f.name)}".lstrip(".")
            out += [name, *_keys(hints[f.name], name)]
    return out


@pytest.fixture(scope="module")
def saved_evaluation(trained_run):
    from foveal.core.evaluation.evaluate import evaluate

    return evaluate(trained_run)


BREAKS = ("delete", "null", "retype")


@pytest.mark.parametrize("every_way", [pytest.param(False, id="default"),
                                       pytest.param(True, id="long", marks=pytest.mark.slow)])
def test_every_key_deleted_nulled_or_retyped_is_refused_or_every_reader_copes(every_way, trained_run, tmp_path,
                                                                              saved_evaluation):
    """The generated cases: each key a reader uses, broken (the default run breaks each key one of the three
    ways, in turn; ``-m slow`` all three). read_run refuses the run naming the key, or every reader of run.json
    (the report's sections, the evaluation's extras) works on what it let through."""
    from foveal.core.evaluation import report_sections as rs
    from foveal.core.evaluation.evaluate import run_cautions

    base = _good(trained_run)  # filled where the shared run has nothing, so that each list has an element
    base["history"] = [{"epoch": 1, "phase": "head", "loss": 0.5, "accuracy": 0.9, "val_loss": 0.6,
                        "val_accuracy": 0.8, "seconds": 1.0}]
    base["skipped_during_training"] = [{"file": "benign/x.png", "reason": "truncated"}]
    base["skipped_by_scan"] = [{"file": "benign/y.png", "reason": "empty file (0 bytes)"}]
    base["blank_images"] = ["benign/z.png"]
    base["split_info"].update(duplicates_across_splits=[{"benign/a.png": "train", "benign/b.png": "test"}],
                              n_groups=20, leaking_groups=["p1"])
    base["test"].update(class_gaps=["'benign' has 1 test image"], lost=[{"label": "benign", "split": "test"}])
    base["phases"] = {"improved": False, "kept_epoch": 1, "words": "Fine-tuning did not improve on the head",
                      "head_best": {"epoch": 1}}
    assert all(value for key in _every_key() if key.endswith("]") for value in [_at(base, key)]), "an empty list"
    folder = _copy_run(trained_run, tmp_path / "run", json.dumps(base))
    refused = 0
    for i, key in enumerate(_every_key()):
        for how in BREAKS if every_way else (BREAKS[i % 3],):
            run = json.loads(json.dumps(base))
            _break(run, key, how)
            (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
            try:
                checked = runs.read_run(folder)
            except RunFolderError as exc:
                refused += 1
                name = key.split(".")[0].split("[")[0]
                assert name in str(exc) or "Foveal run.json" in str(exc), f"{key} {how}: {exc}"
                continue
            for section in (rs.dataset, rs.split, rs.model, rs.recipe, rs.settings, rs.software, rs.training):
                section(checked)
            rs.summary(checked, saved_evaluation), rs.model_card(checked, saved_evaluation)
            run_cautions(checked)
    assert refused > (50 if every_way else 20)  # the required keys and every retyped value


def _at(run: dict, key: str) -> object:
    """The value at a dotted key (``a[0].b``), or None where a part is missing."""
    value: object = run
    for part in key.replace("[0]", ".0").split("."):
        value = (value[0] if value else None) if part == "0" and isinstance(value, list) else (
            value.get(part) if isinstance(value, dict) else None)
    return value


# ---- a dataset that moved --------------------------------------------------------------------------------------

def _run_on_a_copy_of_its_dataset(trained_run: Path, tmp_path: Path) -> tuple[Path, dict, Path]:
    """A copy of the shared run whose dataset is a copy of its own, free to move or lose files."""
    data = tmp_path / "data"
    shutil.copytree(trained_run.parent / "data", data)
    run = _good(trained_run)
    run["dataset"]["root"] = str(data)
    return data, run, _copy_run(trained_run, tmp_path / "run", run)


def test_a_dataset_that_moved_after_training_is_named_with_the_way_out(trained_run, tmp_path):
    data, run, folder = _run_on_a_copy_of_its_dataset(trained_run, tmp_path)
    data.rename(tmp_path / "moved")  # the lab reorganised its disk
    for command in ("evaluate", "report"):
        o = run_cli(command, folder)
        assert o.rc == 2 and o.traceback is None, f"{command}: {o.traceback or o.err}"
        assert f"dataset folder {data} is not there" in o.err and "foveal evaluate RUN FOLDER" in o.err, o.err
    o = run_cli("evaluate", folder, tmp_path / "moved", "--out", tmp_path / "ev")  # the way out it names
    assert o.rc == 0, o.traceback or o.err


def test_test_images_gone_since_training_are_counted_or_named(trained_run, tmp_path):
    data, run, folder = _run_on_a_copy_of_its_dataset(trained_run, tmp_path)
    test = run["split"]["test"]
    (data / test[0]["file"]).unlink()
    o = run_cli("evaluate", folder, "--json")
    assert o.rc == 0, o.traceback or o.err
    result = json.loads(o.out)
    assert result["metrics"]["n"] == len(test) - 1
    assert [s["file"] for s in result["skipped"]] == [test[0]["file"]]
    for row in test[1:]:
        (data / row["file"]).unlink()
    o = run_cli("evaluate", folder)
    assert o.rc == 2 and o.traceback is None, o.traceback or o.err
    assert f"None of the run's {len(test)} test images are in its dataset folder {data}" in o.err, o.err


def test_a_saved_evaluation_cannot_point_the_report_at_files_elsewhere(trained_run, tmp_path, saved_evaluation,
                                                                       monkeypatch):
    """evaluation.json is part of a run folder that may come from anyone: the report's worst-error pictures are
    read from the run's dataset folder by file name, never from the paths the file names."""
    from foveal.core.evaluation.gradcam import GradCamExplainer

    secret = _secret(tmp_path)
    saved = saved_evaluation.to_dict()
    first, second = saved["predictions"][:2]
    for p, file in ((first, first["file"]), (second, "../" * 40 + str(secret).lstrip("/"))):
        wrong = next(c for c in saved["classes"] if c != p["true"])
        p.update(file=file, path=str(secret), predicted=wrong, confidence=0.99)
    folder = _copy_run(trained_run, tmp_path / "run", _good(trained_run))
    (folder / "evaluation.json").write_text(json.dumps(saved), encoding="utf-8")
    read, explain = [], GradCamExplainer.explain_file

    def recording(self, path, *args, **kwargs):
        read.append(str(path))
        return explain(self, path, *args, **kwargs)

    monkeypatch.setattr(GradCamExplainer, "explain_file", recording)
    o = run_cli("report", folder)
    assert o.rc == 0, o.traceback or o.err
    assert str(secret) not in read and str(trained_run.parent / "data" / first["file"]) in read, read
    assert "outside the folder evaluated: not shown" in (folder / "report.html").read_text(encoding="utf-8")
