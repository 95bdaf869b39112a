"""Fine-tuning throughput on a GPU: float32 against mixed precision, with and without XLA.

    python benchmarks/bench_gpu.py                     # ResNet50 and EfficientNetB0, every mode, 224×224
    python benchmarks/bench_gpu.py --quick             # tiny sizes: checks the script itself on a CPU
    KERAS_BACKEND=jax python benchmarks/bench_gpu.py   # the same Keras models and steps on the JAX backend

Each mode trains the whole network (every layer learning, as ``--fine-tune all``) on random images with
``model.fit`` for a few warm-up steps, then times ``--steps`` more. It prints one JSON line per mode with img/s
and the arithmetic rate that implies (3 × the forward FLOPs per image: forward plus the two backward products),
set against the GPU's published dense peak for that precision. Nothing here needs weights or a dataset.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

#: Forward GFLOP per 224×224 image (2 × multiply-adds), from the models' papers.
GFLOP_224 = {"ResNet50": 8.2, "EfficientNetB0": 0.78}
#: Published dense peaks in TFLOP/s (NVIDIA data sheets): float32 (no TF32), TF32 and 16-bit tensor cores.
PEAKS = {
    "H200": {"float32": 67.0, "tf32": 494.0, "16-bit": 989.0},
    "H100": {"float32": 67.0, "tf32": 494.0, "16-bit": 989.0},
}


def gpu_name() -> str:
    try:
        import subprocess

        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else "none"
    except (OSError, IndexError, Exception):
        return "none"


def measure(backbone: str, policy: str, jit: bool, batch: int, size: int, steps: int, warmup: int) -> dict:
    import keras
    import numpy as np

    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    base = getattr(keras.applications, backbone)(include_top=False, weights=None, input_shape=(size, size, 3),
                                                 pooling="avg")
    x = keras.layers.Dense(10)(base.output)
    out = keras.layers.Activation("softmax", dtype="float32")(x)  # float32 outputs under mixed precision
    model = keras.Model(base.input, out)
    model.compile(optimizer=keras.optimizers.SGD(1e-3, momentum=0.9), loss="sparse_categorical_crossentropy",
                  jit_compile=jit)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (batch * 4, size, size, 3)).astype("float32")
    labels = rng.integers(0, 10, batch * 4)

    times: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_train_batch_begin(self, b, logs=None):
            self.t = time.perf_counter()

        def on_train_batch_end(self, b, logs=None):
            float(logs["loss"])  # waits for the step's result, so the time is the device's
            times.append(time.perf_counter() - self.t)

    t0 = time.perf_counter()
    model.fit(images, labels, batch_size=batch, epochs=1, steps_per_epoch=warmup, verbose=0)
    first = time.perf_counter() - t0
    dataset = _repeat(images, labels, batch)
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[Timer()])
    step = float(np.median(times))
    keras.mixed_precision.set_global_policy("float32")
    keras.backend.clear_session()
    return {"backbone": backbone, "policy": policy, "xla": jit, "batch": batch, "size": size,
            "img_per_s": round(batch / step, 1), "median_step_s": round(step, 4), "first_steps_s": round(first, 1)}


def _repeat(images, labels, batch):
    """An endless stream of the same few batches, already on the device (the data path is not what is measured)."""
    import keras

    images, labels = keras.ops.convert_to_tensor(images), keras.ops.convert_to_tensor(labels)

    def gen():
        i = 0
        while True:
            s = (i % 4) * batch
            yield images[s:s + batch], labels[s:s + batch]
            i += 1
    return gen()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backbones", default="ResNet50,EfficientNetB0")
    p.add_argument("--modes", default="float32:xla,float32:eager,mixed_float16:xla,mixed_float16:eager,"
                                      "mixed_bfloat16:xla")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="batch 4, 64×64, 3 steps: checks the script on a CPU")
    p.add_argument("--out", default=None, help="also append the JSON lines to this file")
    args = p.parse_args()
    if args.quick:
        args.batch, args.size, args.steps, args.warmup = 4, 64, 3, 1
    import keras

    gpu = gpu_name()
    peak = next((v for k, v in PEAKS.items() if k in gpu), None)
    print(json.dumps({"backend": keras.backend.backend(), "keras": keras.__version__, "gpu": gpu}), flush=True)
    for backbone in args.backbones.split(","):
        for mode in args.modes.split(","):
            policy, how = mode.split(":")
            t0 = time.perf_counter()
            try:
                row = measure(backbone, policy, how == "xla", args.batch, args.size, args.steps, args.warmup)
            except Exception as exc:  # one mode failing must not lose the others' numbers
                row = {"backbone": backbone, "policy": policy, "xla": how == "xla", "error": repr(exc)[:300]}
            row["wall_s"] = round(time.perf_counter() - t0, 1)
            if "img_per_s" in row:
                tflops = row["img_per_s"] * 3 * GFLOP_224[backbone] * (args.size / 224) ** 2 / 1000
                row["tflop_per_s"] = round(tflops, 1)
                if peak:
                    # float32 convolutions may run on TF32 tensor cores (XLA on GPUs does by default): both peaks
                    keys = ("float32", "tf32") if policy == "float32" else ("16-bit",)
                    for key in keys:
                        row[f"{key}_peak_tflop_per_s"] = peak[key]
                        row[f"fraction_of_{key}_peak"] = round(tflops / peak[key], 3)
            line = json.dumps(row)
            print(line, flush=True)
            if args.out:
                with open(args.out, "a", encoding="utf-8") as fh:
                    fh.write(line + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    sys.exit(main())
