"""The idle stretch at the start of every epoch: its cause, and Foveal's pipeline before and after the fix.

    python benchmarks/bench_epoch_start.py            # 1,000 generated 500×375 JPEGs, MobileNetV2, 4 epochs

For each of four pipelines, in a fresh process, it trains a frozen MobileNetV2 (random weights: timings only)
for 4 epochs and prints, per epoch, how long the first batch took and how idle the whole machine was meanwhile
(from /proc/stat), and the epoch's length:

* tutorial, autotune on:  ``image_dataset_from_directory`` + ``fit``, as most guides write it;
* tutorial, autotune off: the same with ``tf.data.Options().autotune.enabled = False``;
* foveal, autotune on / off: batches gathered from a cached uint8 array (``core.training.feed.array_dataset``,
  which Foveal runs with autotuning off).

What was found (py-spy during the stall): the main thread waits in the destructor of the previous epoch's
``tf.data`` iterator (``UnboundedThreadPool::LogicalThreadWrapper``), that is, for the pipeline's threads to
finish; the autotuning thread sleeps through its optimisation period before it notices the cancellation.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def _stat() -> tuple[int, int]:
    values = list(map(int, Path("/proc/stat").read_text().splitlines()[0].split()[1:]))
    return values[3] + values[4], sum(values)


def child(kind: str, autotune: bool, folder: str, epochs: int) -> list[dict]:
    import keras
    import numpy as np
    import tensorflow as tf

    size = 224
    if kind == "tutorial":
        train, val = keras.utils.image_dataset_from_directory(folder, validation_split=0.2, subset="both", seed=1,
                                                              image_size=(size, size), batch_size=32)
        options = tf.data.Options()
        options.autotune.enabled = autotune
        train, val = train.with_options(options), val.with_options(options)
    else:
        from foveal.core.training.feed import array_dataset

        n = sum(1 for _ in Path(folder).rglob("*.jpg"))
        rng = np.random.default_rng(0)
        x = rng.integers(0, 255, (n, size, size, 3), dtype=np.uint8)
        y = rng.integers(0, 3, n)
        cut = int(n * 0.8)
        train = array_dataset(x[:cut], y[:cut], 32, shuffle=True, seed=1, autotune=autotune)
        val = array_dataset(x[cut:], y[cut:], 32, shuffle=False, seed=1, autotune=autotune)
    base = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(size, size, 3))
    base.trainable = False
    inp = keras.Input((size, size, 3))
    x = keras.layers.GlobalAveragePooling2D()(base(keras.layers.Rescaling(1 / 127.5, -1)(inp), training=False))
    model = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(x))
    model.compile("adam", "sparse_categorical_crossentropy")
    rows: list[dict] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t, self.s, self.first = time.perf_counter(), _stat(), None

        def on_train_batch_end(self, batch, logs=None):
            if self.first is None:
                s = _stat()
                self.first = (time.perf_counter() - self.t, (s[0] - self.s[0]) / max(1, s[1] - self.s[1]))

        def on_epoch_end(self, epoch, logs=None):
            rows.append({"epoch": epoch + 1, "first_batch_s": round(self.first[0], 1),
                         "machine_idle": round(self.first[1], 2), "epoch_s": round(time.perf_counter() - self.t, 1)})

    model.fit(train, validation_data=val, epochs=epochs, verbose=0, shuffle=False, callbacks=[Timer()])
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--dir", default="/tmp/foveal-bench-epoch-start")
    p.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        kind, autotune, folder, epochs = args.child
        print("RESULT " + json.dumps(child(kind, autotune == "on", folder, int(epochs))), flush=True)
        return 0
    folder = Path(args.dir)
    if not folder.exists():
        import bench_train

        bench_train.generate(folder, args.images)
    for kind in ("tutorial", "foveal"):
        for autotune in ("on", "off"):
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
            proc = subprocess.run([sys.executable, __file__, "--child", kind, autotune, str(folder), str(args.epochs)],
                                  capture_output=True, text=True, env=env)
            lines = [ln[7:] for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
            rows = json.loads(lines[-1]) if lines else proc.stderr[-800:]
            print(json.dumps({"pipeline": kind, "autotune": autotune, "epochs": rows}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
