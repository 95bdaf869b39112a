"""Projects in the window: new / open / recent with settings restored, the Runs view (sort, compare, rename,
note, delete), the split preview with groups and its CSV export, and the changed-dataset question."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from PySide6.QtWidgets import QInputDialog, QMessageBox

from foveal.core.project import load_project
from tests.gui.conftest import load


def _write_run(runs_dir: Path, name: str, accuracy: float, epochs: int, dataset: Path | None = None) -> None:
    folder = runs_dir / name
    folder.mkdir(parents=True)
    history = [{"epoch": e, "phase": "head", "loss": 1 / e, "accuracy": 0.5, "val_loss": 1.2 / e,
                "val_accuracy": min(1.0, accuracy * e / epochs)} for e in range(1, epochs + 1)]
    (folder / "run.json").write_text(json.dumps({
        "backbone": {"name": "MobileNetV2"}, "fine_tune": "frozen", "history": history, "outcome": "completed",
        "timings": {"total": 12.5 * epochs}, "created": "2026-11-25T10:00:00+0000", "test": {"accuracy": accuracy},
        "dataset": {"root": str(dataset or "")}}))


def test_new_project_keeps_settings_and_runs_are_compared(qtbot, make_window, dataset, tmp_path, monkeypatch):
    window = make_window()
    load(qtbot, window, dataset)
    ctl = window.projects.ctl
    project = ctl.new_project(str(dataset), str(tmp_path / "proj"))
    assert project is not None and window.session.runs_dir == project.runs_dir
    window.model_panel.epochs.setValue(17)
    window.dataset_panel.group_combo.setCurrentIndex(2)
    window.projects.autosave()
    saved = load_project(tmp_path / "proj").settings
    assert saved["epochs"] == 17 and saved["group_by"] == "filename"
    _write_run(project.runs_dir, "20261125-100000-MobileNetV2", 0.8, 3)
    _write_run(project.runs_dir, "20261125-110000-MobileNetV2", 0.9, 5)
    ctl.refresh_runs()
    runs = window.projects.runs_panel
    assert runs.table.rowCount() == 2
    runs.table.sortItems(5)  # test accuracy, ascending
    assert runs.table.item(0, 6).text() == "0.800" and runs.table.item(0, 1).text() == "finished"
    runs.table.selectAll()
    assert runs.compare.columnCount() == 2 and len(runs.loss_plot.getPlotItem().listDataItems()) == 2
    runs.table.clearSelection()
    runs.table.selectRow(0)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("baseline", True))
    runs.buttons["rename"].click()
    monkeypatch.setattr(QInputDialog, "getMultiLineText", lambda *a, **k: ("too few epochs", True))
    runs.table.selectRow([r for r in range(2) if runs.table.item(r, 0).text() == "baseline"][0])
    runs.buttons["note"].click()
    meta = load_project(tmp_path / "proj").run_meta["20261125-100000-MobileNetV2"]
    assert meta == {"name": "baseline", "note": "too few epochs"}
    assert not runs.selected()  # the table was rebuilt: nothing stays selected by accident
    runs.table.selectRow([r for r in range(2) if runs.table.item(r, 0).text() == "baseline"][0])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    runs.buttons["delete"].click()
    assert runs.table.rowCount() == 1 and not (project.runs_dir / "20261125-100000-MobileNetV2").exists()


def test_reopening_a_project_restores_dataset_and_settings(qtbot, make_window, dataset, tmp_path):
    first = make_window()
    load(qtbot, first, dataset)
    first.projects.ctl.new_project(str(dataset), str(tmp_path / "proj"))
    first.model_panel.epochs.setValue(23)
    first.dataset_panel.keep_duplicates.setChecked(True)
    first.projects.autosave()
    second = make_window()
    assert str(tmp_path / "proj") in second.projects.ctl.recent()
    second.projects.ctl.open_project(str(tmp_path / "proj"))
    qtbot.waitUntil(lambda: second.session.summary is not None, timeout=10_000)
    assert second.session.summary.root == str(dataset) and second.model_panel.epochs.value() == 23
    assert second.dataset_panel.keep_duplicates.isChecked()
    assert second.windowTitle() == "Foveal — proj"


def test_split_preview_groups_and_csv_export(qtbot, make_window, dataset, tmp_path):
    window = make_window()
    load(qtbot, window, dataset)
    panel = window.dataset_panel
    panel.val_spin.setValue(25)
    panel.test_spin.setValue(25)
    panel.group_combo.setCurrentIndex(2)
    panel.group_pattern.setText(r"^\w")  # the class letter: only two groups, too few for a 25% test split
    qtbot.waitUntil(lambda: "Only 2 group" in panel.split_preview.text(), timeout=15_000)
    assert not panel.export_split_button.isEnabled()
    panel.group_pattern.setText(r"_0*(\d)")  # a_001 and b_001 are one "specimen": six groups
    qtbot.waitUntil(lambda: panel.export_split_button.isEnabled(), timeout=15_000)
    assert "groups in" in panel.split_preview.text() and "none is split" in panel.split_preview.text()
    out = tmp_path / "split.csv"
    assert window.projects.export_split(str(out))
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert len(rows) == 12 and {r["split"] for r in rows} <= {"train", "val", "test"}
    where = {}
    for r in rows:
        where.setdefault(r["file"][-5], set()).add(r["split"])
    assert all(len(s) == 1 for s in where.values())  # a_003 and b_003 always share a split
    assert panel.done.path == str(out) and "Split written" in panel.done.label.text()  # said in the Data view
    assert not window.projects.export_split(str(Path(dataset) / "split.csv"))
    assert not (Path(dataset) / "split.csv").exists() and "never writes to" in panel.done.label.text()


def test_changed_dataset_asks_before_training(qtbot, make_window, dataset, tmp_path, monkeypatch):
    window = make_window()
    load(qtbot, window, dataset)
    ctl = window.projects.ctl
    project = ctl.new_project(str(dataset), str(tmp_path / "proj"))
    config = ctl.config_for_run(window.make_config(), window.session.summary)
    assert config.split_file is None and Path(config.out_dir).parent == project.runs_dir  # first run makes it
    run_dir = Path(config.out_dir)
    run_dir.mkdir(parents=True)
    split = {s: [{"file": r.rel, "class": r.label} for r in window.session.summary.images[i::3]]
             for i, s in enumerate(("train", "val", "test"))}
    (run_dir / "run.json").write_text(json.dumps({"split": split}))
    ctl.run_finished(str(run_dir), window.session.summary)
    assert project.split_path.is_file()
    (Path(dataset) / "a" / "a_000.png").unlink()
    load(qtbot, window, dataset)
    asked = []

    def choose(box):
        asked.append(box.text())
        return next(b for b in box.buttons() if b.text().startswith("Keep"))

    monkeypatch.setattr(QMessageBox, "exec", lambda self: None)
    monkeypatch.setattr(QMessageBox, "clickedButton", choose)
    config = ctl.config_for_run(window.make_config(), window.session.summary)
    assert asked and "1 removed" in asked[0]
    assert config.split_file == str(project.split_path)


def test_runs_without_a_project_are_listed_and_a_new_project_adopts_them(qtbot, make_window, dataset, tmp_path,
                                                                           monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    window = make_window()
    _write_run(window.session.default_runs_dir, "20261125-100000-MobileNetV2", 0.8, 3, dataset)
    _write_run(window.session.default_runs_dir, "20261125-110000-MobileNetV2", 0.9, 5, dataset)
    _write_run(window.session.default_runs_dir, "20261125-120000-MobileNetV2", 0.7, 2, tmp_path / "another-dataset")
    load(qtbot, window, dataset)
    runs = window.projects.runs_panel
    qtbot.waitUntil(lambda: runs.table.rowCount() == 2, timeout=5000)  # this dataset's, without a project
    assert "2 run(s) of this dataset" in runs.header.text()
    names = {runs.table.item(r, 0).text() for r in range(2)}
    assert names == {"MobileNetV2 · frozen · 25 Nov 10:00"}  # readable, not a time stamp
    runs.table.selectRow(0)
    assert runs.buttons["open"].isEnabled() and not runs.buttons["rename"].isEnabled()
    # New project… names a folder that does not exist yet: it is created, and the earlier runs are offered.
    target = tmp_path / "my new project"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Yes)
    project = window.projects.ctl.new_project(str(dataset))
    assert project is not None and (target / "project.json").is_file()
    assert asked and "2 earlier run(s)" in asked[0]
    qtbot.waitUntil(lambda: runs.table.rowCount() == 2 and "in project" in runs.header.text(), timeout=5000)
    assert {m["path"] for m in load_project(target).run_meta.values()} == {
        str((window.session.default_runs_dir / n).resolve()) for n in ("20261125-100000-MobileNetV2",
                                                               "20261125-110000-MobileNetV2")}
    runs.table.selectRow(0)
    assert runs.buttons["rename"].isEnabled()
