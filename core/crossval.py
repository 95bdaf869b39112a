"""k-fold cross-validation: one run per fold, each fold the test split once (group-aware when asked), and the
mean and spread of every metric over folds in ``crossval.json``.

Cross-validation orchestrates training and evaluation, so it lives above both. It reports each fold's events
between ``FoldStarted`` and ``FoldFinished`` (core.training.events) and returns a :class:`CrossValResult`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from foveal.core.cancel import CancelToken
from foveal.core.io import make_dirs, write_json
from foveal.core.split.files import write_split_file
from foveal.core.training.config import TrainConfig
from foveal.core.training.events import Event, FoldFinished, FoldStarted, Outcome
from foveal.core.training.runfolder import default_run_dir

#: What is compared across folds (from each fold's evaluation on its own test split).
FOLD_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "macro_auc", "ece")
#: Beside them: the accuracy of always answering the largest training class on each fold's test images, the
#: baseline each fold's headline gives.
BASELINE = "majority"


@dataclass(frozen=True)
class CrossValResult:
    """What a cross-validation produced: one row per fold done, and the mean and spread of each metric."""

    outcome: Outcome  # completed: every fold ran; cancelled: stopped during a fold (the folds done are kept)
    k: int
    folder: str
    folds: tuple[dict[str, Any], ...]
    summary: dict[str, dict[str, float | None]]
    config: dict[str, Any]

    @property
    def folds_done(self) -> int:
        return len(self.folds)

    @property
    def run_dir(self) -> str:
        """The last fold's run folder (the cross-validation's folder when no fold finished)."""
        return self.folds[-1]["run_dir"] if self.folds else self.folder

    @property
    def model_path(self) -> str | None:
        return str(Path(self.folds[-1]["run_dir"]) / "model.keras") if self.folds else None

    def to_dict(self) -> dict[str, Any]:
        """What ``crossval.json`` holds."""
        return {"format": "foveal-crossval", "version": 1, "k": self.k, "folds_done": self.folds_done,
                "outcome": self.outcome, "config": self.config, "folds": list(self.folds), "summary": self.summary}

    def text(self) -> str:
        """The summary for a terminal (and the window's result line)."""
        lines = [f"{self.folds_done} of {self.k} folds done; runs in {self.folder}"]
        for name, s in self.summary.items():
            if s["mean"] is not None and name != BASELINE:
                sd = f" ± {s['sd']:.3f}" if s["sd"] is not None else ""
                lines.append(f"  {name:<18} {s['mean']:.3f}{sd}  (over {s['n']} folds)")
        lines += self._baseline_lines()
        return "\n".join(lines)

    def _baseline_lines(self) -> list[str]:
        """The majority-class baseline under the metrics, as each fold's headline gives it, and whether the mean
        accuracy is shown to beat it."""
        base, acc = self.summary.get(BASELINE), self.summary.get("accuracy")
        if not base or base["mean"] is None:
            return []
        names = sorted({str(f["majority_class"]) for f in self.folds if f.get("majority_class")})
        which = f"'{names[0]}'" if len(names) == 1 else "the largest training class of each fold"
        sd = f" ± {base['sd']:.3f}" if base["sd"] is not None else ""
        lines = [f"  {'majority class':<18} {base['mean']:.3f}{sd}  (always answering {which}: the baseline to beat)"]
        if acc and acc["mean"] is not None and acc["sd"] is not None and acc["n"] and acc["n"] > 1:
            from scipy.stats import t

            low = acc["mean"] - float(t.ppf(0.975, acc["n"] - 1)) * acc["sd"] / math.sqrt(acc["n"])
            if low <= base["mean"]:
                lines.append("  The accuracy's 95% interval over folds reaches down to the majority class: the model "
                             "is not shown to be better than always giving the most common answer.")
        return lines


def cross_validate(config: TrainConfig, k: int, *, on_event: Callable[[Event], None] | None = None,
                   cancel: CancelToken | None = None) -> CrossValResult:
    """Train ``k`` runs under ``config.out_dir`` (``fold-1`` … ``fold-k``); return and save the summary."""
    from foveal.core.data.scan import scan_dataset
    from foveal.core.errors import ConfigError
    from foveal.core.evaluation.evaluate import evaluate, write_evaluation
    from foveal.core.split.make import group_kfold
    from foveal.core.split.plan import split_groups
    from foveal.core.training import train

    emit = on_event or (lambda e: None)
    if not 3 <= k <= 10:
        raise ConfigError(f"Cross-validation takes 3 to 10 folds. Received: {k}")
    config.validate()
    summary = scan_dataset(config.data_dir)
    summary.require_trainable()
    groups = split_groups(summary, config.split_spec)
    folds = group_kfold(summary.images, summary.classes, k, config.seed, groups, config.val_fraction)
    if config.out_dir:
        base = Path(config.out_dir)
    else:
        default = default_run_dir(config)
        base = default.with_name(f"{default.name}-cv{k}")
    make_dirs(base / "splits")
    rows: list[dict[str, Any]] = []
    outcome = Outcome.COMPLETED
    for i, split in enumerate(folds, 1):
        run_dir = base / f"fold-{i}"
        emit(FoldStarted(i, k, str(run_dir)))
        split_file = base / "splits" / f"fold-{i}.json"
        write_split_file(split_file, split)
        fold_config = dataclasses.replace(config, out_dir=str(run_dir), split_file=str(split_file))
        result = train(fold_config, on_event=emit, cancel=cancel)
        if result.outcome == Outcome.CANCELLED or result.model_path is None:
            emit(FoldFinished(i, k, result.run_dir, result.outcome))
            outcome = Outcome.CANCELLED
            break
        ev = evaluate(result.run_dir)
        write_evaluation(ev, result.run_dir)
        m = ev.metrics
        metrics = {"accuracy": m["accuracy"], "balanced_accuracy": m["balanced_accuracy"], "macro_f1": m["macro"]["f1"],
                   "macro_auc": m["roc"]["macro_auc"], "ece": m["calibration"]["ece"]}
        rows.append({"fold": i, "run_dir": result.run_dir, "n_test": m["n"], **metrics,
                     BASELINE: m.get("baseline"), "majority_class": m.get("baseline_class")})
        emit(FoldFinished(i, k, result.run_dir, result.outcome, metrics))
    out = CrossValResult(outcome, k, str(base), tuple(rows), _summary(rows), config.to_dict())
    write_json(base / "crossval.json", out.to_dict())
    return out


def _summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Mean and sample standard deviation of each metric over the folds that have it."""
    out: dict[str, dict[str, float | None]] = {}
    for name in (*FOLD_METRICS, BASELINE):
        values = [r[name] for r in rows if r.get(name) is not None and not math.isnan(r[name])]
        out[name] = {"mean": float(np.mean(values)) if values else None,
                     "sd": float(np.std(values, ddof=1)) if len(values) > 1 else None, "n": len(values)}
    return out
