"""How familiar an image looks to a trained model: is it like the images the model learned from?

A classifier answers for any image, a cartoon logo included, often with high confidence. Foveal keeps, in the run
folder, the pooled backbone features of the training images (the vector the head reads), L2-normalised; an
image's *unfamiliar score* is one minus the cosine similarity to its k-th nearest training image (the
nearest-neighbour test of Sun et al., "Out-of-distribution detection with deep nearest neighbors", ICML 2022:
no assumption about the shape of the classes, nothing to fit but the threshold). The threshold is set on the
validation images, which the reference never contains, so that about 95% of images like the training ones pass.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from foveal.core.io import open_atomic

FAMILIARITY_FILE = "familiarity.npz"
#: Share of the validation images that pass: the threshold is their 95th percentile.
PASS_RATE = 0.95
#: Neighbours: the score is the distance to the k-th nearest training image.
K = 5
#: At most this many training images are kept as the reference (a spread sample of larger sets).
MAX_REFERENCE = 5000
#: Said where a prediction comes with the flag.
UNFAMILIAR_WORDS = ("this image does not look like the images the model learned from: its answer may be "
                    "meaningless")


def normalise(features: np.ndarray) -> np.ndarray:
    f = np.asarray(features, np.float32)
    return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)


@dataclass(frozen=True)
class Familiarity:
    """The reference features and the threshold above which an image is *unfamiliar*."""

    reference: np.ndarray  # (M, D) float32, L2-normalised
    threshold: float
    k: int = K

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Unfamiliar scores (0: identical to a training image … 2: opposite) of ``features`` (N × D)."""
        q = normalise(features)
        k = min(self.k, len(self.reference))
        out = np.empty(len(q), np.float32)
        for start in range(0, len(q), 512):
            sims = q[start:start + 512] @ self.reference.T
            kth = np.partition(-sims, k - 1, axis=1)[:, k - 1]  # minus the k-th largest similarity
            out[start:start + 512] = 1.0 + kth
        return out

    def flags(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(unfamiliar?, score)`` of each row of ``features``."""
        s = self.scores(features)
        return s > self.threshold, s

    def summary(self) -> dict:
        """What run.json records."""
        return {"method": f"distance to the {self.k}th nearest training image (cosine, pooled features)",
                "k": self.k, "threshold": self.threshold, "n_reference": int(len(self.reference)),
                "pass_rate": PASS_RATE, "file": FAMILIARITY_FILE}

    def save(self, run_dir: str | os.PathLike[str]) -> Path:
        path = Path(run_dir) / FAMILIARITY_FILE
        with open_atomic(path, "wb") as fh:
            np.savez(fh, reference=self.reference.astype(np.float16), threshold=np.float32(self.threshold),
                     k=np.int32(self.k))
        return path

    @classmethod
    def load(cls, run_dir: str | os.PathLike[str] | None) -> Familiarity | None:
        """The run's statistics, or None (a run made before Foveal kept them, or a damaged file)."""
        if run_dir is None:
            return None
        path = Path(run_dir) / FAMILIARITY_FILE
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as d:
                reference = normalise(d["reference"].astype(np.float32))
                return cls(reference, float(d["threshold"]), int(d["k"]))
        except (OSError, ValueError, KeyError):
            return None


def fit_familiarity(train: np.ndarray, val: np.ndarray, *, k: int = K, seed: int = 0) -> Familiarity | None:
    """Reference from the training features, threshold from the validation ones (None without either)."""
    if len(train) == 0 or len(val) == 0:
        return None
    if len(train) > MAX_REFERENCE:
        pick = np.random.default_rng(seed).choice(len(train), MAX_REFERENCE, replace=False)
        train = train[np.sort(pick)]
    # float16 is how the reference is stored; the threshold is set on the very values scoring will use.
    reference = normalise(normalise(train).astype(np.float16).astype(np.float32))
    fam = Familiarity(reference, 0.0, min(k, len(reference)))
    threshold = float(np.quantile(fam.scores(val), PASS_RATE))
    return Familiarity(reference, threshold, fam.k)
