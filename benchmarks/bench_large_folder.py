"""A folder of 100,000 small images: scan speed, peak memory of a frozen run, feature extraction vs the limit.

    python benchmarks/bench_large_folder.py                      # 100,000 64×64 JPEGs in 10 classes, in /tmp
    python benchmarks/bench_large_folder.py --n 5000 --dir /tmp/small

The images are generated once into ``--dir`` (kept for the next run). Each measurement runs in a fresh process
so that its peak resident memory (``ru_maxrss``) is its own:

* scan: ``core.data.scan_dataset`` on the whole folder, files per second (target ≥ 5,000/s);
* train: a frozen run (``--backbone``, ``--size``, 2 head epochs), its peak memory against 2 GB plus the
  feature cache (target), and feature extraction's images per second from ``run.json``'s timings;
* limit: the backbone's forward pass alone on synthetic uint8 batches of the same size, images per second;
  feature extraction (decode + resize + forward) should reach ≥ 0.8 of it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _write_chunk(args: tuple[str, int, int, int]) -> int:
    from PIL import Image

    root, start, stop, classes = args
    rng = np.random.default_rng(start)
    for i in range(start, stop):
        k = i % classes
        arr = rng.integers(0, 80, (64, 64, 3), dtype=np.uint8)
        arr[..., k % 3] += 120 + 10 * (k // 3)
        Image.fromarray(arr).save(Path(root) / f"class_{k:02d}" / f"img_{i:06d}.jpg", quality=85)
    return stop - start


def generate(root: Path, n: int, classes: int) -> float:
    for k in range(classes):
        (root / f"class_{k:02d}").mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    chunks = [(str(root), s, min(s + 5000, n), classes) for s in range(0, n, 5000)]
    with ProcessPoolExecutor(os.cpu_count() or 2) as pool:
        sum(pool.map(_write_chunk, chunks))
    (root / ".complete").write_text(str(n))
    return time.perf_counter() - t0


def child_scan(folder: str) -> dict:
    from foveal.core.data.scan import scan_dataset

    t0 = time.perf_counter()
    summary = scan_dataset(folder)
    seconds = time.perf_counter() - t0
    return {"files": summary.total, "scan_s": round(seconds, 1), "files_per_s": round(summary.total / seconds),
            "peak_rss_mb": _peak_mb()}


def child_train(folder: str, out: str, backbone: str, size: int, weights: str) -> dict:
    from foveal.core.training import TrainConfig, train

    config = TrainConfig(folder, backbone=backbone, weights=weights, image_size=size, epochs=2, out_dir=out,
                         batch_size=64, early_stopping_patience=0)
    result = train(config)
    run = json.loads((Path(result.run_dir) / "run.json").read_text())
    t = run["timings"]
    n = sum(len(v) for v in run["split"].values() if isinstance(v, list)) or result and 0
    return {"images": n, "extract_s": round(t["extract_features"], 1), "head_s": round(t["head"], 1),
            "total_s": round(t["total"], 1), "test_accuracy": result.test_accuracy, "peak_rss_mb": _peak_mb()}


def child_limit(backbone: str, size: int, weights: str) -> dict:
    import keras

    from foveal.core.models.build import build_backbone
    from foveal.core.models.registry import get_backbone
    from foveal.core.training.forward import forward_fn

    spec = get_backbone(backbone)
    base = build_backbone(spec, size, None if weights == "none" else weights)
    forward = forward_fn(base, spec, size)
    batch = np.random.default_rng(0).integers(0, 255, (64, size, size, 3), dtype=np.uint8)
    for _ in range(3):
        forward(batch)
    t0, steps = time.perf_counter(), 40
    for _ in range(steps):
        forward(batch)
    del keras
    return {"forward_img_per_s": round(steps * 64 / (time.perf_counter() - t0), 1)}


def _peak_mb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _run_child(*args: str) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, env=env)
    lines = [ln[7:] for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if not lines:
        raise SystemExit(f"child {args[0]} failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--dir", default=str(Path(tempfile.gettempdir()) / "foveal-bench-100k"))
    p.add_argument("--backbone", default="MobileNetV2")
    p.add_argument("--size", type=int, default=96, help="training image size (small images, small inputs)")
    p.add_argument("--weights", default="none", help="none (default: timings only) or a weights file")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        kind, rest = args.child[0], args.child[1:]
        fn = {"scan": child_scan, "train": child_train, "limit": child_limit}[kind]
        conv = [int(x) if x.isdigit() else x for x in rest]
        print("RESULT " + json.dumps(fn(*conv)), flush=True)
        return 0
    root = Path(args.dir)
    done = root / ".complete"
    if not done.exists() or int(done.read_text()) != args.n:
        print(f"generating {args.n} images in {root} …", flush=True)
        print(json.dumps({"generate_s": round(generate(root, args.n, args.classes), 1)}), flush=True)
    scan = _run_child("scan", str(root))
    print(json.dumps({"scan": scan}), flush=True)
    with tempfile.TemporaryDirectory() as out:
        train = _run_child("train", str(root), str(Path(out) / "run"), args.backbone, str(args.size), args.weights)
    cache_mb = train["images"] * 1280 * 4 / 2**20 if args.backbone == "MobileNetV2" else None
    train["feature_cache_mb"] = round(cache_mb) if cache_mb else None
    train["extract_img_per_s"] = round(train["images"] / train["extract_s"], 1)
    print(json.dumps({"train": train}), flush=True)
    limit = _run_child("limit", args.backbone, str(args.size), args.weights)
    ratio = train["extract_img_per_s"] / limit["forward_img_per_s"]
    print(json.dumps({"limit": limit, "extraction_vs_limit": round(ratio, 2),
                      "scan_target_met": scan["files_per_s"] >= 5000,
                      "memory_target_met": cache_mb is None or train["peak_rss_mb"] <= 2048 + cache_mb,
                      "extraction_target_met": ratio >= 0.8}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
