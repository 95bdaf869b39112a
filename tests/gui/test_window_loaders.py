"""The window's loaders meet the same hostile inputs as the command line: a model file or run folder that
cannot be used shows an inline message naming it, never a traceback dialog (the real core functions run)."""

from __future__ import annotations

import json
import zipfile

import pytest

from foveal.gui.widgets.predict_panel import PredictPanel
from foveal.gui.workers.evaluation_jobs import ModelJobs


def _hostile(tmp_path) -> dict[str, str]:
    out = {}
    (tmp_path / "empty.keras").write_bytes(b"")
    out["empty model file"] = tmp_path / "empty.keras"
    (tmp_path / "text.keras").write_text("hello")
    out["model file that is text"] = tmp_path / "text.keras"
    with zipfile.ZipFile(tmp_path / "bomb.keras", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", b" " * (80 << 20))
    out["zip bomb"] = tmp_path / "bomb.keras"
    for p in list(out.values()):
        (p.parent / "labels.txt").write_text("a\nb\n")
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "run_config.json").write_text("{}")
    out["unfinished run folder"] = unfinished
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "model.keras").write_bytes(b"PK")
    (damaged / "run.json").write_text(json.dumps({"format": "foveal-run", "classes": 5}))
    out["run.json with a class count"] = damaged
    return {k: str(v) for k, v in out.items()}


@pytest.mark.parametrize("case", ["empty model file", "model file that is text", "zip bomb",
                                  "unfinished run folder", "run.json with a class count"])
def test_predict_view_names_an_unusable_model_inline(qtbot, tmp_path, case):
    path = _hostile(tmp_path)[case]
    jobs = ModelJobs()
    panel = PredictPanel(jobs.describe_model, jobs.predict_paths, jobs.explain, jobs.export)
    qtbot.addWidget(panel)
    unexpected = []
    panel.sig_unexpected.connect(lambda message, details: unexpected.append(message))
    panel.set_model(path)
    qtbot.waitUntil(lambda: path in panel.hint.text(), timeout=60_000)
    panel.runner.shutdown()
    assert unexpected == [] and panel.model is None
    assert "Traceback" not in panel.hint.text()


def test_window_loads_a_hostile_lab_folder_lists_each_problem_and_changes_nothing(qtbot, make_window, tmp_path):
    from tests.gui.conftest import load
    from tests.reliability.hostile import hostile_dataset, snapshot

    root, cases = hostile_dataset(tmp_path / "lab")
    before = snapshot(root)
    window = make_window()
    load(qtbot, window, root)
    listed = "\n".join(window.dataset_panel.problems.item(i).text()
                       for i in range(window.dataset_panel.problems.count()))
    for case in cases:
        if case.skipped:
            assert case.rel in listed, f"{case.name} is not listed among the problems"
    assert window.session.summary.counts == {"benign": 14, "malignant": 13}
    window.dataset_panel.thumbs.wait()
    assert snapshot(root) == before


def test_window_has_its_icon_and_a_help_menu_with_about_and_the_log_folder(qtbot, make_window, monkeypatch,
                                                                           tmp_path):
    from foveal.gui.help_menu import AboutDialog

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    window = make_window()
    assert not window.windowIcon().isNull() and window.windowIcon().availableSizes()
    help_menu = window.help_menu
    help_menu.log_action.trigger()
    assert window.opened_urls[-1] == str(tmp_path / "state" / "foveal" / "log")
    dialog = AboutDialog(window)
    qtbot.addWidget(dialog)
    assert "Foveal 0.1.0" in dialog.header.text() and "tensorflow" in dialog.header.text()
    assert "PySide6" in dialog.notices.toPlainText() and "LGPL" in dialog.notices.toPlainText()
