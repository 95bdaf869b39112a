"""What a run measures after saving. The held-out test split, once, through the path the saved model and every
export take: each image decoded whole and resized in floating point (core.models.predict), then the whole
classifier; so the accuracy a run reports is the accuracy ``foveal evaluate``, the window and the exports find on
the same images. And the familiarity statistics (core.models.familiar) from the training and validation
features."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from foveal.core.cancel import CancelToken
from foveal.core.data.scan import ImageRecord
from foveal.core.io import atomic_path
from foveal.core.models.familiar import Familiarity, fit_familiarity
from foveal.core.models.predict import ImageFile, pooled_features, predict_files
from foveal.core.models.saved import Classifier
from foveal.core.run_record import PhaseComparison, TestResult
from foveal.core.stats import majority_baseline
from foveal.core.training.auto_head import HeadChoice
from foveal.core.training.calibrate import (
    Calibration,
    calibrate_model,
    calibrate_on_logits,
    operating_point_on,
    softmax,
    validation_operating_point,
)
from foveal.core.training.context import RunContext
from foveal.core.training.events import Phase, PhaseChanged
from foveal.core.training.features import FORWARD_BATCH
from foveal.core.training.fit import Trained
from foveal.core.training.lost import lost_images, lost_warning, stop_if_lost
from foveal.core.training.prepare import Prepared, RunPlan
from foveal.core.training.runfolder import RunFolder

#: What a frozen linear head's calibration and threshold are set on (it was fitted on the validation images too).
OUT_OF_FOLD = "training and validation images, each answered by a head fitted without it (out of fold)"
#: Training images whose features a run computes again for its familiarity reference, at most.
FAMILIARITY_SAMPLE = 2000


@dataclass(frozen=True)
class HeldOutPass:
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
                 familiarity: Familiarity | None = None) -> HeldOutPass:
    """The assembled classifier on ``records`` (an empty :class:`HeldOutPass` when there is nothing to measure)."""
    readable = [r for r in records if r.label in classes]
    if not readable:
        return HeldOutPass()
    clf = Classifier(model, tuple(classes), image_size, "", familiarity=familiarity)
    result = predict_files(clf, [ImageFile(r.path, r.rel) for r in readable], batch_size=batch_size,
                           cancel=cancel)
    failed = tuple((readable[i].rel, reason) for i, reason in result.failed)
    if not result.indices:
        return HeldOutPass(failed=failed)
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[readable[i].label] for i in result.indices])
    p_true = result.probs[np.arange(len(y)), y]
    accuracy = float(np.mean(result.probs.argmax(axis=1) == y))
    loss = float(np.mean(-np.log(np.clip(p_true, 1e-7, 1.0))))
    flagged = result.unfamiliar
    return HeldOutPass(accuracy, loss, None if flagged is None else float(np.mean(flagged)), result.probs, y, failed)


def split_features(ctx: RunContext, prepared: Prepared, size: int, model: Any,
                   records: Sequence[ImageRecord]) -> tuple[np.ndarray, np.ndarray]:
    """``(features, labels)`` of ``records`` through the saved model's own path, the path every later
    prediction takes (a run's cached features are resized in 8 bits)."""
    clf = Classifier(model, prepared.classes, size, "")
    # Not cancellable: a run stopped by the user still saves, and measures, the best model it has.
    features, indices = pooled_features(clf, [ImageFile(r.path, r.rel) for r in records], batch_size=32)
    read = set(indices)
    ctx.note_failed([(r.rel, "could not be read when the run measured it") for i, r in enumerate(records)
                     if i not in read])
    return features, np.array([prepared.class_index[records[i].label] for i in indices], np.int64)


def run_familiarity(ctx: RunContext, prepared: Prepared, choice: HeadChoice, model: Any,
                    val_features: np.ndarray) -> Familiarity | None:
    """Familiarity statistics of a finished run, on the features of the images it learned from as every later
    prediction computes them (the saved model's path; a run's cached features are resized in 8 bits, which moves
    small images' features by a good part of the threshold): up to FAMILIARITY_SAMPLE training images and the
    validation images. The threshold is set on all of them, each against the others (leave-one-out)."""
    train = list(prepared.split.train)
    if len(train) > FAMILIARITY_SAMPLE:
        pick = np.random.default_rng(ctx.config.seed).choice(len(train), FAMILIARITY_SAMPLE, replace=False)
        train = [train[i] for i in sorted(pick)]
    ctx.emit(PhaseChanged(Phase.EVALUATING, f"Reading {len(train)} training images through the saved model: what "
                          "a familiar image looks like to it"))
    reference = split_features(ctx, prepared, choice.input_size, model, train)[0]
    return fit_familiarity(np.concatenate([reference, val_features]), seed=ctx.config.seed)


@dataclass(frozen=True)
class Measured:
    """What a finished run saved and measured: where the model is (None: nothing saved), the test split's
    accuracy and loss with the true class of each test image measured, the temperature (core.training.calibrate),
    for two classes the threshold chosen on images the head never saw, how familiar an image looks to the model
    (core.models.familiar) and the test split's share flagged unfamiliar."""

    model_path: str | None = None
    accuracy: float | None = None
    loss: float | None = None
    labels: tuple[str, ...] = ()
    predicted: tuple[str, ...] = ()  # the class answered for each of ``labels``' images
    calibration: Calibration | None = None
    operating: dict | None = None
    familiarity: Familiarity | None = None
    test_unfamiliar: float | None = None


def save_model(model: Any, backbone: Any, folder: RunFolder) -> str:
    """Save the classifier as the run's model.keras (atomically) and drop the checkpoint it replaces."""
    backbone.trainable = False
    target = folder.path / "model.keras"
    with atomic_path(target) as tmp:
        model.save(tmp)
    folder.checkpoint.unlink(missing_ok=True)
    return str(target)


def measure_and_save(ctx: RunContext, prepared: Prepared, plan: RunPlan, folder: RunFolder, choice: HeadChoice,
                     trained: Trained, model: Any) -> Measured:
    """After training: the temperature fitted on the validation images (or, for a head fitted on them too, on
    out-of-fold answers) and folded into ``model``; the model saved; for two classes, the operating threshold;
    the familiarity statistics; the test split measured once."""
    val_x, val_y = split_features(ctx, prepared, choice.input_size, model, prepared.split.val)
    train_labels = [r.label for r in prepared.split.train]
    if trained.out_of_fold is not None:  # a head fitted on the validation images too: set on out-of-fold answers
        logits, y = trained.out_of_fold
        calibration: Calibration | None = calibrate_on_logits(model, logits, y, on=OUT_OF_FOLD)
        assert calibration is not None
        probs = softmax(logits / calibration.temperature)
        operating = operating_point_on(probs, y, prepared.classes, train_labels, on=OUT_OF_FOLD)
    else:
        calibration = calibrate_model(model, val_x, val_y)
        operating = validation_operating_point(model, val_x, val_y, prepared.classes, train_labels)
    model_path = save_model(model, choice.backbone, folder)
    familiarity = run_familiarity(ctx, prepared, choice, model, val_x)
    if familiarity is not None:
        familiarity.save(folder.path)
    ctx.emit(PhaseChanged(Phase.EVALUATING, "Measuring accuracy on the held-out test images"))
    measured = measure_test(model, prepared.classes, choice.input_size, prepared.split.test, batch_size=FORWARD_BATCH,
                            cancel=None, familiarity=familiarity)
    ctx.note_failed(measured.failed)
    stop_if_lost(prepared.split, ctx.failed)  # a class whose test images are mostly gone has no fair result
    if calibration is not None:
        calibration = calibration.with_test(measured.probs, measured.y)
    return Measured(model_path, measured.accuracy, measured.loss, tuple(prepared.classes[i] for i in measured.y),
                    tuple(prepared.classes[i] for i in measured.probs.argmax(axis=1)) if len(measured.y) else (),
                    calibration, operating, familiarity, measured.unfamiliar)


def held_out_result(prepared: Prepared, failed: Sequence[tuple[str, str]], accuracy: float | None,
                    loss: float | None, labels: Sequence[str], predicted: Sequence[str] = ()) -> TestResult:
    """What run.json's ``test`` holds: the run's result on its test split (``labels``: the true class of each test
    image measured, never the split's list; ``predicted``: the class answered for each), the majority-class
    baseline and the headline in words (core.stats), followed by warnings: test images with copies in the other
    splits, images lost during the run; what the split means for classes missing from a part of it
    (``class_gaps``); and each class's recall (``per_class_recall``: how many of its test images were recognised).
    Keys with nothing to say are left out."""
    from foveal.core.split.duplicates import copies_warning
    from foveal.core.split.preview import class_gaps

    headline, baseline = "", None
    if accuracy is not None and labels:
        baseline = majority_baseline(accuracy, list(labels), [r.label for r in prepared.split.train],
                                     prepared.classes)
        headline = baseline["headline"]
    lost = lost_images(prepared.split, failed)
    copies, lost_words = copies_warning(prepared.split_info), lost_warning(lost)
    for text in (copies, lost_words):
        if text:
            headline = f"{headline} {text}" if headline else ""
    gaps = tuple(class_gaps(prepared.split, prepared.classes))
    said = {"baseline": baseline, "baseline_class": baseline, "copies_warning": copies, "lost_warning": lost_words,
            "lost": lost, "class_gaps": gaps}
    recalls = class_recall(labels, predicted, prepared.classes)
    return TestResult(accuracy=accuracy, loss=loss, n=len(labels), headline=headline,
                      baseline=baseline["baseline"] if baseline else None,
                      baseline_class=baseline["baseline_class"] if baseline else None, copies_warning=copies,
                      lost_warning=lost_words, lost=tuple(x.to_dict() for x in lost), class_gaps=gaps,
                      absent=frozenset(key for key, value in said.items() if not value),
                      extra={"per_class_recall": recalls} if recalls else {})


def result_notes(comparison: PhaseComparison | None, calibration: Calibration | None,
                 held_out: TestResult) -> tuple[str, ...]:
    """What a finished run says in words beside its headline (:attr:`TrainingFinished.notes`): each class's recall
    on the test images (a class recognised less than half the time named), whether fine-tuning beat the head, the
    calibration, classes the split leaves unmeasured, and the images lost during the run when there is no headline
    to say it in."""
    notes = (*recall_words(held_out.extra.get("per_class_recall") or ()),
             comparison.words if comparison else None,
             calibration.plain() if calibration is not None else None,
             *(f"Warning: {words}" for words in held_out.class_gaps),
             None if held_out.headline else (held_out.lost_warning or "").rstrip("."))
    return tuple(x for x in notes if x)


#: A class recognised in less than this share of its test images is named beside the result.
WEAK_RECALL = 0.5


def class_recall(labels: Sequence[str], predicted: Sequence[str], classes: Sequence[str]) -> list[dict]:
    """Each class with test images: ``{"class", "recognised", "of", "recall"}``, how many of its test images were
    answered as it (empty without answers, or with one class measured: recall is then the accuracy)."""
    if not predicted or len(predicted) != len(labels):
        return []
    rows = []
    for name in classes:
        answers = [p for t, p in zip(labels, predicted, strict=True) if t == name]
        if answers:
            right = sum(p == name for p in answers)
            rows.append({"class": name, "recognised": right, "of": len(answers), "recall": right / len(answers)})
    return rows if len(rows) > 1 else []


def recall_words(rows: Sequence[Mapping[str, Any]], images: str = "test images") -> tuple[str, ...]:
    """Per-class recall in words: one sentence with every class, then one naming each class recognised in less
    than half of its ``images`` ("monocyte: recognised in 2 of 20 test images")."""
    if not rows:
        return ()
    each = ", ".join(f"{r['class']} {r['recognised']} of {r['of']} ({r['recall']:.0%})" for r in rows)
    out = [f"Recognised per class on the {images}: {each}"]
    weak = [r for r in rows if r["recall"] < WEAK_RECALL]
    if weak:
        named = "; ".join(f"{r['class']}: recognised in {r['recognised']} of {r['of']} {images}" for r in weak)
        out.append(f"Less than half the time: {named}")
    return tuple(out)
