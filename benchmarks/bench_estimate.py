"""The time estimate against the run: one real run on a folder, its estimate (said before any image is read, with
the default speed: nothing remembered) beside run.json's timings, part by part, and the speed the run measured
(seconds per image of its own pass: what ``core.training.estimate.MOBILENET_V2_SECONDS`` is set from).

    python benchmarks/bench_estimate.py ../shared/data/busi \
        --weights ../shared/weights/mobilenet_v2_1.0_224_imagenet_no_top.h5 [--search quick|auto|full]

Measured on a 2-core CPU (shared), MobileNetV2 at 224 px, ``--search quick``, 1 epoch: 780 BUSI images, 0.032 s
per image, 143 s in all (estimate about 2.5 min); 120 of them, 0.047 s per image, 49 s in all.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--weights", required=True)
    parser.add_argument("--search", default="quick", choices=["quick", "auto", "full"])
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="foveal-bench-estimate-"))
    os.environ["XDG_DATA_HOME"] = str(work / "data")  # no speed remembered: the default is what is measured
    from foveal.core.training import TrainConfig, train
    from foveal.core.training.events import RunEstimated

    said: list[RunEstimated] = []
    config = TrainConfig(args.folder, weights=args.weights, epochs=args.epochs, search=args.search,
                         out_dir=str(work / "run"))
    train(config, on_event=lambda e: said.append(e) if isinstance(e, RunEstimated) else None)
    run = json.loads((work / "run" / "run.json").read_text())
    n = sum(len(run["split"][s]) for s in ("train", "val", "test"))
    timings = run["timings"]
    estimate = said[0]
    print(f"{n} images; speed measured: {timings['extract_features'] / n:.4f} s per image of its own pass")
    print(f"{'part':<48}{'estimated s':>12}")
    for words, seconds in estimate.parts:
        print(f"{words:<48}{seconds:>12.1f}")
    print(f"{'total':<48}{estimate.seconds:>12.1f}")
    print(f"\n{'step (run.json timings)':<48}{'measured s':>12}")
    for key, seconds in timings.items():
        print(f"{key:<48}{seconds:>12.1f}")
    print(f"\nsaid: {estimate.words}")


if __name__ == "__main__":
    main()
