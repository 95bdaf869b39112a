"""The Evaluate view after a scripted run: metrics, the linked confusion grid and gallery, Grad-CAM on a
click, mislabelled marks, CSV export and the report button (TensorFlow-free stand-ins from tests.gui.fakes)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import load


def _train_and_evaluate(qtbot, window, dataset):
    load(qtbot, window, dataset)
    window.start_training()
    qtbot.waitUntil(lambda: window.evaluate_panel.evaluation is not None, timeout=15_000)
    return window.evaluate_panel


def test_evaluation_follows_training_and_fills_the_view(qtbot, make_window, dataset):
    window = make_window()
    panel = _train_and_evaluate(qtbot, window, dataset)
    ev = panel.evaluation
    assert window.train_panel.evaluate_button.isVisible()
    qtbot.mouseClick(window.train_panel.evaluate_button, Qt.MouseButton.LeftButton)
    assert window.right_tabs.currentWidget() is panel
    assert panel.headline.text() == f"{ev.metrics['accuracy']:.1%}"
    assert panel.reliability_plot.before_curve is not None  # before and after temperature scaling
    assert "held-out test images right" in panel.summary.text() and "Always answering 'a'" in panel.summary.text()
    assert panel.confusion.verticalHeaderItem(0).text() == "Actual: a"
    assert "For 'b' (the positive class: the second class): sensitivity" in panel.summary.text()
    assert "PPV" in panel.summary.text()
    assert panel.confusion.horizontalHeaderItem(1).text() == "Predicted:\nb"
    # The user says which class is the positive one (the disease): the numbers follow, nothing is predicted again.
    assert panel.positive_combo.isVisibleTo(panel) and panel.positive_combo.currentText() == "b"
    b_side = ev.metrics["roc"]["binary"]["chosen"]
    panel.positive_combo.setCurrentText("a")
    a_side = panel.evaluation.metrics["roc"]["binary"]["chosen"]
    assert "For 'a' (the positive class: chosen by you): sensitivity" in panel.summary.text()
    assert "For 'b'" not in panel.summary.text()
    assert (a_side["tp"], a_side["tn"], a_side["fp"], a_side["fn"]) == (b_side["tn"], b_side["tp"], b_side["fn"],
                                                                        b_side["fp"])
    assert panel.evaluation.predictions is ev.predictions
    panel.positive_combo.setCurrentText("b")
    k = len(ev.classes)
    grid = [[int(panel.confusion.item(i, j).text()) for j in range(k)] for i in range(k)]
    counts = [[sum(1 for p in ev.predictions if p.true == t and p.predicted == q) for q in ev.classes]
              for t in ev.classes]
    assert grid == counts == ev.metrics["confusion"]
    assert panel.metrics_table.rowCount() == k + 2  # per class, macro, weighted
    assert panel.metrics_table.item(0, 5).text() == str(sum(p.true == ev.classes[0] for p in ev.predictions))
    # The gallery opens on all errors, most confident first.
    assert panel.gallery.count() == sum(not p.correct for p in ev.predictions)
    shown = [ev.predictions[i] for i in panel.gallery.indices]
    assert all(not p.correct for p in shown)
    assert [p.confidence for p in shown] == sorted((p.confidence for p in shown), reverse=True)
    # one ROC curve per class that has an AUC, drawn from the evaluation's own points
    with_auc = [c for c in ev.metrics["roc"]["per_class"] if c["auc"] is not None]
    assert with_auc and set(panel.roc_plot.curves) == {c["class"] for c in with_auc}
    for c in with_auc:
        x, y = panel.roc_plot.curves[c["class"]].getData()
        assert list(x) == pytest.approx(c["fpr"]) and list(y) == pytest.approx(c["tpr"])
    assert panel.reliability_plot.curve is not None


def test_clicking_a_cell_shows_exactly_its_images(qtbot, make_window, dataset):
    window = make_window()
    panel = _train_and_evaluate(qtbot, window, dataset)
    ev = panel.evaluation
    for i, t in enumerate(ev.classes):
        for j, q in enumerate(ev.classes):
            panel.confusion.cellClicked.emit(i, j)
            expected = {n for n, p in enumerate(ev.predictions) if p.true == t and p.predicted == q}
            assert set(panel.gallery.indices) == expected
            assert panel.gallery.count() == len(expected) == ev.metrics["confusion"][i][j]


def test_image_detail_shows_gradcam_top3_and_records_a_mislabelled_mark(qtbot, make_window, dataset, tmp_path):
    window = make_window()
    panel = _train_and_evaluate(qtbot, window, dataset)
    ev = panel.evaluation
    item = panel.gallery.item(0)
    panel.gallery.itemClicked.emit(item)
    detail = panel.detail
    assert detail is not None and detail.isVisible()
    qtbot.waitUntil(lambda: detail.picture.pixmap() is not None and not detail.picture.pixmap().isNull(),
                    timeout=5000)
    p = ev.predictions[panel.gallery.indices[0]]
    assert detail.bars[0].text().startswith(p.predicted)
    assert detail.explain_combo.currentText() == p.predicted
    detail.mark_box.setChecked(True)
    review = json.loads((Path(ev.run_dir) / "review.json").read_text())
    assert [m["file"] for m in review["mislabelled"]] == [p.file]
    assert "⚑" in panel.gallery.item(0).text()
    out = tmp_path / "marked.csv"
    assert panel.export_marks(str(out))
    assert not panel.done.isHidden() and panel.done.path == str(out) and "1 mislabelled image(s)" in \
        panel.done.label.text()  # said inside the view, with Open and Show in folder
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert rows[0]["file"] == p.file and rows[0]["labelled_as"] == p.true
    inside = Path(dataset) / "marked.csv"
    assert not panel.export_marks(str(inside)) and not inside.exists()  # the dataset folder is never written
    assert "Not done" in panel.done.label.text() and panel.done.open_button.isHidden()
    detail.mark_box.setChecked(False)
    assert json.loads((Path(ev.run_dir) / "review.json").read_text())["mislabelled"] == []


def test_image_window_steps_with_arrow_keys_and_sets_the_heatmap_opacity(qtbot, make_window, dataset):
    import numpy as np
    from PySide6.QtCore import Qt as QtKeys

    from foveal.core.evaluation.gradcam import overlay, with_legend

    window = make_window()
    panel = _train_and_evaluate(qtbot, window, dataset)
    order = list(panel.gallery.indices)
    assert len(order) >= 2
    panel.gallery.sig_prediction_chosen.emit(order[0])
    detail = panel.detail
    qtbot.waitUntil(lambda: detail.explanation is not None, timeout=5000)
    first = detail.path
    qtbot.keyClick(detail, QtKeys.Key.Key_Right)
    assert detail.index == order[1] and detail.path != first
    qtbot.keyClick(detail, QtKeys.Key.Key_Left)
    assert detail.index == order[0] and detail.path == first
    qtbot.waitUntil(lambda: detail.explanation is not None, timeout=5000)
    e = detail.explanation
    detail.opacity.setValue(0)
    assert np.array_equal(detail.shown_picture, with_legend(overlay(e.image, e.heatmap, 0.0), e.title))
    detail.opacity.setValue(90)
    strong = detail.shown_picture.copy()
    detail.original_box.setChecked(True)  # the image alone, whatever the slider says
    assert np.array_equal(detail.shown_picture, with_legend(overlay(e.image, e.heatmap, 0.0), e.title))
    assert not np.array_equal(strong, detail.shown_picture)


def test_report_button_writes_and_opens_the_report(qtbot, make_window, dataset):
    window = make_window()
    panel = _train_and_evaluate(qtbot, window, dataset)
    qtbot.mouseClick(panel.report_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.report_button.isEnabled(), timeout=5000)
    html = Path(panel.evaluation.run_dir) / "report.html"
    assert html.exists() and window.opened_urls[-1] == str(html)
    assert not panel.done.isHidden() and panel.done.path == str(html)  # where it is, inside the view
    panel.done.folder_button.click()
    assert window.opened_urls[-1] == str(html.parent)


def test_evaluation_problem_is_shown_in_words(qtbot, make_window, dataset):
    window = make_window(evaluate_fail="user")
    load(qtbot, window, dataset)
    window.start_training()
    qtbot.waitUntil(lambda: "Could not evaluate" in window.evaluate_panel.summary.text(), timeout=15_000)
    assert "model.keras" in window.evaluate_panel.summary.text()
    assert not window.train_panel.evaluate_button.isVisible()


def test_suspected_mislabels_are_shown_and_can_be_marked(qtbot, make_window, dataset):
    window = make_window()
    panel = _train_and_evaluate(qtbot, window, dataset)
    ev = panel.evaluation
    assert panel.suspects_button.isEnabled() and panel.suspects_button.text() == "Suspected mislabels (1)"
    qtbot.mouseClick(panel.suspects_button, Qt.MouseButton.LeftButton)
    assert panel.gallery_label.text().startswith("Suspected mislabels") and panel.gallery.count() == 1
    panel.gallery.itemClicked.emit(panel.gallery.item(0))
    suspect = panel.suspects[0]
    assert suspect.true == "b" and suspect.predicted == "a" and Path(suspect.path).is_file()
    assert "labelled <b>b</b>, predicted <b>a</b>" in panel.detail.info.text()
    panel.detail.mark_box.setChecked(True)  # confirmed: it feeds the same review as any mark
    review = json.loads((Path(ev.run_dir) / "review.json").read_text())
    assert [m["file"] for m in review["mislabelled"]] == [suspect.file]
    assert "⚑" in panel.gallery.item(0).text()
