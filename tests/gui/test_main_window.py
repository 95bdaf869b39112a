"""The window's flow driven by a scripted train function: data → start → live curves → result."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from tests.gui.conftest import load


def test_full_flow_updates_curves_buttons_and_result(qtbot, make_window, dataset):
    window = make_window(delay=0.03)
    assert not window.train_panel.start_button.isEnabled()  # nothing to train yet
    load(qtbot, window, dataset)
    panel = window.train_panel
    assert panel.start_button.isEnabled()
    assert window.dataset_panel.table.rowCount() == 2
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert panel.stop_button.isEnabled() and not panel.start_button.isEnabled()
    qtbot.waitUntil(lambda: window.runner.worker("training") is not None
                    and not window.runner.worker("training").is_running() and panel.start_button.isEnabled(),
                    timeout=10_000)
    data = panel.plot.data
    assert list(data["epoch_x"].values) == [1, 2, 3, 4, 5]
    assert len(data["batch_x"]) == 25 and data["batch_x"].values[-1] == 5.0
    assert len(panel.plot._phase_lines) == 2  # the switch to fine-tuning, on both plots
    assert panel.result_label.text() == "90.0%"
    assert "Model saved to" in panel.saved_label.text() and panel.open_button.isVisible()
    assert "90.0% of 10 held-out test images right" in panel.saved_label.text()
    assert "Always answering 'a' would score 50%" in panel.saved_label.text()
    assert not panel.stop_button.isEnabled()
    config = window.runner.worker("training").config
    assert config.data_dir == str(dataset) and config.backbone == "MobileNetV2" and config.fine_tune == "frozen"
    assert config.devices == "auto"
    assert panel.device_label.text() == "Device: NVIDIA H100 (GPU 0) · mixed precision (float16) · XLA"
    def redrawn() -> bool:  # the redraw timer eventually draws exactly the data it holds
        x = panel.plot.curves["loss"].getData()[0]
        return x is not None and len(x) == 5

    qtbot.waitUntil(redrawn, timeout=2000)


def test_train_on_choice_reaches_the_run_and_the_device_is_shown(qtbot, make_window, dataset):
    window = make_window()
    load(qtbot, window, dataset)
    combo = window.model_panel.devices
    combo.setCurrentIndex(combo.findData("cpu"))
    window.start_training()
    qtbot.waitUntil(lambda: not window.runner.worker("training").is_running(), timeout=10_000)
    assert window.runner.worker("training").config.devices == "cpu"
    # the thread's end and the delivery of its queued events are separate: wait for the run's end to be shown
    qtbot.waitUntil(lambda: window.train_panel.start_button.isEnabled(), timeout=10_000)
    assert window.train_panel.device_label.text() == "Device: CPU"
    assert window.model_panel.settings()["devices"] == "cpu"


def test_stop_asks_then_cancels_within_a_batch(qtbot, make_window, dataset, answer_yes):
    window = make_window(delay=0.02, epochs_head=50, epochs_ft=0)
    load(qtbot, window, dataset)
    window.start_training()
    qtbot.waitUntil(lambda: len(window.train_panel.plot.data["batch_x"]) > 3, timeout=5000)
    window._on_stop_requested()
    assert answer_yes and "Stop" in answer_yes[0]
    qtbot.waitUntil(lambda: not window.runner.worker("training").is_running(), timeout=5000)
    qtbot.waitUntil(lambda: window.train_panel.start_button.isEnabled(), timeout=5000)
    assert "Stopped" in window.train_panel.saved_label.text()
    assert len(window.train_panel.plot.data["epoch_x"]) < 50


def test_user_error_is_shown_inline_without_a_dialog(qtbot, make_window, dataset, monkeypatch):
    window = make_window(fail="user")
    monkeypatch.setattr(window, "_show_unexpected", lambda *a: (_ for _ in ()).throw(AssertionError("dialog")))
    load(qtbot, window, dataset)
    window.start_training()
    panel = window.train_panel
    qtbot.waitUntil(lambda: "could not be downloaded" in panel.phase_label.text(), timeout=5000)
    # One plain sentence; the full message (paths, flags) behind Details.
    assert "is this computer offline?" in panel.phase_label.text() and "choose a weights file" in \
        panel.details_label.text()
    assert panel.details_button.isVisibleTo(window) and not panel.details_label.isVisibleTo(window)
    panel.details_button.click()
    assert panel.details_label.isVisibleTo(window)
    assert panel.start_button.isEnabled()
    assert panel.weights_button.isVisibleTo(window)  # offline: a way to use a file the user has
    chosen = []
    monkeypatch.setattr(window.model_panel, "choose_weights_file", lambda: chosen.append(True))
    qtbot.mouseClick(panel.weights_button, Qt.MouseButton.LeftButton)
    assert chosen and window.tabs.currentWidget() is window.model_panel
    weights = dataset.parent / "mobilenet_v2_notop.h5"
    weights.write_bytes(b"weights")
    window.model_panel.set_weights_file(str(weights))  # the fix: the error goes away
    assert "Could not train" not in panel.phase_label.text() and not panel.details_button.isVisibleTo(window)
    assert "Ready" in panel.phase_label.text()


def test_unexpected_error_gets_a_dialog_with_details(qtbot, make_window, dataset, monkeypatch):
    window = make_window(fail="bug")
    shown = []
    monkeypatch.setattr(window, "_show_unexpected", lambda message, details: shown.append((message, details)))
    load(qtbot, window, dataset)
    window.start_training()
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert "RuntimeError: boom" in shown[0][0] and "Traceback" in shown[0][1]


def test_close_during_training_asks_cancels_and_waits(qtbot, make_window, dataset, answer_yes):
    window = make_window(delay=0.02, epochs_head=200, epochs_ft=0)
    load(qtbot, window, dataset)
    window.start_training()
    qtbot.waitUntil(lambda: len(window.train_panel.plot.data["batch_x"]) > 2, timeout=5000)
    worker = window.runner.worker("training")
    window.close()
    assert answer_yes and "close" in answer_yes[0].lower()
    assert worker.cancel_token.cancelled and not worker.is_running()


def test_dropping_a_folder_scans_it(qtbot, make_window, dataset):
    window = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(dataset))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.session.summary is not None, timeout=10_000)
    assert window.session.summary.counts == {"a": 6, "b": 6}


def test_bad_folder_is_an_inline_error(qtbot, make_window, tmp_path):
    window = make_window()
    window.open_folder(str(tmp_path / "missing"))
    qtbot.waitUntil(lambda: "does not exist" in window.dataset_panel.info.text(), timeout=5000)
    assert not window.train_panel.start_button.isEnabled()


def test_one_class_folder_cannot_start(qtbot, make_window, tmp_path):
    from tests import factory

    window = make_window()
    load(qtbot, window, factory.make_class_folder(tmp_path / "one", {"only": 4}))
    assert "at least two class folders" in window.dataset_panel.info.text()
    assert not window.train_panel.start_button.isEnabled()


def test_backbone_and_depth_reach_the_config_and_are_remembered(qtbot, make_window, dataset, tmp_path):
    window = make_window()
    load(qtbot, window, dataset)
    window.model_panel.select_backbone("ResNet50")
    window.model_panel.depth_slider.setValue(2)
    config = window.make_config()
    assert config.backbone == "ResNet50" and config.fine_tune == "last:2"
    assert "Last 2 of 5 blocks" in window.model_panel.depth_label.text()
    window.model_panel.depth_slider.setValue(5)
    assert window.make_config().fine_tune == "all"
    window.close()
    again = make_window()
    assert again.model_panel.backbone.name == "ResNet50"


def test_no_pretrained_weights_means_every_layer_learns(qtbot, make_window, dataset):
    window = make_window()
    load(qtbot, window, dataset)
    panel = window.model_panel
    panel.weights_none.setChecked(True)
    assert window.make_config().fine_tune == "all" and not panel.depth_slider.isEnabled()
    assert "random features" in panel.depth_label.text()
    window.make_config().validate()  # what Start would train is accepted
    panel.select_backbone("ResNet50")  # another backbone: still everything
    assert window.make_config().fine_tune == "all"
    panel.weights_imagenet.setChecked(True)
    assert panel.depth_slider.isEnabled() and "random features" not in panel.depth_label.text()
    panel.depth_slider.setValue(0)
    assert window.make_config().fine_tune == "frozen"


def test_imagenet_cache_status_follows_the_backbone(qtbot, make_window):
    window = make_window()
    status = window.model_panel.imagenet_status
    qtbot.waitUntil(lambda: "mobilenetv2_notop.h5" in status.toolTip(), timeout=5000)
    assert "Not on this computer yet" in status.text()
    assert window.model_panel.weights_missing
    window.model_panel.select_backbone("ResNet50")
    qtbot.waitUntil(lambda: "Already on this computer" in status.text(), timeout=5000)
    assert not window.model_panel.weights_missing
    assert status.toolTip() == "/cache/resnet50_notop.h5"
