"""k-fold cross-validation started from the window (a scripted stand-in for core.crossval)."""

from __future__ import annotations

from tests.gui.conftest import load
from tests.gui.fakes import scripted_train


def test_folds_setting_runs_cross_validation_and_shows_the_summary(qtbot, make_window, dataset, tmp_path):
    from gui.workers.train_worker import CrossValResult

    calls = []

    def fake_crossval(k):
        def run(config, *, on_event, cancel):
            calls.append((k, config.group_by))
            for _ in range(k):  # one scripted run per fold, as the real one emits each fold's events
                scripted_train(config, on_event=on_event, cancel=cancel, epochs_head=1, epochs_ft=0, steps=2)
            return CrossValResult("completed", f"{config.out_dir}/fold-{k}", None, None, {},
                                  str(tmp_path / "cv"), f"{k} of {k} folds done\n  accuracy 0.900 ± 0.050")
        return run

    window = make_window()
    window.crossval_fn = fake_crossval
    load(qtbot, window, dataset)
    panel = window.model_panel
    panel.folds.setValue(1)
    assert panel.folds.value() == 0  # one fold is not cross-validation
    panel.folds.setValue(4)
    window.dataset_panel.group_combo.setCurrentIndex(2)
    window._on_start_requested()
    qtbot.waitUntil(lambda: window.train_panel.start_button.isEnabled() and bool(calls), timeout=15_000)
    qtbot.waitUntil(lambda: "0.900 ± 0.050" in window.train_panel.saved_label.text(), timeout=5000)
    assert calls == [(4, "filename")]
    assert window.train_panel.result_label.text() == "k-fold"
    assert window.evaluate_worker is None  # no single-run evaluation after cross-validation
