"""How familiar an image looks to a trained model: is it like the images the model learned from?

A classifier answers for any image, a cartoon logo included, often with high confidence. Foveal keeps, in the run
folder, the pooled backbone features of the training and validation images (the vector the head reads),
L2-normalised, as the *reference*; an image's *unfamiliar score* is one minus the cosine similarity to its k-th
nearest reference image (the nearest-neighbour test of Sun et al., "Out-of-distribution detection with deep
nearest neighbors", ICML 2022: no assumption about the shape of the classes, nothing to fit but the threshold).

The threshold is set on every reference image, each scored against the others (leave-one-out): its distance to its
k-th nearest neighbour among the rest of the reference is what a new image like the training ones would score.
The threshold is the 95th percentile of those scores, so about 5% of new images like the training ones are
flagged. Runs saved before Foveal did this set it on the validation images alone (a few dozen in a small run, too
few to place a 5% tail: it flagged far more than 5%); their files still load, and say so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from foveal.core.io import open_atomic

FAMILIARITY_FILE = "familiarity.npz"
#: Share of images like the training ones that pass: the threshold is the 95th percentile of their scores.
PASS_RATE = 0.95
#: Neighbours: the score is the distance to the k-th nearest reference image.
K = 5
#: At most this many images are kept as the reference (a spread sample of larger sets).
MAX_REFERENCE = 5000
#: How the threshold was set: each reference image against the others.
LEAVE_ONE_OUT = "leave-one-out"
#: How runs saved before set it: the validation images (not in the reference) alone.
VALIDATION = "validation"
#: The two in words, for run.json.
THRESHOLD_WORDS = {
    LEAVE_ONE_OUT: "each reference image's distance to its k-th nearest among the other reference images "
                   "(leave-one-out); the threshold is their 95th percentile",
    VALIDATION: "the validation images' distances to the reference (training images only); the threshold is "
                "their 95th percentile",
}
#: Said where a prediction comes with the flag.
UNFAMILIAR_WORDS = ("this image does not look like the images the model learned from: its answer may be "
                    "meaningless")
#: Said instead of the answer of an image that is unfamiliar.
NO_ANSWER_WORDS = "No answer: this image is unlike the training images"


def normalise(features: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero)."""
    f = np.asarray(features, np.float32)
    return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)


def _kth_distances(queries: np.ndarray, reference: np.ndarray, k: int, skip_self_from: int | None = None) -> np.ndarray:
    """One minus the k-th largest cosine similarity of each query row to the reference rows, in chunks.

    ``skip_self_from``: the queries are reference rows ``skip_self_from, skip_self_from + 1, …`` themselves, and
    each is left out of its own neighbours (leave-one-out)."""
    out = np.empty(len(queries), np.float32)
    for start in range(0, len(queries), 512):
        sims = queries[start:start + 512] @ reference.T
        if skip_self_from is not None:
            rows = np.arange(len(sims))
            sims[rows, skip_self_from + start + rows] = -np.inf
        out[start:start + 512] = 1.0 + np.partition(-sims, k - 1, axis=1)[:, k - 1]  # minus the k-th largest
    return out


@dataclass(frozen=True)
class Familiarity:
    """The reference features and the threshold above which an image is *unfamiliar*.

    ``threshold_on`` says how the threshold was set (:data:`LEAVE_ONE_OUT`, or :data:`VALIDATION` for runs saved
    before), ``n_threshold`` on how many images (None where an older file does not say)."""

    reference: np.ndarray  # (M, D) float32, L2-normalised
    threshold: float
    k: int = K
    threshold_on: str = LEAVE_ONE_OUT
    n_threshold: int | None = None

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Unfamiliar scores (0: identical to a reference image … 2: opposite) of ``features`` (N × D)."""
        return _kth_distances(normalise(features), self.reference, min(self.k, len(self.reference)))

    def flags(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(unfamiliar?, score)`` of each row of ``features``."""
        s = self.scores(features)
        return s > self.threshold, s

    def summary(self) -> dict:
        """What run.json records."""
        reference = ("training and validation images" if self.threshold_on == LEAVE_ONE_OUT else
                     "training images")
        return {"method": f"distance to the {self.k}th nearest reference image (cosine, pooled features)",
                "k": self.k, "threshold": self.threshold, "n_reference": int(len(self.reference)),
                "reference": reference, "threshold_on": THRESHOLD_WORDS.get(self.threshold_on, self.threshold_on),
                "n_threshold": self.n_threshold, "pass_rate": PASS_RATE, "file": FAMILIARITY_FILE}

    def save(self, run_dir: str | os.PathLike[str]) -> Path:
        """Write the statistics into the run folder (atomically); the reference is kept in float16."""
        path = Path(run_dir) / FAMILIARITY_FILE
        with open_atomic(path, "wb") as fh:
            np.savez(fh, reference=self.reference.astype(np.float16), threshold=np.float32(self.threshold),
                     k=np.int32(self.k), threshold_on=np.str_(self.threshold_on),
                     n_threshold=np.int32(-1 if self.n_threshold is None else self.n_threshold))
        return path

    @classmethod
    def load(cls, run_dir: str | os.PathLike[str] | None) -> Familiarity | None:
        """The run's statistics, or None (a run made before Foveal kept them, or a damaged file). A file saved
        before the threshold was set leave-one-out loads as it was made (:data:`VALIDATION`)."""
        if run_dir is None:
            return None
        path = Path(run_dir) / FAMILIARITY_FILE
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as d:
                reference = normalise(d["reference"].astype(np.float32))
                on = str(d["threshold_on"]) if "threshold_on" in d.files else VALIDATION
                n = int(d["n_threshold"]) if "n_threshold" in d.files else -1
                fam = cls(reference, float(d["threshold"]), int(d["k"]), on, n if n >= 0 else None)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return fam if fam.reference.ndim == 2 and len(fam.reference) and fam.k >= 1 else None


def fit_familiarity(features: np.ndarray, *, k: int = K, seed: int = 0) -> Familiarity | None:
    """Reference and threshold from the pooled features of the images the model learned from (training and
    validation images, each once; no augmented copies): the threshold is the 95th percentile of each reference
    image's leave-one-out score. None with fewer than two images."""
    if len(features) < 2:
        return None
    if len(features) > MAX_REFERENCE:
        pick = np.random.default_rng(seed).choice(len(features), MAX_REFERENCE, replace=False)
        features = features[np.sort(pick)]
    # float16 is how the reference is stored; the threshold is set on the very values scoring will use.
    reference = normalise(normalise(features).astype(np.float16).astype(np.float32))
    k = min(k, len(reference) - 1)
    own = _kth_distances(reference, reference, k, skip_self_from=0)
    return Familiarity(reference, float(np.quantile(own, PASS_RATE)), k, LEAVE_ONE_OUT, len(reference))
