"""The automatic recipe: which head, pooling and class weighting win on *this* data, chosen by cross-validation
on the frozen features of the training and validation images (the test split is never touched).

The features cost one backbone pass and are already extracted; every candidate head is then seconds. Candidates:

- the dense head Foveal trains by default (dropout, then a dense softmax, Adam, fixed epochs), and
- a linear head, scikit-learn's L2-regularised ``LogisticRegression`` on standardised features, the standard tool
  for frozen features, at a few regularisation strengths,

each on average-, max- and 2×2-grid-pooled features, with and without balanced class weights (and, when the images
are large, the best pooling again on features at a larger input size: a key ``"avg@336"``). The winner is the
best mean accuracy over the folds (balanced accuracy breaks ties), or, when the classes are imbalanced (the largest
has at least :data:`IMBALANCE` times the images of the smallest), the best mean balanced accuracy (the mean of each
class's recall; accuracy breaks ties): there, accuracy rewards a head that neglects the rare classes. Every
candidate's mean, spread and 95% interval is kept for run.json, the terminal, the window and the report.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from foveal.core.cancel import Cancelled, CancelToken
from foveal.core.training.head_fit import WarmStart, fit_dense, fit_linear, fit_linear_path
from foveal.core.training.passes import parse_key
from foveal.core.training.ranking import ACCURACY, BALANCED, IMBALANCE, METRIC_WORDS, Ranking, ranking_for
from foveal.core.training.recipe_search import Tally, restrict, scoring_sample

__all__ = ["ACCURACY", "BALANCED", "IMBALANCE", "METRIC_WORDS", "Candidate", "RecipeChoice", "Ranking",
           "choose_recipe", "fit_dense", "fit_linear", "fit_linear_path",
           "folds_possible", "out_of_fold_logits", "ranking_for", "stratified_folds"]

#: Inverse regularisation strengths of the linear head (scikit-learn's ``C``), strongest first.
STRENGTHS = (0.01, 0.1, 1.0)
MAX_FOLDS = 5
#: From this many training and validation images on, 3 folds (each then holds at least 160 images, and the
#: comparison costs half of 5 folds: the automatic recipe stays within 3× a fixed run).
FEWER_FOLDS_FROM = 500
#: What each pooling reads of the backbone's feature map, in words.
PLAIN_POOLING = {"avg": "the average of the backbone's features over the whole image",
                 "max": "the strongest response of each of the backbone's features anywhere in the image",
                 "grid": "the backbone's features of each quarter of the image separately"}


@dataclass(frozen=True)
class Candidate:
    """One recipe tried, with its cross-validated scores."""

    head: str  # "dense" or "linear"
    pooling: str  # "avg", "max" or "grid" (core.models.build.POOLINGS)
    balanced: bool  # classes weighted by their counts
    strength: float | None  # the linear head's C
    accuracy: float
    accuracy_sd: float
    balanced_accuracy: float
    folds: int
    size: int | None = None  # a larger input size than the run's own (None: the run's own)
    balanced_sd: float = 0.0  # the balanced accuracy's spread over folds
    #: Dropped after ``folds`` folds: its interval lay wholly below the leader's (the scores are of those folds).
    dropped: bool = False
    orientations: int = 1  # 8: features averaged over each image's rotations and flips
    tiles: int = 0  # 2: overlapping tiles of ``size`` px on a canvas twice the size (core.models.tiles)

    @property
    def interval(self) -> tuple[float, float]:
        """95% interval of the mean accuracy over folds (Student's t on the fold-to-fold spread)."""
        return _t_interval(self.accuracy, self.accuracy_sd, self.folds)

    @property
    def balanced_interval(self) -> tuple[float, float]:
        """95% interval of the mean balanced accuracy over folds (as :attr:`interval`)."""
        return _t_interval(self.balanced_accuracy, self.balanced_sd, self.folds)

    def score(self, metric: str) -> float:
        """The mean over folds of ``metric`` (ACCURACY or BALANCED)."""
        return self.balanced_accuracy if metric == BALANCED else self.accuracy

    def score_interval(self, metric: str) -> tuple[float, float]:
        """The 95% interval of :meth:`score`."""
        return self.balanced_interval if metric == BALANCED else self.interval

    def plain(self) -> str:
        """The candidate in words a person without machine-learning terms reads (:meth:`describe` has the
        technical name)."""
        head = ("a simple linear classifier" if self.head == "linear" else
                "a small network layer trained for several epochs")
        weights = ", giving rare classes as much weight as common ones" if self.balanced else ""
        return f"{head} reading {PLAIN_POOLING.get(self.pooling, self.pooling)}{weights}{self._pass_words(True)}"

    def _pass_words(self, plain: bool) -> str:
        """What the candidate's features were made of beyond the run's own pass, as a clause (empty: nothing)."""
        if self.tiles:
            return f", over tiles of {self.size} px at full resolution"
        turned = ", averaged over rotations and flips" if self.orientations == 8 else ""
        if not self.size:
            return turned
        return (f", on images enlarged to {self.size} px" if plain else f", images at {self.size} px") + turned

    @property
    def dropped_words(self) -> str:
        """How far a dropped candidate was scored (empty for one scored on every fold)."""
        return f"dropped after {self.folds} fold{'s' if self.folds > 1 else ''}" if self.dropped else ""

    def describe(self) -> str:
        head = f"linear head (C={self.strength:g})" if self.head == "linear" else "dense head"
        weights = ", classes weighted" if self.balanced else ""
        dropped = f" ({self.dropped_words}: clearly below the leader)" if self.dropped else ""
        return f"{head}, {self.pooling} pooling{weights}{self._pass_words(False)}{dropped}"

    def to_dict(self) -> dict:
        return {**asdict(self), "interval": list(self.interval), "balanced_interval": list(self.balanced_interval),
                "description": self.describe()}


def _t_interval(mean: float, sd: float, folds: int) -> tuple[float, float]:
    """95% interval of a mean over ``folds`` (Student's t on the fold-to-fold spread ``sd``)."""
    from scipy.stats import t

    half = float(t.ppf(0.975, max(folds - 1, 1))) * sd / math.sqrt(max(folds, 1))
    return max(0.0, mean - half), min(1.0, mean + half)


@dataclass(frozen=True)
class RecipeChoice:
    """The candidates tried (best first) and why the first won."""

    candidates: tuple[Candidate, ...]
    majority: float  # accuracy of always answering the largest class, for comparison
    seconds: float
    ranking: Ranking = field(default_factory=Ranking)
    scored_on: int = 0  # the images the candidates were scored on (a stratified sample of large sets)
    n_images: int = 0  # the training and validation images

    @property
    def winner(self) -> Candidate:
        return self.candidates[0]

    @property
    def dropped(self) -> int:
        """Candidates dropped before their last fold."""
        return sum(c.dropped for c in self.candidates)

    def merged(self, other: RecipeChoice) -> RecipeChoice:
        """Both choices' candidates in one ranking (scored on the same folds)."""
        ranked = sorted(self.candidates + other.candidates, key=lambda c: (c.dropped, *self.ranking.key(c)))
        return RecipeChoice(tuple(ranked), self.majority, self.seconds + other.seconds, self.ranking, self.scored_on,
                            self.n_images)

    def _close(self) -> int:
        """How many other candidates scored on every fold score within the winner's 95% interval of the ranked
        metric."""
        metric = self.ranking.metric
        lo = self.winner.score_interval(metric)[0]
        above = self.winner.accuracy >= self.ranking.floor  # the others compared on the same side of the floor
        return sum(c.score(metric) >= lo and not c.dropped and (c.accuracy >= self.ranking.floor) == above
                   for c in self.candidates[1:])

    def _below_floor(self) -> int:
        """How many candidates scored higher on the ranked metric than the winner but were right less often than
        always answering the largest class (so ranked after it)."""
        metric, w = self.ranking.metric, self.winner
        return sum(c.score(metric) > w.score(metric) and c.accuracy < self.ranking.floor and not c.dropped
                   for c in self.candidates[1:])

    def _search_words(self) -> str:
        """How the search was kept small, in words (empty when every candidate was scored on every image)."""
        parts = []
        if self.scored_on and self.scored_on < self.n_images:
            parts.append(f"scored on a stratified sample of {self.scored_on:,} of the {self.n_images:,} images (the "
                         "winner then fitted on all)")
        if self.dropped:
            parts.append(f"{self.dropped} dropped before their last fold, their 95% interval wholly below the "
                         "leader's")
        return "; ".join(parts)

    def reason(self) -> str:
        w, metric = self.winner, self.ranking.metric
        lo, hi = w.score_interval(metric)
        other = (f"; accuracy {w.accuracy:.1%}" if metric == BALANCED else
                 f"; balanced accuracy {w.balanced_accuracy:.1%}")
        text = (f"{w.describe()}: {w.score(metric):.1%} {self.ranking.words} in {w.folds}-fold cross-validation on "
                f"the training and validation images (95% interval {lo:.1%}–{hi:.1%}{other}), best of "
                f"{len(self.candidates)} candidates ranked by {self.ranking.words} because {self.ranking.why()}; "
                f"always answering the largest class would score {self.majority:.1%}")
        close = self._close()
        if close:
            text += f". {close} other candidate(s) score within its interval"
        below = self._below_floor()
        if below:
            text += (f". {below} candidate(s) with a higher {self.ranking.words} were set aside: their accuracy was "
                     f"below the largest class's share ({self.ranking.floor:.1%})")
        search = self._search_words()
        return f"{text}. Candidates {search}" if search else text

    def summary(self) -> str:
        """Why the winner was chosen, in one or two plain sentences (:meth:`reason` has the technical terms)."""
        w = self.winner
        if self.ranking.metric == BALANCED:
            score = (f"it recognised each class {w.balanced_accuracy:.0%} of the time on average and was right "
                     f"{w.accuracy:.0%} of the time overall (always answering the largest class: {self.majority:.0%}). "
                     f"The ways were ranked by how well they recognise every class, each counted equally, because "
                     f"{self.ranking.why()}")
        else:
            score = (f"it was right {w.accuracy:.0%} of the time (always answering the largest class: "
                     f"{self.majority:.0%})")
        text = (f"Foveal tried {len(self.candidates)} ways of reading the backbone's features and chose {w.plain()}: "
                f"tested on each part of the training and validation images in turn, having learned from the rest, "
                f"{score}")
        close = self._close()
        if close:
            text += f". {close} of the others did about as well (within the uncertainty of that score)"
        if self._below_floor():
            text += (f". {self._below_floor()} ways that recognised the classes more evenly were set aside: they "
                     f"were right less often than always answering the largest class")
        if self.dropped:
            text += f". {self.dropped} ways were set aside part-way, being clearly worse than the best so far"
        return text

    def to_dict(self) -> dict:
        return {"winner": self.winner.to_dict(), "reason": self.reason(), "summary": self.summary(),
                "majority": self.majority, "seconds": self.seconds, **self.ranking.to_dict(),
                "scored_on": self.scored_on, "n_images": self.n_images, "dropped": self.dropped,
                "candidates": [c.to_dict() for c in self.candidates]}


#: ``on_progress(done, total, candidate)``: called as each candidate is scored.
ProgressFn = Callable[[int, int, "Candidate"], None]


def folds_possible(y: np.ndarray) -> int:
    """How many stratified folds the labels allow (0 or 1: too few images per class to compare recipes)."""
    counts = np.bincount(y)
    counts = counts[counts > 0]
    most = 3 if len(y) >= FEWER_FOLDS_FROM else MAX_FOLDS
    return int(min(most, counts.min())) if len(counts) > 1 else 0


def choose_recipe(features: dict[str, np.ndarray], y: np.ndarray, n_classes: int, *, seed: int, epochs: int,
                  learning_rate: float, dropout: float, batch_size: int, on_progress: ProgressFn | None = None,
                  cancel: CancelToken | None = None, folds: list[tuple[np.ndarray, np.ndarray]] | None = None,
                  ) -> RecipeChoice:
    """Score every candidate by cross-validation on ``features[pooling]`` (N × D; ``pooling@SIZE`` for features
    at another input size) and ``y``: on ``folds`` (``(indices fitted, indices held out)``, e.g. keeping groups
    whole) or stratified k-fold; on a stratified sample of at most SCORING_SAMPLE images, each candidate dropped
    once its interval lies wholly below the leader's (core.training.recipe_search)."""
    t0 = time.monotonic()
    ranking = ranking_for(y)
    sample = scoring_sample(y, seed)
    ys = y if sample is None else y[sample]
    if folds is None:
        folds = stratified_folds(ys, seed)
    elif sample is not None:
        folds = restrict(folds, sample, len(y))
    plans = [(pooling, balanced) for pooling in features for balanced in (False, True)]
    search = _Search(ranking, len(folds), len(plans) * (1 + len(STRENGTHS)), on_progress)
    dense = {"epochs": epochs, "learning_rate": learning_rate, "dropout": dropout, "batch_size": batch_size,
             "seed": seed}
    for pooling, balanced in plans:
        x = features[pooling] if sample is None else features[pooling][sample]
        tallies = {head: Tally(n_classes) for head in (None, *STRENGTHS)}
        alive, warm = set(tallies), WarmStart()
        for j, fold in enumerate(folds, 1):
            if cancel is not None and cancel.cancelled:
                raise Cancelled
            answers = _fold_answers(x, ys, fold, n_classes, balanced, dense, alive, warm)
            for head, predicted in answers.items():
                tallies[head].add(predicted, ys[fold[1]])
            if j < len(folds):
                alive -= {head for head in alive if search.beaten(tallies[head])}
        for head, tally in tallies.items():
            search.done(_candidate(pooling, balanced, head, tally, dropped=head not in alive), tally)
    majority = float(np.bincount(y).max() / len(y))
    ranked = tuple(sorted(search.out, key=lambda c: (c.dropped, *ranking.key(c))))
    return RecipeChoice(ranked, majority, time.monotonic() - t0, ranking, len(ys), len(y))


class _Search:
    """The candidates scored so far and the leader: the best scored on every fold, and its interval."""

    def __init__(self, ranking: Ranking, k: int, total: int, on_progress: ProgressFn | None) -> None:
        self.ranking, self.k, self.total, self.on_progress = ranking, k, total, on_progress
        self.out: list[Candidate] = []
        self.leader: Candidate | None = None
        self.leader_low = -math.inf

    def beaten(self, tally: Tally) -> bool:
        """The candidate's interval lies wholly below the leader's: it cannot win."""
        return tally.bounds(self.ranking.metric == BALANCED)[1] < self.leader_low

    def done(self, cand: Candidate, tally: Tally) -> None:
        """A candidate scored (or dropped): kept, said, and the leader if it is the best scored on every fold."""
        self.out.append(cand)
        if not cand.dropped and (self.leader is None or self.ranking.key(cand) < self.ranking.key(self.leader)):
            self.leader, self.leader_low = cand, tally.bounds(self.ranking.metric == BALANCED)[0]
        if self.on_progress is not None:
            self.on_progress(len(self.out), self.total, cand)


def _candidate(pooling: str, balanced: bool, head: float | None, tally: Tally, *, dropped: bool) -> Candidate:
    """The candidate of ``head`` (None: dense; else the linear head's strength) from its answers; ``pooling`` is
    its features' key (core.training.passes: ``"max@336"``, ``"avg~8"``, ``"avg@224#2"``)."""
    name, p = parse_key(pooling, 0)
    return Candidate("dense" if head is None else "linear", name, balanced, head, float(np.mean(tally.accuracies)),
                     tally.spread(tally.accuracies), float(np.mean(tally.balanced)), tally.folds,
                     p.size or None, tally.spread(tally.balanced), dropped, p.orientations, p.tiles)


def stratified_folds(y: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The inner folds: stratified, as many as :func:`folds_possible` allows."""
    from sklearn.model_selection import StratifiedKFold

    k = folds_possible(y)
    if k < 2:
        raise ValueError("too few images per class for cross-validation")
    return list(StratifiedKFold(k, shuffle=True, random_state=seed % (2**32)).split(np.zeros(len(y)), y))


def out_of_fold_logits(x: np.ndarray, y: np.ndarray, n_classes: int, strength: float, balanced: bool,
                       seed: int, warm: WarmStart | None = None) -> np.ndarray:
    """The linear head's logits for every image from a head fitted on the other folds (never on the image); each
    fit starts from ``warm`` (the fit on all images) when given."""
    logits = np.zeros((len(y), n_classes), np.float64)
    for fit, held in stratified_folds(y, seed):
        start = None if warm is None else dict(warm)
        kernel, bias = fit_linear(x[fit], y[fit], n_classes, strength, balanced, start)
        logits[held] = x[held] @ kernel + bias
    return logits


def _fold_answers(x: np.ndarray, y: np.ndarray, fold: tuple[np.ndarray, np.ndarray], n_classes: int,
                  balanced: bool, dense: dict, heads: set[float | None],
                  warm: WarmStart) -> dict[float | None, np.ndarray]:
    """The classes answered for one fold's held-out images by each head in ``heads``: the dense head (None) and
    the linear head at each strength (each fit warm-started from ``warm``, the previous fold's)."""
    train_idx, test_idx = fold
    out: dict[float | None, np.ndarray] = {}
    if None in heads:
        kernel, bias = fit_dense(x[train_idx], y[train_idx], n_classes, balanced=balanced, **dense)
        out[None] = np.argmax(x[test_idx] @ kernel + bias, axis=1)
    strengths = tuple(c for c in STRENGTHS if c in heads)
    if strengths:
        path = fit_linear_path(x[train_idx], y[train_idx], n_classes, strengths, balanced, warm)
        for c, (w, b) in zip(strengths, path, strict=True):
            out[c] = np.argmax(x[test_idx] @ w + b, axis=1)
    return out

