"""The Train view shows what core sends: warnings about the data kept for the end of the run, and the plan a
recipe choice changes (epochs, progress, where batches are drawn), the same plan the terminal shows."""

from __future__ import annotations

import io

from foveal.core.training.events import (
    BatchesEnded,
    CandidateTried,
    DataWarning,
    EpochEnded,
    Event,
    HeadKind,
    Outcome,
    Phase,
    PhaseChanged,
    RecipeChosen,
    TrainingFinished,
    TrainingStarted,
)
from foveal.core.training.progress import TerminalProgress
from foveal.gui.widgets.train_panel import TrainPanel


def _panel(qtbot) -> TrainPanel:
    panel = TrainPanel()
    qtbot.addWidget(panel)
    return panel


def _linear_head_before_fine_tuning() -> list[Event]:
    """A run whose fitted linear head (epoch 1) comes before ten epochs of fine-tuning of 4 batches each, as core
    sends it: fine-tuning's batches count from step 1, four batches after the fitted head's epoch."""
    return [
        TrainingStarted("/tmp/run", "MobileNetV2", "last:2", ("a", "b"), 20, 5, 5, 20, 4, ("head", "fine-tune"),
                        "imagenet", head_epochs=10),
        RecipeChosen("linear head (C=0.1), grid pooling", "best of 18", (), HeadKind.LINEAR, epochs=11,
                     steps_per_epoch=4, step_offset=4),
        EpochEnded(1, "head", 0.1, 1.0, 0.3, 0.9, 0.0),
        PhaseChanged("fine-tune", "Trying fine-tuning of the last 2 of 16 blocks", first_epoch=2),
        BatchesEnded(2, (1, 2), (0.2, 0.2), (0.2, 0.2), (0.9, 0.9), 4),
    ]


def _title(panel: TrainPanel) -> str:
    return panel.plot.loss_plot.getPlotItem().titleLabel.text or ""


def test_a_warning_about_the_data_stays_on_screen_after_the_run_and_never_replaces_the_phase(qtbot):
    panel = _panel(qtbot)
    panel.show_event(TrainingStarted("/tmp/run", "MobileNetV2", "frozen", ("a", "b"), 8, 2, 2, 1, 1, ("head",),
                                     "none"))
    panel.show_event(PhaseChanged("extracting", "Extracting features: one pass of MobileNetV2 over 12 images"))
    panel.show_event(DataWarning("extracting", "1 image(s) are blank, every pixel the same value: a/x.png"))
    assert "Extracting features" in panel.phase_label.text()
    panel.show_event(PhaseChanged("head", "Training the new head", first_epoch=1))
    panel.show_event(TrainingFinished(Outcome.COMPLETED, "/tmp/run", "/tmp/run/model.keras", 0.5, 0.7, 1, ("a", "b"),
                                      (), 3.0))
    assert "Warning: 1 image(s) are blank" in panel.saved_label.text() and "a/x.png" in panel.saved_label.text()


def test_a_phase_whose_words_begin_with_warning_is_a_phase_not_a_warning(qtbot):
    panel = _panel(qtbot)
    panel.show_event(PhaseChanged(Phase.PREPARING, "Warning: not a warning about the data"))
    assert "not a warning" in panel.phase_label.text() and panel.data_warnings == []


def test_a_linear_head_before_fine_tuning_is_epoch_one_and_fine_tuning_counts_from_epoch_two(qtbot):
    panel = _panel(qtbot)
    for event in _linear_head_before_fine_tuning():
        panel.show_event(event)
    plot = panel.plot
    assert plot.planned == 11  # the fitted head's one epoch and the ten of fine-tuning, not 10 + 10
    assert list(plot.data["batch_x"].values) == [1.25, 1.5]  # fine-tuning's first batches lie in epoch 2
    assert "No epochs" not in _title(panel)
    assert panel.progress.maximum() == 10 * 4 and panel.progress.value() == 2
    assert "epoch 1/10" in panel.phase_label.text()  # the first of fine-tuning's ten


def test_a_fitted_linear_head_alone_has_no_epochs_to_draw(qtbot):
    panel = _panel(qtbot)
    panel.show_event(TrainingStarted("/tmp/run", "MobileNetV2", "frozen", ("a", "b"), 20, 5, 5, 10, 5, ("head",),
                                     "imagenet", head_epochs=10))
    panel.show_event(RecipeChosen("linear head (C=0.1), avg pooling", "best of 12", (), HeadKind.LINEAR, 0, 5))
    assert "No epochs" in _title(panel) and panel.total_steps == 0
    assert "Chosen by cross-validation: best of 12." in panel.phase_label.text()


def test_a_dense_head_keeps_the_plan_the_run_started_with(qtbot):
    panel = _panel(qtbot)
    panel.show_event(TrainingStarted("/tmp/run", "MobileNetV2", "frozen", ("a", "b"), 20, 5, 5, 10, 5, ("head",),
                                     "imagenet", head_epochs=10))
    panel.show_event(RecipeChosen("dense head, avg pooling", "best of 12", (), HeadKind.DENSE, 10, 5))
    panel.show_event(PhaseChanged("head", "Training the new head (10 epochs)", first_epoch=1))
    panel.show_event(BatchesEnded(1, (1,), (0.5,), (0.5,), (0.7,), 5))
    assert panel.plot.planned == 10 and "No epochs" not in _title(panel)
    assert list(panel.plot.data["batch_x"].values) == [0.2]
    assert panel.progress.maximum() == 50 and "epoch 1/10" in panel.phase_label.text()


class _Terminal(io.StringIO):
    """A terminal's stream: the progress bar is drawn."""

    def isatty(self) -> bool:
        return True


def test_the_terminal_and_the_window_plan_the_same_epochs_and_batches(qtbot):
    panel, stream = _panel(qtbot), _Terminal()
    terminal = TerminalProgress(stream, clock=lambda: 0.0)
    for event in _linear_head_before_fine_tuning():
        terminal(event)
        panel.show_event(event)
    assert terminal.epochs == panel.plot.planned == 11
    assert terminal.total_steps == panel.progress.maximum() == 40
    said = stream.getvalue()
    assert "epoch 1/11 (head)" in said and "epoch 2/11 loss" in said


def _tried(done: int, accuracy: float) -> CandidateTried:
    return CandidateTried(done, 6, f"candidate {done}", accuracy, accuracy - 0.05, accuracy + 0.05, accuracy)


def test_the_comparison_shows_each_candidate_as_it_is_scored_with_the_leader_and_the_time_it_has_left(qtbot):
    panel = _panel(qtbot)
    panel.set_running(True)
    panel.show_event(TrainingStarted("/tmp/run", "MobileNetV2", "frozen", ("a", "b"), 20, 5, 5, 10, 5, ("head",),
                                     "imagenet", head_epochs=10))
    for done, acc in enumerate((0.7, 0.9, 0.8), start=1):
        panel.show_event(_tried(done, acc))
    assert panel.views.currentWidget() is panel.recipe_chart  # not empty curves
    assert [r.name for r in panel.recipe_chart.rows] == ["candidate 1", "candidate 2", "candidate 3"]
    assert panel.recipe_chart.leader().name == "candidate 2"
    assert "best so far: candidate 2, 90% (85%–95%)" in panel.phase_label.text()
    assert "3/6" in panel.progress.format() and "left to compare" in panel.progress.format()
    panel.show_event(RecipeChosen("candidate 3", "best of 6", (), HeadKind.LINEAR, 0, 5,
                                  summary="Foveal tried 6 ways and chose candidate 3"))
    assert panel.recipe_chart.leader().name == "candidate 3" and "chosen: candidate 3" in \
        panel.recipe_chart.leader_words()
    assert "Foveal tried 6 ways and chose candidate 3." in panel.phase_label.text()
    assert panel.views.currentWidget() is panel.recipe_chart  # a fitted head alone: no curves to switch to
    panel.set_running(False)


def test_the_curves_come_back_when_epochs_begin_and_the_comparison_stays_one_click_away(qtbot):
    panel = _panel(qtbot)
    panel.set_running(True)
    panel.show_event(_tried(1, 0.8))
    panel.show_event(RecipeChosen("candidate 1", "best of 6", (), HeadKind.DENSE, 10, 5))
    panel.show_event(PhaseChanged("head", "Training the new head (10 epochs)", first_epoch=1))
    panel.show_event(BatchesEnded(1, (1,), (0.5,), (0.5,), (0.7,), 5))
    assert panel.views.currentWidget() is panel.plot and not panel.recipe_button.isHidden()
    panel.recipe_button.click()
    assert panel.views.currentWidget() is panel.recipe_chart
    panel.set_running(False)


def test_the_result_says_why_the_run_ended_and_one_duration(qtbot):
    panel = _panel(qtbot)
    panel.set_running(True)
    panel.show_event(TrainingStarted("/tmp/run", "MobileNetV2", "frozen", ("a", "b"), 8, 2, 2, 10, 1, ("head",),
                                     "none"))
    reason = "Stopped after epoch 6 of 10: the validation loss had not improved for 5 epochs since epoch 1"
    panel.show_event(TrainingFinished(Outcome.EARLY_STOPPED, "/tmp/run", "/tmp/run/model.keras", 0.5, 0.7, 1,
                                      ("a", "b"), (), 219.0, reason=reason))
    panel.set_running(False)
    assert "Finished early after 3:39." in panel.phase_label.text() and reason in panel.phase_label.text()
    assert panel.time_label.text() == "took 3:39" and "after 3:39" in panel.saved_label.text()
    panel._on_clock_tick()  # the clock no longer runs on after the run: the duration stays the one shown
    assert panel.time_label.text() == "took 3:39"


def test_stopping_says_what_will_really_be_kept(qtbot):
    panel = _panel(qtbot)
    panel.set_running(True)
    panel.show_event(PhaseChanged("extracting", "Extracting features"))
    panel.messages.show_stopping(panel.has_model_so_far())
    assert "nothing will be saved" in panel.phase_label.text() and "kept" not in panel.phase_label.text()
    panel.messages.stopping = False
    panel.show_event(EpochEnded(1, "head", 0.5, 0.8, 0.6, 0.7, 1.0))
    panel.messages.show_stopping(panel.has_model_so_far())
    assert "the best model so far will be kept" in panel.phase_label.text()
    panel.set_running(False)


def test_a_small_chart_shows_the_best_candidates_that_fit_with_the_leader(qtbot):
    from foveal.gui.widgets.recipe_chart import RecipeChart

    chart = RecipeChart()
    qtbot.addWidget(chart)
    chart.resize(700, 220)  # a laptop screen with the result below
    chart.show()
    for done in range(1, 25):
        chart.add(CandidateTried(done, 24, f"candidate {done}", 0.5 + done / 100, 0.4, 0.9, 0.5))
    shown = chart._rows_that_fit(chart.leader())
    assert 4 <= len(shown) < 24 and shown[0].name == "candidate 24" == chart.leader().name
    assert [r.accuracy for r in shown] == sorted((r.accuracy for r in shown), reverse=True)
    assert f"the {len(shown)} best of 24" in chart.plot.getPlotItem().titleLabel.text
    chart.resize(700, 2000)
    assert len(chart._rows_that_fit(chart.leader())) == 24  # room for all: in the order they were scored


def test_imbalanced_classes_chart_balanced_accuracy_and_the_result_names_a_rare_class_missed(qtbot):
    from foveal.gui.widgets.recipe_chart import RecipeChart
    from foveal.gui.widgets.run_result import result_words

    chart = RecipeChart()
    qtbot.addWidget(chart)
    # candidate 1 is more accurate, candidate 2 recognises every class better: ranked by balanced accuracy
    chart.add(CandidateTried(1, 2, "candidate 1", 0.80, 0.75, 0.85, 0.50, 0.45, 0.55, "balanced_accuracy"))
    chart.add(CandidateTried(2, 2, "candidate 2", 0.75, 0.70, 0.80, 0.65, 0.60, 0.70, "balanced_accuracy"))
    assert chart.leader().name == "candidate 2"
    assert chart.leader_words() == "best so far: candidate 2, 65% balanced accuracy (60%–70%)"
    assert "each class counted equally" in chart.plot.getAxis("bottom").labelText
    notes = ("Recognised per class on the test images: lymphocyte 18 of 20 (90%), monocyte 2 of 20 (10%)",
             "Less than half the time: monocyte: recognised in 2 of 20 test images")
    words = result_words(TrainingFinished(Outcome.COMPLETED, "/tmp/run", "/tmp/run/model.keras", 0.5, 0.7, 1,
                                          ("lymphocyte", "monocyte"), (), 60.0, notes, "50.0% of 40 right."), "", [])
    said = words.detail
    assert said.index("50.0% of 40 right") < said.index("monocyte 2 of 20") < said.index("Model saved")
    assert "monocyte: recognised in 2 of 20 test images." in said


def test_a_candidate_dropped_part_way_is_drawn_but_never_the_leader(qtbot):
    from foveal.gui.widgets.recipe_chart import RecipeChart

    chart = RecipeChart()
    qtbot.addWidget(chart)
    chart.add(CandidateTried(1, 2, "candidate 1", 0.70, 0.65, 0.75, 0.70))
    chart.add(CandidateTried(2, 2, "candidate 2 (dropped after 1 fold: clearly below the leader)", 0.90, 0.60, 0.99,
                             0.90, dropped=True))
    assert len(chart.rows) == 2 and chart.leader().name == "candidate 1"
