"""The backbone built, and the features it makes: one pass per image (plus augmented copies for a frozen run's
training images); a run that fine-tunes decodes each image once into a uint8 cache and takes its features from
there. The automatic recipe may extract several poolings side by side, and then make extra passes (larger sizes,
rotations and flips, tiles: core.training.passes), one at a time, to compare."""

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
from foveal.core.training.passes import Pass
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
class PassFeatures:
    """The features of one extra pass (core.training.passes), for the automatic recipe to compare: the backbone
    that made them (at the pass's size) and the pooled features per split (twice as wide for tiles: the mean over
    tiles, then the max)."""

    pass_: Pass
    backbone: Any
    features: dict[str, Arrays]


@dataclass(frozen=True)
class Features:
    """Pooled features per split (as :attr:`Built.poolings` says), and the decoded images per split of a run that
    fine-tunes (empty for a frozen run)."""

    per_split: dict[str, Arrays]
    images: dict[str, Arrays]


def extract(ctx: RunContext, plan: RunPlan, prepared: Prepared, folder: RunFolder, built: Built) -> Features:
    """Every image through the frozen backbone once. Stops the run (DatasetError) when a class lost most of a
    split to images that could not be read: before any learning."""
    t0 = ctx.clock()
    total = sum(len(prepared.split.of(s)) for s in SPLITS)
    ctx.emit(PhaseChanged(Phase.EXTRACTING, f"Extracting features: one pass of {plan.spec.name} over {total} images"))
    if plan.frozen:
        features = Features(stream(ctx, plan, prepared, folder, built, total, built.backbone, Pass(plan.size)), {})
    else:
        features = cached(ctx, plan, prepared, folder, built, total)
    if ctx.blank:
        ctx.emit(DataWarning(Phase.EXTRACTING, f"{len(ctx.blank)} image(s) are blank, every pixel the same value "
                             f"(empty, constant or not-a-number data): {listing(ctx.blank)}. They are used as they "
                             "are; check them, or move them out of the dataset."))
    stop_if_lost(prepared.split, ctx.failed)  # before any learning: a class gone from a split ends the run here
    ctx.timings["extract_features"] = ctx.clock() - t0
    return features


def _why(p: Pass, base: int) -> str:
    """Why an extra pass is made, in words said as it starts."""
    if p.tiles:
        return (f"Extracting features of overlapping tiles of {p.size} px at full resolution: small structures stay "
                f"sharp where the whole image shrunk to {base} px loses them")
    if p.orientations == 8:
        return ("Extracting features averaged over each image's rotations and flips: for pictures with no up "
                "(cells, tissue, colonies) the answer then does not depend on how an image lies")
    return (f"Extracting features at {p.size} px too: the images are large, and small structures may show better "
            f"than at {base} px")


def extra_pass(ctx: RunContext, plan: RunPlan, prepared: Prepared, folder: RunFolder, built: Built,
               p: Pass) -> PassFeatures:
    """One extra pass over every image for the automatic recipe to compare (core.training.passes)."""
    t0 = ctx.clock()
    ctx.emit(PhaseChanged(Phase.EXTRACTING, _why(p, plan.size)))
    backbone = built.backbone
    if p.size != plan.size:
        backbone = build_backbone(plan.spec, p.size, ctx.config.weights_source)
        backbone.trainable = False
    total = sum(len(prepared.split.of(s)) for s in SPLITS)
    failed, blank = len(ctx.failed), len(ctx.blank)
    features = stream(ctx, plan, prepared, folder, built, total, backbone, p)
    del ctx.failed[failed:], ctx.blank[blank:]  # the same files again: said once
    key = f"extract{p.suffix(plan.size)}"
    ctx.timings[key] = ctx.timings.get(key, 0.0) + ctx.clock() - t0
    return PassFeatures(p, backbone, features)


def _pass_forward(forward: Callable[[np.ndarray], np.ndarray] | None, p: Pass):
    """``forward`` (a batch at the pass's input size → pooled features) made into the pass's own: over each
    image's 8 versions, averaged, or over its tiles, their mean and max side by side."""
    if forward is None or (p.orientations == 1 and not p.tiles):
        return forward
    if p.tiles:
        from foveal.core.models.tiles import tile_features

        return lambda batch: tile_features(forward, batch, p.size)
    from foveal.core.models.orientation import mean_of_versions, stack_versions

    return lambda batch: mean_of_versions(forward(stack_versions(batch)))


def stream(ctx: RunContext, plan: RunPlan, prepared: Prepared, folder: RunFolder, built: Built, total: int,
           backbone: Any, p: Pass) -> dict[str, Arrays]:
    """A frozen run (and every extra pass): each split decoded and passed through ``backbone`` as pass ``p`` says
    in one go (and, for the training images, ``augment_copies`` augmented passes)."""
    c, spec = ctx.config, plan.spec
    forward = _pass_forward(forward_fn(backbone, spec, p.size, pooling=built.poolings), p)
    aug_forward = _pass_forward(forward_fn(backbone, spec, p.size, built.augmenter, pooling=built.poolings)
                                if built.augmenter else None, p)
    width = _width(built.poolings, spec.feature_dim) * (2 if p.tiles else 1)
    per_image = p.orientations * ((2 * p.tiles - 1) ** 2 if p.tiles else 1)
    batch = max(1, images_per_batch(p.decode_size, max(c.batch_size, DECODE_BATCH)) // per_image)
    out, offset = {}, 0
    for split in SPLITS:
        records = prepared.split.of(split)
        # augmented copies are features of a frozen run only (fine-tuning augments as it learns)
        copies = c.augment_copies if (split == "train" and c.augment and plan.frozen) else 0
        fs = extract_features(
            forward, records, prepared.class_index, size=p.decode_size, batch_size=batch, feature_dim=width,
            copies=copies, augmented_forward=aug_forward,
            on_progress=functools.partial(_on_features, ctx, offset, total, split),
            cancel=ctx.cancel, spill_dir=folder.cache_dir, name=f"features{p.suffix(plan.size)}_{split}")
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
