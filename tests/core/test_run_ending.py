"""A run says why it ended when it did, and its one duration is the time the person waited (saving, measuring and
the mislabel check included)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from foveal.core.training.events import Phase
from foveal.core.training.tracker import DOING, RunTracker


def _tracker(val_losses: list[float], **state) -> RunTracker:
    t = RunTracker()
    for i, loss in enumerate(val_losses, start=1):
        t.history.append({"epoch": i, "phase": "head", "val_loss": loss, "val_accuracy": 0.5})
        if loss < t.best_val_loss:
            t.best_val_loss, t.best_epoch = loss, i
    for key, value in state.items():
        setattr(t, key, value)
    return t


def test_early_stopping_says_since_when_and_which_epoch_was_kept():
    words = _tracker([0.9, 0.5, 0.6, 0.7, 0.8], early_stopped=True).ending(10, 3)
    assert words == ("Stopped after epoch 5 of 10: the validation loss had not improved for 3 epochs since "
                     "epoch 2, whose model was kept")


def test_a_run_that_ran_every_epoch_says_so_and_names_the_kept_one():
    words = _tracker([0.9, 0.5, 0.6]).ending(3, 5)
    assert "All 3 planned epochs ran" in words and "epoch 2" in words


def test_a_fitted_linear_head_says_it_needed_no_epochs():
    words = _tracker([], fitted_head=True).ending(0, 5)
    assert "fitted directly" in words and "Stopped" not in words


def test_fine_tuning_that_lost_to_a_fitted_classifier_says_the_classifier_was_fitted_again():
    t = _tracker([0.3, 0.5, 0.6, 0.7], fitted_head=True)
    for row in t.history[1:]:
        row["phase"] = "fine-tune"
    assert "fitted again on the training and validation images" in t.ending(4, 5)
    comparison = t.phase_comparison()
    assert comparison is not None and "fitted again" in comparison.words and "epoch 1 is kept" not in comparison.words


def test_stopping_before_any_model_says_nothing_was_saved_and_never_that_the_best_was_kept():
    t = _tracker([], cancelled=True)
    t.doing = DOING[Phase.EXTRACTING]
    words = t.ending(10, 5)
    assert "nothing was saved" in words and "kept" not in words and "the images were being read" in words


def test_stopping_after_an_epoch_says_which_model_was_kept():
    words = _tracker([0.9, 0.4, 0.6], cancelled=True).ending(10, 5)
    assert "epoch 2's model" in words and "nothing was saved" not in words


@given(st.lists(st.floats(0.01, 5.0), min_size=1, max_size=12), st.booleans(), st.booleans(),
       st.integers(1, 6))
def test_every_ending_names_a_kept_epoch_that_exists_and_is_the_best(losses, early, cancelled, patience):
    t = _tracker(losses, early_stopped=early, cancelled=cancelled)
    words = t.ending(len(losses) + 3, patience)
    assert words and words[0].isupper() and not words.endswith(".")
    best = min(range(len(losses)), key=lambda i: losses[i]) + 1
    assert f"epoch {best}" in words


@pytest.mark.usefixtures("colour_run")
def test_run_json_says_why_it_ended_and_its_total_time_covers_every_step(colour_run):
    run = json.loads((Path(colour_run.run_dir) / "run.json").read_text())
    assert run["ending"] and run["ending"][0].isupper()
    timings = run["timings"]
    parts = sum(v for k, v in timings.items() if k != "total")
    assert timings["total"] >= parts  # saving and measuring included: the time the person waited


def test_a_run_whose_weights_do_not_load_leaves_no_folder_behind(tmp_path):
    from foveal.core.errors import WeightsError
    from foveal.core.training import TrainConfig, train
    from tests import factory

    data = factory.make_class_folder(tmp_path / "data", {"a": 6, "b": 6}, size=40)
    wrong = next(Path(factory.real_weights()).parent.glob("mobilenet_v1*no_top*"))  # MobileNet v1's, for V2
    out = tmp_path / "run"
    with pytest.raises(WeightsError):
        train(TrainConfig(str(data), weights=str(wrong), image_size=32, epochs=1, out_dir=str(out)))
    assert not out.exists()  # not even a run_config.json of a run that never began
    mine = tmp_path / "mine"
    mine.mkdir()
    with pytest.raises(WeightsError):
        train(TrainConfig(str(data), weights=str(wrong), image_size=32, epochs=1, out_dir=str(mine)))
    assert mine.is_dir() and list(mine.iterdir()) == []  # a folder the person made stays, emptied of this run
