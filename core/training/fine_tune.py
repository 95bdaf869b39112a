"""Phase 2 of a run: fine-tuning the chosen top blocks of the backbone with the head.

The images were decoded once into a uint8 cache (the head's features came from it too:
core.training.extraction); when only the top blocks learn, the frozen bottom runs once per image and its
activations are cached, so each epoch runs the top only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from foveal.core.models.build import TRIAL_EPOCHS, apply_fine_tune, assemble_classifier, blocks_of
from foveal.core.models.registry import Weights
from foveal.core.split.make import SPLITS
from foveal.core.training.auto_head import HeadChoice
from foveal.core.training.context import Arrays, RunContext
from foveal.core.training.events import Phase, PhaseChanged
from foveal.core.training.extraction import Built, Features, decoded_at, map_images
from foveal.core.training.feed import array_dataset
from foveal.core.training.fit import FitSettings, Trained, fit_model
from foveal.core.training.forward import split_at
from foveal.core.training.judge import judge, wins
from foveal.core.training.prepare import Prepared, RunPlan
from foveal.core.training.recipe import ranking_for
from foveal.core.training.runfolder import RunFolder


def set_batchnorm(backbone, *, learns: bool) -> None:
    """BatchNormalization for fine-tuning: pretrained statistics stay as they are (a non-trainable layer runs in
    inference mode, even inside ``fit``); without pretrained weights there are none to keep, and the layers learn
    them quickly (lower momentum) on small data.

    Left trainable, the cut-out top blocks ran BatchNormalization on batch statistics during ``fit`` despite
    ``training=False``: the first fine-tuning batch's loss was 3.5× the head's on the same images (1.42 against
    0.41 on BUSI), and validation loss doubled in the first epoch.
    """
    import keras

    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            if learns:
                layer.momentum = min(layer.momentum, 0.9)
            else:
                layer.trainable = False


def fine_tune(ctx: RunContext, plan: RunPlan, prepared: Prepared, folder: RunFolder, built: Built,
              choice: HeadChoice, features: Features) -> Trained:
    """Unfreeze the chosen blocks and train them with the head at the lower learning rate; each time the run's
    best validation loss improves, the weights are checkpointed."""
    import keras

    c = ctx.config
    t0 = ctx.clock()
    apply_fine_tune(choice.backbone, plan.spec, plan.depth)
    from_scratch = c.weights_source == Weights.NONE
    set_batchnorm(choice.backbone, learns=from_scratch)
    if choice.fitted:
        without_dropout(choice.head)
    cut = freeze_boundary(choice.backbone, plan)
    images = features.images if choice.size == plan.size else decoded_at(ctx, prepared, folder, choice.size)
    if cut is not None and built.augmenter is None and not from_scratch:
        model, inputs = boundary_model(ctx, plan, folder, choice, images, cut)
    else:
        model = assemble_classifier(choice.backbone, choice.head, plan.spec, choice.size, fixed_size=True,
                                    batchnorm_learns=from_scratch, pooling=choice.pooling)
        if built.augmenter is not None:
            inp = keras.Input((choice.size, choice.size, 3), name="image")
            model = keras.Model(inp, model(built.augmenter(inp)), name="fine_tune")
        inputs = images
    desc = plan.depth.describe(built.n_blocks)
    learning_rate = plan.learning_rate * c.fine_tune_lr_factor
    ctx.emit(PhaseChanged(Phase.FINE_TUNE, f"{desc[0].upper()}{desc[1:]} of {plan.spec.name} "
                          f"at learning rate {learning_rate:g}{plan.devices.scaling_note(c.batch_size)}",
                          first_epoch=ctx.tracker.epochs_done + 1))
    head_epoch, start = ctx.tracker.best_epoch, model.get_weights()
    before = val_probs(plan, model, inputs["val"])
    fit_model(ctx, plan, model, inputs, len(prepared.classes), FitSettings(
        Phase.FINE_TUNE, learning_rate, c.total_fine_tune_epochs, choice.class_weight_mode,
        on_best=lambda: model.save_weights(folder.checkpoint),
        trial_epochs=TRIAL_EPOCHS if plan.depth.trial else 0))
    if before is not None and head_epoch is not None and ctx.tracker.best_epoch != head_epoch:
        judge_against_head(ctx, plan, model, inputs["val"], before, (head_epoch, start))
    ctx.timings["fine_tune"] = ctx.clock() - t0
    return Trained(model, inputs, choice.out_of_fold)


def without_dropout(head: Any) -> None:
    """A fitted linear head fine-tunes without the head's dropout: it was fitted on whole feature vectors (its
    weights read the raw features, the standardisation folded in), so fine-tuning starts from the very function
    the head was judged as. With dropout, the same head's training loss was 0.21 instead of 0.17 (C=0.01, 120
    large BUSI-in-MedNIST pictures) and 0.029 instead of 0.005 for a weakly regularised one (C=1): fine-tuning
    began by undoing a noise the head never had."""
    import keras

    for layer in head.layers:
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = 0.0


def val_probs(plan: RunPlan, model: Any, val: Arrays) -> np.ndarray | None:
    """``model``'s probabilities for the validation inputs (None: there are none)."""
    x, y = val
    if len(y) == 0:
        return None
    return np.asarray(model.predict(array_dataset(x, y, plan.batch, shuffle=False, seed=0), verbose=0))


def judge_against_head(ctx: RunContext, plan: RunPlan, model: Any, val: Arrays, before: np.ndarray,
                       head: tuple[int, list]) -> None:
    """Fine-tuning kept a model of its own (its validation loss beat the head's): keep it only when it also wins
    on a judge an overconfident head cannot fool (core.training.judge); else go back to the head's weights
    (``head``: its epoch and the weights fine-tuning started from)."""
    y = val[1]
    metric = ranking_for(y).metric
    incumbent = judge(before, y, metric)
    challenger = judge(val_probs(plan, model, val), y, metric)  # type: ignore[arg-type]
    kept = wins(challenger, incumbent)
    words = (f"judged on the validation images by {challenger.words()} against the head's {incumbent.words()} "
             f"(loss after temperature scaling: raw {challenger.loss:.3f} against {incumbent.loss:.3f})")
    ctx.tracker.verdict = (kept, words)
    if not kept:
        model.set_weights(head[1])
        ctx.tracker.best_epoch = head[0]


def freeze_boundary(backbone: Any, plan: RunPlan) -> int | None:
    """Index of the last frozen backbone layer when only the top blocks learn (a single-tensor cut point)."""
    if plan.depth.kind != "last":
        return None
    blocks = blocks_of(backbone, plan.spec)
    return blocks[-plan.depth.n - 1].last if plan.depth.n < len(blocks) else None


def boundary_model(ctx: RunContext, plan: RunPlan, folder: RunFolder, choice: HeadChoice,
                   images: dict[str, Arrays], cut: int) -> tuple[Any, dict[str, Arrays]]:
    """Run the frozen bottom once per decoded image (``images``: per split, at the chosen input size) and cache
    its output; train the top blocks and head on it."""
    forward, shape, model = split_at(choice.backbone, choice.head, plan.spec, choice.size, cut, choice.pooling)
    ctx.emit(PhaseChanged(Phase.EXTRACTING, f"Preparing fine-tuning: passing each image once through the part "
                          f"of the network that stays fixed (all but the last {plan.depth.n} blocks)"))
    inputs, total, offset = {}, sum(len(images[s][0]) for s in SPLITS), 0
    for split in SPLITS:
        decoded, labels = images[split]
        acts = map_images(ctx, folder, forward, decoded, shape, split, offset, total, "boundary")
        inputs[split] = (acts, labels)
        offset += len(decoded)
    return model, inputs
