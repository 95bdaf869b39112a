"""Which head a run trains, and on which features: the automatic recipe's candidate poolings, the choice by
cross-validation on the training and validation features (core.training.recipe), and the winning head made ready
(a linear head is fitted here: no epochs of its own). A manual run keeps the dense head on average pooling."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from foveal.core.cancel import Cancelled
from foveal.core.models.build import build_head, map_side, pooling_width
from foveal.core.training.events import (
    CandidateTried,
    DataWarning,
    EpochEnded,
    HeadKind,
    Phase,
    PhaseChanged,
    RecipeChosen,
)
from foveal.core.training.head_fit import WarmStart
from foveal.core.training.passes import Pass
from foveal.core.training.recipe import (
    Candidate,
    RecipeChoice,
    choose_recipe,
    fit_linear,
    folds_possible,
    out_of_fold_logits,
    ranking_for,
)

if TYPE_CHECKING:
    from foveal.core.training.context import Arrays, RunContext
    from foveal.core.training.extraction import Built, Features, PassFeatures
    from foveal.core.training.prepare import Prepared, RunPlan


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


@dataclass(frozen=True)
class HeadChoice:
    """The head a run goes on with, and what it reads: the pooling, input size, backbone and features kept (those
    at a larger input size when they won), the head (a Keras model), how it learns, the class weighting of a
    trained head, and, for a linear head fitted on the training and validation images, the out-of-fold logits
    and labels of those images, which its calibration and two-class threshold are set on."""

    recipe: RecipeChoice | None  # None: the manual recipe, or too few images per class to compare recipes
    pooling: str
    size: int
    backbone: Any
    features: dict[str, Arrays]
    head: Any
    kind: HeadKind
    class_weight_mode: str
    out_of_fold: tuple[np.ndarray, np.ndarray] | None = None
    orientations: int = 1  # 8: the head reads features averaged over each image's rotations and flips
    tiles: int = 0  # 2: the head reads the mean and max over overlapping tiles (core.models.tiles)
    passes_made: tuple[Pass, ...] = ()  # the extra passes compared (core.training.passes)

    @property
    def input_size(self) -> int:
        """The side images are decoded at for the saved classifier: the tiles' canvas, or the input size."""
        return self.size * self.tiles if self.tiles else self.size

    @property
    def fitted(self) -> bool:
        """A linear head, fitted directly: no epochs of its own."""
        return self.kind is HeadKind.LINEAR


def choose_head(ctx: RunContext, plan: RunPlan, prepared: Prepared, built: Built, features: Features,
                extract_pass: Callable[[Pass], PassFeatures] | None = None) -> HeadChoice:
    """The automatic recipe (when the plan runs it): pick head, pooling and class weighting by cross-validation on
    the training and validation features, then try the best pooling on each of the plan's extra passes
    (``extract_pass`` makes one's features: larger sizes, rotations and flips, tiles); otherwise the dense head
    on average-pooled features, as built."""
    c = ctx.config
    if not plan.auto:
        return HeadChoice(None, "avg", plan.size, built.backbone, features.per_split, built.head, HeadKind.DENSE,
                          c.class_weights)
    per_split, columns = features.per_split, pooling_columns(built.poolings, plan.spec.feature_dim)
    x = np.concatenate([per_split["train"][0], per_split["val"][0]])
    y = np.concatenate([per_split["train"][1], per_split["val"][1]])
    if folds_possible(y) < 2:
        ctx.emit(PhaseChanged(Phase.HEAD, "Too few images per class to compare recipes by cross-validation: "
                              "the dense head on average-pooled features is used"))
        avg = {s: (f[:, columns["avg"]], labels) for s, (f, labels) in per_split.items()}
        return HeadChoice(None, "avg", plan.size, built.backbone, avg, built.head, HeadKind.DENSE, c.class_weights)
    ctx.emit(PhaseChanged(Phase.HEAD, "Choosing the head: each candidate is scored by cross-validation on "
                          "the training and validation images"))
    ranking = ranking_for(y)
    ctx.emit(PhaseChanged(Phase.HEAD, f"Candidates are ranked by {ranking.words}: {ranking.why()}"))
    choice = _compare(ctx, {name: x[:, cols] for name, cols in columns.items()}, y, len(prepared.classes))
    choice, kept, made = _passes(ctx, plan, features, columns, choice, y, len(prepared.classes), extract_pass)
    if choice.winner.accuracy < ranking.floor:
        ctx.emit(DataWarning(Phase.HEAD, f"No way of reading these images was right more often than always "
                             f"answering the largest class ({ranking.floor:.0%}) in cross-validation: the images may "
                             "not show what decides the class at the sizes tried, or the classes need more examples."))
    head = _winner(ctx, plan, prepared, built, features, choice, kept, columns[choice.winner.pooling])
    return replace(head, passes_made=made)


def _passes(ctx: RunContext, plan: RunPlan, features: Features, columns: dict[str, slice], choice: RecipeChoice,
            y: np.ndarray, n_classes: int, extract_pass: Callable[[Pass], PassFeatures] | None,
            ) -> tuple[RecipeChoice, PassFeatures | None, tuple[Pass, ...]]:
    """The best pooling tried again on each of the plan's extra passes, one at a time: the choice with their
    candidates, the leader's pass features (None: the run's own pass leads) and the passes compared. Only the
    leader's features are kept; a stop during a pass keeps the choice so far (its head is saved)."""
    kept: PassFeatures | None = None
    made: list[Pass] = []
    for p in plan.passes.kept:
        if ctx.stopped() or extract_pass is None:
            break
        try:
            extra = extract_pass(p)
        except Cancelled:
            ctx.tracker.cancelled = True
            break
        same = all(np.array_equal(extra.features[s][1], features.per_split[s][1]) for s in features.per_split)
        if not same:  # a file that failed only this time: the folds and the splits would not line up
            ctx.emit(DataWarning(Phase.HEAD, f"Not compared: {p.plain()}, as an image could not be read this time."))
            continue
        pooling = choice.winner.pooling
        x_extra = np.concatenate([pass_columns(extra.features[s][0], columns[pooling], p) for s in ("train", "val")])
        try:
            more = _compare(ctx, {f"{pooling}{p.suffix(plan.size)}": x_extra}, y, n_classes, len(choice.candidates))
        except Cancelled:
            ctx.tracker.cancelled = True
            break
        made.append(p)
        choice = choice.merged(more)
        if _pass_of(choice.winner, plan.size) == p:
            kept = extra
        del extra, x_extra
    return choice, kept, tuple(made)


def pass_columns(x: np.ndarray, cols: slice, p: Pass) -> np.ndarray:
    """One pooling's columns of a pass's features: for tiles, its mean over tiles and then its max."""
    if not p.tiles:
        return x[:, cols]
    half = x.shape[1] // 2
    return np.concatenate([x[:, cols], x[:, half + cols.start:half + cols.stop]], axis=1)


def _pass_of(w: Candidate, base: int) -> Pass:
    """The pass a candidate's features came from."""
    return Pass(w.size or base, w.orientations, w.tiles)


def _winner(ctx: RunContext, plan: RunPlan, prepared: Prepared, built: Built, features: Features,
            choice: RecipeChoice, kept: PassFeatures | None, pick: slice) -> HeadChoice:
    """Say what won, keep its pooling (``pick``: its columns) and pass (``kept``: an extra pass's features, when
    one won), and make its head ready: a linear head is fitted here, on the training and validation images of a
    frozen run, on the training images alone before fine-tuning (which is judged on the validation images: the
    head must not have seen them)."""
    c, w, n_classes = ctx.config, choice.winner, len(prepared.classes)
    p = _pass_of(w, plan.size)
    source = kept.features if kept is not None else features.per_split
    ctx.emit(_chosen(ctx, plan, choice, len(source["train"][0])))
    chosen = {s: (np.ascontiguousarray(pass_columns(f, pick, p)), labels) for s, (f, labels) in source.items()}
    head = build_head(chosen["train"][0].shape[1], n_classes, c.dropout)
    backbone = kept.backbone if kept is not None else built.backbone
    if w.head != HeadKind.LINEAR:
        return HeadChoice(choice, w.pooling, p.size, backbone, chosen, head, HeadKind.DENSE,
                          "balanced" if w.balanced else "none", orientations=p.orientations, tiles=p.tiles)
    out_of_fold = None
    if plan.frozen:
        out_of_fold = fit_on_all(head, w, chosen, n_classes, c.seed)
    else:
        train_x, train_y = chosen["train"]
        head.get_layer("predictions").set_weights(
            list(fit_linear(train_x, train_y, n_classes, w.strength or 1.0, w.balanced)))
    return HeadChoice(choice, w.pooling, p.size, backbone, chosen, head, HeadKind.LINEAR, c.class_weights,
                      out_of_fold, p.orientations, p.tiles)


def _compare(ctx: RunContext, features: dict[str, np.ndarray], y: np.ndarray, n_classes: int,
             before: int = 0) -> RecipeChoice:
    """Every candidate on ``features`` (pooling name → N × D) scored by cross-validation; progress counts on
    from ``before`` candidates already scored."""
    c, metric = ctx.config, ranking_for(y).metric
    return choose_recipe(features, y, n_classes, seed=c.seed, epochs=c.epochs, learning_rate=c.learning_rate,
                         dropout=c.dropout, batch_size=c.batch_size, cancel=ctx.cancel,
                         on_progress=lambda done, total, cand: ctx.emit(_tried(cand, before + done, before + total,
                                                                               metric)))


def _tried(cand: Candidate, done: int, total: int, ranked_by: str) -> CandidateTried:
    """The event for a candidate just scored (or dropped before its last fold): its name in words, its accuracy
    and balanced accuracy with their intervals, and what the candidates are ranked by."""
    return CandidateTried(done, total, cand.describe(), cand.accuracy, *cand.interval, cand.balanced_accuracy,
                          *cand.balanced_interval, ranked_by, cand.dropped)


def _chosen(ctx: RunContext, plan: RunPlan, choice: RecipeChoice, n_train: int) -> RecipeChosen:
    """The event saying what won, and what the run now plans: a fitted linear head has no epochs of its own, and
    before fine-tuning it counts as epoch 1 (core.training.fit.fit_head records it)."""
    c, w = ctx.config, choice.winner
    head = HeadKind(w.head)
    fine_tune_epochs = c.total_fine_tune_epochs if plan.fine_tunes else 0
    steps = math.ceil(n_train / plan.batch)
    fitted_epochs = 0 if head is HeadKind.DENSE or plan.frozen else 1
    epochs = fitted_epochs + fine_tune_epochs if head is HeadKind.LINEAR else c.epochs + fine_tune_epochs
    candidates = tuple((cand.describe(), cand.accuracy, *cand.interval, cand.balanced_accuracy)
                       for cand in choice.candidates)
    return RecipeChosen(w.describe(), choice.reason(), candidates, head, epochs, steps, fitted_epochs * steps,
                        choice.summary())


def fit_on_all(head: Any, winner: Candidate, features: dict[str, Arrays], n_classes: int,
               seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The winning linear head fitted on every image but the test ones (training and validation); returns the
    out-of-fold logits and labels of those images. Its confidence and two-class threshold are then set on those
    out-of-fold answers (heads fitted without the image), never on images it knows: set on the validation images
    it was fitted on, the temperature went to its bound, overconfident on new images. Also for a fine-tuning run
    that kept its frozen head."""
    x = np.concatenate([features["train"][0], features["val"][0]])
    y = np.concatenate([features["train"][1], features["val"][1]])
    strength, warm = winner.strength or 1.0, WarmStart()
    head.get_layer("predictions").set_weights(list(fit_linear(x, y, n_classes, strength, winner.balanced, warm)))
    # each out-of-fold fit starts from the fit on all images: two thirds of its images are the same
    return out_of_fold_logits(x, y, n_classes, strength, winner.balanced, seed, warm), y


def record_fitted_head(ctx: RunContext, choice: HeadChoice) -> None:
    """A fitted linear head as the run's first epoch (its losses and accuracies on the training and validation
    features), so that fine-tuning after it must beat its validation loss to be kept."""
    weights = choice.head.get_layer("predictions").get_weights()
    scores: dict[str, float] = {}
    for prefix, split in (("", "train"), ("val_", "val")):
        x, y = choice.features[split]
        logits = np.asarray(x) @ weights[0] + weights[1]
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        scores[f"{prefix}loss"] = float(-np.mean(log_p[np.arange(len(y)), y])) if len(y) else float("nan")
        scores[f"{prefix}accuracy"] = float(np.mean(log_p.argmax(axis=1) == y)) if len(y) else float("nan")
    event = EpochEnded(1, Phase.HEAD, scores["loss"], scores["accuracy"], scores["val_loss"], scores["val_accuracy"],
                       0.0)
    t = ctx.tracker
    t.epochs_done = 1
    t.history = [{"epoch": 1, "phase": Phase.HEAD, **scores, "seconds": 0.0}]
    if not np.isnan(event.val_loss):  # there are validation images
        t.best_val_loss, t.best_epoch = event.val_loss, 1
    ctx.emit(event)
