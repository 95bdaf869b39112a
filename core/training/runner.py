"""``train(config, *, on_event, cancel)``: the one blocking entry point the CLI and the window both call.

The recipe is the Keras transfer-learning guide's: train a new head on the frozen backbone, then (if asked)
unfreeze the chosen top blocks and continue at a lower learning rate, BatchNormalization in inference mode.
The frozen phase never runs the backbone more than once per image: features are extracted once and the head
trains on them for every epoch (plus a fixed number of augmented copies when augmentation is on).

A run is a few named steps, each handed what it needs and returning what it made as a frozen result:
:func:`prepare` → :class:`Prepared`, :func:`plan_run` → :class:`RunPlan`, :func:`build` → :class:`Built`,
:func:`extract` → :class:`Features`, :func:`choose_head` → :class:`HeadChoice`, :func:`fit_head` and
:func:`fine_tune` → :class:`Trained`, :func:`measure_and_save` → :class:`Measured`, then run.json. What every step
shares (settings, events, cancel, clock, the epoch tracker) is the small :class:`RunContext`.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from foveal.core.cancel import Cancelled, CancelToken
from foveal.core.errors import FovealError
from foveal.core.io import write_json
from foveal.core.models.build import assemble_classifier
from foveal.core.training.auto_head import HeadChoice, choose_head
from foveal.core.training.config import TrainConfig
from foveal.core.training.context import RunContext
from foveal.core.training.devices import precision
from foveal.core.training.events import Event, Phase, PhaseChanged, TrainingFinished
from foveal.core.training.extraction import Built, Features, build, extra_pass, extract
from foveal.core.training.feed import array_dataset, multi_worker_fixes
from foveal.core.training.fine_tune import fine_tune
from foveal.core.training.fit import Trained, fit_head, kept_frozen_head
from foveal.core.training.forward import float32_copy
from foveal.core.training.heldout import Measured, held_out_result, measure_and_save, result_notes, save_model
from foveal.core.training.mislabels import MISLABELS_FILE, run_suspects, write_suspects
from foveal.core.training.prepare import Prepared, RunPlan, plan_run, prepare
from foveal.core.training.runfolder import RunFolder, open_run_folder, run_record
from foveal.core.training.tracker import DOING, RunTracker

log = logging.getLogger(__name__)


#: What ``train`` returns: its last event, the same object the ``on_event`` callback received.
TrainResult = TrainingFinished


def train(config: TrainConfig, *, on_event: Callable[[Event], None] | None = None,
          cancel: CancelToken | None = None, clock: Callable[[], float] = time.monotonic,
          started: float | None = None) -> TrainResult:
    """Train a classifier as ``config`` says and write its run folder.

    Blocks until done; call it on a worker thread from a GUI. ``on_event`` receives every event of
    :mod:`core.training.events` in order, on the calling thread. ``cancel`` stops the run within one batch;
    the best weights so far are kept and saved, and the outcome is ``cancelled``. ``started`` is the ``clock``
    reading when the person asked for the run (the command began, Start was pressed): the run's duration counts
    from it, so the one duration Foveal shows is the time the person waited (default: now).

    Raises
    ------
    FovealError
        For problems with the data, the settings or the weights, before or during the run.
    """
    tracker = RunTracker()
    ctx = RunContext(config, _watched(tracker, on_event or _ignore), cancel or CancelToken(), clock, tracker)
    start = clock() if started is None else started
    config.validate()
    prepared = prepare(ctx)  # the dataset first: its problems are reported before any device is set up
    plan = plan_run(ctx, prepared)
    existed = config.out_dir is not None and os.path.isdir(config.out_dir)  # the person's own folder stays
    folder = open_run_folder(config, is_chief=plan.devices.is_chief)
    try:
        ctx.timings["prepare"] = clock() - start
        with precision(plan.devices.mixed_precision):
            with plan.strategy.scope():
                built = build(ctx, plan, prepared, folder)
                ctx.timings["build"] = clock() - start - ctx.timings["prepare"]
                choice, trained = learn(ctx, plan, prepared, folder, built)
            # Outside the strategy: the test pass still runs on every replica (the models keep their strategy),
            # and saving creates no variable that the workers would have to agree on.
            return finish(ctx, plan, prepared, folder, built, (choice, trained), start)
    except FovealError:
        if not ctx.tracker.history:  # nothing learned (weights that would not load…): no run to speak of
            folder.forget(made_here=not existed)
        raise
    finally:
        folder.end()


def _ignore(event: Event) -> None:
    """The ``on_event`` of a caller that listens to nothing."""


def _watched(tracker: RunTracker, on_event: Callable[[Event], None]) -> Callable[[Event], None]:
    """``on_event``, noting in ``tracker`` what the run is doing (said if the person stops it)."""

    def emit(event: Event) -> None:
        if isinstance(event, PhaseChanged):
            tracker.doing = DOING.get(event.phase, "")
        on_event(event)

    return emit


def learn(ctx: RunContext, plan: RunPlan, prepared: Prepared, folder: RunFolder,
          built: Built) -> tuple[HeadChoice | None, Trained | None]:
    """Features, the head, then fine-tuning when the plan has it. A cancel during any step ends learning there
    (the outcome is ``cancelled``); what the steps before it made is kept: the best weights so far are saved."""
    choice: HeadChoice | None = None
    trained: Trained | None = None
    try:
        features = extract(ctx, plan, prepared, folder, built)
        t0 = ctx.clock()
        choice = choose_head(ctx, plan, prepared, built, features,
                             functools.partial(extra_pass, ctx, plan, prepared, folder, built))
        # Every candidate's features go: the chosen ones are the choice's own copy (and the decoded images stay
        # for fine-tuning); on 50,000 images the candidates' poolings are gigabytes.
        features = Features({}, features.images)
        trained = fit_head(ctx, plan, prepared, choice)
        ctx.timings["head"] = ctx.clock() - t0
        if plan.fine_tunes and not ctx.stopped():
            trained = fine_tune(ctx, plan, prepared, folder, built, choice, features)
            trained = kept_frozen_head(ctx, prepared, choice, trained)
    except Cancelled:
        ctx.tracker.cancelled = True
    return choice, trained


def finish(ctx: RunContext, plan: RunPlan, prepared: Prepared, folder: RunFolder, built: Built,
           learned: tuple[HeadChoice | None, Trained | None], start: float) -> TrainResult:
    """Save and measure what was learned (if anything), write run.json (last: it marks the folder complete;
    without it, the folder's end removes the model) and send the last event. The run's duration is from
    ``start`` to now: saving, measuring and the mislabel check included, as the person waited for them."""
    t = ctx.tracker
    choice, trained = learned
    measured, suspects = Measured(), None
    if choice is not None and trained is not None and (t.best_epoch is not None or choice.fitted):
        measured = save_and_measure(ctx, plan, prepared, folder, choice, trained)
        suspects = run_suspects(ctx, prepared, choice) if plan.devices.is_chief else None
        if suspects is not None:
            write_suspects(folder.path / MISLABELS_FILE, suspects)
    shutil.rmtree(folder.cache_dir, ignore_errors=True)
    held_out = held_out_result(prepared, ctx.failed, measured.accuracy, measured.loss, measured.labels,
                               measured.predicted)
    seconds, reason = ctx.clock() - start, ending(ctx, plan)
    if plan.devices.is_chief:
        write_json(folder.path / "run.json", run_record(
            ctx, prepared, plan, n_blocks=built.n_blocks, choice=choice, measured=measured, suspects=suspects,
            held_out=held_out, seconds=seconds, run_dir=folder.path, ending=reason))
    result = TrainingFinished(t.outcome, str(folder.path) if plan.devices.is_chief else "", measured.model_path,
                              measured.accuracy, measured.loss, t.best_epoch, prepared.classes, tuple(t.history),
                              seconds, result_notes(t.phase_comparison(), measured.calibration, held_out),
                              held_out.headline or "", reason)
    ctx.emit(result)
    return result


def ending(ctx: RunContext, plan: RunPlan) -> str:
    """Why the run ended when it did, in words, against the epochs it planned last, as the recipe left them: a
    fitted linear head counts as one epoch before fine-tuning and as none alone (core.training.auto_head._chosen)."""
    t, c = ctx.tracker, ctx.config
    head = (0 if plan.frozen else 1) if t.fitted_head else c.epochs
    return t.ending(head + (c.total_fine_tune_epochs if plan.fine_tunes else 0), c.early_stopping_patience)


def save_and_measure(ctx: RunContext, plan: RunPlan, prepared: Prepared, folder: RunFolder, choice: HeadChoice,
                     trained: Trained) -> Measured:
    """A run that learned something: the chief saves the whole classifier and measures it on the test split (a
    multi-worker run's test pass is collective, every worker taking part; the chief keeps its numbers)."""
    measured = evaluate_collectively(plan, prepared, trained) if plan.devices.strategy == "multi-worker" else None
    if not plan.devices.is_chief:
        return measured or Measured()
    t0 = ctx.clock()
    ctx.emit(PhaseChanged(Phase.SAVING, "Calibrating the confidence and saving the model"))
    model = assemble(ctx, plan, prepared, choice)
    if measured is None:
        measured = measure_and_save(ctx, prepared, plan, folder, choice, trained, model)
    else:
        measured = replace(measured, model_path=save_model(model, choice.backbone, folder))
    ctx.timings["save_and_measure"] = ctx.clock() - t0
    return measured


def evaluate_collectively(plan: RunPlan, prepared: Prepared, trained: Trained) -> Measured:
    """Multi-worker runs: the test pass is a collective step on the cached inputs (all workers at once)."""
    x, y = trained.inputs["test"]
    if len(x) == 0:
        return Measured()
    model = trained.model
    data = array_dataset(x, y, plan.batch, shuffle=False, seed=0)
    if not model.compiled:  # a linear head is fitted, not trained: it has never been compiled
        with plan.strategy.scope():
            model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    multi_worker_fixes(model, data)
    result = model.evaluate(data, verbose=0, return_dict=True)
    return Measured(accuracy=float(result["accuracy"]), loss=float(result["loss"]),
                    labels=tuple(prepared.classes[int(i)] for i in y))


def assemble(ctx: RunContext, plan: RunPlan, prepared: Prepared, choice: HeadChoice) -> Any:
    """The whole classifier as it is saved (the test pass runs the very same model)."""
    if plan.devices.mixed_precision:  # the saved model is float32: it runs anywhere, CPUs included
        return float32_copy(choice.backbone, choice.head, plan.spec, choice.size, len(prepared.classes),
                            ctx.config.dropout, choice.pooling, orientations=choice.orientations, tiles=choice.tiles)
    return assemble_classifier(choice.backbone, choice.head, plan.spec, choice.size, pooling=choice.pooling,
                               orientations=choice.orientations, tiles=choice.tiles)
