"""A normal (non-editable) install works: the built wheel holds the sample images, the icon and the license
texts, and `foveal demo` runs from another folder with nothing of the source tree on its path."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.factory import real_weights

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
    samples = [n for n in names if n.startswith("foveal/resources/samples/") and n.endswith(".jpg")]
    assert len(samples) == 120
    assert {"foveal/resources/icons/foveal.svg", "foveal/resources/icons/foveal-256.png",
            "foveal/resources/licenses/LGPL-3.0.txt", "foveal/core/cli/__init__.py", "foveal/gui/app.py"} <= names
    # One import name: every module lies under foveal/, beside the wheel's own metadata folder.
    assert {n.split("/")[0] for n in names} == {"foveal", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1]
                                                 + ".dist-info"}
    assert not [n for n in names if n.startswith(("tests/", "foveal/tests/"))]


def test_demo_runs_from_the_wheel_installed_in_a_fresh_venv_in_another_folder(wheel, tmp_path):
    """The wheel goes into a new virtual environment with pip (console script included); its dependencies come
    from this interpreter's site-packages through a .pth line, so the test needs no download. That line adds a
    folder to the path without running its .pth files, so this checkout's editable install stays out."""
    import sysconfig

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True,
                   capture_output=True)
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(XDG_DATA_HOME=str(tmp_path / "xdg"), HOME=str(tmp_path))
    where = subprocess.run([str(python), "-c", "import foveal.core, foveal.resources; print(foveal.core.__file__); "
                            "print(foveal.resources.__file__)"], cwd=elsewhere, env=env, capture_output=True, text=True,
                           check=True).stdout.split()
    assert all(Path(p).is_relative_to(site) for p in where), where  # the wheel's copy, not the source tree
    demo = subprocess.run([str(venv / "bin" / "foveal"), "demo", "--weights", real_weights(), "--epochs", "1"],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "Test accuracy" in demo.stdout + demo.stderr and str(site) in demo.stdout
    assert list(elsewhere.iterdir()) == []  # the demo's run went to the user data folder
