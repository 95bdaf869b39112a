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
_LOCK = threading.Lock()  # one Grad-CAM model per run, built once even when two clicks race


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
    from core.models.saved import load_classifier

    with _LOCK:
        explainer = _EXPLAINERS.get(run_dir)
        if explainer is None:
            explainer = _EXPLAINERS[run_dir] = GradCamExplainer(load_classifier(run_dir))
        cam = explainer.explain_file(path, class_index)
    name = explainer.classifier.classes[class_index]
    return Explanation(path, class_index, with_legend(cam.overlay(), f"evidence for '{name}'"),
                       tuple(float(p) for p in cam.probs))


def write_report(run_dir: str, evaluation) -> str:
    """Write the run's HTML and PDF report; return the HTML file's path."""
    from core.evaluation.report import write_report as write

    html_path, _pdf = write(run_dir, evaluation=evaluation)
    return str(html_path)
