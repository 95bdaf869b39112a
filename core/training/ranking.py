"""How the automatic recipe's candidates (and a comparison's backbones) are ranked: by accuracy, or by balanced
accuracy where the classes are imbalanced, and never a candidate right less often than always answering the
largest class before one that is not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

#: Classes are imbalanced, and candidates ranked by balanced accuracy, from this ratio of the largest class's
#: images to the smallest's on. At 1.5 the rarest class holds at most 40% of a two-class set: a head that answers
#: the common class more often gains accuracy while it loses the rare class, which balanced accuracy shows.
IMBALANCE = 1.5
ACCURACY, BALANCED = "accuracy", "balanced_accuracy"
#: Each ranking metric in words.
METRIC_WORDS = {ACCURACY: "accuracy", BALANCED: "balanced accuracy"}


class Scored(Protocol):
    """Anything with an accuracy and a balanced accuracy (None: not scored)."""

    @property
    def accuracy(self) -> float | None: ...

    @property
    def balanced_accuracy(self) -> float | None: ...


@dataclass(frozen=True)
class Ranking:
    """What the candidates are ranked by: ``metric`` (ACCURACY or BALANCED) and the ratio of the largest class's
    images to the smallest's that decided it."""

    metric: str = ACCURACY
    imbalance: float = 1.0
    #: The share of the largest class: a candidate right less often than always answering it comes after every
    #: candidate that is not (ranked by balanced accuracy, a head can trade the common class away for a little
    #: balance and end below what answering one class achieves).
    floor: float = 0.0

    @property
    def words(self) -> str:
        return METRIC_WORDS[self.metric]

    def key(self, cand: Scored) -> tuple[float, float, float]:
        """Sort key, best first: above the largest class's share (:attr:`floor`) or not, the ranked score, then the
        other one (a recipe's candidates; a comparison's backbones, core.compare, are ranked by the same key)."""
        first, second = ((cand.balanced_accuracy, cand.accuracy) if self.metric == BALANCED else
                         (cand.accuracy, cand.balanced_accuracy))
        return float((cand.accuracy or 0.0) < self.floor), -(first or 0.0), -(second or 0.0)

    def why(self) -> str:
        """Why this metric, in one clause of plain words."""
        if self.metric == BALANCED:
            return (f"the classes are imbalanced (the largest has {self.imbalance:.1f}× the images of the smallest), "
                    "so each class counts equally: a way that neglects a rare class cannot win by being right about "
                    "the common ones")
        return (f"the classes are about equally common (the largest has {self.imbalance:.1f}× the images of the "
                f"smallest, under {IMBALANCE:g}×)")

    def to_dict(self) -> dict:
        return {"ranked_by": self.metric, "imbalance": self.imbalance, "ranked_by_reason": self.why(),
                "floor": self.floor}


def ranking_for(y: np.ndarray) -> Ranking:
    """Balanced accuracy when the largest class has at least :data:`IMBALANCE` times the images of the smallest
    in ``y``, else accuracy."""
    counts = np.bincount(y)
    counts = counts[counts > 0]
    ratio = float(counts.max() / counts.min()) if len(counts) else 1.0
    floor = float(counts.max() / counts.sum()) if len(counts) else 0.0
    return Ranking(BALANCED if ratio >= IMBALANCE else ACCURACY, round(ratio, 2), floor)


