"""The Predict view: drop images and folders, top-3 per image, unreadable files in words, Grad-CAM on a click,
the export button (TensorFlow-free stand-ins from tests.gui.fakes)."""

from __future__ import annotations

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
    assert panel.model == window.train_worker.config.out_dir
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


def test_export_button_reports_pass_and_failure(qtbot, make_window, dataset):
    window = make_window()
    panel = _trained(qtbot, window, dataset)
    panel.export_combo.setCurrentIndex(0)
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "passed" in panel.export_label.text(), timeout=5000)
    panel.export_combo.setCurrentIndex(panel.export_combo.count() - 1)  # ONNX: the stand-in fails it
    qtbot.waitUntil(lambda: panel.export_button.isEnabled(), timeout=5000)
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "FAILED" in panel.export_label.text(), timeout=5000)
    assert "Do not use it" in panel.export_label.text()


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
