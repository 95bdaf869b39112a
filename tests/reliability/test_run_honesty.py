"""A run's result holds against what nobody listed: images that stop decoding while it runs, SIGTERM, the temporary
files of the libraries, classes too small to be in every split. The number a run reports is the number
``foveal evaluate`` finds on the same run."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from foveal.core.training.events import Phase, PhaseChanged
from tests import factory
from tests.factory import real_weights
from tests.reliability.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]


def _config(data: Path, out: Path, **kw):
    from foveal.core.training import TrainConfig

    return TrainConfig(str(data), **{**dict(weights=real_weights(), image_size=32, epochs=1, batch_size=4,
                                            recipe="manual", out_dir=str(out)), **kw})


def _split_of(config) -> dict[tuple[str, str], list[Path]]:
    """The files of each (split, class) the run will use: the same seed makes the same split."""
    from foveal.core.data.scan import scan_dataset
    from foveal.core.split.make import SPLITS
    from foveal.core.split.plan import prepare_split

    summary = scan_dataset(config.data_dir)
    split, _ = prepare_split(summary, config.split_spec)
    out: dict[tuple[str, str], list[Path]] = {}
    for name in SPLITS:
        for r in split.of(name):
            out.setdefault((name, r.label), []).append(Path(r.path))
    return out


def _break_when_extracting(files: list[Path]):
    """An ``on_event`` that makes ``files`` unreadable once the scan has called them usable (as a sync client or a
    colleague would, mid-run): the first truncated, the others deleted."""
    def on_event(event) -> None:
        if isinstance(event, PhaseChanged) and event.phase == Phase.EXTRACTING and files[0].exists():
            factory.truncate(files[0], keep=0.3)
            for f in files[1:]:
                f.unlink()
    return on_event


def _same_as_evaluation(run_dir: str) -> dict:
    """The run's test result and ``foveal evaluate``'s on the same run agree exactly; returns run.json."""
    from foveal.core.evaluation.evaluate import evaluate

    run = json.loads((Path(run_dir) / "run.json").read_text())
    metrics = evaluate(run_dir).metrics
    assert (run["test"]["n"], run["test"]["accuracy"]) == (metrics["n"], metrics["accuracy"])
    assert run["test"]["baseline"] == metrics["baseline"]
    return run


# ---- images that stop decoding during the run ----------------------------------------------------------------

def test_a_class_that_loses_its_test_images_during_the_run_stops_it_with_a_message(tmp_path):
    from foveal.core.errors import DatasetError
    from foveal.core.training import train

    data = factory.make_class_folder(tmp_path / "data", {"a": 10, "b": 10}, size=32)
    config = _config(data, tmp_path / "run")
    gone = _split_of(config)[("test", "a")]
    assert len(gone) == 2
    with pytest.raises(DatasetError) as caught:
        train(config, on_event=_break_when_extracting(gone))
    message = str(caught.value)
    assert "2 of 2 test images of 'a'" in message and gone[0].name in message
    assert "train again" in message
    assert not (tmp_path / "run" / "run.json").exists(), "no result that looks complete"


def test_a_few_lost_images_are_said_beside_the_headline_and_the_run_reports_what_evaluate_finds(tmp_path):
    from foveal.core.training import train
    from foveal.core.training.progress import TerminalProgress

    data = factory.make_class_folder(tmp_path / "data", {"a": 10, "b": 10}, size=32)
    config = _config(data, tmp_path / "run")
    parts = _split_of(config)
    lost_test, lost_train = parts[("test", "a")][0], parts[("train", "b")][0]
    terminal = io.StringIO()
    breaker = _break_when_extracting([lost_test, lost_train])

    def on_event(event) -> None:
        breaker(event)
        TerminalProgress(terminal)(event)

    result = train(config, on_event=on_event)
    run = _same_as_evaluation(result.run_dir)
    assert run["test"]["n"] == 3, "the headline counts the images measured, not the split's list of 4"
    assert "of 3 held-out test images" in result.headline
    for words in ("1 of 2 test images of 'a'", "1 of 6 training images of 'b'"):
        assert words in run["test"]["headline"] and words in result.headline and words in terminal.getvalue()
    assert "Warning:" in result.headline
    assert {(x["class"], x["split"], x["lost"], x["of"]) for x in run["test"]["lost"]} == {
        ("a", "test", 1, 2), ("b", "train", 1, 6)}


# ---- classes too small for every split -------------------------------------------------------------------------

def _small_class_data(root: Path) -> Path:
    """Two classes of 20 and a class of one image, named by patient (one patient per image)."""
    data = factory.make_class_folder(root, {"a": 20, "b": 20, "x": 1}, size=32)
    for i, f in enumerate(sorted(data.rglob("*.png"))):
        f.rename(f.with_name(f"P{i:02d}_{f.name}"))
    return data


def test_a_one_image_class_is_said_unmeasured_in_the_scan_the_split_preview_and_the_result(tmp_path):
    from foveal.core.split.preview import split_preview
    from foveal.core.training import train
    from foveal.core.training.progress import TerminalProgress

    data = _small_class_data(tmp_path / "data")
    scan = run_cli("scan", data)
    assert scan.rc == 0 and "'x' has 1 image: too few to be in training, validation and test" in scan.out
    config = _config(data, tmp_path / "run", group_by="filename")
    preview = split_preview(config.data_dir, config.split_spec)
    said = "'x' has 1 image: it is in training only, so it is never measured"
    assert said in preview.table() and said in preview.sentence()
    assert said in run_cli("split", data, "--group-by", "filename").out
    terminal = io.StringIO()
    result = train(config, on_event=TerminalProgress(terminal))
    run = _same_as_evaluation(result.run_dir)
    assert run["test"]["class_gaps"] == [said]
    assert any(said in note for note in result.notes) and said in terminal.getvalue()
    # ... and in what evaluates the run afterwards: `foveal evaluate RUN`, evaluation.json and the report.
    unmeasured = "'x' has no test image: its recall and precision are not measured"  # said once, in the split's words
    evaluated = run_cli("evaluate", result.run_dir)
    assert evaluated.rc == 0 and evaluated.out.count(said) == 1 and unmeasured not in evaluated.out, evaluated.err
    report = run_cli("report", result.run_dir, "--out", tmp_path / "report")
    assert report.rc == 0, report.err
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert said.replace("'", "&#x27;") in html or said in html
    # Any folder without an image of a class says so in general words.
    from foveal.core.evaluation.metrics import cautions

    assert unmeasured + "." in cautions({"per_class": [{"class": "x", "support": 0, "recall": 0.0}]})


def test_what_the_scan_skipped_is_said_when_training_starts_and_kept_in_run_json(tmp_path, monkeypatch):
    import errno
    import shutil

    from foveal.core.training import train
    from foveal.core.training.progress import TerminalProgress

    data = factory.make_class_folder(tmp_path / "data", {"a": 6, "b": 6}, size=32)
    shutil.copy(data / "a" / "a_000.png", data / "a" / "bad\nname.png")
    for folder in ("new\nline", "lockedclass"):
        (data / folder).mkdir()
        shutil.copy(data / "a" / "a_000.png", data / folder / "x.png")
    real_scandir = os.scandir

    def scandir(path=".", *args):  # a folder the user cannot list, as a chmod 700 root folder is for `nobody`
        if not isinstance(path, int) and os.path.basename(os.fspath(path)) == "lockedclass":
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_scandir(path, *args)

    monkeypatch.setattr(os, "scandir", scandir)
    terminal = io.StringIO()
    result = train(_config(data, tmp_path / "run"), on_event=TerminalProgress(terminal))
    skipped = json.loads((Path(result.run_dir) / "run.json").read_text(encoding="utf-8"))["skipped_by_scan"]
    reasons = {s["file"]: s["reason"] for s in skipped}
    assert set(reasons) == {"a/bad\\nname.png", "new\\nline", "lockedclass"}, reasons
    assert reasons["lockedclass"].startswith("folder cannot be read")
    said = terminal.getvalue()
    assert "3 file(s) or folder(s) of the dataset were skipped by the scan (e.g. a/bad\\nname.png: file name" in said
    assert "the folder 'lockedclass' could not be read: it is not part of this run" in said
    assert "the folder 'new\\nline' was skipped (folder name holds a line break" in said


def test_class_gaps_say_what_each_missing_part_means():
    from foveal.core.split.make import Split
    from foveal.core.split.preview import class_gaps

    def records(label: str, n: int):
        from foveal.core.data.scan import ImageRecord

        return tuple(ImageRecord(f"/d/{label}{i}", f"{label}{i}", label, None, None, 1, 0.0)  # type: ignore[arg-type]
                     for i in range(n))

    split = Split(records("a", 3) + records("b", 2) + records("c", 1),
                  records("a", 1) + records("d", 1) + records("e", 1),
                  records("a", 1) + records("c", 1) + records("e", 1))
    assert class_gaps(split, ["a", "b", "c", "d", "e"]) == [
        "'b' has 2 images: it is in training only, so it is never measured",
        "'c' has 2 images: none is in the validation split, so the best epoch and the confidence calibration are "
        "chosen without it",
        "'d' has 1 image, none in training: the model never learns it, and its validation image(s) can only be "
        "answered wrongly",
        "'e' has 2 images, none in training: the model never learns it, and its validation and test image(s) can "
        "only be answered wrongly",
    ]
    assert class_gaps(Split(records("a", 3), records("a", 1), ()), ["a"]) == [], "no test split at all: no gap"


# ---- SIGTERM, SIGKILL and temporary files ------------------------------------------------------------------------

def _env(tmp_path: Path, tmp: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_DATA_HOME=str(tmp_path / "xdg"), HOME=str(tmp_path / "home"),
               TMPDIR=str(tmp))
    env.pop("FOVEAL_ALLOCATOR", None)
    return env


def _train_until_epoch(tmp_path: Path, data: Path, out: Path, tmp: Path, sig: int, *more: str) -> tuple[int, str]:
    """`foveal train` from random weights, sent ``sig`` once its first epoch has ended; its exit code and stderr."""
    cmd = [sys.executable, "-m", "foveal.core.cli", "train", str(data), "--weights", "none", "--fine-tune", "all",
           "--epochs", "2", "--fine-tune-epochs", "2", "--image-size", "32", "--json-events", "--out", str(out),
           *more]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(tmp_path, tmp),
                          cwd=tmp_path) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        for line in proc.stdout:
            if json.loads(line).get("event") == "EpochEnded":
                proc.send_signal(sig)
                break
        proc.stdout.read()
        rc = proc.wait(timeout=300)
        return rc, proc.stderr.read().decode("utf-8", "replace")


def test_sigterm_keeps_the_best_model_and_no_temporary_file_outlives_a_run(tmp_path):
    from foveal.core.models.saved import load_classifier
    from foveal.core.runs import read_run

    data = factory.make_class_folder(tmp_path / "data", {"a": 10, "b": 10}, size=32)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    # SIGKILL cannot be caught: what the process made lies in its own folder, removed by a later run once old.
    rc, _ = _train_until_epoch(tmp_path, data, tmp_path / "killed", tmp, signal.SIGKILL)
    assert rc == -signal.SIGKILL
    left = list(tmp.iterdir())
    assert len(left) == 1 and left[0].is_dir() and left[0].name.startswith("foveal-tmp-"), left
    hours_ago = time.time() - 2 * 3600
    os.utime(left[0], (hours_ago, hours_ago))
    # SIGTERM (Slurm, a desktop logging out) is Ctrl-C: the run stops cooperatively and keeps its best model.
    out = tmp_path / "run"
    rc, stderr = _train_until_epoch(tmp_path, data, out, tmp, signal.SIGTERM)
    assert rc == 143, stderr
    assert "Traceback" not in stderr and "SIGTERM" in stderr
    run = read_run(out)
    assert run.outcome == "cancelled" and run.best_epoch is not None
    assert load_classifier(out).classes == ("a", "b")
    assert list(tmp.iterdir()) == [], "the run removed its temporary files, and the killed run's"


def test_sigterm_stops_a_cross_validation_keeping_the_fold_it_was_in(tmp_path):
    from foveal.core.runs import read_run

    data = factory.make_class_folder(tmp_path / "data", {"a": 6, "b": 6}, size=32)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "cv"
    rc, stderr = _train_until_epoch(tmp_path, data, out, tmp, signal.SIGTERM, "--folds", "3")
    assert rc == 143 and "Traceback" not in stderr, stderr
    assert read_run(out / "fold-1").outcome == "cancelled" and (out / "fold-1" / "model.keras").is_file()
    summary = json.loads((out / "crossval.json").read_text())
    assert summary["outcome"] == "cancelled" and summary["folds_done"] == 0
    assert not (out / "fold-2").exists() and list(tmp.iterdir()) == []


def test_private_temp_folder_holds_the_process_temp_files_and_goes_at_the_end(tmp_path, monkeypatch):
    import tempfile

    from foveal.core.cli.foreground import private_temp_folder, sweep_stale

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    with private_temp_folder() as folder:
        assert tempfile.gettempdir() == os.environ["TMPDIR"] == str(folder) and folder.parent == tmp_path
        tempfile.NamedTemporaryFile(prefix="__autograph_generated_file", suffix=".py", delete=False).close()
        mine = folder.name
    assert tempfile.gettempdir() == os.environ["TMPDIR"] == str(tmp_path)
    assert list(tmp_path.iterdir()) == []
    # A folder of a live process, or a recent one, is never swept.
    live = tmp_path / mine
    live.mkdir()
    host_prefix = mine.rsplit("-", 2)[0]
    with subprocess.Popen([sys.executable, "-c", "pass"]) as gone:
        gone.wait()
    recent = tmp_path / f"{host_prefix}-{gone.pid}-recent"
    recent.mkdir()
    assert sweep_stale() == []
    assert sorted(sweep_stale(now=time.time() + 7200)) == [recent.name], "only the dead process's old folder"
    assert live.is_dir()
