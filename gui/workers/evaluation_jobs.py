"""The evaluation work the window hands to worker threads: plain functions, TensorFlow loaded on first call.

Each runs on a :class:`~gui.workers.call_worker.CallWorker` thread, never on the GUI thread. Tests pass
TensorFlow-free stand-ins with the same signatures to the window.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numpy as np

_EXPLAINERS: dict[str, object] = {}
_LOCK = threading.RLock()  # one model per run, loaded once even when two requests race
_EXPLAIN_LOCK = threading.Lock()


@dataclass(frozen=True)
class Explanation:
    """A Grad-CAM picture ready to show: the overlay with its legend, for one image and one class."""

    path: str
    class_index: int
    picture: np.ndarray  # (H, W, 3) uint8
    probs: tuple[float, ...]


def evaluate_run(run_dir: str):
    """The run's evaluation on its test split: read from the run folder when it is newer than the model,
    else computed and saved there."""
    from core.evaluation.evaluate import evaluate, read_evaluation, write_evaluation

    saved = os.path.join(run_dir, "evaluation.json")
    model = os.path.join(run_dir, "model.keras")
    if os.path.isfile(saved) and os.path.isfile(model) and os.path.getmtime(saved) >= os.path.getmtime(model):
        ev = read_evaluation(run_dir)
        if ev is not None and ev.source == "test split":
            return ev
    ev = evaluate(run_dir)
    write_evaluation(ev, run_dir)
    return ev


def explain(run_dir: str, path: str, class_index: int) -> Explanation:
    """Grad-CAM of one image for one class, with the model of ``run_dir`` (loaded once per run)."""
    from core.evaluation.gradcam import GradCamExplainer, with_legend

    with _LOCK:
        explainer = _EXPLAINERS.get(run_dir)
        if explainer is None:
            explainer = _EXPLAINERS[run_dir] = GradCamExplainer(_classifier(run_dir))
    with _EXPLAIN_LOCK:
        cam = explainer.explain_file(path, class_index)
    name = explainer.classifier.classes[class_index]
    return Explanation(path, class_index, with_legend(cam.overlay(), f"evidence for '{name}'"),
                       tuple(float(p) for p in cam.probs))


def write_report(run_dir: str, evaluation) -> str:
    """Write the run's HTML and PDF report; return the HTML file's path."""
    from core.evaluation.report import write_report as write

    html_path, _pdf = write(run_dir, evaluation=evaluation)
    return str(html_path)


_CLASSIFIERS: dict[str, object] = {}


@dataclass(frozen=True)
class PredictedBatch:
    """Predictions for dropped files: class names, and one row per file (see core.evaluation.predict_table)."""

    model: str
    classes: tuple[str, ...]
    rows: list


def describe_model(model: str) -> tuple[str, tuple[str, ...], int]:
    """(model file, class names, input size) of a run folder or model file, loading it once."""
    clf = _classifier(model)
    return clf.path, clf.classes, clf.image_size


def predict_paths(model: str, paths: list[str]) -> PredictedBatch:
    """Top-3 predictions for image files and folders (recursively), unreadable files with their reason."""
    from core.evaluation.predict import files_under, predict_files
    from core.evaluation.predict_table import prediction_rows

    clf = _classifier(model)
    files = files_under(paths)
    result = predict_files(clf, files)
    return PredictedBatch(model, clf.classes, prediction_rows(files, result, clf.classes, top_k=3))


def export(model: str, fmt: str, precision: str):
    """Export and check (see core.export.export); returns the ExportResult."""
    from core.export.export import export_model

    return export_model(_classifier(model), fmt, tflite_type=precision)


def _classifier(model: str):
    from core.models.saved import load_classifier

    with _LOCK:
        clf = _CLASSIFIERS.get(model)
        if clf is None:
            clf = _CLASSIFIERS[model] = load_classifier(model)
    return clf
