"""k-fold cross-validation started from the window (a scripted stand-in for core.crossval)."""

from __future__ import annotations

from foveal.core.crossval import CrossValResult
from foveal.core.training.events import BatchesEnded, EpochEnded, FoldFinished, FoldStarted, Outcome, TrainingStarted
from foveal.gui.widgets.train_panel import TrainPanel
from tests.gui.conftest import load
from tests.gui.fakes import scripted_train


def test_folds_setting_runs_cross_validation_and_shows_the_summary(qtbot, make_window, dataset, tmp_path):
    calls = []

    def fake_crossval(k):
        def run(config, *, on_event, cancel):
            calls.append((k, config.group_by))
            rows = []
            for i in range(1, k + 1):  # one scripted run per fold, between the fold's events, as the real one
                on_event(FoldStarted(i, k, f"{config.out_dir}/fold-{i}"))
                scripted_train(config, on_event=on_event, cancel=cancel, epochs_head=1, epochs_ft=0, steps=2)
                rows.append({"fold": i, "run_dir": f"{config.out_dir}/fold-{i}", "accuracy": 0.9})
                on_event(FoldFinished(i, k, rows[-1]["run_dir"], Outcome.COMPLETED, {"accuracy": 0.9}))
            summary = {"accuracy": {"mean": 0.9, "sd": 0.05, "n": k}}
            return CrossValResult(Outcome.COMPLETED, k, str(tmp_path / "cv"), tuple(rows), summary, {})
        return run

    window = make_window()
    window.crossval_fn = fake_crossval
    load(qtbot, window, dataset)
    panel = window.model_panel
    panel.folds.setValue(1)
    assert panel.folds.value() == 0  # one fold is not cross-validation
    panel.folds.setValue(4)
    window.dataset_panel.group_combo.setCurrentIndex(2)
    window.start_training()
    qtbot.waitUntil(lambda: window.train_panel.start_button.isEnabled() and bool(calls), timeout=15_000)
    qtbot.waitUntil(lambda: "0.900 ± 0.050" in window.train_panel.saved_label.text(), timeout=5000)
    assert calls == [(4, "filename")]
    assert window.train_panel.result_label.text() == "k-fold"
    assert window.runner.worker("evaluation") is None  # no single-run evaluation after cross-validation


def _fold(panel: TrainPanel, fold: int, k: int, epochs: int, steps: int, clock: list[float]) -> None:
    """One fold's events as a real cross-validation sends them; ``clock`` ticks one second per batch."""
    panel.show_event(FoldStarted(fold, k, f"/tmp/cv/fold-{fold}"))
    panel.show_event(TrainingStarted(f"/tmp/cv/fold-{fold}", "MobileNetV2", "frozen", ("a", "b"), 40, 10, 10,
                                     epochs, steps, ("head",), "imagenet"))
    for epoch in range(1, epochs + 1):
        for s in range((epoch - 1) * steps + 1, epoch * steps + 1):
            clock[0] += 1.0
            panel.show_event(BatchesEnded(epoch, (s,), (0.5,), (0.5,), (0.7,), steps))
        panel.show_event(EpochEnded(epoch, "head", 0.5, 0.7, 0.6, 0.65, 1.0))


def test_each_fold_draws_its_own_curve_and_the_time_left_counts_every_fold(qtbot, monkeypatch):
    """Fold 2's curve starts again at epoch 1 (not 1, 2, 3, 1, 2, 3 on one line), and the estimate covers the
    folds still to come, at the rate measured so far."""
    clock = [1000.0]
    monkeypatch.setattr("foveal.gui.widgets.train_panel.time.monotonic", lambda: clock[0])
    panel = TrainPanel()
    qtbot.addWidget(panel)
    panel.set_running(True)
    _fold(panel, 1, 3, epochs=3, steps=4, clock=clock)
    assert list(panel.plot.data["epoch_x"].values) == [1, 2, 3]
    _fold(panel, 2, 3, epochs=3, steps=4, clock=clock)
    assert list(panel.plot.data["epoch_x"].values) == [1, 2, 3]  # fold 2 only
    assert list(panel.plot.data["batch_x"].values) == [s / 4 for s in range(1, 13)]
    assert panel.plot.loss_plot.plotItem.titleLabel.text == "Fold 2 of 3"
    # 24 of 36 steps done at one second each: 12 s left (one fold), not fold 2's own 0 s nor a stale rate
    assert panel.progress.value() == 24 and panel.progress.maximum() == 36
    assert "about 0:12 left" in panel.progress.format()
    assert panel.phase_label.text().startswith("Fold 2 of 3")
