"""The automatic recipe's part of a frozen run: the candidate poolings, the choice by cross-validation on the
training and validation features (core.training.recipe), and the winning head made ready to save."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from foveal.core.models.build import build_head, map_side, pooling_width
from foveal.core.training.events import CandidateTried, EpochEnded, Phase, PhaseChanged, RecipeChosen
from foveal.core.training.recipe import RecipeChoice, choose_recipe, fit_linear, folds_possible, out_of_fold_logits

if TYPE_CHECKING:
    from foveal.core.data.scan import DatasetSummary
    from foveal.core.training.runner import _Run


#: Images whose median shorter side is at least this many times the input size are also tried at this many times
#: the input size: small structures (cells in a smear, a lesion's edge) are lost when a large image is shrunk.
LARGER = 1.5


def larger_size(summary: DatasetSummary, size: int) -> int | None:
    """The larger input size the automatic recipe also tries on these images (None: they are not large)."""
    sides = sorted(min(r.info.width, r.info.height) for r in summary.images)
    if not sides or sides[len(sides) // 2] < LARGER * size:
        return None
    return min(1024, int(LARGER * size) // 8 * 8)  # e.g. 224 → 336 px


def candidate_poolings(backbone) -> str:
    """The poolings the automatic recipe compares (a grid needs a feature map of at least 2×2)."""
    return "avg+max+grid" if map_side(backbone) >= 2 else "avg+max"


def pooling_columns(poolings: str, feature_dim: int) -> dict[str, slice]:
    """Where each pooling's vector lies in features pooled by ``poolings`` ("avg+max+grid"), side by side."""
    columns, start = {}, 0
    for name in poolings.split("+"):
        columns[name] = slice(start, start + pooling_width(name, feature_dim))
        start = columns[name].stop
    return columns


def choose_head(run: _Run) -> bool:
    """The automatic recipe: pick head, pooling and class weighting by cross-validation on the training and
    validation features; True when the linear head won (it is fitted here: no epochs to run)."""
    c, d = run.config, run.spec.feature_dim
    x = np.concatenate([run.features["train"][0], run.features["val"][0]])
    y = np.concatenate([run.features["train"][1], run.features["val"][1]])
    columns = pooling_columns(candidate_poolings(run.backbone), d)
    candidates = {name: x[:, cols] for name, cols in columns.items()}
    if folds_possible(y) < 2:
        run.emit(PhaseChanged(Phase.HEAD, "Too few images per class to compare recipes by cross-validation: "
                              "the dense head on average-pooled features is used"))
        run.features = {s: (f[:, columns["avg"]], labels) for s, (f, labels) in run.features.items()}
        run.larger = None
        return False
    run.emit(PhaseChanged(Phase.HEAD, "Choosing the head: each candidate is scored by cross-validation on "
                          "the training and validation images"))
    def choose(features: dict[str, np.ndarray], before: int = 0) -> RecipeChoice:
        return choose_recipe(features, y, len(run.classes), seed=c.seed, epochs=c.epochs,
                             learning_rate=c.learning_rate, dropout=c.dropout, batch_size=c.batch_size,
                             cancel=run.cancel, on_progress=lambda done, total, name: run.emit(
                                 CandidateTried(before + done, before + total, name)))

    choice = choose(candidates)
    if run.larger is not None:  # the same images at a larger input size, pooled as the best at the run's own
        size, _, larger = run.larger
        x_large = np.concatenate([larger["train"][0], larger["val"][0]])
        if len(x_large) == len(x):  # the same folds (same labels and seed): the scores compare
            pooling = choice.winner.pooling
            more = choose({f"{pooling}@{size}": x_large[:, columns[pooling]]}, len(choice.candidates))
            choice = choice.merged(more)
    w = choice.winner
    run.recipe, run.pooling = choice, w.pooling
    run.emit(RecipeChosen(w.describe(), choice.reason(), tuple(
        (cand.describe(), cand.accuracy, *cand.interval, cand.balanced_accuracy) for cand in choice.candidates)))
    if w.size is not None and run.larger is not None:  # the larger input size won: its backbone and features
        run.size, run.backbone, run.features = run.larger
    run.larger = None
    pick = columns[w.pooling]
    run.features = {s: (np.ascontiguousarray(f[:, pick]), labels) for s, (f, labels) in run.features.items()}
    run.head = build_head(pick.stop - pick.start, len(run.classes), c.dropout)
    if w.head != "linear":
        run.class_weight_mode = "balanced" if w.balanced else "none"
        return False
    run.head_fitted = True
    if run.depth.kind == "frozen":
        fit_on_all(run)
        return True
    # Fine-tuning follows and is judged on the validation images: the head must not have seen them.
    train_x, train_y = run.features["train"]
    run.head.get_layer("predictions").set_weights(
        list(fit_linear(train_x, train_y, len(run.classes), w.strength or 1.0, w.balanced)))
    return True


def fit_on_all(run: _Run) -> None:
    """The winning linear head fitted on every image but the test ones (training and validation). Its confidence
    and two-class threshold are then set on out-of-fold answers (heads fitted without the image), never on
    images it knows: set on the validation images it was fitted on, the temperature went to its bound,
    overconfident on new images. Also for a fine-tuning run that kept its frozen head."""
    assert run.recipe is not None
    w, n = run.recipe.winner, len(run.classes)
    x = np.concatenate([run.features["train"][0], run.features["val"][0]])
    y = np.concatenate([run.features["train"][1], run.features["val"][1]])
    run.head.get_layer("predictions").set_weights(list(fit_linear(x, y, n, w.strength or 1.0, w.balanced)))
    run.out_of_fold = (out_of_fold_logits(x, y, n, w.strength or 1.0, w.balanced, run.config.seed), y)


def record_fitted_head(run: _Run) -> None:
    """A fitted linear head as the run's first epoch (its losses and accuracies on the training and validation
    features), so that fine-tuning after it must beat its validation loss to be kept."""
    weights = run.head.get_layer("predictions").get_weights()
    scores: dict[str, float] = {}
    for prefix, split in (("", "train"), ("val_", "val")):
        x, y = run.features[split]
        logits = np.asarray(x) @ weights[0] + weights[1]
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        scores[f"{prefix}loss"] = float(-np.mean(log_p[np.arange(len(y)), y])) if len(y) else float("nan")
        scores[f"{prefix}accuracy"] = float(np.mean(log_p.argmax(axis=1) == y)) if len(y) else float("nan")
    event = EpochEnded(1, Phase.HEAD, scores["loss"], scores["accuracy"], scores["val_loss"], scores["val_accuracy"],
                       0.0)
    t = run.tracker
    t.epochs_done = 1
    t.history = [{"epoch": 1, "phase": Phase.HEAD, **scores, "seconds": 0.0}]
    if not np.isnan(event.val_loss):  # there are validation images
        t.best_val_loss, t.best_epoch = event.val_loss, 1
    run.emit(event)


def kept_frozen_head(run: _Run) -> None:
    """Fine-tuning did not beat a fitted linear head: the backbone is as it was, so the head is fitted again on
    the training and validation images, as a frozen run's is."""
    comparison = run.tracker.phase_comparison()
    if run.head_fitted and run.recipe is not None and comparison and not comparison["improved"]:
        run.emit(PhaseChanged(Phase.HEAD, "The frozen backbone's head is kept: fitted again on the training and "
                              "validation images, as a frozen run's is"))
        fit_on_all(run)
