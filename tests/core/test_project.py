"""Projects: atomic saves that survive a crash, migrations, a changed dataset detected, runs listed and managed."""

from __future__ import annotations

import json
import os

import pytest

from foveal.core.data.scan import scan_dataset
from foveal.core.errors import ConfigError, WriteError
from foveal.core.project import (
    SCHEMA_VERSION,
    create_project,
    dataset_changes,
    delete_run,
    fix_split,
    list_runs,
    load_project,
    migrate,
    save_project,
    set_run_meta,
)
from foveal.core.split.make import make_split
from tests import factory
from tests.factory import real_weights


@pytest.fixture
def data(tmp_path):
    return factory.make_class_folder(tmp_path / "data", {"a": 6, "b": 6}, size=24)


def test_project_round_trip_and_refuses_the_dataset_folder(data, tmp_path):
    with pytest.raises(ConfigError, match="inside the dataset"):
        create_project(data / "proj", data)
    assert not (data / "proj").exists()
    project = create_project(tmp_path / "proj", data)
    project.settings = {"backbone": "MobileNetV2", "epochs": 7}
    save_project(project)
    again = load_project(tmp_path / "proj")
    assert again.settings == project.settings and again.dataset == str(data)
    assert json.loads((tmp_path / "proj" / "project.json").read_text())["schema_version"] == SCHEMA_VERSION


def test_a_crash_mid_save_leaves_the_previous_project_intact(data, tmp_path, monkeypatch):
    project = create_project(tmp_path / "proj", data)
    project.settings = {"epochs": 3}
    save_project(project)
    before = (tmp_path / "proj" / "project.json").read_bytes()

    def power_cut(fd):
        raise OSError("power lost")

    monkeypatch.setattr(os, "fsync", power_cut)
    project.settings = {"epochs": 99, "big": "x" * 100_000}
    with pytest.raises(WriteError, match="power lost"):  # a message, not a traceback
        save_project(project)
    assert (tmp_path / "proj" / "project.json").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "proj").iterdir()) == ["project.json", "runs"]  # no stray temp file
    monkeypatch.undo()
    assert load_project(tmp_path / "proj").settings == {"epochs": 3}


def test_version_1_projects_are_migrated():
    v1 = {"schema_version": 1, "dataset_path": "/data/cells", "fingerprint": "abc", "files": {"a/1.png": [1, 2]},
          "settings": {"backbone": "ResNet50"}, "created": "2026-01-01"}
    v2 = migrate(v1)
    assert v2["schema_version"] == 2 and v2["dataset"] == {"path": "/data/cells", "fingerprint": "abc",
                                                           "files": {"a/1.png": [1, 2]}}
    assert v2["settings"]["backbone"] == "ResNet50" and v2["settings"]["group_by"] == "none"
    assert v2["runs"] == {}
    with pytest.raises(ConfigError, match="newer Foveal"):
        migrate({"schema_version": SCHEMA_VERSION + 1})


def test_changed_dataset_is_detected(data, tmp_path):
    project = create_project(tmp_path / "proj", data)
    summary = scan_dataset(data)
    fix_split(project, summary, make_split(summary, 0.2, 0.2, 1))
    assert not dataset_changes(load_project(tmp_path / "proj"), scan_dataset(data)).changed
    factory.make_class_folder(tmp_path / "more", {"a": 1}, size=24, seed=9)
    (tmp_path / "more" / "a" / "a_000.png").rename(data / "a" / "new.png")
    (data / "b" / "b_000.png").unlink()
    st = os.stat(data / "a" / "a_001.png")
    os.utime(data / "a" / "a_001.png", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    changes = dataset_changes(load_project(tmp_path / "proj"), scan_dataset(data))
    assert changes.added == ["a/new.png"] and changes.removed == ["b/b_000.png"]
    assert changes.modified == ["a/a_001.png"]
    assert "1 added, 1 removed, 1 changed" in changes.describe()


def test_runs_are_listed_renamed_noted_and_deleted(data, tmp_path):
    from foveal.core.training import TrainConfig, train

    project = create_project(tmp_path / "proj", data)
    summary = scan_dataset(data)
    fix_split(project, summary, make_split(summary, 0.2, 0.2, 1))
    for k in range(2):
        train(TrainConfig(str(data), epochs=1, weights=real_weights(), image_size=32, recipe="manual",
                          split_file=str(project.split_path), out_dir=str(project.runs_dir / f"run-{k}")))
    rows = list_runs(project)
    assert [r["id"] for r in rows] == ["run-1", "run-0"]
    assert {r["ended"] for r in rows} <= {"finished", "finished early"}
    # Stopped before any model was trained: listed as stopped with nothing saved, and said so, never "kept".
    from foveal.core.cancel import CancelToken

    stop = CancelToken()
    stop.cancel()
    stopped = train(TrainConfig(str(data), epochs=1, weights=real_weights(), image_size=32, recipe="manual",
                                split_file=str(project.split_path), out_dir=str(project.runs_dir / "run-9")),
                    cancel=stop)
    assert stopped.model_path is None and "nothing was saved" in stopped.reason and "kept" not in stopped.reason
    assert {r["id"]: r["ended"] for r in list_runs(project)}["run-9"] == "stopped, nothing saved"
    delete_run(project, "run-9")
    run0 = json.loads((project.runs_dir / "run-0" / "run.json").read_text())
    fixed = json.loads(project.split_path.read_text())["split"]
    assert [r["file"] for r in run0["split"]["test"]] == fixed["test"]  # the project's split, not a new one
    set_run_meta(project, "run-0", name="baseline", note="first try")
    rows = {r["id"]: r for r in list_runs(load_project(tmp_path / "proj"))}
    assert rows["run-0"]["name"] == "baseline" and rows["run-0"]["note"] == "first try"
    with pytest.raises(ConfigError):
        delete_run(project, "../proj")
    delete_run(project, "run-1")
    assert [r["id"] for r in list_runs(project)] == ["run-0"] and data.exists()
    # A run trained before the project existed, elsewhere: found by its dataset and adopted where it lies.
    from foveal.core.project import adopt_runs, find_runs

    outside = tmp_path / "foveal-runs" / "20261203-101500-MobileNetV2"
    train(TrainConfig(str(data), epochs=1, weights=real_weights(), image_size=32, recipe="manual",
                      out_dir=str(outside)))
    other = tmp_path / "foveal-runs" / "other-dataset"
    other.mkdir()
    (other / "run.json").write_text(json.dumps({"dataset": {"root": str(tmp_path / "elsewhere")}}))
    assert find_runs([tmp_path / "foveal-runs"], data) == [str(outside)]
    assert adopt_runs(project, [outside]) == 1 and adopt_runs(project, [outside]) == 0  # once
    rows = {r["id"]: r for r in list_runs(load_project(tmp_path / "proj"))}
    adopted = rows["20261203-101500-MobileNetV2"]
    assert adopted["adopted"] and adopted["folder"] == str(outside.resolve())
    assert adopted["name"].startswith("MobileNetV2 · frozen · ")  # readable, not a time stamp
    delete_run(project, adopted["id"])  # off the list; the folder is the user's and stays
    assert outside.is_dir() and "20261203-101500-MobileNetV2" not in {r["id"] for r in list_runs(project)}
