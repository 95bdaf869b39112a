"""How long finding copies of images takes, the first time and with the per-file hash cache.

    python benchmarks/bench_duplicates.py [FOLDER ...]

For each dataset folder (default: the shared BUSI and MedNIST sets): the scan, then the near-duplicate search
(perceptual hash of every image, then grouping) with an empty user cache, then again with the cache filled, as
every later split preview and run sees it. Prints images, sets of copies found, and the seconds of each.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"


def main() -> None:
    folders = [Path(a) for a in sys.argv[1:]] or [SHARED / "busi", SHARED / "mednist_small"]
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="foveal-bench-cache-")  # an empty cache to begin
    from foveal.core.data.scan import scan_dataset
    from foveal.core.split.plan import known_duplicates

    print(f"{'dataset':<16}{'images':>8}{'copies':>8}{'scan s':>9}{'first s':>9}{'cached s':>10}")
    for folder in folders:
        t0 = time.perf_counter()
        summary = scan_dataset(folder)
        t1 = time.perf_counter()
        first = known_duplicates(summary)
        t2 = time.perf_counter()
        again = known_duplicates(scan_dataset(folder))
        t3 = time.perf_counter()  # the second scan counted in, as a later run sees it
        assert again == first
        print(f"{folder.name:<16}{summary.total:>8}{len(first):>8}{t1 - t0:>9.1f}{t2 - t1:>9.1f}{t3 - t2:>10.1f}")


if __name__ == "__main__":
    main()
