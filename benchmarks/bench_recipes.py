"""Which recipe wins on a real dataset: Foveal's automatic recipe and its fixed ones against the two recipes a
transfer-learning blog gives, all by k-fold cross-validation on the same folds.

    python benchmarks/bench_recipes.py ../shared/data/busi \
        --weights ../shared/weights/mobilenet_v2_1.0_224_imagenet_no_top.h5

Recipes (MobileNetV2 at 224 px, 10 epochs unless --epochs says otherwise):

- ``auto``: ``foveal train`` (the default: head, pooling and class weighting chosen by inner cross-validation,
  with the extra passes the images support: larger sizes, rotations and flips, tiles, within the time budget);
- ``auto-quick``: ``foveal train --search quick`` (the candidates at the run's own size only);
- ``auto-full``: ``foveal train --search full`` (every extra pass the images support, whatever it costs);
- ``lr448``: the reference a data scientist writes in 20 lines: logistic regression (scikit-learn, standardised,
  C=1) on max-pooled MobileNetV2 features at 448 px, fitted on the training and validation images;
- ``manual``: the fixed dense head on average-pooled features (``--recipe manual``), Foveal's old default;
- ``last:N``: Foveal fine-tuning the top N blocks after the head (``--fine-tune last:N``), e.g. ``last:2``;
- ``all``: Foveal fine-tuning the whole backbone after the head (``--fine-tune all``);
- ``auto-ft``: the automatic head, then fine-tuning tried and kept only if it helps (``--fine-tune auto``);
- ``blog-frozen``: ``image_dataset_from_directory`` + a frozen base + ``Flatten`` + ``Dense(256)`` + ``fit``;
- ``blog-finetune``: ``image_dataset_from_directory`` + the base with its last 20 layers trainable (BatchNorm
  included) + global average pooling + a dense softmax + ``fit``.

Each fold's test split is the fold (group-aware folds as ``foveal train --folds`` makes them); validation is
carved from the rest. Prints mean ± sd of accuracy and balanced accuracy over folds, each class's mean recall, the
majority-class accuracy, the wall time and the process's peak memory (``ru_maxrss``: run one recipe per call to
read each recipe's own peak); ``--json FILE`` saves every fold's numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def folds(data: str, k: int, seed: int):
    from foveal.core.data.scan import scan_dataset
    from foveal.core.split.make import group_kfold

    summary = scan_dataset(data)
    return summary, group_kfold(summary.images, summary.classes, k, seed, None, 0.15)


def foveal(data: str, split, fold_dir: Path, recipe: str, weights: str, epochs: int, seed: int) -> dict:
    from foveal.core.evaluation.evaluate import evaluate
    from foveal.core.split.files import write_split_file
    from foveal.core.training import TrainConfig, train

    split_file = fold_dir / "split.json"
    write_split_file(split_file, split)
    depth = {"auto-ft": "auto", "all": "all"}.get(recipe, recipe if recipe.startswith("last:") else "frozen")
    search = {"auto-quick": "quick", "auto-full": "full"}.get(recipe, "auto")
    config = TrainConfig(data, weights=weights, epochs=epochs, seed=seed, out_dir=str(fold_dir / recipe),
                         split_file=str(split_file), fine_tune=depth, search=search,
                         recipe="manual" if recipe == "manual" else "auto")
    result = train(config)
    m = evaluate(result.run_dir).metrics
    run = json.loads((Path(result.run_dir) / "run.json").read_text())
    phases = run.get("phases") or {}
    return {"accuracy": m["accuracy"], "balanced_accuracy": m["balanced_accuracy"],
            "recall": {r["class"]: r["recall"] for r in m["per_class"]}, "fine_tuning_kept": phases.get("improved"),
            "winner": (run["recipe"].get("winner") or {}).get("description")}


_FEATURES_448: dict[str, np.ndarray] = {}


def lr448(split, classes, weights: str, seed: int) -> dict:
    """The reference: max-pooled MobileNetV2 features at 448 px (each image's once, shared by the folds) and a
    standardised logistic regression fitted on the training and validation images."""
    import keras
    from PIL import Image
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if not _FEATURES_448:
        base = keras.applications.MobileNetV2(include_top=False, weights=weights, input_shape=(448, 448, 3),
                                              pooling="max")
        records = [r for name in ("train", "val", "test") for r in split.of(name)]
        for i in range(0, len(records), 16):
            batch = []
            for r in records[i:i + 16]:
                with Image.open(r.path) as im:
                    batch.append(np.asarray(im.convert("RGB").resize((448, 448), Image.BILINEAR), np.float32))
            x = keras.applications.mobilenet_v2.preprocess_input(np.stack(batch))
            for r, f in zip(records[i:i + 16], base.predict(x, verbose=0), strict=True):
                _FEATURES_448[r.path] = f

    def xy(names):
        rs = [r for name in names for r in split.of(name)]
        return np.stack([_FEATURES_448[r.path] for r in rs]), np.array([classes.index(r.label) for r in rs])

    x, y = xy(("train", "val"))
    xt, yt = xy(("test",))
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, random_state=seed)).fit(x, y)
    predicted = model.predict(xt)
    recalls = {c: float(np.mean(predicted[yt == j] == j)) for j, c in enumerate(classes) if np.any(yt == j)}
    return {"accuracy": float(np.mean(predicted == yt)), "balanced_accuracy": float(np.mean(list(recalls.values()))),
            "recall": recalls}


def blog(split, classes, fold_dir: Path, recipe: str, weights: str, epochs: int, seed: int) -> dict:
    """The blog's script on this fold: the split's files linked into train/val/test class folders."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    for name in ("train", "val", "test"):
        for c in classes:
            (fold_dir / "files" / name / c).mkdir(parents=True, exist_ok=True)
        for i, r in enumerate(split.of(name)):
            os.symlink(os.path.abspath(r.path), fold_dir / "files" / name / r.label / f"{i:05d}{Path(r.path).suffix}")

    def load(name: str, shuffle: bool):
        return keras.utils.image_dataset_from_directory(
            fold_dir / "files" / name, image_size=(224, 224), batch_size=32, label_mode="int", class_names=classes,
            shuffle=shuffle, seed=seed, verbose=False)

    pre = keras.applications.mobilenet_v2.preprocess_input
    base = keras.applications.MobileNetV2(include_top=False, weights=weights, input_shape=(224, 224, 3))
    inp = keras.Input((224, 224, 3))
    if recipe == "blog-frozen":
        base.trainable = False
        x = keras.layers.Flatten()(base(pre(inp), training=False))
        x = keras.layers.Dense(256, activation="relu")(x)
        rate = 1e-3
    else:
        base.trainable = True
        for layer in base.layers[:-20]:
            layer.trainable = False
        x = keras.layers.GlobalAveragePooling2D()(base(pre(inp)))
        rate = 1e-4
    out = keras.layers.Dense(len(classes), activation="softmax")(x)
    model = keras.Model(inp, out)
    model.compile(keras.optimizers.Adam(rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(load("train", True), validation_data=load("val", False), epochs=epochs, verbose=0)
    test = load("test", False)
    y = np.concatenate([labels.numpy() for _, labels in test])
    predicted = model.predict(test, verbose=0).argmax(axis=1)
    recalls = {c: float(np.mean(predicted[y == j] == j)) for j, c in enumerate(classes) if np.any(y == j)}
    del tf
    return {"accuracy": float(np.mean(predicted == y)), "balanced_accuracy": float(np.mean(list(recalls.values()))),
            "recall": recalls}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data")
    parser.add_argument("--weights", required=True, help="MobileNetV2 ImageNet weights without the top (.h5)")
    parser.add_argument("--recipes", default="auto,manual,last:2,blog-frozen,blog-finetune")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", default=None, metavar="FILE")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    summary, splits = folds(args.data, args.folds, args.seed)
    counts = np.bincount([summary.classes.index(r.label) for r in summary.images])
    print(f"{args.data}: {len(summary.images)} images, {len(summary.classes)} classes; majority class "
          f"{counts.max() / counts.sum():.3f}; {args.folds} folds")
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-recipes-") as tmp:
        for recipe in args.recipes.split(","):
            rows, t0 = [], time.monotonic()
            for i, split in enumerate(splits):
                fold_dir = Path(tmp) / f"{recipe.replace(':', '_')}-fold{i + 1}"
                fold_dir.mkdir()
                if recipe == "lr448":
                    rows.append(lr448(split, list(summary.classes), args.weights, args.seed))
                elif recipe.startswith("blog"):
                    rows.append(blog(split, list(summary.classes), fold_dir, recipe, args.weights, args.epochs,
                                     args.seed))
                else:
                    rows.append(foveal(args.data, split, fold_dir, recipe, args.weights, args.epochs, args.seed))
                kept = rows[-1].get("fine_tuning_kept")
                print(f"  {recipe} fold {i + 1}: accuracy {rows[-1]['accuracy']:.3f}, balanced "
                      f"{rows[-1]['balanced_accuracy']:.3f}" + ("" if kept is None else
                                                                 f", fine-tuning {'kept' if kept else 'not kept'}"),
                      flush=True)
            seconds = time.monotonic() - t0
            acc = [r["accuracy"] for r in rows]
            bal = [r["balanced_accuracy"] for r in rows]
            recall = {c: float(np.mean([r["recall"].get(c, np.nan) for r in rows])) for c in summary.classes}
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            results[recipe] = {"folds": rows, "seconds": seconds, "accuracy": [np.mean(acc), np.std(acc, ddof=1)],
                               "balanced_accuracy": [np.mean(bal), np.std(bal, ddof=1)], "recall": recall,
                               "peak_mb": peak}
            print(f"{recipe:<14} accuracy {np.mean(acc):.3f} ± {np.std(acc, ddof=1):.3f}  balanced "
                  f"{np.mean(bal):.3f} ± {np.std(bal, ddof=1):.3f}  {seconds:7.0f} s  peak {peak:,.0f} MB (process "
                  "so far)", flush=True)
            print("    recall: " + ", ".join(f"{c} {v:.2f}" for c, v in recall.items()), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
