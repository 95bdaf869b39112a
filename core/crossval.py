"""k-fold cross-validation: one run per fold, each fold the test split once (group-aware when asked), and the
mean and spread of every metric over folds in ``crossval.json``."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.cancel import CancelToken
from core.io import make_dirs, write_json
from core.split.files import write_split_file
from core.training.config import TrainConfig
from core.training.runfolder import default_run_dir

#: What is compared across folds (from each fold's evaluation on its own test split).
FOLD_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "macro_auc", "ece")


def cross_validate(config: TrainConfig, k: int, *, on_event: Callable | None = None,
                   cancel: CancelToken | None = None, on_fold: Callable[[int, int], None] | None = None) -> dict:
    """Train ``k`` runs under ``config.out_dir`` (``fold-1`` … ``fold-k``); return and save the summary."""
    from core.data.scan import scan_dataset
    from core.errors import ConfigError
    from core.evaluation.evaluate import evaluate, write_evaluation
    from core.split.make import group_kfold
    from core.split.plan import split_groups
    from core.training import train

    if not 3 <= k <= 10:
        raise ConfigError(f"Cross-validation takes 3 to 10 folds. Received: {k}")
    config.validate()
    summary = scan_dataset(config.data_dir)
    summary.require_trainable()
    groups, _ = split_groups(summary, config.split_spec)
    folds = group_kfold(summary.images, summary.classes, k, config.seed, groups, config.val_fraction)
    base = Path(config.out_dir) if config.out_dir else default_run_dir(config).with_name(
        default_run_dir(config).name + f"-cv{k}")
    make_dirs(base / "splits")
    rows = []
    for i, split in enumerate(folds, 1):
        if on_fold is not None:
            on_fold(i, k)
        split_file = base / "splits" / f"fold-{i}.json"
        write_split_file(split_file, split)
        fold_config = dataclasses.replace(config, out_dir=str(base / f"fold-{i}"), split_file=str(split_file))
        result = train(fold_config, on_event=on_event, cancel=cancel)
        if result.outcome == "cancelled" or result.model_path is None:
            break
        ev = evaluate(result.run_dir)
        write_evaluation(ev, result.run_dir)
        m = ev.metrics
        rows.append({"fold": i, "run_dir": result.run_dir, "n_test": m["n"], "accuracy": m["accuracy"],
                     "balanced_accuracy": m["balanced_accuracy"], "macro_f1": m["macro"]["f1"],
                     "macro_auc": m["roc"]["macro_auc"], "ece": m["calibration"]["ece"]})
    out = {"format": "foveal-crossval", "version": 1, "k": k, "folds_done": len(rows), "config": config.to_dict(),
           "folds": rows, "summary": _summary(rows)}
    write_json(base / "crossval.json", out)
    out["folder"] = str(base)
    return out


def _summary(rows: list[dict]) -> dict:
    """Mean and sample standard deviation of each metric over the folds that have it."""
    out = {}
    for name in FOLD_METRICS:
        values = [r[name] for r in rows if r[name] is not None and not math.isnan(r[name])]
        out[name] = {"mean": float(np.mean(values)) if values else None,
                     "sd": float(np.std(values, ddof=1)) if len(values) > 1 else None, "n": len(values)}
    return out


def format_crossval(result: dict) -> str:
    """The cross-validation summary for a terminal."""
    lines = [f"{result['folds_done']} of {result['k']} folds done; runs in {result['folder']}"]
    for name, s in result["summary"].items():
        if s["mean"] is not None:
            sd = f" ± {s['sd']:.3f}" if s["sd"] is not None else ""
            lines.append(f"  {name:<18} {s['mean']:.3f}{sd}  (over {s['n']} folds)")
    return "\n".join(lines)
