"""The Predict view: drop images and folders, the first answers per image (as many as the model has classes, up
to three), unreadable files in words, no answer for an unfamiliar image (its guess behind a click), Grad-CAM on a
click, the export button (TensorFlow-free stand-ins from tests.gui.fakes)."""

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
    headers = [panel.table.horizontalHeaderItem(c).text() for c in range(panel.table.columnCount())]
    assert headers == ["image", "file", "#1", "#2"]  # two classes: no empty #3


def test_add_images_offers_the_formats_foveal_reads_first_and_all_files_last(qtbot, make_window, dataset,
                                                                             monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    window = make_window()
    panel = _trained(qtbot, window, dataset)
    asked = []

    def fake_open(parent, caption, folder, filters):
        asked.append(filters)
        return [str(next((dataset / "a").iterdir()))], ""

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(fake_open))
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    filters = asked[0].split(";;")
    assert filters[0].startswith("Images Foveal reads (") and filters[-1] == "All files (*)"
    patterns = filters[0][filters[0].index("(") + 1:-1].split()
    assert {"*.png", "*.PNG", "*.jpg", "*.jpeg", "*.tif", "*.tiff", "*.dcm", "*.bmp", "*.webp"} <= set(patterns)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1, timeout=10_000)


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
    assert "not read" in panel.table.item(bad, 2).text() and panel.table.columnSpan(bad, 2) == 2
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
    assert {r["low_confidence"] for r in rows} == {"true", "false"}  # yes/no as in the unfamiliar column
    assert {r["unfamiliar"] for r in rows} == {"false"} and "top3_class" not in rows[0]  # two classes, two ranks
    assert [r["path"] for r in rows] == [r["path"] for r in panel.rows]
    # Said inside the view, where it is, with Open and Show in folder (not only in the status bar).
    assert not panel.done.isHidden() and panel.done.path == str(out) and f"{n} result(s) saved" in \
        panel.done.label.text()


def test_an_unfamiliar_image_gets_no_answer_and_its_guess_is_behind_a_click(qtbot, make_window, dataset, tmp_path,
                                                                           monkeypatch):
    import csv

    from PySide6.QtWidgets import QFileDialog, QLabel, QProgressBar

    from foveal.core.models.familiar import NO_ANSWER_WORDS
    from foveal.gui.widgets.predict_rows import SHOW_GUESS
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
    # No answer shown: words instead of the bars, the guess behind a link.
    words = panel.table.cellWidget(0, 2)
    assert isinstance(words, QLabel) and NO_ANSWER_WORDS in words.text() and SHOW_GUESS in words.text()
    assert panel.table.columnSpan(0, 2) == 2 and panel.table.cellWidget(0, 3) is None
    assert isinstance(panel.table.cellWidget(1, 2), QProgressBar)  # a familiar image keeps its answer
    href = words.text().split("href='")[1].split("'")[0]
    words.linkActivated.emit(href)
    bars = [panel.table.cellWidget(0, c) for c in (2, 3)]
    assert all(isinstance(b, QProgressBar) for b in bars) and panel.table.columnSpan(0, 2) == 1
    assert bars[0].text().startswith(f"guess: {panel.rows[0]['top1_class']}")
    assert "not an answer" in bars[0].toolTip()
    panel.table.cellClicked.emit(0, 1)
    assert "No answer" in panel.detail.info.text() and "the model's guess is" in panel.detail.info.text()
    # The CSV keeps the guess, marked.
    out = tmp_path / "results.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a: (str(out), "")))
    qtbot.mouseClick(panel.save_csv_button, Qt.MouseButton.LeftButton)
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert rows[0]["unfamiliar"] == "true" and rows[0]["predicted_class"] == panel.rows[0]["predicted_class"]
    assert rows[1]["unfamiliar"] == "false"


def test_a_click_on_an_unfamiliar_images_row_shows_its_guess(qtbot, make_window, dataset, tmp_path):
    from PySide6.QtWidgets import QProgressBar

    from tests import factory

    window = make_window()
    panel = _trained(qtbot, window, dataset)
    logo = factory.write_png16_rgb(tmp_path / "foreign_logo.png", factory.gradient(32, 32).astype("uint16"))
    _drop(panel, [logo])
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1, timeout=10_000)
    assert not isinstance(panel.table.cellWidget(0, 2), QProgressBar)
    panel.table.cellClicked.emit(0, 1)
    assert isinstance(panel.table.cellWidget(0, 2), QProgressBar) and panel.detail.isVisible()
