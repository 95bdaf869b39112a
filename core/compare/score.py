"""Scoring one candidate's frozen features with the automatic head, by cross-validation.

The automatic recipe (core.training.recipe) scores every head, pooling and class weighting on the comparison's
folds (whole groups in one fold) and keeps the best; the winner is then refitted on each fold's kept images to
answer for its held-out ones, so every image is answered once by a head that never saw it. The accuracy's 95%
interval is Wilson's over those answers; the balanced accuracy's is a bootstrap over images. Choosing the best
of the recipe's candidates on the same images flatters every backbone alike (by about a point on a few hundred
images), so the ranking stays fair.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from foveal.core.cancel import CancelToken
from foveal.core.training.config import TrainConfig
from foveal.core.training.recipe import choose_recipe, fit_dense, fit_linear

#: The dense head's settings: Foveal's defaults, as a run with the automatic recipe uses them.
DENSE = {name: TrainConfig.default(name) for name in ("epochs", "learning_rate", "dropout", "batch_size")}
#: Bootstrap resamples for the balanced accuracy's interval.
RESAMPLES = 1000


@dataclass(frozen=True)
class Scores:
    """Out-of-fold answers of one candidate's best head, and what they score."""

    accuracy: float
    accuracy_interval: tuple[float, float]
    balanced_accuracy: float
    balanced_interval: tuple[float, float]
    fold_accuracies: tuple[float, ...]
    recipe: str  # the head chosen, in words
    pooling: str  # its pooling


Folds = list[tuple[np.ndarray, np.ndarray]]  # (indices to fit on, indices held out)


def score_features(columns: dict[str, np.ndarray], y: np.ndarray, folds: Folds, n_classes: int, *, seed: int,
                   cancel: CancelToken | None = None,
                   on_progress: Callable[[int, int], None] | None = None) -> Scores:
    """The automatic head's cross-validated answers on ``columns`` (pooling name → N × D features)."""
    from foveal.core.stats import accuracy_interval

    choice = choose_recipe(columns, y, n_classes, seed=seed, cancel=cancel, folds=folds,
                           on_progress=None if on_progress is None else lambda done, total, _: on_progress(done, total),
                           **DENSE)
    w = choice.winner
    x = columns[w.pooling]
    predicted = np.full(len(y), -1, np.int64)
    per_fold = []
    for fit, held in folds:
        if w.head == "linear":
            kernel, bias = fit_linear(x[fit], y[fit], n_classes, w.strength or 1.0, w.balanced)
        else:
            kernel, bias = fit_dense(x[fit], y[fit], n_classes, balanced=w.balanced, seed=seed, **DENSE)
        predicted[held] = np.argmax(x[held] @ kernel + bias, axis=1)
        per_fold.append(float(np.mean(predicted[held] == y[held])))
    answered = predicted >= 0
    truth, guess = y[answered], predicted[answered]
    correct = int(np.sum(truth == guess))
    return Scores(correct / len(truth), accuracy_interval(correct, len(truth)), _balanced(truth, guess),
                  _bootstrap_balanced(truth, guess, seed), tuple(per_fold), w.describe(), w.pooling)


def _balanced(truth: np.ndarray, guess: np.ndarray) -> float:
    """The mean recall over the classes present (scikit-learn's balanced accuracy)."""
    return float(np.mean([np.mean(guess[truth == c] == c) for c in np.unique(truth)]))


def _bootstrap_balanced(truth: np.ndarray, guess: np.ndarray, seed: int) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the balanced accuracy, resampling images."""
    rng = np.random.default_rng(seed)
    values = [_balanced(truth[pick], guess[pick])
              for pick in (rng.integers(0, len(truth), len(truth)) for _ in range(RESAMPLES))]
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)
