"""Decoding images once, in parallel, and passing them once through the frozen backbone.

Decoding runs in a thread pool (Pillow releases the GIL) a batch ahead of the forward pass, so the CPU cores
stay busy with both. Large results spill to memory-mapped files in the run's cache folder instead of RAM.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from foveal.core.cancel import Cancelled, CancelToken
from foveal.core.data.batches import iter_decoded
from foveal.core.data.scan import ImageRecord
from foveal.core.io import check_target, make_dirs, os_errors

log = logging.getLogger(__name__)

#: Images decoded per batch for feature extraction and caching (at least; the run's batch size when larger).
DECODE_BATCH = 16
#: Cached images (or activations) per forward pass of the frozen part.
FORWARD_BATCH = 32
#: Pixels per forward batch at most: those of FORWARD_BATCH images at 224 px. A larger input goes in fewer images
#: per batch, so the backbone's activations (and the pooling allocator's high-water mark) stay the same: at 336 px,
#: batches of 32 took a 5-fold run on 640×480 pictures from 1.3 to 2.0 GB.
PIXEL_BUDGET = FORWARD_BATCH * 224 * 224
#: Arrays larger than this go to a memory-mapped file in the cache folder instead of RAM.
SPILL_BYTES = 1 << 30


def feature_dtype(shape: tuple[int, ...]) -> type:
    """float32, or float16 for features that spill to disk (larger than :data:`SPILL_BYTES` in float32): half the
    file and half the pages a pass over it touches; ReLU features of a few units keep 3 significant digits, far
    below what separates classes. A head's logits on them (float32 weights) come out in float32."""
    return np.float16 if int(np.prod(shape)) * 4 > SPILL_BYTES else np.float32


def images_per_batch(size: int, batch: int) -> int:
    """``batch``, or fewer images when ``size`` px images would hold more than :data:`PIXEL_BUDGET` pixels."""
    return max(1, min(batch, PIXEL_BUDGET // (size * size)))


def allocate(shape: tuple[int, ...], dtype, spill_dir: Path | None, name: str) -> np.ndarray:
    """A zeroed array, memory-mapped under ``spill_dir`` when it is larger than :data:`SPILL_BYTES`."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if spill_dir is None or nbytes <= SPILL_BYTES:
        return np.zeros(shape, dtype)
    make_dirs(spill_dir)
    target = check_target(spill_dir / f"{name}.npy")
    with os_errors(target, needed_bytes=nbytes):
        _reserve(target, nbytes)
        return np.lib.format.open_memmap(target, mode="w+", dtype=dtype, shape=shape)


def _reserve(path: Path, nbytes: int) -> None:
    """Claim the disk space first: a memory-mapped file on a full disk fails on first touch (SIGBUS), not here."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(fd, 0, nbytes + 4096)
    finally:
        os.close(fd)


@dataclass
class FeatureSet:
    """Pooled backbone features of one split, with labels and the records they came from."""

    features: np.ndarray
    labels: np.ndarray
    records: list[ImageRecord]
    failed: list[tuple[str, str]]
    blank: list[str] = field(default_factory=list)


ProgressFn = Callable[[int, int], None]


def extract_features(
    forward: Callable[[np.ndarray], np.ndarray],
    records: Sequence[ImageRecord],
    class_index: dict[str, int],
    *,
    size: int,
    batch_size: int,
    feature_dim: int,
    copies: int = 0,
    augmented_forward: Callable[[np.ndarray], np.ndarray] | None = None,
    on_progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    spill_dir: Path | None = None,
    name: str = "features",
) -> FeatureSet:
    """One decode and one forward pass per image (plus ``copies`` augmented passes for training).

    Raises :class:`Cancelled` (within one batch) when ``cancel`` is set.
    """
    rows = len(records) * (1 + copies)
    out = allocate((rows, feature_dim), feature_dtype((rows, feature_dim)), spill_dir, name)
    labels = np.zeros(rows, np.int64)
    kept: list[int] = []
    failed: list[tuple[str, str]] = []
    blank: list[str] = []
    done = 0
    for batch in iter_decoded(records, size, batch_size):
        if cancel is not None and cancel.cancelled:
            raise Cancelled
        failed += batch.failed
        blank += batch.blank
        n = len(batch.indices)
        if n:
            passes = [forward] + ([augmented_forward] * copies if augmented_forward is not None else [])
            for c, fn in enumerate(passes):
                start = c * len(records) + len(kept)
                out[start:start + n] = fn(batch.images)
                labels[start:start + n] = [class_index[records[i].label] for i in batch.indices]
            kept += batch.indices
        done += n + len(batch.failed)
        if on_progress is not None:
            on_progress(done, len(records))
    for rel, reason in failed:
        log.warning("Skipped during feature extraction: %s: %s", rel, reason)
    if len(kept) < len(records):  # compact away rows of images that failed to decode
        keep_rows = np.concatenate([c * len(records) + np.arange(len(kept)) for c in range(1 + copies)])
        out, labels = out[keep_rows], labels[keep_rows]
    return FeatureSet(out, labels, [records[i] for i in kept], failed, blank)


def decode_all(records: Sequence[ImageRecord], class_index: dict[str, int], *, size: int, batch_size: int,
               on_progress: ProgressFn | None = None, cancel: CancelToken | None = None,
               spill_dir: Path | None = None, name: str = "images"):
    """Decode a split once into a uint8 array (memory-mapped when large), for fine-tuning and evaluation.

    Returns ``(images, labels, records kept, failed, blank)``."""
    images = allocate((len(records), size, size, 3), np.uint8, spill_dir, name)
    kept: list[int] = []
    failed: list[tuple[str, str]] = []
    blank: list[str] = []
    for batch in iter_decoded(records, size, batch_size):
        if cancel is not None and cancel.cancelled:
            raise Cancelled
        images[len(kept):len(kept) + len(batch.indices)] = batch.images
        kept += batch.indices
        failed += batch.failed
        blank += batch.blank
        if on_progress is not None:
            on_progress(len(kept) + len(failed), len(records))
    labels = np.array([class_index[records[i].label] for i in kept], np.int64)
    return images[: len(kept)], labels, [records[i] for i in kept], failed, blank
