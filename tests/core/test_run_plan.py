"""What a real run plans and says: warnings about the data as events of their own, the plan the recipe's choice
changes (epochs, batches, where fine-tuning's batches lie), and a run.json of the same shape for every kind of
run."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from foveal.core.training import TrainConfig, auto_head, train
from foveal.core.training.events import (
    BatchesEnded,
    DataWarning,
    EpochEnded,
    HeadKind,
    PhaseChanged,
    RecipeChosen,
    TrainingStarted,
)
from foveal.core.training.progress import TerminalProgress
from foveal.core.training.recipe import RecipeChoice
from tests.factory import real_weights

#: run.json's keys, in order, for every kind of run.
RUN_KEYS = ["format", "version", "created", "outcome", "ending", "config", "seed", "backbone", "image_size",
            "fine_tune", "n_blocks", "classes", "orientations", "dataset", "split", "split_info",
            "skipped_during_training", "skipped_by_scan", "blank_images", "versions", "history", "best_epoch", "test",
            "recipe", "pooling", "calibration", "operating_point", "familiarity", "suspected_mislabels", "phases",
            "model", "timings", "estimate", "devices"]


def _config(data, tmp_path, **kw) -> TrainConfig:
    base = dict(backbone="MobileNetV2", weights=real_weights(), image_size=32, epochs=2, batch_size=4,
                out_dir=str(tmp_path / "run"), early_stopping_patience=0)
    return TrainConfig(str(data), **{**base, **kw})


def _winner(monkeypatch, head: HeadKind) -> None:
    """The automatic recipe ranks candidates of ``head`` first (what wins on real data depends on the data)."""
    real = auto_head.choose_recipe

    def ranked(*args, **kwargs) -> RecipeChoice:
        choice = real(*args, **kwargs)
        order = sorted(choice.candidates, key=lambda c: (c.head != head, -c.accuracy, -c.balanced_accuracy))
        return RecipeChoice(tuple(order), choice.majority, choice.seconds)

    monkeypatch.setattr(auto_head, "choose_recipe", ranked)


def _of(events: list, kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


def test_warnings_about_the_data_are_events_of_their_own(tiny_dataset, tmp_path):
    Image.fromarray(np.full((40, 40, 3), 7, np.uint8)).save(tiny_dataset / "red" / "red_blank.png")
    shutil.copy(tiny_dataset / "red" / "red_000.png", tiny_dataset / "red" / "bad\nname.png")
    events: list = []
    train(_config(tiny_dataset, tmp_path, epochs=1, recipe="manual"), on_event=events.append)
    warnings = _of(events, DataWarning)
    assert [w.phase for w in warnings] == ["preparing", "extracting"]
    assert "skipped by the scan" in warnings[0].message and "red/red_blank.png" in warnings[1].message
    assert not any(w.message.startswith("Warning") for w in warnings)
    assert not any(e.description.startswith("Warning") for e in _of(events, PhaseChanged))
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["blank_images"] == ["red/red_blank.png"] and len(run["skipped_by_scan"]) == 1


@pytest.mark.parametrize("kind", ["frozen, linear head", "manual dense head", "fine-tuning after a linear head",
                                  "fine-tuning after a dense head"])
def test_the_recipe_says_what_the_run_now_plans_and_run_json_keeps_its_shape(tiny_dataset, tmp_path, monkeypatch,
                                                                            kind):
    settings = {"frozen, linear head": {}, "manual dense head": {"recipe": "manual"},
                "fine-tuning after a linear head": {"fine_tune": "last:1", "fine_tune_epochs": 2},
                "fine-tuning after a dense head": {"fine_tune": "last:1", "fine_tune_epochs": 1, "epochs": 1}}[kind]
    _winner(monkeypatch, HeadKind.DENSE if "dense" in kind else HeadKind.LINEAR)
    events: list = []
    result = train(_config(tiny_dataset, tmp_path, **settings), on_event=events.append)
    started, chosen = _of(events, TrainingStarted)[0], _of(events, RecipeChosen)
    steps = [s for e in _of(events, BatchesEnded) for s in e.steps]
    epochs = [e.epoch for e in _of(events, EpochEnded)]
    if kind == "manual dense head":
        assert chosen == [] and epochs == [1, 2] and steps == list(range(1, 2 * started.steps_per_epoch + 1))
    else:
        (plan,) = chosen
        assert plan.head == (HeadKind.DENSE if "dense" in kind else HeadKind.LINEAR)
        assert epochs == list(range(1, plan.epochs + 1))  # every epoch planned ran (no early stopping here)
        assert steps == list(range(1, plan.planned_steps + 1))  # and every batch
        assert {e.steps_per_epoch for e in _of(events, BatchesEnded)} <= {plan.steps_per_epoch}
        first_batch_epoch = 1 + plan.step_offset // plan.steps_per_epoch
        assert all(e.epoch >= first_batch_epoch for e in _of(events, BatchesEnded))
    if kind == "frozen, linear head":
        assert (plan.epochs, plan.step_offset, plan.planned_steps) == (0, 0, 0)
    if kind == "fine-tuning after a linear head":  # the fitted head is epoch 1; fine-tuning is drawn from epoch 2
        assert (plan.epochs, plan.step_offset) == (1 + 2, plan.steps_per_epoch)
    if kind == "fine-tuning after a dense head":
        assert (plan.epochs, plan.steps_per_epoch, plan.step_offset) == (started.epochs, started.steps_per_epoch, 0)
    run = json.loads((Path(result.run_dir) / "run.json").read_text())
    assert list(run) == RUN_KEYS
    assert (run["phases"] is None) == ("fine-tuning" not in kind)
    assert (run["best_epoch"] is None) == (kind == "frozen, linear head")
    assert list(run["test"])[:6] == ["accuracy", "loss", "n", "headline", "baseline", "baseline_class"]


def test_the_terminal_counts_fine_tuning_after_a_fitted_head_from_epoch_two(tiny_dataset, tmp_path, monkeypatch):
    _winner(monkeypatch, HeadKind.LINEAR)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    train(_config(tiny_dataset, tmp_path, fine_tune="last:1", fine_tune_epochs=2),
          on_event=TerminalProgress(stream, clock=lambda: 0.0))
    said = stream.getvalue()
    assert "epoch 1/3 (head)" in said and "epoch 2/3 loss" in said and "epoch 3/3 (fine-tune)" in said
    assert not re.search(r"epoch \d/4\b", said)  # the 2 + 2 epochs planned before the head was chosen
