"""How well Foveal's suspected mislabels find images put in a wrong class folder on purpose.

    python benchmarks/bench_mislabels.py ../shared/data/busi --weights FILE

Copies the dataset to a temporary folder with every 20th image of each class (5%) moved into the next class's
folder, trains Foveal there (frozen MobileNetV2, the automatic recipe), and compares the run's
``suspected_mislabels.csv`` with the moves: precision and recall, and how many of the suspects were moved.
Targets: precision ≥ 0.5, recall ≥ 0.6.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    from foveal.core.data.scan import scan_dataset
    from foveal.core.training import TrainConfig, train
    from foveal.core.training.mislabels import read_suspects

    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--weights", required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    summary = scan_dataset(args.data)
    classes = list(summary.classes)
    tmp = Path(tempfile.mkdtemp(prefix="foveal-bench-mislabels-"))
    try:
        data, moved = tmp / "data", {}
        for c in classes:
            (data / c).mkdir(parents=True)
        for c_index, c in enumerate(classes):
            records = sorted((r for r in summary.images if r.label == c), key=lambda r: r.rel)
            for k, r in enumerate(records):
                wrong = classes[(c_index + 1) % len(classes)] if k % 20 == 7 else c
                name = Path(r.rel).name
                shutil.copy(r.path, data / wrong / name)
                if wrong != c:
                    moved[f"{wrong}/{name}"] = c
        t0 = time.monotonic()
        result = train(TrainConfig(str(data), weights=args.weights, seed=args.seed, out_dir=str(tmp / "run")))
        seconds = time.monotonic() - t0
        suspects = read_suspects(result.run_dir) or []
        found = {s.file for s in suspects}
        hits = found & set(moved)
        right_class = sum(1 for s in suspects if s.file in moved and s.suggested == moved[s.file])
        print(f"{args.data}: {summary.total} images, {len(moved)} moved to a wrong class folder; run {seconds:.0f} s, "
              f"test accuracy {result.test_accuracy:.3f}")
        print(f"suspects {len(found)}; of them moved {len(hits)} (suggested class right for {right_class}); "
              f"precision {len(hits) / max(len(found), 1):.2f}, recall {len(hits) / len(moved):.2f}")
        top = suspects[: len(moved)]
        print(f"precision among the top {len(moved)} suspects: {sum(s.file in moved for s in top) / len(top):.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
