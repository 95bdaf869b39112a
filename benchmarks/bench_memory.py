"""Whole-process peak memory of Foveal's runs, each in a child process of its own, against a plain Keras script.

    python benchmarks/bench_memory.py --weights ../shared/weights/mobilenet_v2_1.0_224_imagenet_no_top.h5
    python benchmarks/bench_memory.py --weights FILE --cases default,plain   # some cases only
    python benchmarks/bench_memory.py --weights FILE --cases large --large 20000

Cases (MobileNetV2 at 224 px, ImageNet weights from ``--weights``):

- ``default``: one default ``foveal train`` (automatic recipe, frozen) on ``--images`` BUSI images (300: a few
  hundred, each class in proportion; hard links in a temporary folder);
- ``plain``: the script a data scientist writes on the same folder: ``image_dataset_from_directory`` (20%
  validation), MobileNetV2 frozen + global average pooling + dropout + a dense softmax, ``fit`` for as many
  epochs as Foveal's default (10);
- ``crossval``: ``foveal train --folds 5`` on ``--cv-images`` 640×480 pictures made by
  ``benchmarks/small_in_large.py`` (BUSI lesions pasted small on enlarged MedNIST pictures);
- ``finetune``: one ``foveal train --fine-tune auto`` on the same 300 BUSI images;
- ``large`` (only when asked): a frozen run on ``--large`` images replicated from BUSI (hard links).

Each case runs in a child process; its peak resident memory is the kernel's count for that child
(``os.wait4``: ``ru_maxrss``), the whole process: Python, TensorFlow, the weights, every array. The Foveal
children also say the peak so far (``VmHWM``) at each phase and fold, which shows where the peak is reached.
TensorFlow runs on ``--threads`` threads (1 by default: a shared machine). Data go to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

BUSI = ROOT.parent / "shared" / "data" / "busi"
EPOCHS = 10


def _status_mb(key: str) -> float:
    """``VmHWM`` (peak so far) or ``VmRSS`` (now) of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def subset(src: Path, out: Path, n: int) -> Path:
    """``n`` images of ``src`` (each class in proportion) hard-linked into ``out``."""
    from small_in_large import _images

    classes = {c.name: _images(c) for c in sorted(src.iterdir()) if c.is_dir()}
    total = sum(len(v) for v in classes.values())
    for name, files in classes.items():
        (out / name).mkdir(parents=True, exist_ok=True)
        for f in files[: max(2, round(n * len(files) / total))]:
            try:
                os.link(f, out / name / f.name)
            except OSError:
                (out / name / f.name).write_bytes(f.read_bytes())
    return out


# ---- children ---------------------------------------------------------------------------------------------
def child_foveal(data: str, out: str, weights: str, fine_tune: str, folds: int) -> dict:
    """One Foveal run (or a cross-validation) in this process, noting the peak so far at each phase."""
    from foveal.core.training import TrainConfig, train
    from foveal.core.training.events import FoldStarted, PhaseChanged

    marks: list[tuple[str, float]] = []
    last = [""]

    def on_event(event) -> None:
        if isinstance(event, FoldStarted):
            last[0] = f"fold {event.fold}"
        if isinstance(event, (PhaseChanged, FoldStarted)):
            marks.append((f"{last[0]} {getattr(event, 'phase', 'start')}".strip(), round(_status_mb("VmHWM"))))

    config = TrainConfig(data, weights=weights, out_dir=out, fine_tune=fine_tune, seed=1)
    t0 = time.monotonic()
    if folds:
        from foveal.core.crossval import cross_validate

        result = cross_validate(config, folds, on_event=on_event)
        accuracy = result.summary["accuracy"]["mean"]
    else:
        accuracy = train(config, on_event=on_event).test_accuracy
    marks.append(("end", round(_status_mb("VmHWM"))))
    return {"seconds": time.monotonic() - t0, "accuracy": accuracy, "marks": _coalesce(marks)}


def _coalesce(marks: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """The marks where the peak grew (the others say nothing new)."""
    out: list[tuple[str, float]] = []
    for name, mb in marks:
        if out and out[-1][1] == mb:
            continue
        out.append((name, mb))
    return out


def child_plain(data: str, weights: str) -> dict:
    """The plain Keras script on ``data``."""
    import keras

    t0 = time.monotonic()
    train_ds, val_ds = keras.utils.image_dataset_from_directory(
        data, validation_split=0.2, subset="both", seed=1, image_size=(224, 224), batch_size=32)
    n = len(train_ds.class_names)
    base = keras.applications.MobileNetV2(include_top=False, weights=weights, input_shape=(224, 224, 3))
    base.trainable = False
    inp = keras.Input((224, 224, 3))
    x = keras.applications.mobilenet_v2.preprocess_input(inp)
    x = keras.layers.GlobalAveragePooling2D()(base(x, training=False))
    out = keras.layers.Dense(n, activation="softmax")(keras.layers.Dropout(0.2)(x))
    model = keras.Model(inp, out)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train_ds, validation_data=val_ds, epochs=EPOCHS, verbose=0)
    return {"seconds": time.monotonic() - t0, "accuracy": history.history["val_accuracy"][-1],
            "marks": [("end", round(_status_mb("VmHWM")))]}


# ---- the parent -------------------------------------------------------------------------------------------
def run_child(args: list[str], threads: int) -> dict:
    """Run this script as a child with ``args``; its result and its own peak resident memory (MB)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_NUM_INTRAOP_THREADS=str(threads),
               TF_NUM_INTEROP_THREADS=str(threads), CUDA_VISIBLE_DEVICES="")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, __file__, "--child", *args], stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (reaped here, not by Popen)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        lines = [ln[7:] for ln in out.read().splitlines() if ln.startswith("RESULT ")]
        stderr = err.read()
    if not lines:
        raise SystemExit(f"child {args[0]} failed:\n{stderr[-3000:]}")
    result = json.loads(lines[-1])
    result["peak_mb"] = usage.ru_maxrss / 1024
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", default=None)
    p.add_argument("--cases", default="default,plain,crossval")
    p.add_argument("--images", type=int, default=300, help="BUSI images for default, plain and finetune")
    p.add_argument("--cv-images", type=int, default=350, help="640×480 pictures for crossval")
    p.add_argument("--large", type=int, default=20000, help="images for the large case")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None, help="also save the results here")
    p.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        kind, *rest = a.child
        result = child_plain(*rest) if kind == "plain" else child_foveal(*rest[:4], int(rest[4]))
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    if not a.weights:
        p.error("--weights FILE is needed (a MobileNetV2 ImageNet no-top weights file)")
    rows = {}
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        t = Path(tmp)
        busi = str(subset(BUSI, t / "busi", a.images))
        for case in a.cases.split(","):
            if case == "plain":
                rows[case] = run_child(["plain", busi, a.weights], a.threads)
            elif case in ("default", "finetune"):
                depth = "auto" if case == "finetune" else "frozen"
                rows[case] = run_child(["foveal", busi, str(t / case), a.weights, depth, "0"], a.threads)
            elif case == "crossval":
                from small_in_large import generate

                generate(t / "sil", a.cv_images)
                rows[case] = run_child(["foveal", str(t / "sil"), str(t / case), a.weights, "frozen", "5"],
                                       a.threads)
            elif case == "large":
                from small_in_large import replicate

                replicate(BUSI, t / "large", a.large)
                rows[case] = run_child(["foveal", str(t / "large"), str(t / case), a.weights, "frozen", "0"],
                                       a.threads)
            r = rows[case]
            print(f"{case:<9} peak {r['peak_mb']:7.0f} MB  {r['seconds']:6.0f} s  accuracy {r['accuracy']:.3f}  "
                  f"peak so far: " + ", ".join(f"{n} {m:.0f}" for n, m in r["marks"]), flush=True)
    if "plain" in rows and "default" in rows:
        print(f"default / plain: {rows['default']['peak_mb'] / rows['plain']['peak_mb']:.2f}× (target ≤ 1.25×)")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
