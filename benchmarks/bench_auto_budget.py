"""What the automatic recipe costs: one frozen run with the fixed dense head (``--recipe manual``) against one with
the automatic recipe, on the same folder, split and weights; each run's own timings (run.json) side by side.

    python benchmarks/bench_auto_budget.py ../shared/data/busi \
        --weights ../shared/weights/mobilenet_v2_1.0_224_imagenet_no_top.h5
    python benchmarks/bench_auto_budget.py --large 400 \
        --weights ../shared/weights/mobilenet_v2_1.0_224_imagenet_no_top.h5

``--large N`` makes a folder of N large images (500×375 JPEG, the bundled sample generator's pictures enlarged,
as ``bench_train.py`` does): their median side is at least 1.5× the input size, so the automatic recipe also
tries the larger input size there. A first untimed run warms TensorFlow up, so neither side pays for it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def one_run(data: str, out: Path, weights: str, recipe: str, seed: int) -> tuple[float, dict]:
    from foveal.core.training import TrainConfig, train

    t0 = time.monotonic()
    result = train(TrainConfig(data, weights=weights, recipe=recipe, seed=seed, out_dir=str(out)))
    seconds = time.monotonic() - t0
    run = json.loads((Path(result.run_dir) / "run.json").read_text())
    return seconds, {"timings": run["timings"], "accuracy": result.test_accuracy, "image_size": run["image_size"],
                     "winner": (run["recipe"].get("winner") or {}).get("description", "dense head (manual)")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?")
    parser.add_argument("--weights", required=True)
    parser.add_argument("--large", type=int, default=0, metavar="N", help="generate N large images instead")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory(prefix="bench-auto-") as tmp:
        data = args.data
        if args.large:
            from bench_train import generate

            data = str(Path(tmp) / "large")
            generate(Path(data), args.large)
        one_run(data, Path(tmp) / "warm", args.weights, "manual", args.seed)  # TensorFlow's first-run costs
        rows = {recipe: one_run(data, Path(tmp) / recipe, args.weights, recipe, args.seed)
                for recipe in ("manual", "auto")}
    for recipe, (seconds, info) in rows.items():
        t = info["timings"]
        parts = ", ".join(f"{k} {v:.1f}" for k, v in t.items() if k != "total")
        print(f"{recipe:<7} {seconds:6.1f} s  ({parts})  test accuracy {info['accuracy']:.3f} at "
              f"{info['image_size']} px: {info['winner']}")
    print(f"auto / manual: {rows['auto'][0] / rows['manual'][0]:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
