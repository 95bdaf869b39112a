"""Test-wide settings: Qt runs offscreen, so tests need no screen."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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
