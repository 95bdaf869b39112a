"""Which unlabelled image to ask about next: the ones a label would teach the model most.

Uncertainty alone asks about twenty near-copies of one hard image twenty times. Foveal mixes it with diversity,
batch by batch (after Zhdanov, "Diverse mini-batch active learning", 2019, and Citovsky et al., "Batch active
learning at scale", NeurIPS 2021): the most uncertain images (margin between the two most probable classes of
the calibrated probabilities) form a pool several times the size of a batch; the pool is clustered on the cached
features (k-means, each image weighted by its uncertainty) into as many clusters as the batch holds, and each
cluster gives its most uncertain image. The next batch is chosen the same way from what is left.
benchmarks/bench_active.py measures it against random order and against uncertainty alone.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np

#: Images per batch of the diverse order (what the window asks between two refits).
BATCH = 20
#: The pool each batch is clustered from, in batches: the most uncertain BATCH × POOL images. Measured on the
#: benchmark sets (5 seeds): 10 beat 4, 7 and 20, and beat clustering the whole folder while few images are labelled.
POOL = 10
#: How many images are ordered batch by batch; the rest follow by uncertainty alone (a refit reorders them).
ORDERED = 200


class Method(StrEnum):
    """How what is left is ordered."""

    DIVERSE = "diverse"  # uncertainty with diversity (Foveal's order)
    UNCERTAINTY = "uncertainty"  # most uncertain first
    RANDOM = "random"


def margin(probs: np.ndarray) -> np.ndarray:
    """Each row's margin between its two most probable classes (0: torn between two … 1: certain)."""
    if probs.shape[1] < 2:
        return np.ones(len(probs), np.float32)
    top = np.sort(probs, axis=1)
    return (top[:, -1] - top[:, -2]).astype(np.float32)


def normalise(features: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, so distances compare what images show rather than how bright their maps are."""
    f = np.asarray(features, np.float32)
    return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)


def order(probs: np.ndarray, features: np.ndarray, method: Method | str = Method.DIVERSE, *, batch: int = BATCH,
          ordered: int = ORDERED, pool: int = POOL, seed: int = 0) -> np.ndarray:
    """The rows of ``probs`` (and of ``features``, the same images) best first, as ``method`` says; each batch
    of the diverse order is clustered from the ``pool`` × ``batch`` most uncertain images left."""
    n = len(probs)
    if n == 0:
        return np.zeros(0, np.int64)
    if Method(method) == Method.RANDOM:
        return np.random.default_rng(seed).permutation(n)
    by_uncertainty = np.lexsort((np.arange(n), margin(probs)))  # smallest margin first; ties by position
    if Method(method) == Method.UNCERTAINTY:
        return by_uncertainty
    return _diverse(probs, normalise(features), by_uncertainty, batch, ordered, pool, seed)


def _diverse(probs: np.ndarray, features: np.ndarray, by_uncertainty: np.ndarray, batch: int, ordered: int,
             pool_size: int, seed: int) -> np.ndarray:
    """Batches of uncertain images spread over the feature space, then the rest by uncertainty."""
    uncertainty = 1.0 - margin(probs)
    taken = np.zeros(len(probs), bool)
    chosen: list[int] = []
    rng = np.random.default_rng(seed)
    while len(chosen) < min(ordered, len(probs)):
        left = by_uncertainty[~taken[by_uncertainty]]
        pool = left[:batch * pool_size]
        k = min(batch, ordered - len(chosen), len(pool))
        picks = _one_per_cluster(features[pool], uncertainty[pool], k, rng)
        for p in pool[picks]:
            taken[p] = True
            chosen.append(int(p))
    rest = by_uncertainty[~taken[by_uncertainty]]
    return np.concatenate([np.array(chosen, np.int64), rest.astype(np.int64)])


def _one_per_cluster(x: np.ndarray, weight: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Positions in ``x`` of ``k`` images, one per cluster of a weighted k-means, the most uncertain of each,
    listed most uncertain first."""
    if k >= len(x):
        return np.argsort(-weight, kind="stable")
    labels = _kmeans(x, np.maximum(weight, 1e-3), k, rng)
    picks = []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        if len(members):
            picks.append(int(members[np.argmax(weight[members])]))
    if len(picks) < k:  # an emptied cluster: fill with the most uncertain not yet picked
        rest = [i for i in np.argsort(-weight, kind="stable") if i not in set(picks)]
        picks += rest[:k - len(picks)]
    picks_arr = np.array(picks, np.int64)
    return picks_arr[np.argsort(-weight[picks_arr], kind="stable")]


def _kmeans(x: np.ndarray, weight: np.ndarray, k: int, rng: np.random.Generator, steps: int = 20) -> np.ndarray:
    """Cluster index of each row: weighted k-means with k-means++ seeding (small inputs: a pool of images)."""
    centres = [x[rng.choice(len(x), p=weight / weight.sum())]]
    d2 = ((x - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        p = weight * d2
        centres.append(x[rng.choice(len(x), p=p / p.sum())] if p.sum() > 0 else x[rng.integers(len(x))])
        d2 = np.minimum(d2, ((x - centres[-1]) ** 2).sum(axis=1))
    c = np.stack(centres)
    labels = np.zeros(len(x), np.int64)
    for _ in range(steps):
        dist = (x ** 2).sum(1)[:, None] - 2 * x @ c.T + (c ** 2).sum(1)[None, :]
        new = dist.argmin(axis=1)
        if _ and np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            m = labels == j
            if m.any():
                c[j] = (x[m] * weight[m, None]).sum(0) / weight[m].sum()
    return labels
