"""SIGKILL at any moment leaves every folder complete or clearly unfinished: it then loads, or is refused with
a message (and what the killed process left behind is cleaned up when the folder is next opened)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import factory
from tests.factory import real_weights

ROOT = Path(__file__).resolve().parents[2]

_SAVER = """
import sys
from foveal.core.project import create_project, load_project, save_project
folder, dataset = sys.argv[1], sys.argv[2]
try:
    p = load_project(folder)
except Exception:
    p = create_project(folder, dataset)
p.files = {f"class/{i:06d}.png": [i, 1.5] for i in range(20000)}  # about 1 MB: each save takes a while
n = int(p.settings.get("n", 0))
print("ready", flush=True)
while True:
    n += 1
    p.settings["n"] = n
    save_project(p)
"""


def _env(tmp_path: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_DATA_HOME=str(tmp_path / "xdg"), HOME=str(tmp_path / "home"))
    env.pop("FOVEAL_ALLOCATOR", None)
    return env


@pytest.mark.parametrize("kills", [pytest.param(20, id="default"),
                                   pytest.param(100, id="long", marks=pytest.mark.slow)])
def test_project_saves_killed_many_times_always_reopen(kills, tmp_path):
    from foveal.core.project import PROJECT_FILE, load_project

    data = factory.make_class_folder(tmp_path / "data", {"a": 2, "b": 2}, size=16)
    folder = tmp_path / "project"
    rng = random.Random(0)
    last = -1
    for _ in range(kills):
        with subprocess.Popen([sys.executable, "-c", _SAVER, str(folder), str(data)], stdout=subprocess.PIPE,
                              env=_env(tmp_path), cwd=tmp_path) as proc:
            assert proc.stdout.readline().strip() == b"ready"
            time.sleep(rng.uniform(0.0, 0.15))
            proc.send_signal(signal.SIGKILL)
        p = load_project(folder)  # never damaged: the previous or the new version
        n = int(p.settings.get("n", 0))
        assert n >= last and len(p.files) in (0, 20000)
        last = n
        leftovers = [x.name for x in folder.iterdir() if x.name.endswith(".tmp") or x.name.startswith(".foveal-tmp")]
        assert leftovers == [], "opening the project removes what killed saves left"
    assert last > 0 and (folder / PROJECT_FILE).is_file()


def _train(tmp_path: Path, out: Path, kill_when, fine_tune: bool) -> tuple[list[dict], str]:
    """Run `foveal train --json-events` and SIGKILL it when ``kill_when(event)`` says so."""
    data = tmp_path / "data"
    if not data.exists():
        factory.make_class_folder(data, {"a": 10, "b": 10}, size=32)
    depth = ["--fine-tune", "all", "--fine-tune-epochs", "2"] if fine_tune else []
    # The dense head, whose epochs the kills wait for (the automatic recipe may fit a linear head without any).
    cmd = [sys.executable, "-m", "foveal.core.cli", "train", str(data), "--weights", real_weights(), "--epochs", "3",
           *depth, "--recipe", "manual", "--image-size", "32", "--json-events", "--out", str(out)]
    events = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(tmp_path),
                          cwd=tmp_path) as proc:
        for line in proc.stdout:
            event = json.loads(line)
            events.append(event)
            if kill_when(event):
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=300)
        return events, proc.stderr.read().decode("utf-8", "replace")


@pytest.mark.parametrize("moment", ["extracting", "head epoch 2", "saving", "random",
                                    # Fine-tuning's first step traces for half a minute on a 2-core CPU.
                                    pytest.param("fine-tune epoch 1", marks=pytest.mark.slow)])
def test_training_killed_at_any_moment_leaves_a_folder_that_loads_or_says_why(tmp_path, moment):
    from foveal.core.errors import RunFolderError
    from foveal.core.models.saved import load_classifier
    from foveal.core.runs import read_run

    start = time.monotonic()
    deadline = start + random.Random(moment).uniform(4.0, 9.0)
    when = {
        "extracting": lambda e: e.get("event") == "FeaturesExtracting",
        "head epoch 2": lambda e: e.get("event") == "EpochEnded" and e.get("epoch") == 2,
        "fine-tune epoch 1": lambda e: e.get("event") == "EpochEnded" and e.get("phase") == "fine-tune",
        "saving": lambda e: e.get("event") == "PhaseChanged" and e.get("phase") == "saving",
        "random": lambda e: time.monotonic() > deadline,
    }[moment]
    out = tmp_path / "run"
    events, stderr = _train(tmp_path, out, when, fine_tune=moment == "fine-tune epoch 1")
    assert "Traceback" not in stderr
    assert not any(line.startswith(("I0000", "W0000", "E0000")) for line in stderr.splitlines()), stderr
    if not out.exists():
        return  # killed before the folder was made: nothing to check
    try:
        run = read_run(out)
    except RunFolderError as exc:
        assert "unfinished run" in str(exc)
        assert sorted(p.name for p in out.iterdir()) in ([], ["run_config.json"]), list(out.iterdir())
        return
    clf = load_classifier(out)  # complete: it loads
    assert clf.classes == run.classes == ("a", "b")
