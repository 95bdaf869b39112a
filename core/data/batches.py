"""Decoding images in order, in parallel batches: a thread pool (Pillow releases the GIL) decodes the next batch
while the caller works on this one. Used by feature extraction, evaluation and prediction."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from foveal.core.data.decode import decode_image
from foveal.core.errors import ImageDecodeError


class ImageSource(Protocol):
    """What decoding needs of an image: its path, and how to name it to the user (an ImageRecord, an ImageFile)."""

    @property
    def path(self) -> str: ...

    @property
    def rel(self) -> str: ...


@dataclass
class Decoded:
    """A batch of decoded images and which of the requested records they are."""

    images: np.ndarray  # (B, S, S, 3) uint8
    indices: list[int]  # positions in the requested record list
    failed: list[tuple[str, str]]  # (relative path, reason)
    #: Images that decoded to one flat value (blank, constant or all-NaN): used as they are, but worth a look.
    blank: list[str] = field(default_factory=list)



def iter_decoded(records: Sequence[ImageSource], size: int, batch_size: int,
                 workers: int | None = None,
                 decoder: Callable[[str, int], np.ndarray] | None = None) -> Iterator[Decoded]:
    """Yield decoded batches in order, decoding the next batch while the caller works on this one.

    ``decoder(path, size)`` makes one image (default: Foveal's decoder resizing to ``size`` square, uint8).
    """
    workers = workers or max(2, os.cpu_count() or 2)
    decode = decoder or (lambda path, side: decode_image(path, size=(side, side)))

    def one(i: int):
        try:
            return i, decode(records[i].path, size), None
        except ImageDecodeError as exc:
            return i, None, (records[i].rel, exc.reason)

    starts = list(range(0, len(records), batch_size))
    with ThreadPoolExecutor(workers, thread_name_prefix="foveal-decode") as pool:
        pending: list[list[Future]] = []
        for k in range(min(2, len(starts))):
            pending.append([pool.submit(one, i) for i in range(starts[k], min(starts[k] + batch_size, len(records)))])
        for k in range(len(starts)):
            futures = pending.pop(0)
            if k + 2 < len(starts):
                s = starts[k + 2]
                pending.append([pool.submit(one, i) for i in range(s, min(s + batch_size, len(records)))])
            results = [f.result() for f in futures]
            ok = [(i, img) for i, img, err in results if err is None]
            failed = [err for _, _, err in results if err is not None]
            images = np.stack([img for _, img in ok]) if ok else np.zeros((0, size, size, 3), np.float32)
            blank = [records[i].rel for i, img in ok if img.min() == img.max()]
            yield Decoded(images, [i for i, _ in ok], failed, blank)
