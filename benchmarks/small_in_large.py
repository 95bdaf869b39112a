"""A dataset where the class is decided by a small structure in a large picture, made from real images.

Each picture is a large real background (another real image, enlarged to 640×480 by default) with one small real
image (BUSI or MedNIST) pasted at a random place and labelled by the small image's class: shrinking the whole
picture to the backbone's input loses most of the detail that decides the class, as with cells in a smear, a
colony on a plate or a defect on a part. Reused by the memory and recipe benchmarks.

    python benchmarks/small_in_large.py OUT --n 350          # BUSI lesions on MedNIST backgrounds
    python benchmarks/small_in_large.py OUT --source ../shared/data/mednist_small --classes Hand,HeadCT,CXR,BreastMRI

Written under OUT only (refused inside the shared data folder); the same seed gives the same pictures.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = (ROOT.parent / "shared" / "data").resolve()
#: The small images' class folders (the label) and where the backgrounds come from, by default.
SOURCE = SHARED / "busi"
BACKGROUNDS = SHARED / "mednist_small"
SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES)


def generate(out: Path, n: int = 350, *, size: tuple[int, int] = (640, 480), small: int = 112,
             source: Path = SOURCE, backgrounds: Path = BACKGROUNDS, classes: tuple[str, ...] | None = None,
             seed: int = 0, quality: int = 90) -> dict[str, int]:
    """Write ``n`` pictures of ``size`` (width, height) into ``out/<class>/``, each a real background with one
    small real image of ``small`` px (its longer side) pasted at a random place; returns the count per class.

    The classes keep their proportions in ``source`` (an imbalanced source stays imbalanced), each image used at
    most once while there are enough."""
    from PIL import Image

    out = Path(out).resolve()
    if out == SHARED or SHARED in out.parents or source.resolve() in (out, *out.parents):
        raise ValueError(f"Refusing to write into the shared data folder: {out}. Choose a temporary folder.")
    rng = np.random.default_rng(seed)
    names = classes or tuple(sorted(p.name for p in source.iterdir() if p.is_dir()))
    pools = {c: _images(source / c) for c in names}
    total = sum(len(p) for p in pools.values())
    per_class = {c: max(2, round(n * len(pools[c]) / total)) for c in names}
    bg_pool = _images(backgrounds)
    counts: dict[str, int] = {}
    for c in names:
        (out / c).mkdir(parents=True, exist_ok=True)
        order = rng.permutation(len(pools[c]))
        for i in range(per_class[c]):
            with Image.open(pools[c][order[i % len(order)]]) as im:
                fg = im.convert("RGB")
            fg.thumbnail((small, small))
            with Image.open(bg_pool[int(rng.integers(len(bg_pool)))]) as im:
                bg = im.convert("RGB").resize(size, Image.BILINEAR)
            x = int(rng.integers(0, size[0] - fg.width + 1))
            y = int(rng.integers(0, size[1] - fg.height + 1))
            bg.paste(fg, (x, y))
            bg.save(out / c / f"{c}_{i:04d}.jpg", quality=quality)
        counts[c] = per_class[c]
    return counts


def replicate(src: Path, out: Path, n: int) -> int:
    """A large folder quickly: ``n`` files copied round-robin from the class folders of ``src`` (hard links where
    the file system allows), for measuring memory at scale; returns the number written."""
    import os
    import shutil

    classes = sorted(p for p in Path(src).iterdir() if p.is_dir())
    files = {c.name: _images(c) for c in classes}
    written = 0
    for k in range(n):
        c = classes[k % len(classes)].name
        pick = files[c][(k // len(classes)) % len(files[c])]
        dest = Path(out) / c / f"{k:06d}{pick.suffix}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(pick, dest)
        except OSError:
            shutil.copyfile(pick, dest)
        written += 1
    return written


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--n", type=int, default=350)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--small", type=int, default=112, help="the small image's longer side in px")
    p.add_argument("--source", default=str(SOURCE))
    p.add_argument("--backgrounds", default=str(BACKGROUNDS))
    p.add_argument("--classes", default=None, help="comma-separated class folders of --source (default: all)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    counts = generate(Path(a.out), a.n, size=(a.width, a.height), small=a.small, source=Path(a.source),
                      backgrounds=Path(a.backgrounds), classes=tuple(a.classes.split(",")) if a.classes else None,
                      seed=a.seed)
    print(f"{sum(counts.values())} pictures in {a.out}: " + ", ".join(f"{c} {k}" for c, k in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
