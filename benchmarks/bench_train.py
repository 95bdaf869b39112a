"""Frozen-backbone training: Foveal's fast path against the tutorial script, and against the limit.

    python benchmarks/bench_train.py --backbone MobileNetV2 \
        --weights ../shared/weights/mobilenet_v2_1.0_224_imagenet_no_top.h5
    python benchmarks/bench_train.py --backbone ResNet50 --weights none

On one generated folder (--images, 3 classes, 500×375 JPEG) and one backbone, head and epoch count, it times
(a) the script most tutorials give: ``image_dataset_from_directory`` + a frozen base inside a ``Model`` +
``model.fit(epochs=E)``, and (b) ``core.training.train`` with the same backbone, head and E; then it measures the
limit, one decode plus one forward pass per image, from synthetic throughput on this machine. It prints the
times, the ratio, and both validation accuracies (random weights make accuracy meaningless; timings still hold).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def generate(root: Path, n: int) -> None:
    """n JPEGs of 500×375 in 3 classes, drawn by the bundled sample generator and enlarged."""
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "resources" / "make_samples.py")
    samples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(samples)
    rng = np.random.default_rng(0)
    for i in range(n):
        kind = samples.CLASSES[i % 3]
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        img = samples.make_image(kind, rng).resize((500, 375), Image.Resampling.BILINEAR)
        img.save(folder / f"{kind}_{i:05d}.jpg", quality=90)


def naive(data: Path, backbone: str, weights, epochs: int, size: int) -> tuple[float, float]:
    """The tutorial script, as written in most guides."""
    import keras

    module = {"MobileNetV2": "mobilenet_v2", "ResNet50": "resnet50", "VGG16": "vgg16"}[backbone]
    preprocess = getattr(keras.applications, module).preprocess_input
    t0 = time.perf_counter()
    train_ds, val_ds = keras.utils.image_dataset_from_directory(
        data, validation_split=0.2, subset="both", seed=1, image_size=(size, size), batch_size=32)
    base = getattr(keras.applications, backbone)(include_top=False, weights=weights, input_shape=(size, size, 3))
    base.trainable = False
    inputs = keras.Input((size, size, 3))
    x = base(preprocess(inputs), training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, verbose=0)
    return time.perf_counter() - t0, float(history.history["val_accuracy"][-1])


def foveal(data: Path, backbone: str, weights, epochs: int, out: Path) -> tuple[float, float, dict]:
    from foveal.core.training import TrainConfig, train

    t0 = time.perf_counter()
    result = train(TrainConfig(str(data), backbone=backbone, weights=weights or "none", epochs=epochs,
                               val_fraction=0.2, test_fraction=0.0, early_stopping_patience=0, out_dir=str(out)))
    seconds = time.perf_counter() - t0
    import json

    run = json.loads((out / "run.json").read_text())
    return seconds, result.history[-1]["val_accuracy"], run["timings"]


def limit(data: Path, backbone: str, size: int) -> tuple[float, float, float]:
    """One parallel decode of every image, plus one forward pass per image at the synthetic throughput."""
    import keras
    import tensorflow as tf

    from foveal.core.data import decode_image
    from foveal.core.models import get_backbone
    from foveal.core.models.build import build_backbone

    files = sorted(p for p in data.rglob("*.jpg"))
    t0 = time.perf_counter()
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(lambda f: decode_image(f, size=size), files))
    decode_s = time.perf_counter() - t0
    base = build_backbone(get_backbone(backbone), size, None)
    pool2d = keras.layers.GlobalAveragePooling2D()
    fn = tf.function(lambda x: pool2d(base(x, training=False)))
    batch = tf.random.uniform((32, size, size, 3), 0, 255)
    fn(batch)  # trace
    t0 = time.perf_counter()
    reps = max(2, 160 // 32)
    for _ in range(reps):
        fn(batch).numpy()
    rate = reps * 32 / (time.perf_counter() - t0)
    return decode_s, rate, decode_s + len(files) / rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="MobileNetV2", choices=["MobileNetV2", "ResNet50", "VGG16"])
    parser.add_argument("--weights", default="none", help="a weights file for the backbone (no top), or none")
    parser.add_argument("--images", type=int, default=600)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    weights = None if args.weights == "none" else args.weights
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        generate(data, args.images)
        print(f"{args.images} images 500×375, 3 classes; {args.backbone} (weights: {args.weights}); E={args.epochs}")
        decode_s, rate, limit_s = limit(data, args.backbone, 224)
        print(f"limit: decode all {decode_s:.1f} s + forward {rate:.1f} img/s → {limit_s:.1f} s")
        fov_s, fov_acc, timings = foveal(data, args.backbone, weights, args.epochs, Path(tmp) / "run")
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items() if k != "total")
        print(f"foveal: {fov_s:.1f} s ({parts}), val accuracy {fov_acc:.3f}; {fov_s / limit_s:.2f}× the limit")
        if not args.skip_naive:
            naive_s, naive_acc = naive(data, args.backbone, weights, args.epochs, 224)
            print(f"naive:  {naive_s:.1f} s, val accuracy {naive_acc:.3f}")
            print(f"speed-up: {naive_s / fov_s:.1f}× (target ≥ 7×); foveal/limit {fov_s / limit_s:.2f} (target ≤ 1.3)")


if __name__ == "__main__":
    main()
