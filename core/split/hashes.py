"""Perceptual hashes of a dataset's images, kept between runs in the user's cache folder (never in the dataset).

A file's hash is reused while its size and modification time are unchanged, so finding near-duplicates in a
folder seen before costs a directory listing rather than decoding every image again. The cache is a plain
JSON file per dataset folder; a damaged or unwritable cache only means the hashes are computed again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from foveal.core.data.scan import ImageRecord
from foveal.core.errors import ImageDecodeError, WriteError

log = logging.getLogger(__name__)

#: Bump when the hash itself changes, so old caches are not trusted.
CACHE_VERSION = 1


def perceptual_hash(path: str) -> int | None:
    """The 64-bit perceptual hash of an image file (decoded by Foveal's decoder), or None if unreadable."""
    import imagehash
    from PIL import Image

    from foveal.core.data.decode import decode_image

    try:
        pixels = decode_image(path, size=128)
    except ImageDecodeError:
        return None
    bits = imagehash.phash(Image.fromarray(pixels)).hash.flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def cache_file(root: str | os.PathLike[str]) -> Path:
    """Where the hashes of the dataset folder ``root`` are kept (one file per folder, in the user cache)."""
    from platformdirs import user_cache_path

    key = hashlib.sha1(os.path.realpath(root).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return user_cache_path("foveal") / "image-hashes" / f"{key}.json"


def image_hashes(records: Sequence[ImageRecord], root: str | os.PathLike[str] | None = None, *,
                 on_progress: Callable[[int, int], None] | None = None) -> list[int | None]:
    """The perceptual hash of each record (None: unreadable), from the cache where the file is unchanged."""
    cached = _read(root) if root is not None else {}
    hashes: list[int | None] = [None] * len(records)
    todo: list[int] = []
    for i, r in enumerate(records):
        hit = cached.get(r.rel)
        if hit is not None and hit[0] == r.size_bytes and hit[1] == r.mtime:
            hashes[i] = None if hit[2] is None else int(hit[2], 16)
        else:
            todo.append(i)
    if todo:
        with ThreadPoolExecutor(max(2, os.cpu_count() or 2), thread_name_prefix="foveal-phash") as pool:
            for done, (i, h) in enumerate(pool.map(lambda i: (i, perceptual_hash(records[i].path)), todo), 1):
                hashes[i] = h
                if on_progress is not None and (done % 64 == 0 or done == len(todo)):
                    on_progress(done, len(todo))
        if root is not None:
            _write(root, {r.rel: [r.size_bytes, r.mtime, None if h is None else f"{h:016x}"]
                          for r, h in zip(records, hashes, strict=True)})
    return hashes


def _read(root) -> dict[str, list]:
    try:
        data = json.loads(cache_file(root).read_text(encoding="utf-8"))
        if data.get("version") != CACHE_VERSION or data.get("root") != os.path.realpath(root):
            return {}
        files = data["files"]
        return files if isinstance(files, dict) else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}  # no cache yet, or a damaged one: hash again


def _write(root, files: dict[str, list]) -> None:
    from foveal.core.io import make_dirs, write_json

    target = cache_file(root)
    try:
        make_dirs(target.parent)
        write_json(target, {"version": CACHE_VERSION, "root": os.path.realpath(root), "files": files})
    except (WriteError, OSError) as exc:  # a read-only or full cache costs time next run, nothing else
        log.info("image hash cache not written: %s", exc)
