"""What finding copies of an image compares, kept between runs in the user's cache folder (never in the dataset).

Each image gets a :class:`Signature`: ImageHash's 64-bit perceptual hash (a DCT hash of the decoded picture) and
an 8×8 grey thumbnail. The hash finds candidates quickly; the thumbnail confirms that two candidates are the
same picture and not merely alike (neighbouring slices of a scan often share a hash, see
:mod:`core.split.copysets`).

A file's signature is reused while its size and modification time are unchanged, so finding copies in a folder
seen before costs a directory listing rather than decoding every image again. The cache is a plain JSON file per
dataset folder; a damaged or unwritable cache only means the signatures are computed again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from foveal.core.data.scan import ImageRecord
from foveal.core.errors import ImageDecodeError, WriteError

log = logging.getLogger(__name__)

#: Bump when the signature changes, so old caches are not trusted (2: the thumbnail joined the hash).
CACHE_VERSION = 2

#: Side of the grey thumbnail kept beside the hash (64 grey levels: 128 characters in the cache per image).
THUMB_SIDE = 8


@dataclass(frozen=True)
class Signature:
    """What is compared to tell whether two images are the same picture."""

    #: ImageHash's 64-bit perceptual hash.
    phash: int
    #: ``THUMB_SIDE × THUMB_SIDE`` grey levels (0–255), row by row.
    thumb: bytes

    def to_text(self) -> str:
        """The signature as 16 + 128 hexadecimal digits (how the cache keeps it)."""
        return f"{self.phash:016x}{self.thumb.hex()}"

    @classmethod
    def from_text(cls, text: object) -> Signature | None:
        """The signature :meth:`to_text` wrote; None for anything else (a damaged cache entry)."""
        n = 16 + 2 * THUMB_SIDE * THUMB_SIDE
        if not isinstance(text, str) or len(text) != n:
            return None
        try:
            return cls(int(text[:16], 16), bytes.fromhex(text[16:]))
        except ValueError:
            return None


def image_signature(path: str) -> Signature | None:
    """The signature of an image file (decoded by Foveal's decoder), or None if it cannot be read."""
    import imagehash
    from PIL import Image

    from foveal.core.data.decode import decode_image

    try:
        pixels = decode_image(path, size=128)
    except ImageDecodeError:
        return None
    picture = Image.fromarray(pixels)
    bits = imagehash.phash(picture).hash.flatten()
    thumb = picture.convert("L").resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BOX).tobytes()
    return Signature(int("".join("1" if b else "0" for b in bits), 2), thumb)


def cache_file(root: str | os.PathLike[str]) -> Path:
    """Where the signatures of the dataset folder ``root`` are kept (one file per folder, in the user cache)."""
    from platformdirs import user_cache_path

    key = hashlib.sha1(os.path.realpath(root).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return user_cache_path("foveal") / "image-hashes" / f"{key}.json"


def image_signatures(records: Sequence[ImageRecord], root: str | os.PathLike[str] | None = None, *,
                     on_progress: Callable[[int, int], None] | None = None) -> list[Signature | None]:
    """The signature of each record (None: unreadable), from the cache where the file is unchanged."""
    cached = _read(root) if root is not None else {}
    out: list[Signature | None] = [None] * len(records)
    todo: list[int] = []
    for i, r in enumerate(records):
        hit = cached.get(r.rel)
        if isinstance(hit, list) and len(hit) == 3 and hit[0] == r.size_bytes and hit[1] == r.mtime:
            out[i] = Signature.from_text(hit[2])
            if out[i] is not None or hit[2] is None:
                continue
        todo.append(i)
    if todo:
        with ThreadPoolExecutor(max(2, os.cpu_count() or 2), thread_name_prefix="foveal-phash") as pool:
            for done, (i, s) in enumerate(pool.map(lambda i: (i, image_signature(records[i].path)), todo), 1):
                out[i] = s
                if on_progress is not None and (done % 64 == 0 or done == len(todo)):
                    on_progress(done, len(todo))
        if root is not None:
            _write(root, {r.rel: [r.size_bytes, r.mtime, None if s is None else s.to_text()]
                          for r, s in zip(records, out, strict=True)})
    return out


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
