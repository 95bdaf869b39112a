"""After a restart the window shows what the person chose last: the model settings, the weights file of each
backbone, the dataset folder (reopened while it is there, never written into). Each test restarts the window on
the same temporary settings file (make_window), never the user's."""

from __future__ import annotations

from tests.gui.conftest import load
from tests.reliability.hostile import snapshot


def _weights_file(folder, name: str) -> str:
    path = folder / name
    path.write_bytes(b"weights")  # the file check is a stand-in here (conftest): any file fits
    return str(path)


def test_model_settings_and_the_weights_file_come_back_after_a_restart(qtbot, make_window, tmp_path):
    window = make_window()
    panel = window.model_panel
    panel.select_backbone("ResNet50")
    panel.depth_slider.setValue(2)
    panel.advanced.setChecked(True)
    panel.epochs.setValue(7)
    panel.augment.setChecked(True)
    weights = _weights_file(tmp_path, "resnet50_notop.h5")
    panel.set_weights_file(weights)
    qtbot.waitUntil(lambda: "✓ fits ResNet50" in panel.weights_choice.fit_label.text(), timeout=5000)
    window.close()
    again = make_window().model_panel
    assert again.backbone.name == "ResNet50" and again.fine_tune == "last:2"
    assert again.epochs.value() == 7 and again.augment.isChecked()
    assert again.weights == weights and again.weights_label.text() == "resnet50_notop.h5"
    # the file brought back is checked again, as when it was chosen
    qtbot.waitUntil(lambda: "✓ fits ResNet50" in again.weights_choice.fit_label.text(), timeout=5000)


def test_each_backbone_brings_back_its_own_file(qtbot, make_window, tmp_path):
    window = make_window()
    panel = window.model_panel
    v2, resnet = _weights_file(tmp_path, "v2.h5"), _weights_file(tmp_path, "resnet.h5")
    panel.set_weights_file(v2)
    panel.select_backbone("ResNet50")
    assert panel.weights == v2  # no file for ResNet50 yet: the one shown stays, and is checked against ResNet50
    assert "Checking whether this file fits ResNet50" in panel.weights_choice.fit_label.text()
    panel.set_weights_file(resnet)
    panel.select_backbone("MobileNetV2")
    assert panel.weights == v2
    window.close()
    again = make_window().model_panel
    assert again.backbone.name == "MobileNetV2" and again.weights == v2
    again.select_backbone("ResNet50")
    assert again.weights == resnet and again.weights_label.text() == "resnet.h5"


def test_a_remembered_file_no_longer_there_is_forgotten_with_a_note(qtbot, make_window, tmp_path):
    window = make_window()
    gone, kept = tmp_path / "gone.h5", _weights_file(tmp_path, "resnet.h5")
    panel = window.model_panel
    panel.select_backbone("ResNet50")
    panel.set_weights_file(kept)
    panel.select_backbone("MobileNetV2")
    panel.set_weights_file(_weights_file(tmp_path, "gone.h5"))
    window.close()
    gone.unlink()
    again = make_window()
    panel = again.model_panel
    assert panel.weights == "imagenet" and panel.weights_label.text() == ""
    note = panel.weights_choice.fit_label
    again.tabs.setCurrentWidget(panel)
    assert note.isVisibleTo(again) and f"{gone} chosen before is no longer there" in note.text()
    assert "MobileNetV2" not in panel.weights_choice.files  # forgotten, kept forgotten
    assert panel.weights_not_ready == ""  # nothing holds Start back for the weights
    panel.select_backbone("ResNet50")  # the other backbone's file is still there: it comes back
    assert panel.weights_path == kept


def test_the_last_dataset_folder_is_reopened_and_left_as_it_was(qtbot, make_window, dataset):
    window = make_window()
    load(qtbot, window, dataset)
    window.close()
    before = snapshot(dataset)
    again = make_window()
    assert again.session.summary is None  # only at start (app.main), after a project had its say
    again.reopen_last_folder()
    qtbot.waitUntil(lambda: again.session.summary is not None, timeout=10_000)
    assert again.session.summary.root == str(dataset) and again.dataset_panel.table.rowCount() == 2
    assert again.train_panel.start_button.isEnabled()
    again.close()
    assert snapshot(dataset) == before  # read, never written into


def test_a_last_folder_that_is_gone_is_not_reopened(qtbot, make_window, tmp_path):
    window = make_window()
    gone = tmp_path / "gone"
    gone.mkdir()
    window.settings.setValue("data/last_folder", str(gone))
    window.close()
    gone.rmdir()
    again = make_window()
    again.reopen_last_folder()
    assert again.runner.worker("scan") is None and again.session.summary is None


def test_damaged_remembered_settings_are_ignored(qtbot, make_window):
    window = make_window()
    window.close()
    window.settings.setValue("model/settings", "{not json")
    window.settings.setValue("model/weights_files", "[1, 2]")
    again = make_window().model_panel
    assert again.backbone.name == "MobileNetV2" and again.weights == "imagenet" and again.fine_tune == "frozen"
