"""How the automatic recipe keeps its search a fraction of the extraction it follows, on any number of images.

- Candidates are scored on a stratified sample of at most :data:`SCORING_SAMPLE` training and validation images
  (the winner is then fitted on all of them): the search costs the same from there on, and the fit of the winner
  grows linearly with the images.
- A candidate whose 95% interval, over the images it has answered so far, lies wholly below the interval of the
  leader (the best candidate scored on every fold) is dropped before its remaining folds: it cannot win.
- Each fold's linear fit starts from the previous fold's solution at the same strength (scikit-learn's warm
  start), and the winner's out-of-fold fits from its fit on all images.

The intervals for dropping are the binomial ones over the images answered (each class's recall for the
balanced accuracy), not the fold-to-fold spread: after one fold that spread is unknown, while several hundred
answers already bound the score to a few points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Training and validation images the candidates are scored on, at most (a stratified sample beyond).
SCORING_SAMPLE = 2000
#: The normal quantile of a two-sided 95% interval.
Z95 = 1.959964

Folds = list[tuple[np.ndarray, np.ndarray]]


def scoring_sample(y: np.ndarray, seed: int, limit: int = SCORING_SAMPLE) -> np.ndarray | None:
    """Indices of a stratified sample of ``limit`` images (each class in its share, at least 5 of each), sorted;
    None when there are no more than ``limit``."""
    if len(y) <= limit:
        return None
    rng = np.random.default_rng(seed)
    counts = np.bincount(y)
    want = np.maximum(np.round(counts * limit / len(y)).astype(int), np.minimum(counts, 5))
    want[np.argmax(counts)] += limit - int(want.sum())  # exactly ``limit``: the rounding settled on the largest
    picked = [rng.choice(np.flatnonzero(y == c), want[c], replace=False) for c in np.flatnonzero(counts)]
    return np.sort(np.concatenate(picked))


def restrict(folds: Folds, sample: np.ndarray, n: int) -> Folds:
    """``folds`` (indices into all ``n`` images) on the sample alone, as positions within ``sample``."""
    position = np.full(n, -1)
    position[sample] = np.arange(len(sample))
    out = []
    for fit, held in folds:
        fit_at, held_at = position[fit], position[held]
        out.append((fit_at[fit_at >= 0], held_at[held_at >= 0]))
    return [(fit, held) for fit, held in out if len(fit) and len(held)]


@dataclass
class Tally:
    """One candidate's answers so far: each fold's accuracy and balanced accuracy, and each class's right
    answers and images over every fold answered."""

    n_classes: int
    accuracies: list[float] = field(default_factory=list)
    balanced: list[float] = field(default_factory=list)
    right: np.ndarray = field(init=False)
    seen: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.right = np.zeros(self.n_classes, np.int64)
        self.seen = np.zeros(self.n_classes, np.int64)

    @property
    def folds(self) -> int:
        return len(self.accuracies)

    def add(self, predicted: np.ndarray, truth: np.ndarray) -> None:
        """One fold's answers ``predicted`` for its held-out images of classes ``truth``."""
        hit = predicted == truth
        self.accuracies.append(float(np.mean(hit)))
        present = np.unique(truth)
        self.balanced.append(float(np.mean([np.mean(hit[truth == c]) for c in present])))
        self.right += np.bincount(truth[hit], minlength=self.n_classes)
        self.seen += np.bincount(truth, minlength=self.n_classes)

    def bounds(self, balanced: bool) -> tuple[float, float]:
        """95% interval of the accuracy (or balanced accuracy) over every image answered so far (normal
        approximation; a right and a wrong answer added to each class keep it honest at 0% and 100%)."""
        present = self.seen > 0
        if balanced:
            recall = self.right[present] / self.seen[present]
            shrunk = (self.right[present] + 1) / (self.seen[present] + 2)
            mean = float(np.mean(recall))
            se = math.sqrt(float(np.sum(shrunk * (1 - shrunk) / self.seen[present]))) / int(present.sum())
        else:
            n, right = int(self.seen.sum()), int(self.right.sum())
            mean, shrunk_p = right / n, (right + 1) / (n + 2)
            se = math.sqrt(shrunk_p * (1 - shrunk_p) / n)
        return mean - Z95 * se, mean + Z95 * se

    def spread(self, values: list[float]) -> float:
        """The fold-to-fold standard deviation (0 with one fold)."""
        return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
