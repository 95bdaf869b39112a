"""The whole flow as a person walks it (scripted trainer): at every step no stale or contradictory words, the
window fits a laptop screen, Stop and Close behave."""

from __future__ import annotations

import gc
import re
import time

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QMessageBox

from tests.gui.conftest import load

STALE = ("Choose a dataset folder", "Stopping after this batch", "Stopping: no model", "Choose a model first")


def _words(window) -> str:
    p = window.train_panel
    return " | ".join((p.phase_label.text(), p.progress.format(), window.statusBar().currentMessage()))


def _no_contradiction(window) -> None:
    p = window.train_panel
    fmt = p.progress.format()
    assert "0:00 left" not in fmt and not re.search(r"100% .* left", fmt), fmt
    if p.plot.data["batch_x"].values.size and p.current_phase in ("head", "fine-tune") and p.batches_in_phase:
        assert "Extracting features" not in fmt, fmt  # epochs are being drawn: the bar counts them
    m = re.search(r"epoch (\d+)/(\d+)", p.phase_label.text())
    if m:
        assert 1 <= int(m.group(1)) <= int(m.group(2)), p.phase_label.text()


def test_a_person_walks_the_whole_flow_without_stale_words(qtbot, make_window, dataset, answer_yes):
    window = make_window(delay=0.01)
    panel = window.train_panel
    # 0. Nothing chosen: the window says what to do, and Ctrl+Return says why it cannot start.
    assert "Choose a dataset folder" in panel.phase_label.text()
    window.window_actions.named["Start training"].trigger()
    assert "Cannot start yet: Choose a dataset folder" in window.statusBar().currentMessage()
    assert not window.window_actions.named["Stop training"].isEnabled()
    # 1. Data
    load(qtbot, window, dataset)
    qtbot.waitUntil(lambda: "Ready" in panel.phase_label.text(), timeout=5000)
    assert not any(s in _words(window) for s in STALE), _words(window)
    # ImageNet weights not on this computer (the stand-in says so for MobileNetV2): said before Start.
    qtbot.waitUntil(lambda: "not on this computer yet" in panel.phase_label.text(), timeout=5000)
    assert panel.weights_button.isVisibleTo(window)
    # 2. Model: "Next" on the Data step goes there (and Ctrl+2); "Next" on the Model step goes to Train
    window.window_actions.next_buttons[1].click()
    assert window.tabs.currentWidget() is window.model_panel
    window.window_actions.next_buttons[2].click()
    assert window.right_tabs.currentWidget() is panel
    next(a for a in window.window_actions.step_actions if a.shortcut().toString() == "Ctrl+2").trigger()
    assert window.tabs.currentWidget() is window.model_panel
    # 3. Train: epochs counted per phase, never "extracting" while epochs are drawn, no "0:00 left"
    seen: list[str] = []
    window.start_training()
    assert window.window_actions.named["Stop training"].isEnabled()

    views: set[str] = set()
    show_event = panel.show_event

    def shown(event) -> None:  # what the person sees after each event, however fast they come
        show_event(event)
        seen.append(panel.phase_label.text())
        views.add("chart" if panel.views.currentWidget() is panel.recipe_chart else "curves")

    panel.show_event = shown

    def watch() -> bool:
        _no_contradiction(window)
        seen.append(panel.phase_label.text())
        return not window.runner.worker("training").is_running() and panel.start_button.isEnabled()

    qtbot.waitUntil(watch, timeout=15_000)
    assert any("Training the new head: epoch 3/3" in s for s in seen), seen
    assert any("Fine-tuning the backbone: epoch 2/2" in s for s in seen), seen
    assert not any("epoch 5/5" in s or "epoch 4/5" in s for s in seen)  # phases counted as what they are
    # The recipe comparison was on screen as it happened (never empty curves), with the leader named; then curves.
    assert any("Comparing ways to train the head · best so far: candidate" in s for s in seen), seen
    assert views == {"chart", "curves"} and panel.recipe_chart.leader().name == "candidate 4"
    # How it ended, after how long, and why, in one line; the one duration is the time waited.
    status = panel.phase_label.text()
    assert re.fullmatch(r"Finished after \d+:\d\d\. All 5 planned epochs ran; epoch \d had the lowest validation "
                        r"loss and its model was kept\.", status), status
    assert "left" not in panel.progress.format() and panel.time_label.text().startswith("took ")
    assert not any(s in _words(window) for s in STALE), _words(window)
    # 4. Evaluate, 5. Predict: reached by their shortcuts; the model is ready there
    qtbot.waitUntil(lambda: window.evaluate_panel.evaluation is not None, timeout=10_000)
    next(a for a in window.window_actions.step_actions if a.shortcut().toString() == "Ctrl+4").trigger()
    assert window.right_tabs.currentWidget() is window.evaluate_panel
    next(a for a in window.window_actions.step_actions if a.shortcut().toString() == "Ctrl+6").trigger()
    assert window.right_tabs.currentWidget() is window.projects.runs_panel
    next(a for a in window.window_actions.step_actions if a.shortcut().toString() == "Ctrl+5").trigger()
    assert window.predict_panel.model is not None and "No model yet" not in window.predict_panel.model_label.text()
    # A bad folder next: the previous dataset's split is not left on screen.
    window.open_folder(str(dataset / "does-not-exist"))
    qtbot.waitUntil(lambda: "does not exist" in window.dataset_panel.info.text(), timeout=5000)
    assert window.dataset_panel.split_preview.text() == "" and window.dataset_panel.table.rowCount() == 0


def test_tab_moves_through_each_step_in_order_and_never_stops_on_a_picture(qtbot, make_window, dataset):
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication, QScrollArea

    window = make_window()
    load(qtbot, window, dataset)
    window.activateWindow()
    window.dataset_panel.choose_button.setFocus()
    stops = []
    for _ in range(30):
        stops.append(QApplication.focusWidget())
        window.focusNextChild()
    assert not [w for w in stops if isinstance(w, pg.PlotWidget | QScrollArea)], stops
    assert all(w.isVisible() for w in stops if w is not None)
    data_stops = [w for w in stops[: stops.index(window.window_actions.next_buttons[1])] if w is not None]
    assert window.dataset_panel.val_spin in data_stops  # the step's own settings come before its Next button
    assert not [w for w in data_stops if window.right_tabs.isAncestorOf(w)]  # ...and nothing of the other side


@pytest.mark.parametrize("free", [QRect(0, 0, 1366, 728), QRect(0, 0, 1280, 680), QRect(0, 0, 960, 510)],
                         ids=["1366x768 at 1x", "1920x1080 at 1.5x", "1920x1080 at 2x"])
def test_the_window_fits_a_laptop_screen(qtbot, make_window, free):
    window = make_window()
    window.resize(2560, 1600)  # what a saved geometry from a larger screen asks for
    window.model_panel.advanced.setChecked(True)
    window.window_actions.fit_to_screen(free)
    hint = window.minimumSizeHint()
    assert hint.width() <= free.width() and hint.height() <= free.height(), hint
    assert window.width() <= free.width() and window.height() <= free.height()
    assert free.contains(QRect(window.pos(), window.size()))


def test_a_finished_run_with_its_result_and_reason_still_fits_a_laptop_at_2x(qtbot, make_window, dataset):
    free = QRect(0, 0, 960, 510)  # 1920×1080 at 2× scaling, less the panels
    window = make_window(delay=0.001)
    load(qtbot, window, dataset)
    window.start_training()
    qtbot.waitUntil(lambda: window.train_panel.start_button.isEnabled() and bool(window.train_panel.run_dir),
                    timeout=15_000)
    assert "planned epochs ran" in window.train_panel.phase_label.text()
    window.window_actions.fit_to_screen(free)
    hint = window.minimumSizeHint()  # the long words of the end wrap: nothing forces the window wider
    assert hint.width() <= free.width() and hint.height() <= free.height(), hint


def test_while_its_frame_is_unknown_the_window_leaves_room_for_a_title_bar_on_a_laptop(qtbot, make_window):
    from foveal.gui.window_actions import TITLE_BAR

    window = make_window()
    window.resize(1366, 768)  # a laptop's whole screen, asked for before the window manager adds its frame
    free = QRect(0, 20, 1366, 748)  # below a top panel
    window.window_actions.fit_to_screen(free)
    # The status bar (where nothing important is said any more, but still) stays above the screen's bottom edge.
    assert window.y() + TITLE_BAR + window.height() <= free.bottom() + 1


def test_a_run_that_ends_while_stop_is_asked_leaves_no_stopping_text(qtbot, make_window, dataset, monkeypatch):
    window = make_window(delay=0.002)
    load(qtbot, window, dataset)

    def question(*args, **kwargs):  # the run ends while the person reads the question
        qtbot.waitUntil(lambda: not window.runner.worker("training").is_running(), timeout=10_000)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", question)
    window.start_training()
    qtbot.waitUntil(lambda: window.train_panel.batches_in_phase > 0, timeout=5000)
    window._on_stop_requested()
    qtbot.waitUntil(lambda: window.train_panel.start_button.isEnabled(), timeout=5000)
    assert "Stopping" not in window.train_panel.phase_label.text()
    assert "Stopping" not in window.train_panel.progress.format()


def test_close_during_training_says_stopping_and_leaves_no_thread(qtbot, make_window, dataset, answer_yes):
    window = make_window(delay=0.2, steps=50)  # a batch takes 0.2 s
    load(qtbot, window, dataset)
    window.start_training()
    qtbot.waitUntil(lambda: window.train_panel.batches_in_phase > 0, timeout=5000)
    shown = []
    actions = window.window_actions
    real = actions.wait_with_dialog

    def spy(worker):
        shown.append(True)
        real(worker)
        shown.append(actions.stopping_dialog is None)

    actions.wait_with_dialog = spy
    worker = window.runner.worker("training")
    t0 = time.monotonic()
    window.close()
    took = time.monotonic() - t0
    assert shown == [True, True] and any("Stop training and close" in a for a in answer_yes)
    assert took < 2.0 + 0.2, took  # within 2 s of the batch ending
    assert not worker.is_running()
    for name in ("scan", "evaluation"):
        assert window.runner.worker(name) is None or not window.runner.worker(name).is_running()
    assert window.weights_status.runner.worker("status") is None or \
        not window.weights_status.runner.worker("status").is_running()
    assert window.runner.worker("evaluation") is None  # a run that ends as the window closes starts nothing more
    from foveal.gui.workers.base import ThreadWorker

    workers = [o for o in gc.get_objects() if isinstance(o, ThreadWorker)]
    assert worker in workers and not [w for w in workers if w.is_running()]
