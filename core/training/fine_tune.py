"""Phase 2 of a run: fine-tuning the chosen top blocks of the backbone with the head.

The images are decoded once into a uint8 cache (the head's features come from it too); when only the top blocks
learn, the frozen bottom runs once per image and its activations are cached, so each epoch runs the top only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from foveal.core.cancel import Cancelled
from foveal.core.models.build import TRIAL_EPOCHS, apply_fine_tune, assemble_classifier, blocks_of, pooling_width
from foveal.core.models.registry import Weights
from foveal.core.split.make import SPLITS
from foveal.core.training.events import FeaturesExtracting, Phase, PhaseChanged
from foveal.core.training.features import DECODE_BATCH, FORWARD_BATCH, allocate, decode_all
from foveal.core.training.forward import forward_fn, split_at

if TYPE_CHECKING:
    from foveal.core.training.runner import _Run

def extract_cached(run: _Run, total: int, pooling: str = "avg") -> dict:
    """Fine-tuning: decode each split once into a uint8 cache, then take head features from it (pooled as
    ``pooling`` says: several side by side for the automatic recipe)."""
    c = run.config
    forward = forward_fn(run.backbone, run.spec, run.size, pooling=pooling)
    run.images, out, offset = {}, {}, 0
    for split in SPLITS:
        records = run.split.of(split)
        images, labels, _kept, failed, blank = decode_all(
            records, run.class_index, size=run.size, batch_size=max(c.batch_size, DECODE_BATCH),
            cancel=run.cancel, spill_dir=run.cache_dir, name=f"images_{split}")
        run.failed += failed
        run.blank += blank
        run.images[split] = (images, labels)
        width = sum(pooling_width(p, run.spec.feature_dim) for p in pooling.split("+"))
        feats = map_images(run, forward, images, (width,), split, offset, total, "features")
        out[split] = (feats, labels)
        offset += len(records)
    return out

def map_images(run: _Run, forward, images: np.ndarray, shape: tuple, split: str, offset: int, total: int,
                name: str) -> np.ndarray:
    """``forward`` over cached images in batches of :data:`FORWARD_BATCH`, into an array (spilled to disk when
    large), reporting progress and stopping within one batch on cancel."""
    out = allocate((len(images),) + tuple(shape), np.float32, run.cache_dir, f"{name}_{split}")
    n = FORWARD_BATCH
    for i in range(0, len(images), n):
        if run.cancel.cancelled:
            raise Cancelled
        out[i:i + n] = forward(images[i:i + n])
        run.emit(FeaturesExtracting(offset + min(i + n, len(images)), total, split))
    return out

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


def fine_tune_phase(run: _Run) -> None:
    import keras

    c = run.config
    t0 = run.clock()
    apply_fine_tune(run.backbone, run.spec, run.depth)
    from_scratch = c.weights_source == Weights.NONE
    set_batchnorm(run.backbone, learns=from_scratch)
    cut = _freeze_boundary(run)
    if cut is not None and run.augmenter is None and not from_scratch:
        model, inputs = _boundary_model(run, cut)
    else:
        model = assemble_classifier(run.backbone, run.head, run.spec, run.size, fixed_size=True,
                                    batchnorm_learns=from_scratch, pooling=run.pooling)
        if run.augmenter is not None:
            inp = keras.Input((run.size, run.size, 3), name="image")
            model = keras.Model(inp, model(run.augmenter(inp)), name="fine_tune")
        inputs = run.images
    run.trained_model, run.trained_inputs = model, inputs
    desc = run.depth.describe(run.n_blocks)
    run.emit(PhaseChanged(Phase.FINE_TUNE, f"{desc[0].upper()}{desc[1:]} of {run.spec.name} "
                           f"at learning rate {run.learning_rate * c.fine_tune_lr_factor:g}"
                           f"{run.plan.scaling_note(c.batch_size)}",
                           first_epoch=run.tracker.epochs_done + 1))
    train_x, train_y = inputs["train"]
    run._fit(model, train_x, train_y, inputs["val"], run.learning_rate * c.fine_tune_lr_factor,
              c.total_fine_tune_epochs, Phase.FINE_TUNE, on_best=lambda: model.save_weights(run.checkpoint),
              trial_epochs=TRIAL_EPOCHS if run.depth.trial else 0)
    run.timings["fine_tune"] = run.clock() - t0

def _freeze_boundary(run: _Run) -> int | None:
    """Index of the last frozen backbone layer when only the top blocks learn (a single-tensor cut point)."""
    if run.depth.kind != "last":
        return None
    blocks = blocks_of(run.backbone, run.spec)
    return blocks[-run.depth.n - 1].last if run.depth.n < len(blocks) else None

def _boundary_model(run: _Run, cut: int) -> tuple:
    """Run the frozen bottom once per image and cache its output; train the top blocks and head on it."""
    forward, shape, model = split_at(run.backbone, run.head, run.spec, run.size, cut, run.pooling)
    run.emit(PhaseChanged(Phase.EXTRACTING, f"Preparing fine-tuning: passing each image once through the part "
                           f"of the network that stays fixed (all but the last {run.depth.n} blocks)"))
    inputs, total, offset = {}, sum(len(run.images[s][0]) for s in SPLITS), 0
    for split in SPLITS:
        images, labels = run.images[split]
        acts = map_images(run, forward, images, shape, split, offset, total, "boundary")
        inputs[split] = (acts, labels)
        offset += len(images)
    return model, inputs
