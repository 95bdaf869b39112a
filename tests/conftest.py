"""Test-wide settings: Qt runs offscreen, so tests need no screen."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Each test process gets its share of the cores for its compute threads: TensorFlow's and the BLAS library's pools
# otherwise start a thread per core in every process, and two processes on two cores lose time switching between
# four busy threads (the heaviest test files ran 9% faster with a share each). The inter-op pool stays as it is:
# replicas of a MirroredStrategy in one process wait on each other there.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1:
    for _name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(_name, str(max(1, (os.cpu_count() or 1) // _workers)))


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _private_user_folders(tmp_path_factory, monkeypatch):
    """Each test's settings, runs, logs and caches go to a folder of its own, never to those of the person
    running the tests: platformdirs and Qt's QSettings follow the XDG variables on Linux, and QSettings is also
    pointed there directly (it caches its paths once per process)."""
    home = tmp_path_factory.mktemp("user")
    for name, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache"),
                      ("XDG_STATE_HOME", "state")):
        (home / sub).mkdir()
        monkeypatch.setenv(name, str(home / sub))
    try:
        from PySide6.QtCore import QSettings
    except ImportError:  # a core-only environment
        return
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(home / "config"))


@pytest.fixture(autouse=True)
def _no_dataset_folders_from_earlier_tests():
    """Each test starts as a new process would: knowing no dataset folder. Foveal refuses to write inside any
    folder this process has read images from (core.paths), so a test that predicted on a file in a fixture's
    folder would otherwise refuse a later test's export beside it, depending on the order the tests run in."""
    try:
        from foveal.core import paths
    except ImportError:
        return
    with paths._lock:
        paths._protected.clear()


class ColourRun:
    """The shared real run of :func:`colour_run`: where it is, its dataset, and what its record says."""

    def __init__(self, folder):
        import json

        self.folder = folder
        self.run_dir = str(folder / "run")
        self.data = folder / "data"
        self.odd = folder / "odd.jpg"  # neither square nor the model's size
        record = json.loads((folder / "run" / "run.json").read_text(encoding="utf-8"))
        self.test_accuracy = record["test"]["accuracy"]


@pytest.fixture(scope="session")
def colour_run(tmp_path_factory) -> ColourRun:
    """A small real run that evaluation and export tests read: MobileNetV2 with ImageNet weights on three colour
    classes of ten 40-pixel images, 64 px, two head epochs, the automatic recipe. Trained once per test session
    for every test process (tests.shared_runs); read it, never change it (copy it first)."""
    from PIL import Image

    from tests import factory
    from tests.shared_runs import shared_run

    def make(folder):
        from foveal.core.training import TrainConfig, train

        data = factory.make_class_folder(folder / "data", {"red": 10, "green": 10, "blue": 10}, size=40)
        train(TrainConfig(str(data), epochs=2, weights=factory.real_weights(), image_size=64,
                          out_dir=str(folder / "run")))
        Image.fromarray(factory.gradient(53, 91)).save(folder / "odd.jpg", quality=92)

    return ColourRun(shared_run(tmp_path_factory, "colour-run", make))
