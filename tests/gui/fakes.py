"""Scripted stand-ins for core.training.train, core.compare and the model jobs, so GUI tests run without
TensorFlow."""

from __future__ import annotations

import math
import os
import time

from foveal.core.errors import WeightsError
from foveal.core.training.devices import GpuInfo, plan_devices
from foveal.core.training.events import (
    BatchesEnded,
    CandidateTried,
    EpochEnded,
    FeaturesExtracting,
    HeadKind,
    Outcome,
    Phase,
    PhaseChanged,
    RecipeChosen,
    TrainingFinished,
    TrainingStarted,
)


def scripted_train(config, *, on_event, cancel, epochs_head=3, epochs_ft=2, steps=5, delay=0.002, fail=None):
    """Emit the same event sequence as a real run (head, then fine-tune), honouring cancel per batch."""
    if fail == "user":
        raise WeightsError("ImageNet weights for MobileNetV2 could not be downloaded; choose a weights file.")
    if fail == "bug":
        raise RuntimeError("boom")
    on_event(PhaseChanged(Phase.PREPARING, "Loading MobileNetV2 with ImageNet weights"))
    total = epochs_head + epochs_ft
    # the real device plan (pure Python), as on a machine with one modern GPU
    device = plan_devices(devices=config.devices, gpus=(GpuInfo(0, "NVIDIA H100", (9, 0)),)).describe()
    on_event(TrainingStarted(config.out_dir, config.backbone, config.fine_tune, ("a", "b"), 40, 10, 10, total,
                             steps, (Phase.HEAD, Phase.FINE_TUNE), "imagenet", device, head_epochs=epochs_head))
    on_event(PhaseChanged(Phase.EXTRACTING, "Extracting features"))
    for done in (20, 40, 60):
        on_event(FeaturesExtracting(done, 60, "train"))
    _scripted_comparison(on_event, total, steps, delay)
    history, step, outcome, best = [], 0, "completed", None
    for epoch in range(1, total + 1):
        phase = Phase.HEAD if epoch <= epochs_head else Phase.FINE_TUNE
        if epoch in (1, epochs_head + 1):
            on_event(PhaseChanged(phase, phase, first_epoch=epoch))
        if epoch == epochs_head + 1:  # fine-tuning first caches what lies below the blocks that learn
            for done in (30, 60):
                on_event(FeaturesExtracting(done, 60, "train"))
        for _ in range(steps):
            step += 1
            loss = math.exp(-step / 10)
            on_event(BatchesEnded(epoch, (step,), (loss,), (loss,), (1 - loss / 2,), steps))
            time.sleep(delay)
            if cancel.cancelled:
                outcome = "cancelled"
                break
        if outcome == "cancelled":
            break
        row = dict(epoch=epoch, phase=phase, loss=math.exp(-epoch / 3), accuracy=1 - math.exp(-epoch) / 2,
                   val_loss=math.exp(-epoch / 4), val_accuracy=1 - math.exp(-epoch) / 1.5, seconds=0.01)
        history.append(row)
        on_event(EpochEnded(**row))
        best = epoch
    acc = 0.9 if best else None
    model = f"{config.out_dir}/model.keras" if best else None
    from foveal.core.stats import headline
    from foveal.core.training.tracker import RunTracker

    words = headline(acc, 10, 0.5, "a") if acc is not None else ""
    tracker = RunTracker()  # the real words for why the run ended
    tracker.history, tracker.best_epoch, tracker.cancelled = history, best, outcome == "cancelled"
    result = TrainingFinished(Outcome(outcome), config.out_dir, model, acc, 0.3 if best else None, best, ("a", "b"),
                              tuple(history), 1.0, headline=words, reason=tracker.ending(total, 5))
    on_event(result)
    return result


def _scripted_comparison(on_event, epochs: int, steps: int, delay: float) -> None:
    """The automatic recipe's comparison as core sends it: six candidates scored, a dense head chosen."""
    scores = (0.72, 0.81, 0.78, 0.84, 0.69, 0.8)
    for done, acc in enumerate(scores, start=1):
        on_event(CandidateTried(done, len(scores), f"candidate {done}", acc, acc - 0.06, acc + 0.06, acc - 0.02))
        time.sleep(delay)
    on_event(RecipeChosen("candidate 4", "candidate 4: 84.0% accuracy in 5-fold cross-validation", (),
                          HeadKind.DENSE, epochs, steps, summary="Foveal tried 6 ways of reading the backbone's "
                          "features and chose candidate 4"))


def fake_evaluate(run_dir, *, folder, fail=None):
    """An evaluation of every image in ``folder`` without TensorFlow: every third image is predicted wrong,
    with real metrics from core.evaluation.metrics. Writes the run.json the Evaluate view reads."""
    import json
    from pathlib import Path

    import numpy as np

    from foveal.core.errors import ModelFileError
    from foveal.core.evaluation.evaluate import Evaluation, Prediction
    from foveal.core.evaluation.metrics import add_headline, compute_metrics, uncalibrated_curve

    if fail == "user":
        raise ModelFileError(f"{run_dir} has no model.keras.")
    classes = tuple(sorted(p.name for p in Path(folder).iterdir() if p.is_dir()))
    files = sorted(f for f in Path(folder).glob("*/*") if f.suffix.lower() in (".png", ".jpg"))
    y, probs, preds = [], [], []
    for i, f in enumerate(files):
        t = classes.index(f.parent.name)
        wrong = i % 3 == 0
        p = np.full(len(classes), 0.1 / (len(classes) - 1))
        p[(t + 1) % len(classes) if wrong else t] = 0.9 if i % 2 else 0.55
        p /= p.sum()
        y.append(t)
        probs.append(p)
        k = int(p.argmax())
        preds.append(Prediction(f"{f.parent.name}/{f.name}", str(f), classes[t], classes[k], float(p[k]),
                                tuple(float(v) for v in p), bool(p[k] < 0.6)))
    metrics = compute_metrics(y, np.array(probs), classes)
    metrics["calibration_before"] = uncalibrated_curve(y, np.array(probs), 2.0)
    add_headline(metrics, np.array(y), classes, [classes[0]])
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    split = {"train": [], "val": [], "test": [{"file": pr.file, "class": pr.true} for pr in preds]}
    (Path(run_dir) / "run.json").write_text(json.dumps(fake_run_record(classes, folder, split)))
    from foveal.core.training.mislabels import Suspect, write_suspects

    last = files[-1]  # the run's confident learning says the last image belongs to the first class
    write_suspects(Path(run_dir) / "suspected_mislabels.csv",
                   [Suspect(f"{last.parent.name}/{last.name}", last.parent.name, classes[0], 0.7, 0.1, 0.8)])
    return Evaluation("test split", classes, metrics, preds, [], f"{run_dir}/model.keras", str(run_dir), 0.1)


def fake_run_record(classes, folder, split) -> dict:
    """A run.json with every key core.runs.read_run checks, for a run nobody trained."""
    return {"format": "foveal-run", "classes": list(classes), "dataset": {"root": str(folder), "layout": "folders"},
            "split": split, "image_size": 32, "model": None, "outcome": "completed", "fine_tune": "frozen",
            "seed": 1234, "backbone": {"name": "MobileNetV2", "family": "mobilenet_v2", "top1": 71.3},
            "config": {"weights": "imagenet", "dropout": 0.2, "val_fraction": 0.15, "test_fraction": 0.15}}


def fake_explain(run_dir, path, class_index):
    """A Grad-CAM stand-in: a gradient picture the size of a small image."""
    import numpy as np

    from foveal.gui.workers.evaluation_jobs import Explanation

    picture = np.zeros((60, 80, 3), np.uint8)
    picture[..., 0] = np.linspace(0, 255, 80, dtype=np.uint8)[None, :]
    image = np.full((60, 80, 3), 128, np.uint8)
    heatmap = np.tile(np.linspace(0, 1, 80, dtype=np.float32)[None, :], (60, 1))
    return Explanation(path, class_index, picture, (0.7, 0.3), image, heatmap, "evidence")


def fake_report(run_dir, evaluation):
    from pathlib import Path

    path = Path(run_dir) / "report.html"
    path.write_text(f"<h1>{len(evaluation.predictions)} predictions</h1>")
    return str(path)


def fake_describe(model):
    return f"{model}/model.keras", ("a", "b"), 64


def fake_predict_paths(model, paths):
    """Every .png is 'a' (0.9) or, when its name has an odd digit sum, 'b' (0.55, low confidence), and
    unfamiliar when its name says "foreign"; other files are unreadable."""
    from pathlib import Path

    from foveal.gui.workers.evaluation_jobs import PredictedBatch

    files = []
    for p in paths:
        files += sorted(str(f) for f in Path(p).rglob("*") if f.is_file()) if Path(p).is_dir() else [p]
    rows = []
    for f in files:
        if not f.endswith(".png"):
            rows.append({"path": f, "predicted_class": "", "confidence": "", "low_confidence": "",
                         "error": "not an image Foveal can read"})
            continue
        odd = sum(int(c) for c in Path(f).stem if c.isdigit()) % 2
        p = (0.45, 0.55) if odd else (0.9, 0.1)
        top = 1 if odd else 0
        rows.append({"path": f, "predicted_class": "ab"[top], "confidence": p[top], "low_confidence": p[top] < 0.6,
                     "error": "", "probs": list(p), "unfamiliar": "foreign" in Path(f).name,
                     "unfamiliar_score": 0.9 if "foreign" in Path(f).name else 0.1,
                     "top1_class": "ab"[top], "top1_probability": p[top],
                     "top2_class": "ab"[1 - top], "top2_probability": p[1 - top]})
    return PredictedBatch(model, ("a", "b"), rows)


def fake_export(model, fmt, precision, folder=None):
    from pathlib import Path

    from foveal.core.export.export import ExportResult

    folder = Path(folder) if folder else Path(model) / "export" / fmt
    folder.mkdir(parents=True, exist_ok=True)
    return ExportResult(fmt, precision, str(folder), str(folder / "model"), fmt != "onnx", 1e-6, 1.0, 4, False,
                        1000, 0.1)


FAKE_PREDICT = {"describe_fn": fake_describe, "predict_fn": fake_predict_paths, "export_fn": fake_export}


def scripted_compare(data_dir, candidates, weights, *, split, seed, out, on_event, cancel, delay=0.002,
                     hold=None):
    """Emit a comparison's events (features, then scoring, per candidate), honour cancel, save like the real one.

    ``hold``: a threading.Event waited on after the first candidate (a test then stops the comparison)."""
    from foveal.core.compare.result import Comparison, Row
    from foveal.core.compare.run import CandidateDone, CandidateProgress, CompareStarted
    from foveal.core.io import make_dirs, write_json

    on_event(CompareStarted(tuple(c.label for c in candidates), 40, 5))
    rows, outcome = [], "completed"
    for i, cand in enumerate(candidates, 1):
        if cancel.cancelled:
            outcome = "cancelled"
            break
        for done in (16, 32, 40):
            on_event(CandidateProgress(i, len(candidates), cand.label, "features", done, 40))
            time.sleep(delay)
        on_event(CandidateProgress(i, len(candidates), cand.label, "scoring", 18, 18))
        acc = 0.9 - 0.05 * i
        row = Row(cand.spec.name, cand.size, "scored", "", acc, (acc - 0.08, acc + 0.06), acc - 0.02,
                  (acc - 0.1, acc + 0.05), (acc,) * 5, 30.0 / i, 9.0, "linear head (C=0.1), avg pooling", 1.0)
        rows.append(row)
        on_event(CandidateDone(i, len(candidates), row))
        if hold is not None and i == 1:
            hold.wait(10)
    result = Comparison(data_dir, weights, 40, 5, 0.5, "a", tuple(rows), outcome, 0.1, out or "", {"seed": seed})
    if out:
        make_dirs(os.path.dirname(out))
        write_json(out, result.to_dict())
    return result
