"""Foveal never writes, renames or deletes anything in a dataset folder: every command, run from inside the
dataset with default options, leaves it byte-identical (listing with hidden files, sizes, mtimes, digests)."""

from __future__ import annotations

import os

import pytest

from tests.factory import real_weights
from tests.reliability.conftest import run_cli
from tests.reliability.hostile import snapshot


@pytest.fixture
def inside(hostile_data, monkeypatch):
    root, _ = hostile_data
    monkeypatch.chdir(root)
    return root


def _commands(run) -> list[tuple[str, ...]]:
    return [
        ("scan", "."),
        ("scan", ".", "--json"),
        ("train", ".", "--weights", real_weights(), "--epochs", "1", "--image-size", "32"),
        ("split", "."),
        ("split", ".", "--csv", "split.csv"),
        ("split", ".", "--csv", "benign/split.csv"),
        ("evaluate", str(run)),
        ("evaluate", str(run), "."),
        ("evaluate", str(run), ".", "--out", "eval"),
        ("predict", str(run), "benign"),
        ("predict", str(run), ".", "--csv", "predictions.csv"),
        ("predict", str(run), "benign", "--csv", "benign/predictions.csv"),
        ("report", str(run)),
        ("export", str(run), "--format", "keras"),
    ]


def test_every_command_run_inside_the_dataset_leaves_it_byte_identical(inside, trained_run, tmp_path):
    before = snapshot(inside)
    outcomes = {}
    for args in _commands(trained_run):
        outcomes[args] = run_cli(*args)
        assert snapshot(inside) == before, f"`foveal {' '.join(args)}` changed the dataset folder"
    for args, o in outcomes.items():
        assert o.message_or_success, f"`foveal {' '.join(args)}` ended in a traceback:\n{o.traceback or o.err}"
    refused = [a for a, o in outcomes.items() if o.rc == 2 and "inside the dataset folder" in o.err]
    # Each explicit output inside the dataset is refused with a message saying where to write instead.
    assert {a[-1] for a in refused} >= {"split.csv", "benign/split.csv", "predictions.csv", "benign/predictions.csv",
                                        "eval"}
    assert all("Choose a place outside it" in outcomes[a].err for a in refused)
    trained = outcomes[_commands(trained_run)[2]]
    assert trained.rc == 0, trained.err
    runs = tmp_path / "xdg-data" / "foveal" / "runs"  # the default run location from inside a dataset
    assert [p.name for p in runs.iterdir() if (p / "run.json").is_file()], trained.err


def test_outputs_inside_the_runs_own_dataset_are_refused_before_any_work(trained_run, tmp_path):
    import json

    data = json.loads((trained_run / "run.json").read_text(encoding="utf-8"))["dataset"]["root"]
    before = snapshot(trained_run.parent / "data")
    for args in (("report", trained_run, "--out", f"{data}/report"),
                 ("export", trained_run, "--format", "keras", "--out", f"{data}/benign/export"),
                 ("evaluate", trained_run, "--out", f"{data}/eval"),
                 ("train", data, "--weights", real_weights(), "--epochs", "1", "--out", f"{data}/run")):
        o = run_cli(*args)
        assert o.rc == 2 and o.traceback is None, (args, o.traceback or o.err)
        assert "inside the dataset folder" in o.err, o.err
    assert snapshot(trained_run.parent / "data") == before


def test_a_read_only_dataset_trains_with_default_options(tmp_path, monkeypatch):
    """`cd DATA && foveal train .` on a read-only copy (a mounted share, a CD) works and writes nothing there."""
    from tests import factory

    data = factory.make_class_folder(tmp_path / "ro", {"a": 6, "b": 6}, size=32)
    ro = tmp_path / "ro-mount"
    ro.mkdir()
    if os.system(f"mount --bind {data} {ro} && mount -o remount,bind,ro {ro}") != 0:
        pytest.skip("needs root to bind-mount a read-only copy of the dataset")
    try:
        before = snapshot(ro)
        monkeypatch.chdir(ro)
        o = run_cli("train", ".", "--weights", real_weights(), "--epochs", "1", "--image-size", "32")
        assert o.rc == 0 and o.traceback is None, o.traceback or o.err
        assert snapshot(ro) == before
    finally:
        monkeypatch.chdir(tmp_path)
        os.system(f"umount {ro}")
