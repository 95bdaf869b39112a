"""A normal (non-editable) install works: the built wheel holds the sample images, the icon and the license
texts, and `foveal demo` runs from another folder with nothing of the source tree on its path."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                           "-w", str(out), str(ROOT)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{done.stderr[-3000:]}")
    return next(out.glob("foveal-*.whl"))


def test_the_wheel_holds_the_bundled_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    samples = [n for n in names if n.startswith("resources/samples/") and n.endswith(".jpg")]
    assert len(samples) == 120
    assert {"resources/icons/foveal.svg", "resources/icons/foveal-256.png", "resources/licenses/LGPL-3.0.txt",
            "core/cli.py", "gui/app.py"} <= names
    assert not [n for n in names if n.startswith("tests/")]


def test_demo_runs_from_an_installed_wheel_in_another_folder(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "-q", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(target), XDG_DATA_HOME=str(tmp_path / "xdg"), HOME=str(tmp_path))
    where = subprocess.run([sys.executable, "-c", "import core, resources; print(core.__file__); "
                            "print(resources.__file__)"], cwd=elsewhere, env=env, capture_output=True, text=True,
                           check=True).stdout.split()
    assert all(Path(p).is_relative_to(target) for p in where), where  # the wheel's copy, not the source tree
    demo = subprocess.run([sys.executable, "-m", "core.cli", "demo", "--weights", "none", "--epochs", "1"],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "Test accuracy" in demo.stdout + demo.stderr and str(target) in demo.stdout
    assert list(elsewhere.iterdir()) == []  # the demo's run went to the user data folder
