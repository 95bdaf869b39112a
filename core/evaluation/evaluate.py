"""``evaluate(model_or_run, folder=None)``: every prediction on held-out images, and the metrics of them.

By default the images are the run's own test split, which training never used, not even to pick the best epoch.
Any class-per-folder dataset can be evaluated instead. Results go to the run folder as ``evaluation.json`` and
``predictions.csv`` (the user's dataset folder is only read).
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from foveal.core.cancel import CancelToken
from foveal.core.errors import DatasetError, WriteError
from foveal.core.evaluation.metrics import LOW_CONFIDENCE, add_headline, compute_metrics, uncalibrated_curve
from foveal.core.io import check_target, make_dirs, open_atomic, write_json
from foveal.core.models.predict import ImageFile, predict_files
from foveal.core.models.saved import Classifier, load_classifier
from foveal.core.run_record import OperatingPoint, RunRecord, SplitInfo
from foveal.core.split.duplicates import copies_words


@dataclass(frozen=True)
class Prediction:
    """One image's prediction. ``probs`` are in class order."""

    file: str  # relative to the dataset folder
    path: str
    true: str
    predicted: str
    confidence: float
    probs: tuple[float, ...]
    low_confidence: bool
    #: Looks unlike the training images (core.models.familiar); None for runs without the statistics.
    unfamiliar: bool | None = None
    unfamiliar_score: float | None = None

    @property
    def correct(self) -> bool:
        return self.true == self.predicted


@dataclass
class Evaluation:
    """The metrics, every prediction, and what could not be evaluated."""

    source: str  # "test split" or the folder evaluated
    classes: tuple[str, ...]
    metrics: dict
    predictions: list[Prediction]
    skipped: list[dict] = field(default_factory=list)  # {"file", "reason"}
    model_path: str = ""
    run_dir: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"format": "foveal-evaluation", "version": 1, "source": self.source, "classes": list(self.classes),
                "model": self.model_path, "metrics": self.metrics, "skipped": self.skipped,
                "seconds": self.seconds, "predictions": [asdict(p) for p in self.predictions]}

    @classmethod
    def from_dict(cls, data: dict, run_dir: str | None = None) -> Evaluation:
        preds = [Prediction(**{**p, "probs": tuple(p["probs"])}) for p in data["predictions"]]
        return cls(data["source"], tuple(data["classes"]), data["metrics"], preds, data.get("skipped", []),
                   data.get("model", ""), run_dir, data.get("seconds", 0.0))


def held_out_files(classifier: Classifier) -> tuple[list[ImageFile], list[str], list[dict]]:
    """The run's held-out test images (files, true classes) and any that are gone since training."""
    run = classifier.run
    if run is None:
        raise DatasetError(f"{classifier.path} has no run.json with a test split next to it. Give a folder of "
                           "labelled images to evaluate on (one sub-folder per class).")
    from foveal.core.runs import split_images

    if not run.split.test:
        raise DatasetError("This run kept no test images (test fraction 0). Evaluate it on a folder of labelled "
                           "images instead.")
    found, skipped = split_images(run, "test")  # the dataset folder not there, or none of the images: a message
    return [ImageFile(path, rel) for path, rel, _ in found], [label for _, _, label in found], skipped


def folder_files(classifier: Classifier, folder: str) -> tuple[list[ImageFile], list[str], list[dict]]:
    """Labelled images of a class-per-folder dataset; classes the model does not know are skipped."""
    from foveal.core.data.scan import scan_dataset

    summary = scan_dataset(folder)
    known = set(classifier.classes)
    files, labels, skipped = [], [], [{"file": s.rel, "reason": s.reason} for s in summary.skipped]
    for r in summary.images:
        if r.label in known:
            files.append(ImageFile(r.path, r.rel))
            labels.append(r.label)
        else:
            skipped.append({"file": r.rel, "reason": f"class '{r.label}' is not one of the model's classes"})
    if not files:
        raise DatasetError(f"No images in {folder} belong to the model's classes ({', '.join(classifier.classes)}). "
                           "Give a folder with one sub-folder per class, named as in training.")
    return files, labels, skipped


def evaluate(model: str | os.PathLike[str] | Classifier, folder: str | None = None, *, batch_size: int = 32,
             low_confidence: float = LOW_CONFIDENCE, on_progress: Callable[[int, int], None] | None = None,
             cancel: CancelToken | None = None, positive_class: str | None = None) -> Evaluation:
    """Predict every held-out image (the run's test split, or ``folder``) and measure the predictions.

    With two classes, sensitivity, specificity, PPV and NPV are for ``positive_class`` (default: the run's, the
    rarer training class) at the threshold the run chose on its validation images.

    Raises
    ------
    FovealError
        When the model cannot be loaded or there is nothing labelled to evaluate on.
    """
    t0 = time.monotonic()
    clf = model if isinstance(model, Classifier) else load_classifier(model)
    files, labels, skipped = folder_files(clf, folder) if folder else held_out_files(clf)
    result = predict_files(clf, files, batch_size=batch_size, on_progress=on_progress, cancel=cancel)
    skipped += [{"file": files[i].rel, "reason": reason} for i, reason in result.failed]
    if not len(result.indices) and result.failed:
        i, reason = result.failed[0]
        raise DatasetError(f"None of the {len(files)} images to evaluate on could be read ({files[i].path}: "
                           f"{reason}). Check the images, or evaluate on another folder.")
    index = {c: i for i, c in enumerate(clf.classes)}
    y = np.array([index[labels[i]] for i in result.indices], np.int64)
    run = clf.run
    operating = run.operating_point if run is not None else None
    if positive_class is not None:
        operating = _for_positive(operating, positive_class, clf.classes)
    metrics = compute_metrics(y, result.probs, clf.classes, low_confidence=low_confidence, operating=operating)
    add_headline(metrics, y, clf.classes, [r.label for r in run.split.train] if run is not None else [])
    if not folder and "cautions" in metrics:
        own = run_cautions(run) if run is not None else []
        # A class the split left unmeasured is said once, in the split's words ("'x' has 1 image: …").
        gaps = {c for c in clf.classes if any(g.startswith(f"'{c}' ") for g in own)}
        said = [w for w in metrics["cautions"] if not any(w.startswith(f"'{c}' has no test image") for c in gaps)]
        metrics["cautions"] = own + said
    temperature = run.calibration.temperature if run is not None and run.calibration is not None else None
    if temperature is not None and len(y):
        metrics["calibration_before"] = uncalibrated_curve(y, result.probs, float(temperature))
    predictions = []
    flags, scores = result.unfamiliar, result.unfamiliar_scores
    for j, (row, i) in enumerate(zip(result.probs, result.indices, strict=True)):
        top = int(row.argmax())
        predictions.append(Prediction(files[i].rel, files[i].path, labels[i], clf.classes[top], float(row[top]),
                                      # full precision: metrics worked out again from these (another positive
                                      # class) must match the ones worked out here, image for image
                                      tuple(float(p) for p in row), bool(row[top] < low_confidence),
                                      None if flags is None else bool(flags[j]),
                                      None if scores is None else round(float(scores[j]), 6)))
    if flags is not None:
        metrics["n_unfamiliar"] = int(flags.sum())
    return Evaluation(folder or "test split", clf.classes, metrics, predictions, skipped, clf.path, clf.run_dir,
                      time.monotonic() - t0)


def run_cautions(run: RunRecord) -> list[str]:
    """What a run's own test split cannot say, beside its headline: each class the split leaves unmeasured (its
    ``test.class_gaps``) and test images with copies in the other splits."""
    info = run.split_info or SplitInfo()
    copies = copies_words(info.duplicates_across_splits, from_split_file=bool(info.split_file))
    return [f"{words}." for words in run.test.class_gaps] + ([copies] if copies else [])


def with_positive_class(ev: Evaluation, positive_class: str) -> Evaluation:
    """The same evaluation with sensitivity, specificity, PPV and NPV for ``positive_class`` (two classes; others
    are returned as they are), at the run's validation threshold turned to that class: no image is predicted
    again. Raises ConfigError for a class the model does not have."""
    import dataclasses

    from foveal.core.errors import FovealError
    from foveal.core.evaluation.metrics import operating_point

    roc = ev.metrics.get("roc") or {}
    if "binary" not in roc:
        return ev
    operating = None
    if ev.run_dir:
        from foveal.core.runs import read_run

        try:
            operating = read_run(ev.run_dir).operating_point
        except FovealError:
            operating = None
    operating = _for_positive(operating, positive_class, ev.classes)
    y = np.array([ev.classes.index(p.true) for p in ev.predictions], np.int64)
    probs = np.array([p.probs for p in ev.predictions], np.float64)
    binary = operating_point(y, probs, ev.classes, operating)
    return dataclasses.replace(ev, metrics={**ev.metrics, "roc": {**roc, "binary": binary}})


def _for_positive(operating: OperatingPoint | None, positive_class: str, classes) -> OperatingPoint:
    """The run's operating point for the other class of two: P(other) = 1 − P(positive), so the threshold is
    1 − t. Raises ConfigError for a class the model does not have."""
    from foveal.core.errors import ConfigError

    if positive_class not in classes:
        raise ConfigError(f"Unknown positive class {positive_class!r}: the model's classes are "
                          f"{', '.join(classes)}.")
    if operating is not None and operating.positive_class == positive_class:
        return operating
    if operating is None or operating.threshold is None:
        return OperatingPoint(positive_class, positive_reason="chosen by you")
    return OperatingPoint(positive_class, 1.0 - operating.threshold, operating.chosen_on, operating.n_val,
                          positive_reason="chosen by you")


#: The first columns of ``predictions.csv`` (one ``p_CLASS`` column per class follows).
def _yes_no(value: bool) -> str:
    """Every yes/no column of Foveal's CSV files is written the same way: true or false."""
    return "true" if value else "false"


PREDICTION_COLUMNS = ("file", "true_class", "predicted_class", "confidence", "correct", "low_confidence",
                      "unfamiliar", "unfamiliar_score")
#: The keys every evaluation.json Foveal wrote holds, including those written before its ``"format"`` marker.
_EVALUATION_KEYS = frozenset({"source", "classes", "metrics", "predictions"})
#: The largest file Foveal reads to tell whether it wrote it (larger: not Foveal's).
_SNIFF_LIMIT = 1 << 30


def check_own_files(out_dir: str | os.PathLike[str], ours: dict[str, Callable[[Path], bool]]) -> Path:
    """Refuse ``out_dir`` when it is the root of the file system, or when one of the names in ``ours`` is there
    and its test says Foveal did not write it; touch nothing. A run folder (``run.json`` in it) is Foveal's own:
    its files are replaced as they always were. Returns ``out_dir`` as a Path."""
    out = check_target(out_dir, "folder")
    if any(Path(f(out)).name == "" for f in (os.path.abspath, os.path.realpath)):
        raise WriteError(f"{out} is the root of the file system; Foveal writes its files into a folder of their "
                         "own. Choose a new or empty folder.")
    if not out.is_dir() or (out / "run.json").is_file():
        return out
    for name, is_ours in ours.items():
        path = check_target(out / name, "file")
        if os.path.lexists(path) and not is_ours(path):
            raise WriteError(f"{path} is not a file Foveal wrote; Foveal replaces only its own files. Choose a new "
                             "or empty folder.")
    return out


def read_small(path: Path) -> bytes | None:
    """The bytes of a plain file no larger than the sniffing limit, else None."""
    try:
        if not path.is_file() or path.stat().st_size > _SNIFF_LIMIT:
            return None
        return path.read_bytes()
    except OSError:
        return None


def is_foveal_evaluation(path: Path) -> bool:
    """True when ``path`` parses as an evaluation.json Foveal wrote (its marker, or an older one's keys)."""
    import json

    data = read_small(path)
    try:
        parsed = json.loads(data) if data is not None else None
    except (ValueError, RecursionError):
        return False
    if not isinstance(parsed, dict):
        return False
    return parsed.get("format") == "foveal-evaluation" or parsed.keys() >= _EVALUATION_KEYS


def is_foveal_predictions(path: Path) -> bool:
    """True when Foveal's evaluation.json is beside ``path``, or its header is the one Foveal writes."""
    if is_foveal_evaluation(path.parent / "evaluation.json"):
        return True
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            header = next(csv.reader([fh.readline(1 << 20)]), [])
    except (OSError, ValueError):
        return False
    n = len(PREDICTION_COLUMNS)
    return tuple(header[:n]) == PREDICTION_COLUMNS and all(c.startswith("p_") for c in header[n:])


#: What write_evaluation replaces, and how it knows the file is its own.
EVALUATION_FILES: dict[str, Callable[[Path], bool]] = {"evaluation.json": is_foveal_evaluation,
                                                       "predictions.csv": is_foveal_predictions}


def check_evaluation_folder(out_dir: str | os.PathLike[str]) -> Path:
    """Refuse, before any work, a folder write_evaluation may not write into (see :func:`check_own_files`)."""
    return check_own_files(out_dir, EVALUATION_FILES)


def write_evaluation(evaluation: Evaluation, out_dir: str | os.PathLike[str]) -> Path:
    """Write ``evaluation.json`` and ``predictions.csv`` into ``out_dir``; return the JSON's path. Files of those
    names that Foveal did not write are never replaced (:func:`check_evaluation_folder`)."""
    out = make_dirs(check_evaluation_folder(out_dir))
    write_json(out / "evaluation.json", evaluation.to_dict())
    with open_atomic(out / "predictions.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*PREDICTION_COLUMNS, *[f"p_{c}" for c in evaluation.classes]])
        for p in evaluation.predictions:
            unfamiliar = "" if p.unfamiliar is None else "true" if p.unfamiliar else "false"
            score = "" if p.unfamiliar_score is None else f"{p.unfamiliar_score:.6f}"
            w.writerow([p.file, p.true, p.predicted, f"{p.confidence:.6f}", _yes_no(p.correct),
                        _yes_no(p.low_confidence), unfamiliar, score, *[f"{v:.6f}" for v in p.probs]])
    return out / "evaluation.json"


def read_evaluation(run_dir: str | os.PathLike[str]) -> Evaluation | None:
    """The evaluation saved in a run folder, or None."""
    import json

    path = Path(run_dir) / "evaluation.json"
    if not path.is_file():
        return None
    try:
        return Evaluation.from_dict(json.loads(path.read_text(encoding="utf-8")), str(run_dir))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None  # damaged or not Foveal's: the run is evaluated again
