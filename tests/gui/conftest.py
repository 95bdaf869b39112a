"""GUI test fixtures: a window with settings in tmp_path and a scripted (TensorFlow-free) train function."""

from __future__ import annotations

import functools
import gc

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from foveal.gui.main_window import MainWindow
from tests import factory
from tests.gui.fakes import (
    FAKE_PREDICT,
    fake_evaluate,
    fake_explain,
    fake_report,
    scripted_compare,
    scripted_train,
)


@pytest.fixture
def dataset(tmp_path):
    return factory.make_class_folder(tmp_path / "data", {"a": 6, "b": 6}, size=40)


@pytest.fixture
def answer_yes(monkeypatch):
    """Every confirmation is answered Yes, so no modal dialog blocks a test."""
    asked = []

    def question(*args, **kwargs):
        asked.append(" ".join(str(a) for a in args[1:3]))  # title and text
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def fake_weights_status(backbone: str) -> tuple[str, str, str, bool]:
    """Stands in for the Keras cache check (which builds the model), so GUI tests stay TensorFlow-free."""
    name = f"{backbone.lower()}_notop.h5"
    return backbone, name, f"/cache/{name}", backbone == "ResNet50"


def fake_weights_fit(backbone: str, path: str) -> tuple[str, str, str | None]:
    """Stands in for the weights file check (which builds the backbone): every file fits. The real check runs in
    tests/gui/test_weights_check.py."""
    return backbone, path, None


@pytest.fixture(autouse=True)
def _collect_earlier_widgets_on_the_gui_thread():
    """A window is let go only when pytest-qt's own teardown closes it, after this file's fixtures have collected:
    collect what earlier tests left now, on the GUI thread, before this test starts a worker thread on which the
    collector could otherwise destroy those widgets (a deadlock between Qt's object mutex and the GIL, met in a
    real training run)."""
    gc.collect()


@pytest.fixture
def make_window(qtbot, tmp_path, dataset, monkeypatch):
    windows = []
    # Opening a report or a folder would start a browser or file manager: record the request instead.
    opened = []
    monkeypatch.setattr("PySide6.QtGui.QDesktopServices.openUrl", lambda url: opened.append(url.toLocalFile()))

    def make(evaluate_fail=None, **fake_kwargs):
        real = fake_kwargs.pop("real", None) is not None
        compare_fn = fake_kwargs.pop("compare_fn", None if real else scripted_compare)
        train_fn = None if real else functools.partial(scripted_train, **fake_kwargs)
        fakes = {} if real else dict(evaluate_fn=functools.partial(fake_evaluate, folder=dataset, fail=evaluate_fail),
                                     explain_fn=fake_explain, report_fn=fake_report, predict_fns=FAKE_PREDICT)
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(train_fn=train_fn, settings=settings, runs_dir=tmp_path / "runs",
                            weights_status_fn=fake_weights_status, compare_fn=compare_fn,
                            weights_fit_fn=None if real else fake_weights_fit, **fakes)
        window.opened_urls = opened
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for w in windows:  # never leave a worker thread running past its test: the window's own shutdown
        assert w.runner.shutdown(10_000), "a worker thread did not stop"
        w.close()
    windows.clear()
    # Collect any cyclic garbage holding Qt objects now, on the GUI thread: left to chance, the collector may run
    # on a worker thread of a later test and destroy widgets there (a deadlock in Qt's object mutex).
    gc.collect()


def load(qtbot, window, folder) -> None:
    window.open_folder(str(folder))
    qtbot.waitUntil(lambda: window.session.summary is not None, timeout=10_000)
