"""One fit of the labelling model and what follows from it: each unlabelled image's calibrated probabilities,
whether it is unfamiliar, the order to ask in, and the suggestions in words."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from foveal.core.labelling.head import fit_and_measure
from foveal.core.labelling.ordering import ORDERED, Method, margin, order
from foveal.core.labelling.records import Round, Suggestion
from foveal.core.models.familiar import fit_familiarity

#: Below this margin between the two most probable classes, the model is said to hesitate between them.
HESITATES = 0.5
UNFAMILIAR_WHY = "unlike every labelled image: maybe a class you do not have yet"


@dataclass(frozen=True)
class Fitted:
    """The model's view of the unlabelled images after one fit (rows: the unlabelled images, in their order)."""

    round: Round
    probs: np.ndarray  # (N, K) calibrated
    unfamiliar: np.ndarray  # (N,) bool
    order: np.ndarray  # row indices, best to ask first
    rank: np.ndarray  # (N,) each row's place in ``order``


def fit_state(labelled: np.ndarray, labels: np.ndarray, unlabelled: np.ndarray, classes: tuple[str, ...], *,
              method: Method | str = Method.DIVERSE, seed: int = 0) -> Fitted:
    """Fit the head on the labelled features, then predict, flag and order the unlabelled ones."""
    head, measured = fit_and_measure(labelled, labels, classes, seed=seed)
    probs = head.probabilities(unlabelled)
    familiarity = fit_familiarity(labelled, seed=seed)
    if familiarity is not None and len(unlabelled):
        unfamiliar = familiarity.flags(unlabelled)[0]
    else:
        unfamiliar = np.zeros(len(unlabelled), bool)
    ordered = order(probs, unlabelled, method, seed=seed)
    rank = np.empty(len(ordered), np.int64)
    rank[ordered] = np.arange(len(ordered))
    return Fitted(measured, probs, unfamiliar, ordered, rank)


def suggestion(fitted: Fitted, row: int, path: str, classes: tuple[str, ...]) -> Suggestion:
    """What the model suggests for one unlabelled image, and why it is asked about, in plain words."""
    p = fitted.probs[row]
    best = int(np.argmax(p))
    unfamiliar = bool(fitted.unfamiliar[row])
    return Suggestion(path, classes[best], float(p[best]), tuple(float(x) for x in p), unfamiliar,
                      UNFAMILIAR_WHY if unfamiliar else _why(p, classes, int(fitted.rank[row])))


def _why(p: np.ndarray, classes: tuple[str, ...], rank: int) -> str:
    """Why an image is asked about: the model hesitates, or it stands for a part of the folder not asked yet."""
    top = np.argsort(-p, kind="stable")
    first, second = int(top[0]), int(top[1]) if len(top) > 1 else int(top[0])
    m = float(margin(p[None, :])[0])
    if m < HESITATES:
        return (f"the model hesitates between {classes[first]} ({p[first]:.0%}) and {classes[second]} "
                f"({p[second]:.0%})")
    if rank < ORDERED:
        return (f"the model leans to {classes[first]} ({p[first]:.0%}); asked because it is unlike the images asked "
                "about before it")
    return f"the model suggests {classes[first]} ({p[first]:.0%})"
