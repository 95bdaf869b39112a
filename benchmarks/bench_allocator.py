"""Where the CPU time of a Keras forward pass and training step goes, under several memory-allocator settings.

    python benchmarks/bench_allocator.py                       # MobileNetV2, ResNet50, EfficientNetB0
    python benchmarks/bench_allocator.py --backbones MobileNetV2 --modes default,foveal

Each (mode, backbone) runs in a fresh process, so that settings made before TensorFlow loads apply. It times
a compiled forward pass (uint8 batch → pooled features, as Foveal's feature extraction) and a whole-network
training step, and reports img/s with the user and kernel CPU seconds and the page faults of the timed part.

Modes:
  default     glibc as the process starts (what a plain ``python script.py`` gets).
  tf-trim     M_TRIM_THRESHOLD=128 KiB set with mallopt, as TensorFlow's generator dataset op does when a
              ``from_generator`` pipeline is built: it also switches off glibc's adaptive mmap threshold.
  mallopt     glibc told to keep freed memory (M_MMAP_MAX=0, M_TRIM_THRESHOLD=2 GiB, M_TOP_PAD=64 MiB).
  foveal      what importing Foveal's ``core`` does (:func:`core.runtime.prepare_environment`): TensorFlow's
              own pooling allocator (BFC) for CPU tensors, TF_CPU_ALLOCATOR_USE_BFC=true.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def child(mode: str, backbone: str, batch: int, steps: int) -> dict:
    if mode == "tf-trim":
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-1, 128 * 1024)  # M_TRIM_THRESHOLD
    elif mode == "mallopt":
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        for param, value in ((-4, 0), (-1, 2**31 - 1), (-2, 64 << 20)):  # MMAP_MAX, TRIM_THRESHOLD, TOP_PAD
            libc.mallopt(param, value)
    os.environ["FOVEAL_ALLOCATOR"] = "system" if mode != "foveal" else ""
    import keras
    import numpy as np
    import tensorflow as tf

    import foveal.core  # noqa: F401  (applies Foveal's start-up settings, or not, as FOVEAL_ALLOCATOR says)
    from foveal.core.models.registry import get_backbone
    from foveal.core.training.forward import forward_fn

    spec = get_backbone(backbone)
    size = spec.input_size
    base = getattr(keras.applications, backbone)(include_top=False, weights=None, input_shape=(size, size, 3))
    images = np.random.default_rng(0).integers(0, 255, (batch, size, size, 3), dtype=np.uint8)
    forward = forward_fn(base, spec, size)
    out = {"mode": mode, "backbone": backbone, "batch": batch}
    for _ in range(2):
        forward(images)
    out.update(_timed("forward", lambda: forward(images), steps, batch))

    x = keras.layers.GlobalAveragePooling2D()(base.output)
    model = keras.Model(base.input, keras.layers.Dense(3, activation="softmax")(x))
    model.compile(keras.optimizers.SGD(1e-3), "sparse_categorical_crossentropy")
    xs, ys = tf.constant(images.astype("float32")), tf.constant(np.arange(batch) % 3)
    for _ in range(2):
        model.train_on_batch(xs, ys)
    out.update(_timed("train", lambda: model.train_on_batch(xs, ys), max(3, steps // 2), batch))
    return out


def _timed(name: str, fn, steps: int, batch: int) -> dict:
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for _ in range(steps):
        fn()
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return {f"{name}_img_per_s": round(steps * batch / wall, 1),
            f"{name}_user_s": round(r1.ru_utime - r0.ru_utime, 2), f"{name}_sys_s": round(r1.ru_stime - r0.ru_stime, 2),
            f"{name}_minor_faults": r1.ru_minflt - r0.ru_minflt}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backbones", default="MobileNetV2,ResNet50,EfficientNetB0")
    p.add_argument("--modes", default="default,tf-trim,mallopt,foveal")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--child", nargs=2, metavar=("MODE", "BACKBONE"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(*args.child, args.batch, args.steps)), flush=True)
        return 0
    for backbone in args.backbones.split(","):
        for mode in args.modes.split(","):
            env = {k: v for k, v in os.environ.items() if k != "TF_CPU_ALLOCATOR_USE_BFC"}
            env["TF_CPP_MIN_LOG_LEVEL"] = "2"
            res = subprocess.run([sys.executable, __file__, "--child", mode, backbone, "--batch", str(args.batch),
                                  "--steps", str(args.steps)], env=env, capture_output=True, text=True)
            lines = [ln[7:] for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
            print(lines[0] if lines else json.dumps({"mode": mode, "backbone": backbone,
                                                     "error": res.stderr[-400:]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
