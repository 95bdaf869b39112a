"""What a run measures after saving. The held-out test split, once, through the path the saved model and every
export take: each image decoded whole and resized in floating point (core.models.predict), then the whole
classifier; so the accuracy a run reports is the accuracy ``foveal evaluate``, the window and the exports find on
the same images. And the familiarity statistics (core.models.familiar) from the training and validation
features."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from core.cancel import CancelToken
from core.data.scan import ImageRecord
from core.models.familiar import Familiarity, fit_familiarity
from core.models.predict import ImageFile, pooled_features, predict_files
from core.models.saved import Classifier
from core.split.make import Split
from core.stats import majority_baseline
from core.training.calibrate import (
    calibrate_model,
    calibrate_on_logits,
    operating_point_on,
    softmax,
    validation_operating_point,
)
from core.training.events import Phase, PhaseChanged
from core.training.features import FORWARD_BATCH

if TYPE_CHECKING:
    from core.training.runner import _Run

#: What a frozen linear head's calibration and threshold are set on (it was fitted on the validation images too).
OUT_OF_FOLD = "training and validation images, each answered by a head fitted without it (out of fold)"
#: Training images whose features a fine-tuned run computes again for its familiarity reference, at most.
FAMILIARITY_SAMPLE = 2000


@dataclass(frozen=True)
class Measured:
    """The test split through the saved model: accuracy, mean cross-entropy, share flagged unfamiliar (None
    without familiarity statistics), and the probabilities with their true classes."""

    accuracy: float | None = None
    loss: float | None = None
    unfamiliar: float | None = None
    probs: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    y: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def measure_test(model: Any, classes: Sequence[str], image_size: int, records: Sequence[ImageRecord], *,
                 batch_size: int, cancel: CancelToken | None = None,
                 familiarity: Familiarity | None = None) -> Measured:
    """The assembled classifier on ``records`` (empty :class:`Measured` when there is nothing to measure)."""
    readable = [r for r in records if r.label in classes]
    if not readable:
        return Measured()
    clf = Classifier(model, tuple(classes), image_size, "", familiarity=familiarity)
    result = predict_files(clf, [ImageFile(r.path, r.rel) for r in readable], batch_size=batch_size,
                           cancel=cancel)
    if not result.indices:
        return Measured()
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[readable[i].label] for i in result.indices])
    p_true = result.probs[np.arange(len(y)), y]
    accuracy = float(np.mean(result.probs.argmax(axis=1) == y))
    loss = float(np.mean(-np.log(np.clip(p_true, 1e-7, 1.0))))
    flagged = result.unfamiliar
    return Measured(accuracy, loss, None if flagged is None else float(np.mean(flagged)), result.probs, y)


def split_features(run: _Run, model: Any, records: Sequence[ImageRecord]) -> tuple[np.ndarray, np.ndarray]:
    """``(features, labels)`` of ``records`` through the saved model's own path, the path every later
    prediction takes (a run's cached features are resized in 8 bits)."""
    clf = Classifier(model, run.classes, run.size, "")
    # Not cancellable: a run stopped by the user still saves, and measures, the best model it has.
    features, indices = pooled_features(clf, [ImageFile(r.path, r.rel) for r in records], batch_size=32)
    return features, np.array([run.class_index[records[i].label] for i in indices], np.int64)


def run_familiarity(run: _Run, model: Any, val_features: np.ndarray) -> Familiarity | None:
    """Familiarity statistics of a finished run. The reference: the training features a frozen run already has,
    or (after fine-tuning, which changed them) the saved model's features of up to FAMILIARITY_SAMPLE training
    images. The threshold: the validation images' features through the saved model's path."""
    if run.depth.kind == "frozen" and run.features:
        reference = run.features["train"][0]
    else:
        train = list(run.split.train)
        if len(train) > FAMILIARITY_SAMPLE:
            pick = np.random.default_rng(run.config.seed).choice(len(train), FAMILIARITY_SAMPLE, replace=False)
            train = [train[i] for i in sorted(pick)]
        reference = split_features(run, model, train)[0]
    return fit_familiarity(reference, val_features, seed=run.config.seed)


def measure_and_save(run: _Run, model: Any, save: Callable[[Any], None]) -> Measured:
    """After training: the temperature fitted on the validation images and folded into ``model``; the model saved
    (``save``); for two classes, the operating threshold chosen on the validation images; the familiarity
    statistics; the test split measured once. Sets ``run.calibration``, ``run.operating``, ``run.familiarity``
    and ``run.test_unfamiliar``."""
    val_x, val_y = split_features(run, model, run.split.val)
    train_labels = [r.label for r in run.split.train]
    if run.out_of_fold is not None:  # a head fitted on the validation images too: set on out-of-fold answers
        logits, y = run.out_of_fold
        run.calibration = calibrate_on_logits(model, logits, y, on=OUT_OF_FOLD)
        probs = softmax(logits / run.calibration.temperature)
        run.operating = operating_point_on(probs, y, run.classes, train_labels, on=OUT_OF_FOLD)
    else:
        run.calibration = calibrate_model(model, val_x, val_y)
        run.operating = validation_operating_point(model, val_x, val_y, run.classes, train_labels)
    save(model)
    run.familiarity = run_familiarity(run, model, val_x)
    if run.familiarity is not None:
        run.familiarity.save(run.run_dir)
    run.emit(PhaseChanged(Phase.EVALUATING, "Measuring accuracy on the held-out test images"))
    measured = measure_test(model, run.classes, run.size, run.split.test, batch_size=FORWARD_BATCH,
                            cancel=None, familiarity=run.familiarity)
    if run.calibration is not None:
        run.calibration = run.calibration.with_test(measured.probs, measured.y)
    run.test_unfamiliar = measured.unfamiliar
    return measured


def test_words(split: Split, classes: Sequence[str], acc: float | None, split_info: dict | None = None) -> dict:
    """The majority-class baseline on the test split and the headline in words (core.stats), followed by a
    warning when test images have copies in the other splits (``copies_warning``); just an empty headline when
    there is no test accuracy."""
    from core.split.duplicates import copies_warning

    test = [r.label for r in split.test if r.label in classes]
    if acc is None or not test:
        return {"headline": ""}
    words = majority_baseline(acc, test, [r.label for r in split.train], classes)
    copies = copies_warning(split_info)
    if copies:
        words.update(copies_warning=copies, headline=f"{words['headline']} {copies}")
    return words
