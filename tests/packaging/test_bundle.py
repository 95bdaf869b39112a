"""The desktop bundle: built from a clean clone by packaging/build.sh, it passes its own self-test under Xvfb with
no Python environment on PATH, and its .deb installs a desktop entry, the icon and a launcher.

Marked ``bundle`` (about 10 minutes, several GB of disk): ``python -m pytest -m bundle``. With
FOVEAL_BUNDLE_BUILT=1 the bundle already in dist/ is tested without building it again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
pytestmark = pytest.mark.bundle
WEIGHTS = ROOT.parent / "shared" / "weights" / "mobilenet_v2_1.0_224_imagenet_no_top.h5"
OFFLINE = {var: "http://127.0.0.1:9" for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")}


@pytest.fixture(scope="module")
def dist() -> Path:
    if shutil.which("dpkg-deb") is None or shutil.which("xvfb-run") is None:
        pytest.skip("needs dpkg-deb and xvfb-run (Debian's dpkg and xvfb)")
    if not os.environ.get("FOVEAL_BUNDLE_BUILT"):
        env = dict(os.environ)
        if WEIGHTS.is_file():  # the bundle carries them, as a release's does (packaging/bundle_weights.py)
            env.setdefault("FOVEAL_WEIGHTS_FILE", str(WEIGHTS))
        done = subprocess.run(["bash", str(ROOT / "packaging" / "build.sh")], capture_output=True, text=True,
                              timeout=3600, env=env)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return ROOT / "dist"


def test_bundle_passes_its_self_test_without_python_on_path(dist, tmp_path):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    done = subprocess.run(["xvfb-run", "-a", str(dist / "foveal" / "foveal"), "--self-test"], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0 and "Self-test passed." in done.stdout, done.stdout + done.stderr[-3000:]
    assert done.stdout.count("\nok ") + done.stdout.startswith("ok ") == 6


def test_bundle_reports_its_version_and_ships_the_licenses(dist):
    done = subprocess.run([str(dist / "foveal" / "foveal"), "--version"], capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    assert done.stdout.startswith(f"Foveal {VERSION}") and "tensorflow 2." in done.stdout, done.stderr
    assert (dist / "foveal" / "LICENSE").is_file() and (dist / "foveal" / "licenses" / "LGPL-3.0.txt").is_file()


def test_deb_installs_to_opt_with_a_desktop_entry_icon_and_launcher(dist):
    listing = subprocess.run(["dpkg-deb", "-c", str(dist / f"foveal_{VERSION}_amd64.deb")], capture_output=True,
                             text=True, check=True).stdout
    for path in ("./opt/foveal/foveal", "./usr/share/applications/foveal.desktop",
                 "./usr/share/icons/hicolor/256x256/apps/foveal.png",
                 "./usr/share/icons/hicolor/scalable/apps/foveal.svg", "./usr/bin/foveal -> /opt/foveal/foveal"):
        assert path in listing, path
    assert (dist / f"foveal-{VERSION}-linux-x86_64.tar.gz").stat().st_size > 100e6


def test_bundle_trains_the_demo_offline_to_real_accuracy_with_the_weights_it_carries(dist, tmp_path):
    carried = sorted((dist / "foveal").rglob("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"))
    if not carried:
        pytest.skip("this bundle was built without weights (FOVEAL_WEIGHTS_FILE, or Keras's cache)")
    assert sorted((dist / "foveal" / "licenses").glob("NOTICE-MobileNetV2.txt"))
    # An empty Keras cache and every download refused: the weights can only come from the bundle.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8", "KERAS_HOME": str(tmp_path / "k"),
           **OFFLINE}
    done = subprocess.run([str(dist / "foveal" / "foveal"), "demo", "--epochs", "3", "--out", str(tmp_path / "run")],
                          env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    assert record["test"]["accuracy"] >= 0.8, record["test"]  # random weights score about 1/3 on these 3 classes
    assert not (tmp_path / "k" / "models").exists() or not any((tmp_path / "k" / "models").iterdir())
