"""``compare_backbones``: which backbone suits these images.

For each candidate (a backbone at an input size) the frozen features of the training and validation images are
extracted once and scored by nested cross-validation with the automatic head (core.compare.score); the test
split is never used, so it stays an honest check of the model trained afterwards. Candidates without pretrained
weights are listed as skipped with the reason, never trained from random features.
"""

from __future__ import annotations

import functools
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from foveal.core.cancel import Cancelled, CancelToken
from foveal.core.compare.candidates import Candidate, default_candidates
from foveal.core.compare.result import Comparison, Row
from foveal.core.compare.score import score_features
from foveal.core.data.scan import scan_dataset
from foveal.core.errors import ConfigError, DatasetError, WeightsError
from foveal.core.io import make_dirs, temp_dir, write_json
from foveal.core.models.build import build_backbone, imagenet_weights_status, pooling_width
from foveal.core.models.registry import Weights
from foveal.core.paths import is_inside, protect, user_data_dir
from foveal.core.split.make import fold_indices
from foveal.core.split.plan import SplitSpec, prepare_split, split_groups
from foveal.core.training.auto_head import candidate_poolings, pooling_columns
from foveal.core.training.config import TrainConfig
from foveal.core.training.features import DECODE_BATCH, extract_features
from foveal.core.training.forward import forward_fn
from foveal.core.training.prepare import larger_size
from foveal.core.training.recipe import folds_possible, ranking_for


@dataclass(frozen=True)
class CompareStarted:
    candidates: tuple[str, ...]
    n_images: int
    folds: int


@dataclass(frozen=True)
class CandidateProgress:
    """Candidate ``index`` of ``total``: ``stage`` "features" (images done of ``of``) or "scoring" (folds)."""

    index: int
    total: int
    label: str
    stage: str
    done: int
    of: int


@dataclass(frozen=True)
class CandidateDone:
    index: int
    total: int
    row: Row


@dataclass(frozen=True)
class CompareFinished:
    comparison: Comparison


EventFn = Callable[[object], None]


def default_compare_path(data_dir: str) -> Path:
    """``<user data>/comparisons/YYYYmmdd-HHMMSS-<dataset name>.json``."""
    name = Path(os.path.abspath(data_dir)).name or "dataset"
    return user_data_dir() / "comparisons" / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}.json"


def compare_backbones(data_dir: str, candidates: list[Candidate] | None = None, weights: str = "imagenet", *,
                      split: SplitSpec | None = None, seed: int = 1, out: str | None = None,
                      on_event: EventFn | None = None, cancel: CancelToken | None = None,
                      clock: Callable[[], float] = time.monotonic) -> Comparison:
    """Score each candidate on ``data_dir``'s training and validation images; save and return the ranking.

    Raises
    ------
    ConfigError
        For ``weights="none"`` (random features say nothing about a backbone) or an output inside the dataset.
    DatasetError
        When the folder cannot be read or has too few images per class for cross-validation.
    """
    emit = on_event or (lambda e: None)
    cancel = cancel or CancelToken()
    source = Weights.parse(weights)
    if source == Weights.NONE:
        raise ConfigError("Comparing backbones needs pretrained weights: without them every backbone only passes "
                          "random features to the head. Use ImageNet weights or a weights file (--weights PATH).")
    protect(data_dir)
    target = Path(out) if out else default_compare_path(data_dir)
    if is_inside(target, data_dir):
        raise ConfigError(f"The comparison file {target} is inside the dataset folder {data_dir}; Foveal never "
                          "writes there. Choose a place outside the dataset.")
    t0 = clock()
    spec = split or TrainConfig(data_dir, seed=seed).split_spec
    summary = scan_dataset(data_dir)
    summary.require_trainable()
    the_split, info = prepare_split(summary, spec)
    records = sorted([*the_split.train, *the_split.val], key=lambda r: r.rel)
    classes = tuple(summary.classes)
    class_index = {c: i for i, c in enumerate(classes)}
    y = np.array([class_index[r.label] for r in records])
    k = folds_possible(y)
    if k < 2:
        raise DatasetError("Too few images per class to compare backbones by cross-validation: every class needs "
                           "at least 2 training and validation images. Add images, or train one backbone.")
    groups = split_groups(summary, spec)
    folds = fold_indices(records, classes, k, seed, groups)
    candidates = candidates or default_candidates()
    counts = np.bincount(y, minlength=len(classes))
    majority, majority_class = float(counts.max() / len(y)), classes[int(counts.argmax())]
    emit(CompareStarted(tuple(c.label for c in candidates), len(records), k))
    rows: list[Row] = []
    outcome = "completed"
    scratch = temp_dir("foveal-compare-")
    try:
        for i, cand in enumerate(candidates, 1):
            progress = functools.partial(CandidateProgress, i, len(candidates), cand.label)
            row = _one(cand, source, records, class_index, folds, seed, progress, emit, cancel, clock, scratch)
            rows.append(replace(row, larger_size=larger_size(summary, row.size)) if row.scored else row)
            emit(CandidateDone(i, len(candidates), row))
    except Cancelled:
        outcome = "cancelled"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    split_info = {k: v for k, v in info.items() if k in ("group_by", "group_pattern", "n_groups", "split_file")}
    result = Comparison(str(data_dir), str(weights), len(records), k, majority, majority_class, tuple(rows),
                        outcome, clock() - t0, str(target), {**split_info, "seed": seed}, ranking_for(y))
    make_dirs(target.parent)
    write_json(target, result.to_dict())
    emit(CompareFinished(result))
    return result


def _one(cand: Candidate, source, records, class_index, folds, seed, progress, emit, cancel, clock,
         scratch: Path) -> Row:
    """One candidate's row: its features extracted once, then scored (or skipped, saying why)."""
    t0 = clock()
    spec, size = cand.spec, cand.size
    if source == Weights.IMAGENET:
        name, _, cached = imagenet_weights_status(spec, size)
        if not cached:
            return Row(spec.name, size, "skipped", f"its ImageNet weights are not on this computer (Keras's cache "
                       f"has no {name or 'file for it'}); train once with it while online, or give a weights file")
    try:
        backbone = build_backbone(spec, size, str(source))
    except WeightsError:
        return Row(spec.name, size, "skipped", f"the weights file {os.path.basename(str(source))} is not for "
                   f"{spec.name}")
    poolings = candidate_poolings(backbone)
    columns = pooling_columns(poolings, spec.feature_dim)
    width = sum(pooling_width(p, spec.feature_dim) for p in poolings.split("+"))
    first: list[tuple[int, float]] = []

    def on_progress(done: int, total: int) -> None:
        if not first:
            first.append((done, clock()))  # the first batch also traces the graph: not part of the speed
        emit(progress("features", done, total))

    forward = forward_fn(backbone, spec, size, pooling=poolings)
    fs = extract_features(forward, records, class_index, size=size, batch_size=DECODE_BATCH, feature_dim=width,
                          on_progress=on_progress, cancel=cancel, spill_dir=scratch, name=cand.key)
    t_end = clock()
    n_first, t_first = first[0] if first else (0, t0)
    steady = len(records) - n_first
    ms = 1000 * ((t_end - t_first) / steady if steady > 0 else (t_end - t0) / max(len(records), 1))
    kept = {r.rel: j for j, r in enumerate(fs.records)}
    rel = [r.rel for r in records]
    kept_folds = [(np.array([kept[rel[i]] for i in fit if rel[i] in kept], np.int64),
                   np.array([kept[rel[i]] for i in held if rel[i] in kept], np.int64)) for fit, held in folds]
    x = {name: np.ascontiguousarray(fs.features[:, cols]) for name, cols in columns.items()}
    n_classes = len(class_index)
    scores = score_features(x, fs.labels, kept_folds, n_classes, seed=seed, cancel=cancel,
                            on_progress=lambda done, of: emit(progress("scoring", done, of)))
    size_mb = (backbone.count_params() + (pooling_width(scores.pooling, spec.feature_dim) + 1) * n_classes) * 4 / 1e6
    note = f"; {len(fs.failed)} image(s) could not be read" if fs.failed else ""
    return Row(spec.name, size, "scored", note.lstrip("; "), scores.accuracy, scores.accuracy_interval,
               scores.balanced_accuracy, scores.balanced_interval, scores.fold_accuracies, ms, size_mb,
               scores.recipe, clock() - t0)
