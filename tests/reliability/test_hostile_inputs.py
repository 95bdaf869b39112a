"""Hostile inputs through every command: the only acceptable outcomes are success, or exit code 2 with a
message naming the file and the fix. Never a traceback; the dataset is never changed.

``python -m pytest tests/reliability -rA`` lists each case; the matrix test prints its table with ``-s``.
"""

from __future__ import annotations

import json
import platform
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.factory import real_weights
from tests.reliability import hostile
from tests.reliability.conftest import run_cli
from tests.reliability.hostile import snapshot


def test_scan_gives_each_hostile_file_its_reason(hostile_data):
    from foveal.core.data.scan import scan_dataset

    root, cases = hostile_data
    summary = scan_dataset(root)
    skipped = {s.rel: s.reason for s in summary.skipped}
    used = {r.rel for r in summary.images}
    for case in cases:
        if case.skipped is None:
            assert case.rel in used, f"{case.name} ({case.rel}) should be usable: {skipped.get(case.rel)}"
        else:
            assert case.rel in skipped, f"{case.name} ({case.rel}) should be skipped with a reason"
            assert re.search(case.skipped, skipped[case.rel]), (case.name, skipped[case.rel])
    assert summary.counts == {"benign": 8 + 6, "malignant": 8 + 5}  # links never move images between classes


def test_scan_and_decode_agree_on_every_file(hostile_data):
    """'The scan says usable' if and only if 'decoding succeeds', for every file of the hostile dataset and every
    DICOM file pydicom ships (compressed in every transfer syntax, and broken ones)."""
    import glob
    import os

    from pydicom.data import get_testdata_file

    from foveal.core.data.decode import decode_image
    from foveal.core.data.image_formats import probe
    from foveal.core.errors import ImageDecodeError

    root, _ = hostile_data
    files = [str(p) for p in root.rglob("*") if p.is_file() and not p.is_symlink() and not p.name.startswith(".")]
    files += [f for f in glob.glob(os.path.join(os.path.dirname(get_testdata_file("CT_small.dcm")), "**", "*"),
                                   recursive=True) if os.path.isfile(f)]
    disagree, usable = [], 0
    for f in files:
        try:
            probe(f)
            scan_ok = True
        except ImageDecodeError:
            scan_ok = False
        try:
            decode_image(f, size=16)
            decode_ok = True
        except ImageDecodeError as exc:
            decode_ok, why = False, exc.reason
        usable += scan_ok
        if scan_ok != decode_ok:
            disagree.append((f, scan_ok, decode_ok if decode_ok else why))
    assert not disagree, disagree
    assert len(files) > 150 and usable > 80  # the check covered the compressed DICOMs, not just junk


def test_hostile_dataset_through_every_dataset_command(hostile_data, trained_run, tmp_path, capsys):
    root, cases = hostile_data
    before = snapshot(root)
    out = tmp_path / "out"
    commands = {
        "scan": ("scan", root),
        "scan --json": ("scan", root, "--json"),
        "split": ("split", root, "--csv", out / "split.csv"),
        "train": ("train", root, "--weights", real_weights(), "--epochs", "1", "--image-size", "32",
                  "--out", out / "run"),
        "predict": ("predict", trained_run, *(root / c.rel for c in cases), "--csv", out / "predictions.csv"),
        "evaluate on the folder": ("evaluate", trained_run, root, "--out", out / "eval"),
    }
    table = Counter()
    for name, args in commands.items():
        o = run_cli(*args)
        assert o.message_or_success, f"{name}: {o.traceback or o.err}"
        assert o.rc == 0, f"{name} should succeed on a folder with good images among bad ones: {o.err}"
        table[(name, "success")] += len(cases)
    assert snapshot(root) == before
    import csv

    with (out / "predictions.csv").open(encoding="utf-8") as fh:
        rows = {r["path"]: r for r in csv.DictReader(fh)}
    for case in cases:
        row = rows.get(str(root / case.rel))
        bad_content = case.skipped and not any(w in case.name for w in ("folder link", "class folder"))
        if bad_content:  # what is wrong is the file itself, not where it lies: predict says why too
            assert row is not None and row["error"], f"predict must give a reason for {case.name}"
    run = __import__("json").loads((out / "run" / "run.json").read_text(encoding="utf-8"))
    assert {"malignant/flat.png", "malignant/nan.tif"} <= set(run["blank_images"])
    with capsys.disabled():
        print("\nhostile dataset × command:", dict(table))


@pytest.fixture
def model_cases(tmp_path, trained_run):
    return hostile.hostile_models(tmp_path / "models", trained_run / "model.keras")


@pytest.mark.parametrize("command", ["predict", "evaluate", "export"])
def test_hostile_model_files_are_refused_by_every_model_command(model_cases, command, tmp_path, trained_run):
    image = next((trained_run.parent / "data" / "benign").iterdir())
    for name, path in model_cases.items():
        args = {"predict": ("predict", path, image), "evaluate": ("evaluate", path, trained_run.parent / "data"),
                "export": ("export", path, "--format", "keras", "--out", tmp_path / "x")}[command]
        o = run_cli(*args)
        assert o.rc == 2 and o.traceback is None, f"{name}: {o.traceback or o.err}"
        assert str(path) in o.err and "not a valid Foveal/Keras model file" in o.err, f"{name}: {o.err}"


def test_zip_bomb_is_refused_before_inflating(model_cases):
    import resource

    from foveal.core.errors import ModelFileError
    from foveal.core.models.saved import check_archive

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ModelFileError, match="zip bomb"):
        check_archive(model_cases["zip bomb config.json"])
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 50_000  # kB: nothing was inflated


@pytest.fixture
def run_cases(tmp_path, trained_run):
    return hostile.broken_runs(tmp_path / "runs", trained_run)


@pytest.mark.parametrize("command", ["evaluate", "predict", "report", "export"])
def test_broken_run_folders_give_a_message_in_every_command(run_cases, command, trained_run, tmp_path):
    image = next((trained_run.parent / "data" / "benign").iterdir())
    for name, folder in run_cases.items():
        args = {"evaluate": ("evaluate", folder), "predict": ("predict", folder, image),
                "report": ("report", folder), "export": ("export", folder, "--format", "keras")}[command]
        o = run_cli(*args)
        assert o.rc == 2 and o.traceback is None, f"{name}: {o.traceback or o.err}"
        assert str(folder) in o.err, f"{name}: the message must name the folder: {o.err}"
        assert "class 0" not in o.out + o.err
        assert not (folder / "export").exists() or (trained_run / "export").exists()


def test_bad_config_files_give_a_message(tmp_path, trained_run):
    for name, path in hostile.bad_configs(tmp_path / "configs", trained_run.parent / "data").items():
        o = run_cli("train", "--config", path, "--out", tmp_path / "never")
        assert o.rc == 2 and o.traceback is None, f"{name}: {o.traceback or o.err}"
        assert str(path) in o.err or "Unknown setting" in o.err, f"{name}: {o.err}"
        assert not (tmp_path / "never").exists()


def test_an_unfinished_run_is_cleaned_up_and_named_when_opened(trained_run, tmp_path):
    """A killed run leaves run_config.json, a feature cache and a checkpoint: opening it says so and tidies."""
    import shutil

    folder = tmp_path / "killed"
    folder.mkdir()
    shutil.copyfile(trained_run / "run_config.json", folder / "run_config.json")
    shutil.copyfile(trained_run / "model.keras", folder / "model.keras")  # saved just before the kill
    (folder / ".foveal-tmp-1-run.json").write_text("{half")
    (folder / ".cache").mkdir()
    (folder / ".cache" / "features_train.npy").write_bytes(b"\0" * 1000)
    (folder / "checkpoint.weights.h5").write_bytes(b"\0" * 1000)
    (folder / ".running").write_text(json.dumps({"pid": 999999999, "host": platform.node()}))
    o = run_cli("evaluate", folder)
    assert o.rc == 2 and "unfinished run" in o.err and "run_config.json" in o.err, o.err
    assert sorted(p.name for p in folder.iterdir()) == ["run_config.json"]
    assert Path(folder / "run_config.json").is_file()
