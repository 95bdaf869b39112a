"""The automatic recipe: which head, pooling and class weighting win on *this* data, chosen by cross-validation
on the frozen features of the training and validation images (the test split is never touched).

The features cost one backbone pass and are already extracted; every candidate head is then seconds. Candidates:

- the dense head Foveal trains by default (dropout, then a dense softmax, Adam, fixed epochs), and
- a linear head, scikit-learn's L2-regularised ``LogisticRegression`` on standardised features, the standard tool
  for frozen features, at a few regularisation strengths,

each on average-, max- and 2×2-grid-pooled features, with and without balanced class weights (and, when the images
are large, the best pooling again on features at a larger input size: a key ``"avg@336"``). The winner is the
best mean accuracy over the folds (balanced accuracy breaks ties); every candidate's mean, spread and 95% interval
is kept for run.json, the terminal, the window and the report.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from foveal.core.cancel import Cancelled, CancelToken

#: Inverse regularisation strengths of the linear head (scikit-learn's ``C``), strongest first.
STRENGTHS = (0.01, 0.1)
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

    @property
    def interval(self) -> tuple[float, float]:
        """95% interval of the mean accuracy over folds (Student's t on the fold-to-fold spread)."""
        from scipy.stats import t

        half = float(t.ppf(0.975, max(self.folds - 1, 1))) * self.accuracy_sd / math.sqrt(max(self.folds, 1))
        return max(0.0, self.accuracy - half), min(1.0, self.accuracy + half)

    def plain(self) -> str:
        """The candidate in words a person without machine-learning terms reads (:meth:`describe` has the
        technical name)."""
        head = ("a simple linear classifier" if self.head == "linear" else
                "a small network layer trained for several epochs")
        weights = ", giving rare classes as much weight as common ones" if self.balanced else ""
        at = f", on images enlarged to {self.size} px" if self.size else ""
        return f"{head} reading {PLAIN_POOLING.get(self.pooling, self.pooling)}{weights}{at}"

    def describe(self) -> str:
        head = f"linear head (C={self.strength:g})" if self.head == "linear" else "dense head"
        weights = ", classes weighted" if self.balanced else ""
        at = f", images at {self.size} px" if self.size else ""
        return f"{head}, {self.pooling} pooling{weights}{at}"

    def to_dict(self) -> dict:
        return {**asdict(self), "interval": list(self.interval), "description": self.describe()}


@dataclass(frozen=True)
class RecipeChoice:
    """The candidates tried (best first) and why the first won."""

    candidates: tuple[Candidate, ...]
    majority: float  # accuracy of always answering the largest class, for comparison
    seconds: float

    @property
    def winner(self) -> Candidate:
        return self.candidates[0]

    def merged(self, other: RecipeChoice) -> RecipeChoice:
        """Both choices' candidates in one ranking (scored on the same folds)."""
        ranked = sorted(self.candidates + other.candidates, key=lambda c: (-c.accuracy, -c.balanced_accuracy))
        return RecipeChoice(tuple(ranked), self.majority, self.seconds + other.seconds)

    def reason(self) -> str:
        w = self.winner
        lo, hi = w.interval
        text = (f"{w.describe()}: {w.accuracy:.1%} accuracy in {w.folds}-fold cross-validation on the training and "
                f"validation images (95% interval {lo:.1%}–{hi:.1%}), best of {len(self.candidates)} candidates; "
                f"always answering the largest class would score {self.majority:.1%}")
        close = [c for c in self.candidates[1:] if c.accuracy >= lo]
        if close:
            text += f". {len(close)} other candidate(s) score within its interval"
        return text

    def summary(self) -> str:
        """Why the winner was chosen, in one or two plain sentences (:meth:`reason` has the technical terms)."""
        w = self.winner
        lo, _ = w.interval
        text = (f"Foveal tried {len(self.candidates)} ways of reading the backbone's features and chose {w.plain()}: "
                f"tested on each part of the training and validation images in turn, having learned from the rest, "
                f"it was right {w.accuracy:.0%} of the time (always answering the largest class: "
                f"{self.majority:.0%})")
        close = sum(c.accuracy >= lo for c in self.candidates[1:])
        if close:
            text += f". {close} of the others did about as well (within the uncertainty of that score)"
        return text

    def to_dict(self) -> dict:
        return {"winner": self.winner.to_dict(), "reason": self.reason(), "summary": self.summary(),
                "majority": self.majority, "seconds": self.seconds,
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
    whole) or stratified k-fold."""

    t0 = time.monotonic()
    folds = folds if folds is not None else stratified_folds(y, seed)
    k = len(folds)
    plans = [(pooling, balanced) for pooling in features for balanced in (False, True)]
    total, out = len(plans) * (1 + len(STRENGTHS)), []
    dense = {"epochs": epochs, "learning_rate": learning_rate, "dropout": dropout, "batch_size": batch_size,
             "seed": seed}
    for pooling, balanced in plans:
        if cancel is not None and cancel.cancelled:
            raise Cancelled
        per_fold = [_fold_scores(features[pooling], y, fold, n_classes, balanced, dense) for fold in folds]
        for strength in (None, *STRENGTHS):
            accs = [fold[strength][0] for fold in per_fold]
            baccs = [fold[strength][1] for fold in per_fold]
            name, _, size = pooling.partition("@")
            cand = Candidate("dense" if strength is None else "linear", name, balanced, strength,
                             float(np.mean(accs)), float(np.std(accs, ddof=1)), float(np.mean(baccs)), k,
                             int(size) if size else None)
            out.append(cand)
            if on_progress is not None:
                on_progress(len(out), total, cand)
    out.sort(key=lambda cand: (-cand.accuracy, -cand.balanced_accuracy))
    majority = float(np.bincount(y).max() / len(y))
    return RecipeChoice(tuple(out), majority, time.monotonic() - t0)


def stratified_folds(y: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The inner folds: stratified, as many as :func:`folds_possible` allows."""
    from sklearn.model_selection import StratifiedKFold

    k = folds_possible(y)
    if k < 2:
        raise ValueError("too few images per class for cross-validation")
    return list(StratifiedKFold(k, shuffle=True, random_state=seed % (2**32)).split(np.zeros(len(y)), y))


def out_of_fold_logits(x: np.ndarray, y: np.ndarray, n_classes: int, strength: float, balanced: bool,
                       seed: int) -> np.ndarray:
    """The linear head's logits for every image from a head fitted on the other folds (never on the image)."""
    logits = np.zeros((len(y), n_classes), np.float64)
    for fit, held in stratified_folds(y, seed):
        kernel, bias = fit_linear(x[fit], y[fit], n_classes, strength, balanced)
        logits[held] = x[held] @ kernel + bias
    return logits


def _fold_scores(x: np.ndarray, y: np.ndarray, fold: tuple[np.ndarray, np.ndarray], n_classes: int,
                 balanced: bool, dense: dict) -> dict[float | None, tuple[float, float]]:
    """(accuracy, balanced accuracy) on one fold's held-out images: the dense head (key None) and the linear head
    at each strength."""
    train_idx, test_idx = fold
    truth = y[test_idx]
    kernel, bias = fit_dense(x[train_idx], y[train_idx], n_classes, balanced=balanced, **dense)
    out: dict[float | None, tuple[float, float]] = {None: _scores(x[test_idx] @ kernel + bias, truth)}
    path = fit_linear_path(x[train_idx], y[train_idx], n_classes, STRENGTHS, balanced)
    for c, (w, b) in zip(STRENGTHS, path, strict=True):
        out[c] = _scores(x[test_idx] @ w + b, truth)
    return out


def _scores(logits: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(accuracy, balanced accuracy) of the predictions ``argmax(logits)``."""
    predicted = np.argmax(logits, axis=1)
    recalls = [np.mean(predicted[truth == j] == j) for j in np.unique(truth)]
    return float(np.mean(predicted == truth)), float(np.mean(recalls))


def fit_linear(x: np.ndarray, y: np.ndarray, n_classes: int, strength: float,
               balanced: bool) -> tuple[np.ndarray, np.ndarray]:
    """A logistic regression on standardised features, returned as ``(kernel D × K, bias K)`` of a dense layer
    on the raw features (the standardisation folded in), so that a Keras softmax layer computes it exactly."""
    return fit_linear_path(x, y, n_classes, (strength,), balanced)[0]


def fit_linear_path(x: np.ndarray, y: np.ndarray, n_classes: int, strengths: tuple[float, ...],
                    balanced: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`fit_linear` at each strength in turn, each fit starting from the previous solution (strongest
    regularisation first: the path is cheaper than separate fits)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    z = (x - mean) / scale
    # With fewer images than features, the L2-regularised solution lies in the span of the images (the
    # representer theorem): fit on their coordinates in that span (N columns instead of D) and map back. The
    # same model, several times faster on a few hundred images of 1,280 to 5,120 features.
    basis = None
    if z.shape[1] > z.shape[0]:
        z, basis = _span_coordinates(z.astype(np.float64))
    # tol 1e-3: predictions settle long before the loss does (3× fewer iterations than the default 1e-4).
    model = LogisticRegression(class_weight="balanced" if balanced else None, max_iter=500, tol=1e-3,
                               warm_start=True)
    out = []
    for strength in strengths:
        model.set_params(C=strength)
        with warnings.catch_warnings():  # a capped number of iterations is a choice, not a problem
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(z, y)
        coef = model.coef_ if basis is None else model.coef_ @ basis
        out.append(_as_dense(coef, model.intercept_, model.classes_, n_classes, mean, scale))
    return out


def _span_coordinates(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(coordinates N × r, basis r × D)`` with ``coordinates @ basis == z`` and orthonormal basis rows spanning
    the images (rank ``r``).

    From the eigenvectors of the N × N Gram matrix rather than an SVD of the N × D features: the same subspace, 10
    to 30 times faster (3 ms against 74 ms for 100 images of 2,560 features), which the recipe pays once per fold
    and candidate. Directions of (numerically) no variance are dropped: the fit cannot use them anyway."""
    values, vectors = np.linalg.eigh(z @ z.T)
    keep = values > values[-1] * 1e-10  # singular values above 1e-5 of the largest: well defined in float64
    s = np.sqrt(values[keep])
    coordinates = vectors[:, keep] * s
    basis = (vectors[:, keep] / s).T @ z
    return coordinates, basis


def _as_dense(fitted: np.ndarray, fitted_bias: np.ndarray, classes: np.ndarray, n_classes: int, mean: np.ndarray,
              scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A logistic regression's coefficients (on standardised features) as a dense softmax layer's on raw ones."""
    coef = np.zeros((n_classes, len(mean)), np.float64)
    intercept = np.zeros(n_classes, np.float64)
    if n_classes == 2 and fitted.shape[0] == 1:  # binary: softmax over (0, z) is the sigmoid of z
        coef[1], intercept[1] = fitted[0], fitted_bias[0]
    else:
        coef[classes], intercept[classes] = fitted, fitted_bias
        missing = np.setdiff1d(np.arange(n_classes), classes)
        intercept[missing] = -1e4  # a class absent from these images is never predicted
    kernel = (coef / scale).T
    bias = intercept - (mean / scale) @ coef.T
    return kernel.astype(np.float32), bias.astype(np.float32)


def fit_dense(x: np.ndarray, y: np.ndarray, n_classes: int, *, balanced: bool, epochs: int, learning_rate: float,
              dropout: float, batch_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Foveal's dense head (dropout, dense softmax; Adam as Keras runs it; Glorot-uniform start), trained for
    ``epochs`` in NumPy: the same recipe as the Keras head, without a graph to trace for every fold."""
    rng = np.random.default_rng(seed)
    d = x.shape[1]
    limit = math.sqrt(6.0 / (d + n_classes))
    w = rng.uniform(-limit, limit, (d, n_classes))
    b = np.zeros(n_classes)
    weights = np.ones(n_classes)
    if balanced:
        counts = np.bincount(y, minlength=n_classes).astype(float)
        present = counts > 0
        weights[present] = len(y) / (present.sum() * counts[present])
    m_w, v_w, m_b, v_b = np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)
    beta1, beta2, eps, step = 0.9, 0.999, 1e-7, 0
    onehot = np.eye(n_classes)[y]
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch_size):
            idx = order[start:start + batch_size]
            xb = x[idx]
            if dropout > 0:
                xb = xb * (rng.random(xb.shape) >= dropout) / (1 - dropout)
            logits = xb @ w + b
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            sw = weights[y[idx]][:, None]
            grad = sw * (p - onehot[idx]) / len(idx)
            g_w, g_b = xb.T @ grad, grad.sum(axis=0)
            step += 1
            m_w, m_b = beta1 * m_w + (1 - beta1) * g_w, beta1 * m_b + (1 - beta1) * g_b
            v_w, v_b = beta2 * v_w + (1 - beta2) * g_w**2, beta2 * v_b + (1 - beta2) * g_b**2
            lr = learning_rate * math.sqrt(1 - beta2**step) / (1 - beta1**step)
            w -= lr * m_w / (np.sqrt(v_w) + eps)
            b -= lr * m_b / (np.sqrt(v_b) + eps)
    return w.astype(np.float32), b.astype(np.float32)
