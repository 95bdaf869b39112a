"""The Predict view: drop images and folders, top-3 per image, unreadable files in words, Grad-CAM on a click,
the export button (TensorFlow-free stand-ins from tests.gui.fakes)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from tests.gui.conftest import load


def _drop(widget, paths) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)


def _trained(qtbot, window, dataset):
    load(qtbot, window, dataset)
    window.start_training()
    qtbot.waitUntil(lambda: window.predict_panel.model is not None, timeout=15_000)
    return window.predict_panel


def test_the_trained_model_is_ready_to_predict(qtbot, make_window, dataset):
    window = make_window()
    panel = _trained(qtbot, window, dataset)
    assert panel.model == window.runner.worker("training").config.out_dir
    assert panel.classes == ("a", "b") and "2 classes: a, b" in panel.model_label.text()
    assert panel.add_button.isEnabled() and panel.export_button.isEnabled()


def test_dropped_files_and_folders_show_top3_flags_and_reasons(qtbot, make_window, dataset, tmp_path):
    window = make_window()
    panel = _trained(qtbot, window, dataset)
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    _drop(panel, [dataset / "a", notes])
    n_files = len(list((dataset / "a").iterdir())) + 1
    qtbot.waitUntil(lambda: panel.table.rowCount() == n_files, timeout=10_000)
    by_name = {panel.table.item(r, 1).text().split()[0]: r for r in range(panel.table.rowCount())}
    bad = by_name["notes.txt"]
    assert "not read" in panel.table.item(bad, 2).text()
    unsure = [r for r in range(panel.table.rowCount()) if "unsure" in panel.table.item(r, 1).text()]
    expected_unsure = [r for r, row in enumerate(panel.rows) if not row["error"] and row["low_confidence"]]
    assert unsure == expected_unsure and unsure
    first_good = next(r for r, row in enumerate(panel.rows) if not row["error"])
    bar = panel.table.cellWidget(first_good, 2)
    assert bar.text().startswith(panel.rows[first_good]["top1_class"])
    panel.table.cellClicked.emit(first_good, 1)
    picture = panel.detail.picture
    qtbot.waitUntil(lambda: picture.pixmap() is not None and not picture.pixmap().isNull(), timeout=5000)
    assert not panel.detail.mark_box.isVisible()  # new images have no label to mark as wrong


def test_export_from_the_file_menu_asks_where_and_reports_the_check_in_words(qtbot, make_window, dataset, tmp_path,
                                                                             monkeypatch):
    from PySide6.QtWidgets import QDialog, QFileDialog

    from foveal.gui.widgets import export_dialog

    window = make_window()
    panel = _trained(qtbot, window, dataset)
    asked: list[str] = []
    choice = {"index": 0}

    def fake_exec(dialog):  # the user picks a format by its use, then Save… and a name
        dialog.buttons_by_id[choice["index"]].setChecked(True)
        dialog._on_save()
        return QDialog.DialogCode.Accepted if dialog.folder else QDialog.DialogCode.Rejected

    def fake_save(parent, caption, suggested, _filter):
        asked.append(suggested)
        return str(tmp_path / Path(suggested).name), ""

    monkeypatch.setattr(export_dialog.ExportDialog, "exec", fake_exec)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_save))
    action = window.window_actions.named["Export model…"]
    assert action.shortcut().toString() == "Ctrl+E"
    action.trigger()
    assert window.right_tabs.currentWidget() is panel
    qtbot.waitUntil(lambda: "Checked:" in panel.export_label.text(), timeout=5000)
    assert "gives the same answers as Foveal" in panel.export_label.text() and "e-0" not in panel.export_label.text()
    assert asked[0].endswith("-keras") and (tmp_path / Path(asked[0]).name).is_dir()
    choice["index"] = len(export_dialog.FORMAT_CHOICES) - 1  # ONNX: the stand-in fails its check
    qtbot.waitUntil(lambda: panel.export_button.isEnabled(), timeout=5000)
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "does not give Foveal's answers" in panel.export_label.text(), timeout=5000)
    assert "Do not use it" in panel.export_label.text()
    uses = [use for use, *_ in export_dialog.FORMAT_CHOICES]
    assert any("phone" in u for u in uses) and any("another program" in u for u in uses)


def test_results_are_saved_as_csv_from_the_window(qtbot, make_window, dataset, tmp_path, monkeypatch):
    import csv

    from PySide6.QtWidgets import QFileDialog

    window = make_window()
    panel = _trained(qtbot, window, dataset)
    assert not panel.save_csv_button.isEnabled()
    _drop(panel, [dataset / "a"])
    n = len(list((dataset / "a").iterdir()))
    qtbot.waitUntil(lambda: panel.table.rowCount() == n and panel.save_csv_button.isEnabled(), timeout=10_000)
    out = tmp_path / "results.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a: (str(out), "")))
    qtbot.mouseClick(panel.save_csv_button, Qt.MouseButton.LeftButton)
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert len(rows) == n and {r["predicted_class"] for r in rows} <= {"a", "b"}
    assert [r["path"] for r in rows] == [r["path"] for r in panel.rows]


def test_an_unfamiliar_image_is_said_to_be_unlike_the_training_images(qtbot, make_window, dataset, tmp_path):
    from tests import factory

    window = make_window()
    panel = _trained(qtbot, window, dataset)
    logo = factory.write_png16_rgb(tmp_path / "foreign_logo.png", factory.gradient(32, 32).astype("uint16"))
    _drop(panel, [logo, next((dataset / "a").iterdir())])
    qtbot.waitUntil(lambda: panel.table.rowCount() == 2, timeout=10_000)
    texts = [panel.table.item(r, 1).text() for r in range(2)]
    assert "⚠ unfamiliar" in texts[0] and "unfamiliar" not in texts[1]
    assert "does not look like the images the model learned from" in panel.table.item(0, 1).toolTip()
    assert "1 look unlike the images the model learned from" in panel.hint.text()
    panel.table.cellClicked.emit(0, 1)
    assert "Unfamiliar" in panel.detail.info.text() and "may be meaningless" in panel.detail.info.text()
