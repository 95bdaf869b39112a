"""The Keras callback's bookkeeping: the best epoch, early stopping, and the outcome it leads to."""

from __future__ import annotations

import keras
import numpy as np

from foveal.core.cancel import CancelToken
from foveal.core.training.callback import EventCallback
from foveal.core.training.events import EpochEnded, Outcome
from foveal.core.training.tracker import RunTracker


def _phase(tracker: RunTracker, val_losses: list[float], patience: int, events: list,
           phase: str = "head", trial_epochs: int = 0) -> keras.Model:
    """Drive one phase of ``len(val_losses)`` planned epochs through the callback, as ``fit`` would."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.stop_training = False  # as fit() sets it
    cb = EventCallback(phase=phase, tracker=tracker, emit=events.append, cancel=CancelToken(), steps_per_epoch=1,
                       n_samples=4, batch_size=4, patience=patience, trial_epochs=trial_epochs)
    cb.set_model(model)
    cb.set_params({"epochs": len(val_losses)})
    cb.on_train_begin()
    for epoch, val_loss in enumerate(val_losses):
        cb.on_epoch_begin(epoch)
        model.layers[0].kernel.assign(np.full((2, 2), float(epoch), np.float32))  # each epoch's weights differ
        cb.on_epoch_end(epoch, {"loss": 1.0, "accuracy": 0.5, "val_loss": val_loss, "val_accuracy": 0.5})
        if model.stop_training:
            break
    cb.on_train_end()
    return model


def test_patience_reached_on_the_last_epoch_is_a_completed_run():
    tracker, events = RunTracker(), []
    model = _phase(tracker, [1.0, 2.0, 3.0], patience=2, events=events)
    assert not model.stop_training and tracker.outcome == Outcome.COMPLETED
    assert tracker.best_epoch == 1 and [e.epoch for e in events if isinstance(e, EpochEnded)] == [1, 2, 3]
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), np.zeros((2, 2)))  # epoch 1's weights are back


def test_stopping_with_epochs_left_is_early_stopped_and_a_later_phase_decides():
    tracker, events = RunTracker(), []
    model = _phase(tracker, [1.0, 2.0, 3.0, 4.0, 5.0], patience=2, events=events)
    assert model.stop_training and tracker.outcome == Outcome.EARLY_STOPPED
    assert [e.epoch for e in events if isinstance(e, EpochEnded)] == [1, 2, 3]
    _phase(tracker, [0.5, 0.4], patience=2, events=events, phase="fine-tune")  # runs all its epochs
    assert tracker.outcome == Outcome.COMPLETED and tracker.best_epoch == 5
    comparison = tracker.phase_comparison()
    assert comparison is not None and comparison.improved and comparison.kept_epoch == 5
    assert comparison.head_best.val_loss == 1.0 and comparison.fine_tune_best.val_loss == 0.4
    assert "improved on the head" in comparison.words


def test_fine_tuning_that_does_not_beat_the_head_keeps_the_head_and_says_so():
    tracker, events = RunTracker(), []
    _phase(tracker, [1.0, 0.8], patience=5, events=events)
    assert tracker.phase_comparison() is None  # one phase: nothing to compare
    model = _phase(tracker, [0.9, 1.1], patience=5, events=events, phase="fine-tune")
    end = model.layers[0].kernel.numpy()
    comparison = tracker.phase_comparison()
    assert comparison is not None and not comparison.improved and comparison.kept_epoch == 2 == tracker.best_epoch
    assert "did not improve on the head" in comparison.words and "epoch 2 is kept" in comparison.words
    # no fine-tuning epoch beat the head: the phase ends on its starting weights, not its last epoch's
    assert not np.array_equal(end, np.full((2, 2), 1.0))  # the last epoch set every weight to 1


def test_a_fine_tuning_trial_that_does_not_beat_the_head_stops_after_its_trial_epochs():
    tracker, events = RunTracker(), []
    _phase(tracker, [0.5], patience=5, events=events)  # the head: validation loss 0.5
    model = _phase(tracker, [0.6, 0.55, 0.4, 0.3], patience=5, events=events, phase="fine-tune", trial_epochs=2)
    assert model.stop_training and tracker.trial_stopped and tracker.outcome == Outcome.EARLY_STOPPED
    assert [e.phase for e in events if isinstance(e, EpochEnded)] == ["head", "fine-tune", "fine-tune"]
    kernel = model.layers[0].kernel.numpy()  # the phase's starting weights are back, neither epoch's
    assert not np.allclose(kernel, 0.0) and not np.allclose(kernel, 1.0)
    comparison = tracker.phase_comparison()
    assert comparison is not None and comparison.stopped_after_trial and not comparison.improved
    assert comparison.kept_epoch == 1
    assert "tried for 2 epochs" in comparison.words and "head-only model of epoch 1" in comparison.words


def test_a_fine_tuning_trial_that_beats_the_head_goes_on_to_its_last_epoch():
    tracker, events = RunTracker(), []
    _phase(tracker, [0.5], patience=5, events=events)
    model = _phase(tracker, [0.6, 0.45, 0.5, 0.3], patience=5, events=events, phase="fine-tune", trial_epochs=2)
    assert not model.stop_training and not tracker.trial_stopped and tracker.outcome == Outcome.COMPLETED
    comparison = tracker.phase_comparison()
    assert tracker.best_epoch == 5 and comparison is not None and comparison.improved


def test_the_phase_comparison_is_what_run_json_holds():
    tracker, events = RunTracker(), []
    _phase(tracker, [1.0, 0.8], patience=5, events=events)
    _phase(tracker, [0.6, 0.7], patience=5, events=events, phase="fine-tune")
    comparison = tracker.phase_comparison()
    assert comparison is not None
    assert comparison.to_dict() == {
        "improved": True, "kept_epoch": 3, "words": comparison.words, "stopped_after_trial": False,
        "head_best": {"epoch": 2, "val_loss": 0.8, "val_accuracy": 0.5},
        "fine_tune_best": {"epoch": 3, "val_loss": 0.6, "val_accuracy": 0.5}}
    assert list(comparison.to_dict()) == ["improved", "kept_epoch", "words", "stopped_after_trial", "head_best",
                                          "fine_tune_best"]
