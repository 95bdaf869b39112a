"""The backbone built, and the features it makes: one pass per image (plus augmented copies for a frozen run's
training images); a run that fine-tunes decodes each image once into a uint8 cache and takes its features from
there. The automatic recipe may extract several poolings side by side, and (on large images) the
same features again at a larger input size, to compare (a run that fine-tunes too: it starts from the same choice)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from foveal.core.cancel import Cancelled
from foveal.core.errors import listing
from foveal.core.models.build import blocks_of, build_backbone, build_head, check_depth, pooling_width
from foveal.core.models.registry import Weights
from foveal.core.split.make import SPLITS
from foveal.core.training.auto_head import candidate_poolings
from foveal.core.training.context import Arrays, RunContext
from foveal.core.training.events import (
    DataWarning,
    FeaturesExtracting,
    Phase,
    PhaseChanged,
    TrainingStarted,
    WeightsDownloading,
)
from foveal.core.training.features import (
    DECODE_BATCH,
    FORWARD_BATCH,
    allocate,
    decode_all,
    extract_features,
    feature_dtype,
    images_per_batch,
)
from foveal.core.training.forward import augmenter, forward_fn
from foveal.core.training.lost import stop_if_lost
from foveal.core.training.prepare import Prepared, RunPlan
from foveal.core.training.runfolder import RunFolder


@dataclass(frozen=True)
class Built:
    """The Keras pieces of a run (typed ``Any``: Keras has no type information). ``head`` reads average-pooled
    features (the manual recipe's); ``poolings`` is how features are pooled ("avg", or several joined by "+"
    for the automatic recipe to compare)."""

    backbone: Any
    head: Any
    augmenter: Any  # None without augmentation
    n_blocks: int
    poolings: str


def build(ctx: RunContext, plan: RunPlan, prepared: Prepared, folder: RunFolder) -> Built:
    """Build the frozen backbone (its weights downloaded if need be) and the head, and say that the run started."""
    import keras

    c, spec, split = ctx.config, plan.spec, prepared.split
    keras.utils.set_random_seed(c.seed)
    weights = c.weights_source
    what: dict[Weights | str, str] = {Weights.IMAGENET: "ImageNet weights",
                                      Weights.NONE: "random initialisation (no pretrained weights)"}
    ctx.emit(PhaseChanged(Phase.PREPARING, f"Loading {spec.name} with {what.get(weights, str(weights))}"))
    backbone = build_backbone(spec, plan.size, weights,
                              on_download=lambda done, total: ctx.emit(WeightsDownloading(done, total)))
    backbone.trainable = False
    n_blocks = len(blocks_of(backbone, spec))
    check_depth(spec, plan.depth, n_blocks)  # before any image is decoded
    head = build_head(spec.feature_dim, len(prepared.classes), c.dropout)
    augment = augmenter(c.seed) if c.augment else None
    # Augmented copies are features of a frozen run only; fine-tuning augments each image as it learns.
    copies = c.augment_copies if c.augment and plan.frozen else 0
    phases = (Phase.HEAD,) + ((Phase.FINE_TUNE,) if plan.fine_tunes else ())
    ctx.emit(TrainingStarted(
        run_dir=str(folder.path), backbone=spec.name, fine_tune=str(plan.depth), classes=prepared.classes,
        n_train=len(split.train), n_val=len(split.val), n_test=len(split.test),
        epochs=c.epochs + (c.total_fine_tune_epochs if plan.fine_tunes else 0),
        steps_per_epoch=math.ceil(len(split.train) * (1 + copies) / plan.batch), phases=phases, weights=str(weights),
        device=plan.devices.describe(), head_epochs=c.epochs))
    poolings = candidate_poolings(backbone) if plan.auto else "avg"
    return Built(backbone, head, augment, n_blocks, poolings)


@dataclass(frozen=True)
class LargerSize:
    """The same features at a larger input size than the run's own, for the automatic recipe to compare."""

    size: int
    backbone: Any
    features: dict[str, Arrays]


@dataclass(frozen=True)
class Features:
    """Pooled features per split (as :attr:`Built.poolings` says); the decoded images per split of a run that
    fine-tunes (empty for a frozen run); the features at a larger input size, when the recipe compares one."""

    per_split: dict[str, Arrays]
    images: dict[str, Arrays]
    larger: LargerSize | None = None


def extract(ctx: RunContext, plan: RunPlan, prepared: Prepared, folder: RunFolder, built: Built) -> Features:
    """Every image through the frozen backbone once. Stops the run (DatasetError) when a class lost most of a
    split to images that could not be read: before any learning."""
    t0 = ctx.clock()
    total = sum(len(prepared.split.of(s)) for s in SPLITS)
    ctx.emit(PhaseChanged(Phase.EXTRACTING, f"Extracting features: one pass of {plan.spec.name} over {total} images"))
    if plan.frozen:
        features = Features(stream(ctx, plan, prepared, folder, built, total, built.backbone, plan.size), {})
    else:
        features = cached(ctx, plan, prepared, folder, built, total)
    if plan.larger_size is not None and not ctx.stopped():  # a run that fine-tunes starts from the same choice
        features = Features(features.per_split, features.images, larger(ctx, plan, prepared, folder, built, total))
    if ctx.blank:
        ctx.emit(DataWarning(Phase.EXTRACTING, f"{len(ctx.blank)} image(s) are blank, every pixel the same value "
                             f"(empty, constant or not-a-number data): {listing(ctx.blank)}. They are used as they "
                             "are; check them, or move them out of the dataset."))
    stop_if_lost(prepared.split, ctx.failed)  # before any learning: a class gone from a split ends the run here
    ctx.timings["extract_features"] = ctx.clock() - t0
    return features


def larger(ctx: RunContext, plan: RunPlan, prepared: Prepared, folder: RunFolder, built: Built,
           total: int) -> LargerSize:
    """The automatic recipe on large images: the same features at a larger input size, to compare."""
    assert plan.larger_size is not None
    size = plan.larger_size
    ctx.emit(PhaseChanged(Phase.EXTRACTING, f"Extracting features at {size} px too: the images are large, and "
                          f"small structures may show better than at {plan.size} px"))
    backbone = build_backbone(plan.spec, size, ctx.config.weights_source)
    backbone.trainable = False
    failed, blank = len(ctx.failed), len(ctx.blank)
    features = stream(ctx, plan, prepared, folder, built, total, backbone, size)
    del ctx.failed[failed:], ctx.blank[blank:]  # the same files again: said once
    return LargerSize(size, backbone, features)


def stream(ctx: RunContext, plan: RunPlan, prepared: Prepared, folder: RunFolder, built: Built, total: int,
           backbone: Any, size: int) -> dict[str, Arrays]:
    """A frozen run: each split decoded and passed through ``backbone`` at ``size`` in one go (and, for the
    training images, ``augment_copies`` augmented passes)."""
    c, spec = ctx.config, plan.spec
    forward = forward_fn(backbone, spec, size, pooling=built.poolings)
    aug_forward = (forward_fn(backbone, spec, size, built.augmenter, pooling=built.poolings)
                   if built.augmenter else None)
    out, offset = {}, 0
    for split in SPLITS:
        records = prepared.split.of(split)
        copies = c.augment_copies if (split == "train" and c.augment) else 0
        fs = extract_features(
            forward, records, prepared.class_index, size=size,
            batch_size=images_per_batch(size, max(c.batch_size, DECODE_BATCH)),
            feature_dim=_width(built.poolings, spec.feature_dim), copies=copies, augmented_forward=aug_forward,
            on_progress=functools.partial(_on_features, ctx, offset, total, split),
            cancel=ctx.cancel, spill_dir=folder.cache_dir, name=f"features_{split}")
        ctx.failed += fs.failed
        ctx.blank += fs.blank
        out[split] = (fs.features, fs.labels)
        offset += len(records)
    return out


def cached(ctx: RunContext, plan: RunPlan, prepared: Prepared, folder: RunFolder, built: Built,
           total: int) -> Features:
    """A run that fine-tunes: each split decoded once into a uint8 cache, and the head's features taken from it."""
    c = ctx.config
    forward = forward_fn(built.backbone, plan.spec, plan.size, pooling=built.poolings)
    images, out, offset = {}, {}, 0
    for split in SPLITS:
        records = prepared.split.of(split)
        decoded, labels, _kept, failed, blank = decode_all(
            records, prepared.class_index, size=plan.size,
            batch_size=images_per_batch(plan.size, max(c.batch_size, DECODE_BATCH)),
            cancel=ctx.cancel, spill_dir=folder.cache_dir, name=f"images_{split}")
        ctx.failed += failed
        ctx.blank += blank
        images[split] = (decoded, labels)
        width = _width(built.poolings, plan.spec.feature_dim)
        feats = map_images(ctx, folder, forward, decoded, (width,), split, offset, total, "features")
        out[split] = (feats, labels)
        offset += len(records)
    return Features(out, images)


def decoded_at(ctx: RunContext, prepared: Prepared, folder: RunFolder, size: int) -> dict[str, Arrays]:
    """Each split decoded again at ``size`` (the larger input size won the automatic recipe of a run that
    fine-tunes): the uint8 cache fine-tuning learns from. The files that failed were said the first time."""
    c, out = ctx.config, {}
    ctx.emit(PhaseChanged(Phase.EXTRACTING, f"Reading the images again at {size} px, the size the head was chosen "
                          "at, for fine-tuning"))
    for split in SPLITS:
        decoded, labels, *_ = decode_all(prepared.split.of(split), prepared.class_index, size=size,
                                         batch_size=max(c.batch_size, DECODE_BATCH), cancel=ctx.cancel,
                                         spill_dir=folder.cache_dir, name=f"images_{size}_{split}")
        out[split] = (decoded, labels)
    return out


def map_images(ctx: RunContext, folder: RunFolder, forward: Callable[[np.ndarray], np.ndarray], images: np.ndarray,
               shape: tuple, split: str, offset: int, total: int, name: str) -> np.ndarray:
    """``forward`` over cached images in batches of :data:`FORWARD_BATCH`, into an array (spilled to disk when
    large), reporting progress and stopping within one batch on cancel."""
    shape = (len(images),) + tuple(shape)
    out = allocate(shape, feature_dtype(shape), folder.cache_dir, f"{name}_{split}")
    n = images_per_batch(images.shape[1], FORWARD_BATCH)
    for i in range(0, len(images), n):
        if ctx.cancel.cancelled:
            raise Cancelled
        out[i:i + n] = forward(images[i:i + n])
        ctx.emit(FeaturesExtracting(offset + min(i + n, len(images)), total, split))
    return out


def _width(poolings: str, feature_dim: int) -> int:
    """The length of a feature vector pooled as ``poolings`` says (several side by side)."""
    return sum(pooling_width(p, feature_dim) for p in poolings.split("+"))


def _on_features(ctx: RunContext, offset: int, total: int, split: str, done: int, _total: int) -> None:
    ctx.emit(FeaturesExtracting(offset + done, total, split))
