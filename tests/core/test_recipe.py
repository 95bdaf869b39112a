"""The automatic recipe: the linear head as a dense layer, the candidates scored by cross-validation, and a real
run that records what it tried."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from foveal.core.training import TrainConfig, train
from foveal.core.training.events import CandidateTried, RecipeChosen
from foveal.core.training.heldout import OUT_OF_FOLD
from foveal.core.training.recipe import STRENGTHS, choose_recipe, fit_dense, fit_linear, folds_possible


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _blobs(n: int, d: int, k: int, seed: int = 0, spread: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    centres = rng.normal(0, spread, (k, d))
    return (centres[y] + rng.normal(0, 1, (n, d)) * rng.uniform(0.5, 5, d)).astype(np.float32), y


@pytest.mark.parametrize(("k", "n", "d"), [(2, 120, 20), (3, 120, 20), (3, 40, 200)])
def test_linear_head_as_a_dense_layer_gives_scikit_learns_probabilities(k, n, d):
    """Also with more features than images, where the fit runs in the span of the images."""
    everything, labels = _blobs(n + 30, d, k, spread=1.0)
    x, y, held_out = everything[:n], labels[:n], everything[n:]  # the last 30: the same model on unseen images
    kernel, bias = fit_linear(x, y, k, 0.3, balanced=False)
    assert kernel.shape == (d, k) and bias.shape == (k,)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = LogisticRegression(C=0.3, max_iter=500, tol=1e-3 if n > d else 1e-8).fit((x - mean) / scale, y)
    np.testing.assert_allclose(_softmax(x @ kernel + bias), ref.predict_proba((x - mean) / scale),
                               atol=1e-4 if n > d else 2e-3)
    # With n < d, Foveal stops at tol 1e-3 short of the optimum the reference reaches: close, not equal.
    np.testing.assert_allclose(_softmax(held_out @ kernel + bias), ref.predict_proba((held_out - mean) / scale),
                               atol=1e-4 if n > d else 3e-2)


def test_dense_head_learns_separable_classes():
    x, y = _blobs(200, 10, 3, spread=6.0)
    kernel, bias = fit_dense(x, y, 3, balanced=True, epochs=30, learning_rate=1e-2, dropout=0.2, batch_size=32,
                             seed=1)
    assert np.mean(np.argmax(x @ kernel + bias, axis=1) == y) > 0.9


def test_every_candidate_is_scored_and_the_best_comes_first():
    x, y = _blobs(90, 16, 3)
    tried = []
    choice = choose_recipe({"avg": x, "max": x[:, ::-1].copy()}, y, 3, seed=1, epochs=5, learning_rate=1e-3,
                           dropout=0.2, batch_size=16, on_progress=lambda d, t, name: tried.append((d, t, name)))
    n = 2 * 2 * (1 + len(STRENGTHS))  # two poolings given, with and without class weights
    assert len(choice.candidates) == n and [d for d, _t, _n in tried] == list(range(1, n + 1))
    assert {id(c) for *_, c in tried} == {id(c) for c in choice.candidates}  # each candidate as it was scored
    scored = [c for c in choice.candidates if not c.dropped]
    accs = [c.accuracy for c in scored]
    assert accs == sorted(accs, reverse=True) and choice.winner is choice.candidates[0] is scored[0]
    assert all(c.interval[0] <= c.accuracy <= c.interval[1] and c.folds == 5 for c in scored)
    # a candidate dropped part-way comes after every one scored on all folds, and says so
    dropped = choice.candidates[len(scored):]
    assert all(c.dropped and c.folds < 5 and "dropped after" in c.describe() for c in dropped)
    assert choice.majority == pytest.approx(np.bincount(y).max() / len(y))
    assert choice.winner.accuracy > choice.majority  # separable blobs: far better than the largest class
    saved = choice.to_dict()
    assert saved["winner"]["description"] in choice.reason() and len(saved["candidates"]) == n


def test_too_few_images_per_class_leaves_no_folds():
    assert folds_possible(np.array([0, 0, 1])) == 1
    assert folds_possible(np.array([0] * 9 + [1] * 3)) == 3
    assert folds_possible(np.array([0] * 20 + [1] * 20)) == 5


def test_auto_run_records_its_candidates_and_its_test_accuracy_is_the_saved_models(tmp_path, monkeypatch):
    from foveal.core.evaluation.evaluate import evaluate
    from foveal.core.training import auto_head
    from tests import factory
    from tests.factory import real_weights

    data = factory.make_class_folder(tmp_path / "data", {"red": 12, "green": 12, "blue": 12}, size=40)
    fitted_on = []
    real_fit = auto_head.fit_linear
    monkeypatch.setattr(auto_head, "fit_linear", lambda x, y, *a, **k: fitted_on.append(len(x)) or real_fit(x, y, *a,
                                                                                                              **k))
    events = []
    result = train(TrainConfig(str(data), epochs=2, weights=real_weights(), image_size=32,
                               out_dir=str(tmp_path / "run")), on_event=events.append)
    chosen = [e for e in events if isinstance(e, RecipeChosen)]
    assert len(chosen) == 1 and any(isinstance(e, CandidateTried) for e in events)
    run = json.loads((Path(result.run_dir) / "run.json").read_text())
    assert run["recipe"]["winner"]["description"] == chosen[0].winner
    # 32 px: a 1×1 feature map, so average and max pooling only (a grid needs 2×2); 40-px images support the
    # rotations and flips only, and 36 images are too few to tell a pass apart: none is made (each is made in
    # test_large_images_are_also_tried_…)
    passes = run["recipe"]["passes"]
    assert passes["made"] == [] and [p["key"] for p in passes["left_out"]] == ["~8"]
    assert passes["why_left_out"].startswith("Not tried with under 100 images")
    assert len(run["recipe"]["candidates"]) == len(chosen[0].candidates) == 2 * 2 * (1 + len(STRENGTHS))
    assert run["orientations"] == run["recipe"]["winner"]["orientations"]
    assert run["pooling"] == run["recipe"]["winner"]["pooling"]
    assert run["recipe"]["ranked_by"] == "accuracy" and run["recipe"]["imbalance"] == 1.0  # 12 images a class
    ev = evaluate(result.run_dir)
    assert ev.metrics["accuracy"] == pytest.approx(result.test_accuracy, abs=1e-9)
    # each class's recall on the test images, as the evaluation counts it, in run.json and beside the headline
    recalls = {r["class"]: (r["recognised"], r["of"]) for r in run["test"]["per_class_recall"]}
    assert recalls == {r["class"]: (round(r["recall"] * r["support"]), r["support"]) for r in ev.metrics["per_class"]}
    finished = events[-1]
    assert finished.notes[0].startswith("Recognised per class on the test images: blue ")
    if run["recipe"]["winner"]["head"] == "linear":
        # fitted on every image but the test ones; calibrated on out-of-fold answers, never on images it knows
        assert fitted_on == [len(run["split"]["train"]) + len(run["split"]["val"])]
        assert run["calibration"]["fitted_on"] == OUT_OF_FOLD


def test_auto_fine_tuning_chooses_the_head_then_keeps_fine_tuning_only_if_it_beats_it(tmp_path):
    from foveal.core.evaluation.evaluate import evaluate
    from foveal.core.models.build import AUTO_BLOCKS, TRIAL_EPOCHS
    from foveal.core.training.events import EpochEnded
    from tests import factory
    from tests.factory import real_weights

    data = factory.make_class_folder(tmp_path / "data", {"red": 12, "green": 12, "blue": 12}, size=40)
    events = []
    result = train(TrainConfig(str(data), epochs=2, fine_tune="auto", fine_tune_epochs=TRIAL_EPOCHS + 1,
                               weights=real_weights(), image_size=32, out_dir=str(tmp_path / "run")),
                   on_event=events.append)
    run = json.loads((Path(result.run_dir) / "run.json").read_text())
    assert run["config"]["fine_tune"] == "auto" and run["fine_tune"] == f"last:{AUTO_BLOCKS}"
    assert run["recipe"]["winner"]["pooling"] == run["pooling"]  # the head was chosen as for a frozen run
    head = [h for h in run["history"] if h["phase"] == "head"]
    tuned = [h for h in run["history"] if h["phase"] == "fine-tune"]
    if run["recipe"]["winner"]["head"] == "linear":  # fitted, not trained: one row with its validation loss
        assert len(head) == 1 and head[0]["val_loss"] > 0
    assert [e.epoch for e in events if isinstance(e, EpochEnded)] == [h["epoch"] for h in run["history"]]
    phases = run["phases"]
    if phases["stopped_after_trial"]:
        assert len(tuned) == TRIAL_EPOCHS and run["outcome"] == "early-stopped"
        assert min(h["val_loss"] for h in tuned) >= min(h["val_loss"] for h in head)
        assert phases["kept_epoch"] == run["best_epoch"] <= len(head)
        if run["recipe"]["winner"]["head"] == "linear":  # kept: fitted again on training + validation images
            assert run["calibration"]["fitted_on"] == OUT_OF_FOLD
    elif phases["improved"]:  # beat the head's loss and, by the judge, its validation accuracy
        assert len(tuned) == TRIAL_EPOCHS + 1 and phases["kept_epoch"] == run["best_epoch"] > len(head)
    else:  # lowered the loss but lost to the head on validation accuracy (or on the calibrated loss)
        assert len(tuned) == TRIAL_EPOCHS + 1 and "did not beat the head" in phases["words"]
        assert phases["kept_epoch"] == run["best_epoch"] <= len(head)
    assert evaluate(result.run_dir).metrics["accuracy"] == pytest.approx(result.test_accuracy, abs=1e-9)


def test_large_images_are_also_tried_at_a_larger_input_size_and_the_winner_is_what_is_saved(tmp_path):
    from foveal.core.evaluation.evaluate import evaluate
    from foveal.core.models.saved import load_classifier
    from foveal.core.training.events import PhaseChanged
    from tests import factory
    from tests.factory import real_weights

    # 64-px images for a 32-px input: the median side is at least 1.5× the input size, so 48 px is tried too
    data = factory.make_class_folder(tmp_path / "data", {"red": 12, "green": 12, "blue": 12}, size=64)
    events = []
    result = train(TrainConfig(str(data), epochs=2, weights=real_weights(), image_size=32, search="full",
                               out_dir=str(tmp_path / "run")), on_event=events.append)
    assert any("at 48 px too" in e.description for e in events if isinstance(e, PhaseChanged))
    run = json.loads((Path(result.run_dir) / "run.json").read_text())
    candidates = run["recipe"]["candidates"]
    # 64 px supports 48 and 64 px, the rotations and flips, and 3×3 tiles of 32 px on a 64-px canvas
    made = run["recipe"]["passes"]["made"]
    assert sorted(p["key"] for p in made) == ["@32#2", "@48", "@64", "~8"]
    own = [c for c in candidates if c["size"] is None and c["orientations"] == 1]
    assert len(own) == 2 * 2 * (1 + len(STRENGTHS))
    best_own = own[0]  # candidates are ranked best first
    for p in made:  # the best pooling at the run's own size, again on each pass: each head and class weighting
        of_pass = [c for c in candidates if (c["size"] or 32, c["orientations"], c["tiles"]) ==
                   (p["size"], p["orientations"], p["tiles"])]
        assert len(of_pass) == 2 * (1 + len(STRENGTHS)) and {c["pooling"] for c in of_pass} == {best_own["pooling"]}
    assert len(own) + len(made) * 2 * (1 + len(STRENGTHS)) == len(candidates)
    winner = run["recipe"]["winner"]
    assert run["image_size"] == (winner["size"] or 32)
    assert ("images at 48 px" in winner["description"]) == (winner["size"] == 48)
    assert load_classifier(result.run_dir).image_size == run["image_size"]
    assert evaluate(result.run_dir).metrics["accuracy"] == pytest.approx(result.test_accuracy, abs=1e-9)
    assert run["skipped_during_training"] == [] and run["blank_images"] == []


def test_imbalanced_classes_rank_candidates_by_balanced_accuracy_and_say_why():
    from foveal.core.training.recipe import BALANCED, ranking_for

    assert ranking_for(np.array([0] * 30 + [1] * 20)).metric == BALANCED  # 1.5× the smallest: imbalanced
    assert ranking_for(np.array([0] * 29 + [1] * 20)).metric == "accuracy"
    # a rare class among common ones
    rng = np.random.default_rng(3)
    y = np.array([0] * 80 + [1] * 15 + [2] * 45)
    x = (rng.normal(0, 1, (len(y), 12)) + np.eye(3)[y] @ rng.normal(0, 1.2, (3, 12))).astype(np.float32)
    choice = choose_recipe({"avg": x}, y, 3, seed=1, epochs=5, learning_rate=1e-3, dropout=0.2, batch_size=16)
    baccs = [c.balanced_accuracy for c in choice.candidates if not c.dropped]
    assert baccs == sorted(baccs, reverse=True)  # best balanced accuracy first (the dropped ones after)
    saved = choice.to_dict()
    assert saved["ranked_by"] == BALANCED and saved["imbalance"] == pytest.approx(80 / 15, abs=0.01)
    assert "ranked by balanced accuracy because the classes are imbalanced" in choice.reason()
    assert "5.3× the images of the smallest" in choice.summary()
    w = saved["winner"]
    assert w["balanced_interval"][0] <= w["balanced_accuracy"] <= w["balanced_interval"][1]


def test_per_class_recall_names_a_class_recognised_less_than_half_the_time():
    from foveal.core.training.heldout import class_recall, recall_words

    labels = ["neutrophil"] * 10 + ["monocyte"] * 20
    predicted = ["neutrophil"] * 9 + ["monocyte"] + ["monocyte"] * 2 + ["neutrophil"] * 18
    rows = class_recall(labels, predicted, ("monocyte", "neutrophil"))
    assert [(r["class"], r["recognised"], r["of"]) for r in rows] == [("monocyte", 2, 20), ("neutrophil", 9, 10)]
    each, weak = recall_words(rows)
    assert "monocyte 2 of 20 (10%), neutrophil 9 of 10 (90%)" in each
    assert weak == "Less than half the time: monocyte: recognised in 2 of 20 test images"
    assert len(recall_words(rows[1:])) == 1 and class_recall(labels, (), ("monocyte",)) == []


def test_a_large_set_is_scored_on_a_stratified_sample_and_clearly_worse_candidates_are_dropped():
    from foveal.core.training.recipe_search import SCORING_SAMPLE

    x, y = _blobs(3000, 8, 3, spread=2.0)
    tried = []
    choice = choose_recipe({"avg": x, "max": np.zeros_like(x)}, y, 3, seed=1, epochs=2, learning_rate=1e-2,
                           dropout=0.2, batch_size=64, on_progress=lambda d, t, c: tried.append(c))
    assert choice.scored_on == SCORING_SAMPLE and choice.n_images == 3000
    assert len(choice.candidates) == len(tried) == 2 * 2 * (1 + len(STRENGTHS))  # every one said, dropped or not
    # features of zeros cannot beat the blobs: dropped after the first fold, ranked last, never the winner
    nothing = [c for c in choice.candidates if c.pooling == "max"]
    assert all(c.dropped and c.folds == 1 for c in nothing)
    assert all(c.dropped for c in choice.candidates[-len(nothing):])
    assert not choice.winner.dropped and choice.winner.folds == 3 and choice.winner.pooling == "avg"
    saved = choice.to_dict()
    assert saved["scored_on"] == SCORING_SAMPLE and saved["dropped"] >= len(nothing)
    assert saved["dropped"] == sum(c["dropped"] for c in saved["candidates"])
    assert "stratified sample of 2,000 of the 3,000 images" in choice.reason()
    assert f"{saved['dropped']} dropped before their last fold" in choice.reason()


def test_warm_started_linear_fits_reach_the_same_head():
    from foveal.core.training.recipe import out_of_fold_logits

    x, y = _blobs(600, 20, 3, spread=1.0)
    warm: dict = {}
    cold = fit_linear(x, y, 3, 0.1, balanced=True)
    again = fit_linear(x, y, 3, 0.1, balanced=True, warm=warm)
    np.testing.assert_allclose(again[0], cold[0], atol=1e-6)
    assert warm[0.1][0].shape == (3, 20)  # the solution kept to start from
    started = out_of_fold_logits(x, y, 3, 0.1, True, seed=1, warm=warm)
    plain = out_of_fold_logits(x, y, 3, 0.1, True, seed=1)
    assert np.mean(started.argmax(axis=1) == plain.argmax(axis=1)) > 0.99


def test_a_candidate_right_less_often_than_the_largest_class_never_wins_over_one_that_is_not():
    from dataclasses import replace

    from foveal.core.training.recipe import BALANCED, Candidate, RecipeChoice, ranking_for

    y = np.array([0] * 56 + [1] * 28 + [2] * 16)  # the largest class holds 56%
    ranking = ranking_for(y)
    assert ranking.metric == BALANCED and ranking.floor == pytest.approx(0.56)
    even = Candidate("linear", "avg", True, 0.1, 0.45, 0.05, 0.40, 5)  # more even, but below answering "0"
    common = replace(even, balanced=False, accuracy=0.62, balanced_accuracy=0.38)
    ranked = sorted([even, common], key=ranking.key)
    assert ranked == [common, even]
    choice = RecipeChoice(tuple(ranked), 0.56, 1.0, ranking)
    assert "right less often than always answering the largest class" in choice.summary()
    assert "below the largest class's share (56.0%)" in choice.reason()
    # above the floor, balanced accuracy decides as before
    assert sorted([replace(even, accuracy=0.58), common], key=ranking.key)[0].accuracy == 0.58
