"""Learning for epochs: the one fitting loop both learning phases use (Keras ``fit`` on batches gathered from
cached arrays, reporting through :class:`core.training.callback.EventCallback`), the head phase, and what a run
that fine-tuned keeps when fine-tuning did not beat a fitted linear head."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from foveal.core.training.auto_head import HeadChoice, fit_on_all, record_fitted_head
from foveal.core.training.context import Arrays, RunContext
from foveal.core.training.events import Phase, PhaseChanged
from foveal.core.training.feed import array_dataset, class_weights, multi_worker_fixes
from foveal.core.training.prepare import Prepared, RunPlan


@dataclass(frozen=True)
class Trained:
    """What learning left: the model that learned last (the head on its features, or the fine-tuning model on
    images or cached activations) with its inputs per split, which a multi-worker run's collective test pass
    runs; and the out-of-fold logits and labels a linear head fitted on the training and validation images is
    calibrated on (None: calibrated on the validation images)."""

    model: Any
    inputs: dict[str, Arrays]
    out_of_fold: tuple[np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True)
class FitSettings:
    """How one learning phase fits: its learning rate and epochs; for fine-tuning, what to do each time the run's
    best validation loss improves (save a checkpoint) and the trial epochs of fine-tuning "auto"."""

    phase: Phase
    learning_rate: float
    epochs: int
    class_weight_mode: str
    on_best: Callable[[], None] | None = None
    trial_epochs: int = 0


def fit_model(ctx: RunContext, plan: RunPlan, model: Any, inputs: dict[str, Arrays], n_classes: int,
              settings: FitSettings) -> None:
    """Compile ``model`` and fit it on ``inputs["train"]``, validated on ``inputs["val"]``. Fine-tuning warms up
    over its first epoch (fresh Adam moments), then decays on a cosine. The callback keeps the best weights of
    the run so far, stops early, and stops within one batch on cancel."""
    import keras

    from foveal.core.training.callback import EventCallback

    c, batch = ctx.config, plan.batch
    (x, y), val = inputs["train"], inputs["val"]
    steps = math.ceil(len(x) / batch)
    rate: Any = settings.learning_rate
    if settings.phase == Phase.FINE_TUNE:
        rate = keras.optimizers.schedules.CosineDecay(0.0, max(1, steps * (settings.epochs - 1)), alpha=0.1,
                                                      warmup_target=settings.learning_rate, warmup_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile="auto" if plan.devices.xla is None else plan.devices.xla)
    callback = EventCallback(phase=settings.phase, tracker=ctx.tracker, emit=ctx.emit, cancel=ctx.cancel,
                             steps_per_epoch=steps, n_samples=len(x), batch_size=batch,
                             patience=c.early_stopping_patience, on_best=settings.on_best, clock=ctx.clock,
                             trial_epochs=settings.trial_epochs)
    weights = class_weights(y, n_classes, settings.class_weight_mode)
    train = array_dataset(x, y, batch, shuffle=True, seed=c.seed, class_weight=weights)
    val_data = array_dataset(val[0], val[1], batch, shuffle=False, seed=c.seed) if len(val[0]) else None
    if plan.devices.strategy == "multi-worker":
        multi_worker_fixes(model, train)
    model.fit(train, epochs=settings.epochs, validation_data=val_data, shuffle=False, verbose=0,
              callbacks=[callback])


def fit_head(ctx: RunContext, plan: RunPlan, prepared: Prepared, choice: HeadChoice) -> Trained:
    """The head phase: a dense head trains for its epochs; a fitted linear head has none (before fine-tuning it is
    recorded as the run's first epoch, which fine-tuning must beat to be kept)."""
    if choice.fitted:
        ctx.tracker.fitted_head = True
        if not plan.frozen:
            record_fitted_head(ctx, choice)
        return Trained(choice.head, choice.features, choice.out_of_fold)
    c = ctx.config
    ctx.emit(PhaseChanged(Phase.HEAD, f"Training the new head ({c.epochs} epoch{'' if c.epochs == 1 else 's'})"
                          f"{plan.devices.scaling_note(c.batch_size)}", first_epoch=1))
    # No checkpoint file for the head: it retrains in seconds, and writing one each epoch costs as much.
    fit_model(ctx, plan, choice.head, choice.features, len(prepared.classes),
              FitSettings(Phase.HEAD, plan.learning_rate, c.epochs, choice.class_weight_mode))
    return Trained(choice.head, choice.features)


def kept_frozen_head(ctx: RunContext, prepared: Prepared, choice: HeadChoice, trained: Trained) -> Trained:
    """Fine-tuning did not beat a fitted linear head: the backbone is as it was, so the head is fitted again on
    the training and validation images, as a frozen run's is (and calibrated on their out-of-fold answers)."""
    comparison = ctx.tracker.phase_comparison()
    if not (choice.fitted and choice.recipe is not None and comparison and not comparison.improved):
        return trained
    ctx.emit(PhaseChanged(Phase.HEAD, "The frozen backbone's head is kept: fitted again on the training and "
                          "validation images, as a frozen run's is"))
    out_of_fold = fit_on_all(choice.head, choice.recipe.winner, choice.features, len(prepared.classes),
                             ctx.config.seed)
    return Trained(trained.model, trained.inputs, out_of_fold)
