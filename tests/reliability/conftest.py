"""Fixtures for the reliability suite: one real trained run (random weights, tiny images) shared by the tests,
a hostile dataset, and a way to run every ``foveal`` command in this process and see how it ended."""

from __future__ import annotations

import contextlib
import io
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import factory
from tests.factory import real_weights
from tests.reliability import hostile


@dataclass
class Outcome:
    """How one command ended: its exit code, what it printed, and the traceback if it raised."""

    rc: int | None
    out: str
    err: str
    traceback: str | None = None

    @property
    def message_or_success(self) -> bool:
        return self.traceback is None and "Traceback" not in self.err and self.rc in (0, 1, 2)


def run_cli(*args: str) -> Outcome:
    """``foveal ARGS`` in this process (TensorFlow loads once for the whole suite), knowing no dataset folder
    beforehand, as a new process would."""
    from foveal.core import paths
    from foveal.core.cli import main

    with paths._lock:
        paths._protected.clear()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main([str(a) for a in args])
        except SystemExit as exc:  # argparse
            rc = exc.code if isinstance(exc.code, int) else 2
        except BaseException:
            return Outcome(None, out.getvalue(), err.getvalue(), traceback.format_exc())
    return Outcome(rc, out.getvalue(), err.getvalue())


@pytest.fixture(autouse=True)
def private_user_folders(tmp_path, monkeypatch):
    """Runs and caches that go to the user's folders go to this test's own instead."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """A real run folder: MobileNetV2 with random weights on 32-pixel images, one epoch (seconds)."""
    from foveal.core.training import TrainConfig, train

    base = tmp_path_factory.mktemp("trained")
    data = factory.make_class_folder(base / "data", {"benign": 12, "malignant": 12}, size=40)
    result = train(TrainConfig(str(data), weights=real_weights(), epochs=1, image_size=32, out_dir=str(base / "run")))
    assert result.model_path, "the shared run must have saved a model"
    return Path(result.run_dir)


@pytest.fixture
def hostile_data(tmp_path) -> tuple[Path, list[hostile.Case]]:
    return hostile.hostile_dataset(tmp_path / "lab-data")


@pytest.fixture
def area(tmp_path, monkeypatch):
    """A fresh folder per generated example, made current (a command that writes to its current folder is
    caught)."""
    made: list[Path] = []

    def new() -> Path:
        folder = Path(tempfile.mkdtemp(dir=tmp_path))
        made.append(folder)
        monkeypatch.chdir(folder)
        return folder

    yield new
    from tests.reliability.generated import make_writable  # it imports this module's Outcome

    for folder in made:
        make_writable(folder)
