"""The evaluation work the window hands to worker threads, and the one owner of the models it loads.

:class:`ModelJobs` loads each model file once (a run folder and its model.keras are the same model), shares it
between the Evaluate and Predict views, and lets it go when no view shows it any more (:meth:`ModelJobs.keep_only`).
Its methods run on :class:`~gui.workers.call_worker.CallWorker` threads, never on the GUI thread; TensorFlow loads
on first call. Tests pass TensorFlow-free stand-ins with the same signatures to the window.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from foveal.core.errors import FovealError


@dataclass(frozen=True)
class Explanation:
    """A Grad-CAM picture ready to show: the overlay with its legend, for one image and one class."""

    path: str
    class_index: int
    picture: np.ndarray  # (H, W, 3) uint8
    probs: tuple[float, ...]
    #: The image and the heatmap (0–1) it was made from, so the viewer can change the heatmap's opacity.
    image: np.ndarray | None = None
    heatmap: np.ndarray | None = None
    title: str = ""


@dataclass(frozen=True)
class PredictedBatch:
    """Predictions for dropped files: class names, and one row per file (see core.evaluation.predict_table)."""

    model: str
    classes: tuple[str, ...]
    rows: list


def model_key(model: str) -> str:
    """One name per model: its model file's real path (a run folder and its model.keras are one model)."""
    from foveal.core.models.saved import resolve_model_path

    try:
        path, _run = resolve_model_path(model)
    except FovealError:  # an unusable path: loading it will say why
        return os.path.realpath(model)
    return os.path.realpath(path)


class ModelJobs:
    """Loads each model once, for every view; :meth:`keep_only` releases the ones no view shows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the two dicts: held for a moment, never while loading
        self._load_lock = threading.Lock()  # one load at a time: the same model is never loaded twice
        self._explain_lock = threading.Lock()  # one Grad-CAM at a time: they share the model's graph
        self._classifiers: dict[str, Any] = {}
        self._explainers: dict[str, Any] = {}

    # ---- the models ------------------------------------------------------------------------------------
    def classifier(self, model: str) -> Any:
        """The loaded ``foveal.core.models.saved.Classifier`` of a run folder or model file."""
        from foveal.core.models.saved import load_classifier

        return self._once(self._classifiers, model_key(model), lambda: load_classifier(model))

    def _once(self, store: dict[str, Any], key: str, make: Callable[[], Any]) -> Any:
        """``store[key]``, made by ``make()`` the first time: one make at a time, the dicts locked only briefly."""
        with self._lock:
            found = store.get(key)
        if found is not None:
            return found
        with self._load_lock:
            with self._lock:
                found = store.get(key)
            if found is None:
                found = make()
                with self._lock:
                    store[key] = found
        return found

    def loaded(self) -> list[str]:
        """The model files loaded now."""
        with self._lock:
            return sorted(self._classifiers)

    def keep_only(self, models: Iterable[str | None]) -> None:
        """Release every loaded model but these (the ones the views show); called on the GUI thread."""
        keep = {model_key(m) for m in models if m}
        with self._lock:
            for key in [k for k in self._classifiers if k not in keep]:
                del self._classifiers[key]
                self._explainers.pop(key, None)

    # ---- the jobs ---------------------------------------------------------------------------------------
    def evaluate_run(self, run_dir: str):
        """The run's evaluation on its test split: read from the run folder when it is newer than the model,
        else computed (with the shared model) and saved there."""
        from foveal.core.evaluation.evaluate import evaluate, read_evaluation, write_evaluation

        saved = os.path.join(run_dir, "evaluation.json")
        model = os.path.join(run_dir, "model.keras")
        if os.path.isfile(saved) and os.path.isfile(model) and os.path.getmtime(saved) >= os.path.getmtime(model):
            ev = read_evaluation(run_dir)
            if ev is not None and ev.source == "test split":
                return ev
        ev = evaluate(self.classifier(run_dir))
        write_evaluation(ev, run_dir)
        return ev

    def explain(self, model: str, path: str, class_index: int) -> Explanation:
        """Grad-CAM of one image for one class, with the model of a run folder or model file."""
        from foveal.core.evaluation.gradcam import GradCamExplainer, with_legend

        clf = self.classifier(model)
        explainer = self._once(self._explainers, model_key(model), lambda: GradCamExplainer(clf))
        with self._explain_lock:
            cam = explainer.explain_file(path, class_index)
        title = f"evidence for '{clf.classes[class_index]}'"
        return Explanation(path, class_index, with_legend(cam.overlay(), title), tuple(float(p) for p in cam.probs),
                           cam.image, cam.heatmap, title)

    def describe_model(self, model: str) -> tuple[str, tuple[str, ...], int]:
        """(model file, class names, input size) of a run folder or model file, loading it once."""
        clf = self.classifier(model)
        return clf.path, clf.classes, clf.image_size

    def predict_paths(self, model: str, paths: list[str]) -> PredictedBatch:
        """Top-3 predictions for image files and folders (recursively), unreadable files with their reason."""
        from foveal.core.evaluation.predict_table import prediction_rows
        from foveal.core.models.predict import files_under, predict_files

        clf = self.classifier(model)
        files = files_under(paths)
        result = predict_files(clf, files)
        return PredictedBatch(model, clf.classes, prediction_rows(files, result, clf.classes, top_k=3))

    def export(self, model: str, fmt: str, precision: str, folder: str | None = None):
        """Export and check into ``folder`` (None: the run folder's ``export/``; see core.export.export);
        returns the ExportResult."""
        from foveal.core.export.export import export_model

        return export_model(self.classifier(model), fmt, folder, tflite_type=precision)


def write_report(run_dir: str, evaluation) -> str:
    """Write the run's HTML and PDF report; return the HTML file's path."""
    from foveal.core.evaluation.report import write_report as write

    html_path, _pdf = write(run_dir, evaluation=evaluation)
    return str(html_path)
