"""The sections of the report, each built from ``run.json`` and the evaluation as plain data."""

from __future__ import annotations

from collections import Counter

from core.evaluation import plots
from core.evaluation.document import Figure, Section, Table
from core.evaluation.evaluate import Evaluation
from core.evaluation.metrics import format_value

_SPLITS = ("train", "val", "test")


def _pct(x) -> str:
    return format_value(x, pct=True)


def _num(x, digits: int = 3) -> str:
    return format_value(x, digits=digits)


def summary(run: dict, ev: Evaluation) -> Section:
    m = ev.metrics
    lo, hi = m["accuracy_ci"]
    return Section("Summary", [
        f"{run['backbone']['name']} ({run['fine_tune']}) trained on {len(run['classes'])} classes "
        f"({', '.join(run['classes'])}). Outcome: {run['outcome']}; best epoch {run.get('best_epoch')}.",
        f"Accuracy on {m['n']} held-out images ({ev.source}): {_pct(m['accuracy'])} "
        f"(95% confidence interval {_pct(lo)}–{_pct(hi)}); balanced accuracy {_pct(m['balanced_accuracy'])}; "
        f"{m['n_low_confidence']} prediction(s) below {m['low_confidence_threshold']:.0%} confidence.",
        *([m["headline"]] if m.get("headline") else []),
        *m.get("cautions", []),
        (f"{m['n_unfamiliar']} of {m['n']} held-out image(s) do not look like the images the model learned from "
         "(their answers may be meaningless)." if "n_unfamiliar" in m else
         "This run has no check for images unlike the training ones (it was made before Foveal kept one)."),
    ])


def dataset(run: dict) -> Section:
    counts: dict[str, Counter] = {s: Counter(r["class"] for r in run["split"][s]) for s in _SPLITS}
    rows = [[c, *[str(counts[s][c]) for s in _SPLITS], str(sum(counts[s][c] for s in _SPLITS))]
            for c in run["classes"]]
    blocks: list = [f"Folder: {run['dataset']['root']} (layout: {run['dataset']['layout']}).",
                    Table(["class", "train", "validation", "test", "total"], rows)]
    skipped = run.get("skipped_during_training") or []
    if skipped:
        blocks.append(f"{len(skipped)} file(s) could not be read during training and were left out: "
                      + "; ".join(f"{s['file']} ({s['reason']})" for s in skipped[:10]))
    return Section("Dataset", blocks)


def split(run: dict) -> Section:
    c = run["config"]
    n = {s: len(run["split"][s]) for s in _SPLITS}
    how = ("as given by the folder's own train/validation/test folders" if run["dataset"]["layout"] == "pre-split" else
           f"split stratified by class with seed {run['seed']} (validation {c['val_fraction']:.0%}, "
           f"test {c['test_fraction']:.0%})")
    return Section("Split", [
        f"{n['train']} training, {n['val']} validation and {n['test']} test images, {how}. The test "
        "images were never used for training or for choosing the best epoch. The exact file list per split is "
        "in run.json; the same seed on the same files gives the same split."])


def model(run: dict) -> Section:
    b = run["backbone"]
    return Section("Model", [Table(["", ""], [
        ["backbone", f"{b['name']} ({b['family']}), ImageNet top-1 {b['top1']}%"],
        ["input", f"{run['image_size']}×{run['image_size']} RGB, resized inside the model"],
        ["fine-tuning", f"{run['fine_tune']} (the backbone has {run['n_blocks']} blocks)"],
        ["weights", str(run["config"]["weights"])],
        ["head", _head(run)],
    ])])


def _head(run: dict) -> str:
    pooling = {"avg": "global average", "max": "global max"}.get(run.get("pooling", "avg"), "global average")
    winner = (run.get("recipe") or {}).get("winner")
    if winner and winner.get("head") == "linear":
        return f"{pooling} pooling, logistic regression (C={winner['strength']:g}) as a dense softmax"
    return f"{pooling} pooling, dropout {run['config']['dropout']}, dense softmax"


def recipe(run: dict) -> Section | None:
    """The candidates the automatic recipe tried, best first, and why the winner won (None: a manual run)."""
    chosen = run.get("recipe") or {}
    if "candidates" not in chosen:
        return None
    rows = [[c["description"], _pct(c["accuracy"]), f"{_pct(c['interval'][0])}–{_pct(c['interval'][1])}",
             _pct(c["balanced_accuracy"])] for c in chosen["candidates"]]
    return Section("Recipe", [f"Chosen automatically: {chosen['reason']}. Each candidate was scored by "
                              "cross-validation on the training and validation images only; the test images were "
                              "not used.", Table(["candidate", "accuracy", "95% interval", "balanced"], rows)])


def settings(run: dict) -> Section:
    rows = [[k, str(v)] for k, v in run["config"].items()]
    return Section("Settings", ["Every setting of the run (`foveal train --config` takes these keys):",
                                Table(["setting", "value"], rows)])


def software(run: dict) -> Section:
    t = run.get("timings", {})
    rows = [[k, str(v)] for k, v in run.get("versions", {}).items()]
    return Section("Software", [Table(["library", "version"], rows),
                                f"Training took {t.get('total', 0):.0f} s in all."])


def training(run: dict) -> Section:
    hist = run.get("history") or []
    if not hist and (run.get("recipe") or {}).get("winner", {}).get("head") == "linear":
        return Section("Training", ["No epochs: the linear head was fitted directly on the frozen features."])
    if not hist:
        return Section("Training", ["No epoch finished."])
    ft = next((h["epoch"] for h in hist if h.get("phase") == "fine-tune"), None)
    caption = (f"Loss and accuracy per epoch. The weights of epoch {run.get('best_epoch')} (lowest validation "
               "loss) were kept.")
    return Section("Training", [Figure(plots.training_curves(hist, ft), caption)])


def metrics(ev: Evaluation) -> Section:
    m = ev.metrics
    lo, hi = m["accuracy_ci"]
    overall = Table(["metric", "value"], [
        ["images", str(m["n"])], ["accuracy", f"{_pct(m['accuracy'])} (95% CI {_pct(lo)}–{_pct(hi)}, Wilson)"],
        ["balanced accuracy", _pct(m["balanced_accuracy"])],
        ["macro precision / recall / F1", " / ".join(_num(m["macro"][k]) for k in ("precision", "recall", "f1"))],
        ["weighted precision / recall / F1",
         " / ".join(_num(m["weighted"][k]) for k in ("precision", "recall", "f1"))],
        ["macro ROC AUC (one-vs-rest)", _num(m["roc"]["macro_auc"])],
        ["expected calibration error", _num(m["calibration"]["ece"])],
    ])
    auc = {c["class"]: c["auc"] for c in m["roc"]["per_class"]}
    per = Table(["class", "precision", "recall (sensitivity)", "F1", "ROC AUC", "support"],
                [[r["class"], _num(r["precision"]), _num(r["recall"]), _num(r["f1"]), _num(auc.get(r["class"])),
                  str(r["support"])] for r in m["per_class"]])
    blocks: list = [overall, per]
    if ev.skipped:
        blocks.append(f"{len(ev.skipped)} image(s) could not be evaluated: "
                      + "; ".join(f"{s['file']} ({s['reason']})" for s in ev.skipped[:10]))
    return Section("Metrics on held-out images", blocks)


def confusion(ev: Evaluation) -> Section:
    return Section("Confusion matrix", [Figure(plots.confusion(ev.metrics["confusion"], ev.classes),
                                               "Rows: the true class; columns: what the model predicted.", 0.7)])


def roc(ev: Evaluation) -> Section:
    r = ev.metrics["roc"]
    blocks: list = [Figure(plots.roc(r), "One-vs-rest ROC curve of each class.", 0.6)]
    if "binary" in r:
        rows = []
        for name, op in ((r["binary"]["chosen"]["rule"], r["binary"]["chosen"]), ("0.5", r["binary"]["default"])):
            rows.append([name, f"{op['threshold']:.3f}", _pct(op["sensitivity"]), _pct(op["specificity"]),
                         _pct(op.get("ppv")), _pct(op.get("npv")),
                         f"TP {op['tp']}, FN {op['fn']}, TN {op['tn']}, FP {op['fp']}"])
        blocks += [f"Operating thresholds on the probability of the positive class '{r['binary']['positive_class']}':",
                   Table(["chosen by", "threshold", "sensitivity", "specificity", "PPV", "NPV", "counts"], rows)]
    return Section("ROC", blocks)


def calibration(ev: Evaluation) -> Section:
    return Section("Calibration", [Figure(plots.reliability(ev.metrics["calibration"]),
                                          "How often the model is right when it is this confident.", 0.6)])


def marked(marks: dict) -> Section:
    rows = [[k, m.get("true", ""), m.get("predicted", ""), m.get("note", "")] for k, m in sorted(marks.items())]
    return Section("Images marked as mislabelled", [
        "Marked by the user while reviewing errors; the files themselves were not changed.",
        Table(["file", "labelled as", "model predicts", "note"], rows)])


def suspects(found: list) -> Section:
    """The run's suspected mislabels (core.training.mislabels), the most suspect first."""
    if not found:
        return Section("Suspected mislabels", ["No image of any split looks mislabelled (confident learning on "
                                               "predictions from models that did not see each image)."])
    shown = found[:25]
    rows = [[s.file, s.given, s.suggested, f"{s.p_given:.0%}", f"{s.p_suggested:.0%}"] for s in shown]
    more = f" The first {len(shown)} are listed; all are in suspected_mislabels.csv." if len(found) > len(shown) else ""
    return Section("Suspected mislabels", [
        f"{len(found)} image(s) whose folder label looks wrong: a model that did not see the image gives its "
        "folder's class less probability than usual and another class more (confident learning, Northcutt et "
        f"al. 2021). Check them; the files themselves were not changed.{more}",
        Table(["file", "folder says", "looks like", "p(folder's class)", "p(other class)"], rows)])
