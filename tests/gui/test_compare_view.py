"""The window's *Compare backbones*: from the Model step to a ranked table, saved with the project, with Stop and
a button that trains with the recommendation; one real comparison with TensorFlow too."""

from __future__ import annotations

import functools
import json
import threading
from pathlib import Path

from PySide6.QtCore import Qt

from foveal.core.compare.candidates import parse_candidates
from tests.factory import real_weights
from tests.gui.conftest import load
from tests.gui.fakes import scripted_compare


def test_compare_needs_a_dataset_and_pretrained_weights(qtbot, make_window, dataset):
    window = make_window()
    window.model_panel.compare_button.click()
    assert "Choose a dataset folder first" in window.statusBar().currentMessage()
    assert not window.compare.dialog.isVisible()
    load(qtbot, window, dataset)
    window.model_panel.weights_none.setChecked(True)
    window.model_panel.compare_button.click()
    assert "needs pretrained weights" in window.statusBar().currentMessage()
    assert not window.compare.dialog.isVisible()


def test_comparison_ranks_saves_reopens_and_is_used_for_training(qtbot, make_window, dataset):
    window = make_window()
    load(qtbot, window, dataset)
    window.model_panel.select_backbone("ResNet50")
    window.model_panel.compare_button.click()
    dialog = window.compare.dialog
    assert dialog.isVisible() and "ImageNet, from Keras's cache" in dialog.weights_label.text()
    keys = [c.key for c in dialog.chosen()]
    assert keys[0] == "ResNet50@224" and "MobileNetV2@320" in keys  # the current choice, then the fast ones
    for i in range(2, dialog.candidates.count()):  # keep three candidates
        dialog.candidates.item(i).setCheckState(Qt.CheckState.Unchecked)
    dialog.start_button.click()
    assert dialog.stop_button.isEnabled() and not dialog.start_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.is_running() and dialog.comparison is not None, timeout=10_000)
    assert dialog.table.rowCount() == 2 and dialog.table.item(0, 1).text() == "ResNet50 at 224 px"
    assert "85.0%" in dialog.table.item(0, 2).text() and dialog.progress.value() == 1000
    assert "Recommendation:" in dialog.recommendation.text() and "Done: 2 of 2" in dialog.status.text()
    saved = dialog.comparison.path
    assert json.loads(Path(saved).read_text(encoding="utf-8"))["format"] == "foveal-compare"
    assert "comparisons" in saved and str(dataset) not in saved  # never in the dataset
    # The recommended row (the fastest within the best one's interval: MobileNet at 20 ms) is used to train.
    assert dialog.comparison.recommended.backbone == "MobileNet"
    dialog.use_button.click()
    assert not dialog.isVisible() and window.model_panel.backbone.name == "MobileNet"
    assert window.make_config().image_size is None  # its own size: 224
    # Reopened, the last comparison of this dataset is shown again; a row chosen by hand can be used too.
    window.compare.open()
    assert dialog.table.rowCount() == 2 and "last comparison" in dialog.status.text()
    dialog.table.selectRow(1)
    assert dialog.use_button.text() == "Use MobileNet at 224 px"


def test_a_larger_input_size_reaches_the_config(qtbot, make_window, dataset):
    window = make_window()
    load(qtbot, window, dataset)
    window.model_panel.use_candidate("MobileNetV2", 320)
    assert window.make_config().image_size == 320 and window.model_panel.settings()["image_size"] == 320
    window.model_panel.use_candidate("MobileNetV2", 224)
    assert window.make_config().image_size is None


def test_stop_keeps_the_candidates_done_and_close_waits(qtbot, make_window, dataset):
    hold = threading.Event()
    window = make_window(compare_fn=functools.partial(scripted_compare, hold=hold))
    load(qtbot, window, dataset)
    window.compare.open()
    dialog = window.compare.dialog
    dialog.start()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=10_000)
    dialog.stop()
    assert "Stopping" in dialog.status.text()
    hold.set()
    qtbot.waitUntil(lambda: not dialog.is_running() and dialog.comparison is not None, timeout=10_000)
    assert dialog.comparison.outcome == "cancelled" and "Stopped: 1 of 1" in dialog.status.text()
    dialog.start()
    window.close()  # stops the comparison and waits for its thread
    assert not dialog.is_running()


def test_real_comparison_in_the_dialog(qtbot, dataset, tmp_path):
    from foveal.gui.widgets.compare_dialog import CompareDialog

    dialog = CompareDialog()
    qtbot.addWidget(dialog)
    dialog.setup(str(dataset), real_weights(), "a weights file", split=None, seed=1,
                 out=str(tmp_path / "c.json"), current=parse_candidates("MobileNetV2@32")[0])
    for i in range(1, dialog.candidates.count()):
        dialog.candidates.item(i).setCheckState(Qt.CheckState.Unchecked)
    dialog.start()
    # the thread's end and its result's delivery are two events: wait for the result (or a failure) to be shown
    qtbot.waitUntil(lambda: not dialog.is_running() and dialog.start_button.isEnabled(), timeout=180_000)
    assert dialog.comparison is not None, dialog.status.text()
    assert dialog.table.rowCount() == 1 and dialog.table.item(0, 1).text() == "MobileNetV2 at 32 px"
    assert dialog.comparison.rows[0].scored and (tmp_path / "c.json").exists()
