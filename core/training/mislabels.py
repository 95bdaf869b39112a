"""Images whose folder label is likely wrong, found by confident learning on out-of-fold probabilities.

Every image of every split gets probabilities from a head that never saw it: K-fold cross-validation on the
frozen features the run already has, with the run's own head recipe (seconds, no backbone pass). Then confident
learning (Northcutt, Jiang and Chuang, "Confident Learning: Estimating Uncertainty in Dataset Labels", JAIR 2021):
each class j has a threshold t_j, the mean probability of j over the images labelled j; an image labelled i is
suspect when its probability of i is below t_i and some other class k reaches t_k with a higher probability
than i's. The suggested class is the most probable of those; suspects are ranked by how far its probability
exceeds the given class's (the margin).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from foveal.core.io import open_atomic
from foveal.core.training.recipe import Candidate, fit_dense, fit_linear

if TYPE_CHECKING:
    from foveal.core.training.auto_head import HeadChoice
    from foveal.core.training.context import RunContext
    from foveal.core.training.prepare import Prepared

MISLABELS_FILE = "suspected_mislabels.csv"
FOLDS = 4


@dataclass(frozen=True)
class Suspect:
    file: str
    given: str
    suggested: str
    score: float  # probability of the suggested class minus that of the given one
    p_given: float = 0.0  # the out-of-fold probabilities of the two classes
    p_suggested: float = 0.0


def out_of_fold_probabilities(x: np.ndarray, y: np.ndarray, n_classes: int, recipe: Candidate, dense: dict,
                              seed: int, folds: int = FOLDS) -> np.ndarray:
    """Probabilities of every row of ``x`` from a head (``recipe``) fitted on the other folds (stratified)."""
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(y, minlength=n_classes)
    k = int(min(folds, counts[counts > 0].min()))
    probs = np.full((len(y), n_classes), 1.0 / n_classes, np.float32)
    if k < 2:
        return probs
    for fit, held in StratifiedKFold(k, shuffle=True, random_state=seed % (2**32)).split(x, y):
        if recipe.head == "linear":
            kernel, bias = fit_linear(x[fit], y[fit], n_classes, recipe.strength or 1.0, recipe.balanced)
        else:
            kernel, bias = fit_dense(x[fit], y[fit], n_classes, balanced=recipe.balanced, seed=seed, **dense)
        z = x[held] @ kernel + bias
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        probs[held] = e / e.sum(axis=1, keepdims=True)
    return probs


def confident_learning(probs: np.ndarray, y: np.ndarray) -> list[tuple[int, int, float]]:
    """``(row, suggested class, margin)`` of each suspected mislabel, largest margin first."""
    n_classes = probs.shape[1]
    thresholds = np.array([probs[y == j, j].mean() if np.any(y == j) else 1.0 for j in range(n_classes)])
    out = []
    for i in range(len(y)):
        given = y[i]
        if probs[i, given] >= thresholds[given]:
            continue
        others = [j for j in range(n_classes) if j != given and probs[i, j] >= thresholds[j]]
        if not others:
            continue
        best = max(others, key=lambda j: probs[i, j])
        if probs[i, best] <= probs[i, given]:
            continue  # the model still prefers the folder's class: no reason to doubt it
        out.append((i, best, float(probs[i, best] - probs[i, given])))
    return sorted(out, key=lambda t: -t[2])


def find_suspects(files: Sequence[str], x: np.ndarray, y: np.ndarray, classes: Sequence[str], recipe: Candidate,
                  dense: dict, seed: int) -> list[Suspect]:
    """Suspected mislabels among ``files`` (their features ``x`` and given labels ``y``)."""
    probs = out_of_fold_probabilities(x, y, len(classes), recipe, dense, seed)
    return [Suspect(files[i], classes[y[i]], classes[j], round(score, 4), round(float(probs[i, y[i]]), 4),
                    round(float(probs[i, j]), 4)) for i, j, score in confident_learning(probs, y)]


def write_suspects(path: str | Path, suspects: Sequence[Suspect]) -> Path:
    """``file,given_class,suggested_class,score`` (and the two probabilities), the most suspect first."""
    with open_atomic(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["file", "given_class", "suggested_class", "score", "p_given", "p_suggested"])
        for s in suspects:
            w.writerow([s.file, s.given, s.suggested, f"{s.score:.4f}", f"{s.p_given:.4f}", f"{s.p_suggested:.4f}"])
    return Path(path)


def read_suspects(run_dir: str | Path) -> list[Suspect] | None:
    """The run's suspected mislabels (None for a run made before Foveal looked for them)."""
    path = Path(run_dir) / MISLABELS_FILE
    if not path.is_file():
        return None
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return [Suspect(r["file"], r["given_class"], r["suggested_class"], float(r["score"]),
                            float(r.get("p_given") or 0), float(r.get("p_suggested") or 0))
                    for r in csv.DictReader(fh)]
    except (OSError, KeyError, ValueError):
        return None


def run_suspects(ctx: RunContext, prepared: Prepared, choice: HeadChoice) -> list[Suspect] | None:
    """Suspected mislabels among all the run's images (every split), from the frozen features it extracted and
    its head recipe; None when the run has no features of every split (cancelled early)."""
    from foveal.core.split.make import SPLITS

    if not all(split in choice.features for split in SPLITS):
        return None
    c = ctx.config
    failed = {rel for rel, _ in ctx.failed}
    files, xs, ys = [], [], []
    for split in SPLITS:
        kept = [r for r in prepared.split.of(split) if r.rel not in failed]
        x, y = choice.features[split]
        files += [r.rel for r in kept]
        xs.append(np.asarray(x[: len(kept)]))  # the training split may hold augmented copies after these rows
        ys.append(np.asarray(y[: len(kept)]))
    recipe = choice.recipe.winner if choice.recipe is not None else Candidate(
        "dense", choice.pooling, choice.class_weight_mode == "balanced", None, 0.0, 0.0, 0.0, 0)
    dense = {"epochs": c.epochs, "learning_rate": c.learning_rate, "dropout": c.dropout, "batch_size": c.batch_size}
    return find_suspects(files, np.concatenate(xs), np.concatenate(ys), prepared.classes, recipe, dense, c.seed)
