"""A weights file is checked when it is chosen, off the GUI thread, with the real ImageNet files: the wrong one is
said next to the file in plain words and holds Start back, with the reason in the Train view; the right one fits.
The backbone changing under a file checks it again."""

from __future__ import annotations

import threading

import pytest

from foveal.gui.weights_status import weights_fit
from tests.factory import MOBILENET_V2_WEIGHTS, SHARED
from tests.gui.conftest import load

MOBILENET_V1_WEIGHTS = SHARED / "weights" / "mobilenet_v1_0.25_224_imagenet_no_top.weights.h5"


@pytest.fixture
def real_check(make_window, monkeypatch):
    """A window whose weights file check is the real one, recording the thread each check ran on."""
    for path in (MOBILENET_V2_WEIGHTS, MOBILENET_V1_WEIGHTS):
        if not path.exists():
            pytest.skip(f"real ImageNet weights not found at {path} (shared/weights/README.md)")
    threads = []

    def check(backbone: str, path: str):
        threads.append(threading.current_thread())
        return weights_fit(backbone, path)

    window = make_window()
    window.weights_status.fit_fn = check
    window.checked_on = threads
    return window


def test_the_wrong_file_is_said_when_chosen_and_holds_start_back_until_the_right_one(qtbot, real_check, dataset):
    window = real_check
    load(qtbot, window, dataset)
    panel, train = window.model_panel, window.train_panel
    said = panel.weights_choice.fit_label
    panel.set_weights_file(str(MOBILENET_V1_WEIGHTS))
    assert "Checking whether this file fits MobileNetV2" in said.text()
    qtbot.waitUntil(lambda: "different network" in said.text(), timeout=120_000)
    assert ("This file holds the weights of a different network (54 layers with weights; MobileNetV2 has 104). "
            "Choose MobileNetV2's weights without its top: Keras names that file "
            "'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5'.") in said.text()
    assert window.checked_on and threading.main_thread() not in window.checked_on  # off the GUI thread
    assert not train.start_button.isEnabled()
    assert ("The weights file mobilenet_v1_0.25_224_imagenet_no_top.weights.h5 does not fit MobileNetV2"
            in train.phase_label.text())
    window._on_start_action()  # Ctrl+Return says why too
    assert "does not fit MobileNetV2" in window.statusBar().currentMessage()
    panel.set_weights_file(str(MOBILENET_V2_WEIGHTS))
    assert "Checking whether this file fits MobileNetV2" in said.text()
    qtbot.waitUntil(lambda: "✓ fits MobileNetV2" in said.text(), timeout=60_000)
    assert train.start_button.isEnabled() and "Ready" in train.phase_label.text()


def test_another_backbone_checks_the_file_again(qtbot, real_check, dataset):
    window = real_check
    load(qtbot, window, dataset)
    panel = window.model_panel
    said = panel.weights_choice.fit_label
    panel.set_weights_file(str(MOBILENET_V2_WEIGHTS))
    qtbot.waitUntil(lambda: "✓ fits MobileNetV2" in said.text(), timeout=120_000)
    panel.select_backbone("MobileNet")  # MobileNet v1: the v2 file does not fit it
    qtbot.waitUntil(lambda: "MobileNet has 54" in said.text(), timeout=60_000)
    assert "(104 layers with weights; MobileNet has 54)" in said.text()
    assert not window.train_panel.start_button.isEnabled()
    panel.select_backbone("MobileNetV2")
    qtbot.waitUntil(lambda: "✓ fits MobileNetV2" in said.text(), timeout=60_000)
    assert window.train_panel.start_button.isEnabled()


def test_an_answer_about_a_file_no_longer_shown_changes_nothing(qtbot, make_window, tmp_path):
    window = make_window()
    choice = window.model_panel.weights_choice
    first, second = tmp_path / "a.h5", tmp_path / "b.h5"
    for path in (first, second):
        path.write_bytes(b"weights")
    choice.set_file(str(first))
    choice.set_file(str(second))
    choice.show_fit("MobileNetV2", str(first), "This file holds the weights of a different network.")
    assert choice.not_ready == "" and "different network" not in choice.fit_label.text()
    choice.show_fit("MobileNetV2", str(second), "This file holds the weights of a different network.")
    assert "b.h5 does not fit MobileNetV2" in choice.not_ready
    choice.imagenet.setChecked(True)  # another source: the file holds nothing back
    assert choice.not_ready == "" and window.model_panel.weights == "imagenet"
