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

from foveal.core.cancel import CancelToken
from foveal.core.data.scan import ImageRecord
from foveal.core.models.familiar import Familiarity, fit_familiarity
from foveal.core.models.predict import ImageFile, pooled_features, predict_files
from foveal.core.models.saved import Classifier
from foveal.core.stats import majority_baseline
from foveal.core.training.calibrate import (
    calibrate_model,
    calibrate_on_logits,
    operating_point_on,
    softmax,
    validation_operating_point,
)
from foveal.core.training.events import Phase, PhaseChanged
from foveal.core.training.features import FORWARD_BATCH
from foveal.core.training.lost import lost_images, lost_warning, stop_if_lost

if TYPE_CHECKING:
    from foveal.core.training.runner import _Run

#: What a frozen linear head's calibration and threshold are set on (it was fitted on the validation images too).
OUT_OF_FOLD = "training and validation images, each answered by a head fitted without it (out of fold)"
#: Training images whose features a fine-tuned run computes again for its familiarity reference, at most.
FAMILIARITY_SAMPLE = 2000


@dataclass(frozen=True)
class Measured:
    """The test split through the saved model: accuracy, mean cross-entropy, share flagged unfamiliar (None
    without familiarity statistics), the probabilities with their true classes (one row per image measured), and
    the images that could not be read ``(file, reason)``."""

    accuracy: float | None = None
    loss: float | None = None
    unfamiliar: float | None = None
    probs: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    y: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    failed: tuple[tuple[str, str], ...] = ()


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
    failed = tuple((readable[i].rel, reason) for i, reason in result.failed)
    if not result.indices:
        return Measured(failed=failed)
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[readable[i].label] for i in result.indices])
    p_true = result.probs[np.arange(len(y)), y]
    accuracy = float(np.mean(result.probs.argmax(axis=1) == y))
    loss = float(np.mean(-np.log(np.clip(p_true, 1e-7, 1.0))))
    flagged = result.unfamiliar
    return Measured(accuracy, loss, None if flagged is None else float(np.mean(flagged)), result.probs, y, failed)


def split_features(run: _Run, model: Any, records: Sequence[ImageRecord]) -> tuple[np.ndarray, np.ndarray]:
    """``(features, labels)`` of ``records`` through the saved model's own path, the path every later
    prediction takes (a run's cached features are resized in 8 bits)."""
    clf = Classifier(model, run.classes, run.size, "")
    # Not cancellable: a run stopped by the user still saves, and measures, the best model it has.
    features, indices = pooled_features(clf, [ImageFile(r.path, r.rel) for r in records], batch_size=32)
    read = set(indices)
    note_failed(run, [(r.rel, "could not be read when the run measured it") for i, r in enumerate(records)
                      if i not in read])
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
    note_failed(run, measured.failed)
    stop_if_lost(run.split, run.failed)  # a class whose test images are mostly gone has no fair result
    if run.calibration is not None:
        run.calibration = run.calibration.with_test(measured.probs, measured.y)
    run.test_unfamiliar = measured.unfamiliar
    return measured


def note_failed(run: _Run, failed: Sequence[tuple[str, str]]) -> None:
    """Add files that could not be read to the run's list, each once (the first reason kept)."""
    known = {rel for rel, _ in run.failed}
    run.failed += [(rel, reason) for rel, reason in failed if rel not in known]


def test_result(run: _Run, acc: float | None, loss: float | None, labels: Sequence[str]) -> dict:
    """What run.json's ``test`` holds: the accuracy and loss on the test images measured, their number
    (``labels``: the true class of each, the images actually measured, never the split's list), the
    majority-class baseline and the headline in words (core.stats), followed by warnings: test images with copies
    in the other splits (``copies_warning``), images lost during the run (``lost``, ``lost_warning``); and what the
    split means for classes missing from a part of it (``class_gaps``)."""
    from foveal.core.split.duplicates import copies_warning
    from foveal.core.split.preview import class_gaps

    out: dict = {"accuracy": acc, "loss": loss, "n": len(labels), "headline": ""}
    if acc is not None and labels:
        out.update(majority_baseline(acc, list(labels), [r.label for r in run.split.train], run.classes))
    lost = lost_images(run.split, run.failed)
    words = {"copies_warning": copies_warning(run.split_info), "lost_warning": lost_warning(lost)}
    for key, text in words.items():
        if text:
            out[key] = text
            out["headline"] = f"{out['headline']} {text}" if out["headline"] else ""
    if lost:
        out["lost"] = [x.to_dict() for x in lost]
    gaps = class_gaps(run.split, run.classes)
    if gaps:
        out["class_gaps"] = gaps
    return out


def result_notes(run: _Run, test: dict) -> tuple[str, ...]:
    """What a finished run says in words beside its headline (:attr:`TrainingFinished.notes`): whether fine-tuning
    beat the head, the calibration, classes the split leaves unmeasured, and the images lost during the run when
    there is no headline to say it in."""
    comparison = run.tracker.phase_comparison()
    notes = (comparison["words"] if comparison else None,
             run.calibration.words() if run.calibration is not None else None,
             *(f"Warning: {words}" for words in test.get("class_gaps", ())),
             None if test["headline"] else test.get("lost_warning", "").rstrip("."))
    return tuple(x for x in notes if x)
