"""Scan speed: header pass over a generated folder of small image files.

    python benchmarks/bench_scan.py [--files 20000] [--keep DIR]

Generates N small PNG/JPEG files in 4 class folders (in a temporary folder unless --keep names one), then times
``scan_dataset`` twice: cold-ish (right after writing, from the page cache) and warm. Target: ≥ 5,000 files/s on
2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from foveal.core.data import scan_dataset


def generate(root: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    templates = [rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for _ in range(16)]
    for i in range(n):
        folder = root / f"class_{i % 4}"
        folder.mkdir(exist_ok=True)
        im = Image.fromarray(templates[i % 16] ^ np.uint8(i % 251))
        im.save(folder / (f"img_{i:06d}.png" if i % 2 else f"img_{i:06d}.jpg"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        if not any(root.iterdir()):
            t0 = time.perf_counter()
            generate(root, args.files)
            print(f"generated {args.files} files in {time.perf_counter() - t0:.1f} s")
        for label in ("first scan", "second scan"):
            t0 = time.perf_counter()
            summary = scan_dataset(root)
            dt = time.perf_counter() - t0
            print(f"{label}: {summary.total} images, {len(summary.skipped)} skipped, {dt:.2f} s, "
                  f"{summary.total / dt:,.0f} files/s (target ≥ 5,000)")


if __name__ == "__main__":
    main()
