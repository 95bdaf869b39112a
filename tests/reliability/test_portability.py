"""What a run folder or a project made on one system needs to open on another: paths stored relative, with ``/``;
a run made on Windows (``C:\\…`` paths) opened here with its dataset moved beside it; names Windows reserves;
paths longer than Windows' old 260-character limit; and no process started with ``fork``."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from tests import factory
from tests.reliability import generated as gen
from tests.reliability.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]


def _as_if_made_on_windows(run: Path) -> None:
    """Rewrite a run.json as Foveal on Windows writes it: absolute paths with a drive and backslashes; the
    dataset's place relative to the run folder with ``/`` (as every Foveal writes it) — or, in an older or
    hand-made file, with backslashes, which must be read the same."""
    record = json.loads((run / "run.json").read_text(encoding="utf-8"))
    record["dataset"]["root"] = record["config"]["data_dir"] = r"C:\Users\lab\Documents\cells"
    record["config"]["out_dir"] = r"C:\Users\lab\foveal-runs\run1"
    record["dataset"]["relative"] = record["dataset"]["relative"].replace("/", "\\")
    (run / "run.json").write_text(json.dumps(record), encoding="utf-8")


def test_a_run_stores_where_its_dataset_lies_relative_to_it_with_slashes(trained_run):
    record = json.loads((trained_run / "run.json").read_text(encoding="utf-8"))
    assert record["dataset"]["relative"] == "../data"
    rows = [row["file"] for split in ("train", "val", "test") for row in record["split"][split]]
    assert rows and all("\\" not in f and not f.startswith("/") and "/" in f for f in rows)


def test_a_run_made_on_windows_opens_here_with_its_dataset_moved_beside_it(trained_run, tmp_path):
    moved = tmp_path / "from-windows"
    shutil.copytree(trained_run.parent / "data", moved / "data")
    shutil.copytree(trained_run, moved / "run")
    _as_if_made_on_windows(moved / "run")
    with gen.Watch(moved / "data", [moved / "data"]) as watch:  # the run folder is an output (its evaluation)
        for args in (["evaluate", moved / "run", "--out", tmp_path / "evaluation"],
                     ["report", moved / "run", "--out", tmp_path / "report"],
                     ["export", moved / "run", "--format", "keras", "--out", tmp_path / "export"]):
            done = run_cli(*args)
            assert done.rc == 0, (args, done.out[-1500:], done.err[-1500:], done.trace)
    assert not watch.changed()
    assert (tmp_path / "evaluation" / "evaluation.json").is_file()
    assert [p.stat().st_size > 10_000 for p in (tmp_path / "report").glob("*.pdf")] == [True]
    # Trained again from its run.json: the dataset is found the same way, and the Windows run folder path is not
    # taken as a folder name here (the new run goes where --out says, or to the default runs folder).
    done = run_cli("train", "--config", moved / "run" / "run.json", "--weights", factory.real_weights(),
                   "--epochs", "1", "--out", tmp_path / "again")
    assert done.rc == 0, (done.out[-1500:], done.err[-1500:], done.trace)
    again = json.loads((tmp_path / "again" / "run.json").read_text(encoding="utf-8"))
    assert Path(again["dataset"]["root"]) == moved / "data"
    assert not list(Path.cwd().glob("C:*")) and not list((moved / "run").glob("C:*"))


def test_without_its_dataset_the_run_says_where_it_looked(trained_run, tmp_path):
    shutil.copytree(trained_run, tmp_path / "run")
    _as_if_made_on_windows(tmp_path / "run")
    done = run_cli("evaluate", tmp_path / "run", "--out", tmp_path / "evaluation")
    assert done.rc == 2 and r"C:\Users\lab\Documents\cells" in done.err and "foveal evaluate RUN FOLDER" in done.err
    assert not (tmp_path / "evaluation").exists()


def test_a_project_made_on_windows_finds_its_dataset_moved_beside_it(tmp_path):
    from foveal.core.project import load_project

    data = factory.make_class_folder(tmp_path / "lab" / "cells", {"a": 3, "b": 3}, size=32)
    project = tmp_path / "lab" / "projects" / "p1"
    project.mkdir(parents=True)
    (project / "project.json").write_text(json.dumps({
        "format": "foveal-project", "schema_version": 2, "created": "2026-01-01T00:00:00",
        "dataset": {"path": r"D:\lab\cells", "relative": r"..\..\cells", "fingerprint": "", "files": {}},
        "settings": {}, "runs": {}}), encoding="utf-8")
    assert Path(load_project(project).dataset) == data


def test_paths_longer_than_260_characters_work_through_scan_train_and_predict(tmp_path):
    deep = tmp_path.joinpath(*[f"folder-with-a-long-name-{i:02d}" for i in range(10)])
    data = factory.make_class_folder(deep / "d", {"first-class-with-a-long-name": 6, "second-class": 6}, size=32)
    longest = max(len(str(p)) for p in data.rglob("*"))
    assert longest > 300
    assert run_cli("scan", data).rc == 0
    out = deep / "runs" / "a-run-folder-with-a-long-name"
    done = run_cli("train", data, "--weights", factory.real_weights(), "--epochs", "1", "--image-size", "32",
                   "--out", out)
    assert done.rc == 0, (done.out[-1500:], done.err[-1500:], done.trace)
    done = run_cli("predict", out, data, "--csv", out.parent / "predictions.csv")
    assert done.rc == 0 and len((out.parent / "predictions.csv").read_text().splitlines()) == 13


def test_core_starts_no_process_by_fork():
    """Windows and macOS start worker processes by ``spawn``, which re-imports the program: Foveal uses threads
    (and tf.data's own) for decoding and prediction, so no start method can differ. A process pool added later
    must be tested with ``spawn`` forced."""
    pattern = re.compile(r"\bmultiprocessing\b|\bos\.fork\b|ProcessPoolExecutor|\bos\.spawn")
    users = [str(p.relative_to(ROOT)) for folder in ("core", "gui") for p in (ROOT / folder).rglob("*.py")
             if pattern.search(p.read_text(encoding="utf-8"))]
    assert users == []
