"""The sections of the report, each built from the run's record (``run.json``) and the evaluation: the details
here; the first pages' sections (core.evaluation.report_front) and the appendix's (core.evaluation.report_appendix)
are named here too, so every section can be reached from one module."""

from __future__ import annotations

from collections import Counter

from foveal.core.evaluation import plots
from foveal.core.evaluation import report_method as how
from foveal.core.evaluation.document import Figure, Section, Table
from foveal.core.evaluation.evaluate import Evaluation
from foveal.core.evaluation.metrics import format_value
from foveal.core.evaluation.report_appendix import model as model
from foveal.core.evaluation.report_appendix import recipe as recipe
from foveal.core.evaluation.report_appendix import settings as settings
from foveal.core.evaluation.report_appendix import software as software
from foveal.core.evaluation.report_front import careful as careful
from foveal.core.evaluation.report_front import model_card as model_card
from foveal.core.evaluation.report_front import summary as summary
from foveal.core.evaluation.report_front import two_class as two_class
from foveal.core.run_record import RunRecord, SplitInfo

_SPLITS = ("train", "val", "test")


def _pct(x) -> str:
    return format_value(x, pct=True)


def _num(x, digits: int = 3) -> str:
    return format_value(x, digits=digits)


def dataset(run: RunRecord) -> Section:
    counts: dict[str, Counter] = {s: Counter(r.label for r in run.split.of(s)) for s in _SPLITS}
    rows = [[c, *[str(counts[s][c]) for s in _SPLITS], str(sum(counts[s][c] for s in _SPLITS))]
            for c in run.classes]
    blocks: list = [f"Folder: {run.dataset.root} (layout: {run.dataset.layout}).",
                    Table(["class", "train", "validation", "test", "total"], rows)]
    skipped = run.skipped_during_training
    if skipped:
        blocks.append(f"{len(skipped)} file(s) could not be read during training and were left out: "
                      + "; ".join(f"{s.file} ({s.reason})" for s in skipped[:10]))
    return Section("Dataset", blocks)


def split(run: RunRecord) -> Section:
    """Exactly how the split was made (file, groups, copies, seed), so a reader can judge whether the test images
    were truly new to the model (the warnings are under What to be careful about)."""
    c, info = run.config, run.split_info or SplitInfo()
    n = {s: len(run.split.of(s)) for s in _SPLITS}
    blocks: list = [f"{n['train']} training, {n['val']} validation and {n['test']} test images. The test images were "
                    "never used to make or choose the model; the exact file list per split is in run.json."]
    rows = []
    if info.split_file:
        rows.append(["made by", f"the split file {info.split_file} (a fixed list of files per split)"])
    elif run.dataset.layout == "pre-split":
        rows.append(["made by", "the folder's own train/validation/test folders"])
    else:
        seed = run.seed if info.seed is None else info.seed
        rows.append(["made by", f"random, stratified by class, seed {seed} (the same seed on the same files gives "
                                "the same split)"])
        rows.append(["fractions", f"validation {c.val_fraction:.0%}, test {c.test_fraction:.0%}"])
    group_by = info.group_by or c.group_by or "none"
    pattern = info.group_pattern or c.group_pattern or "text before the first _"
    grouping = {"none": "none", "dicom": "by DICOM PatientID",
                "filename": f"by file name, pattern {pattern}"}.get(group_by, group_by)
    if group_by != "none" and info.n_groups is not None:
        grouping += f": {info.n_groups} groups, {len(info.leaking_groups)} split across splits"
    rows.append(["groups kept together", grouping])
    copies = how.copies_found(run)
    if copies is not None:
        kept = "each set kept in one split" if info.keep_duplicates_together else "not kept together"
        rows.append(["copies of an image", f"{copies.words()}; {kept}; {len(info.duplicates_across_splits)} "
                     f"set(s) span splits"])
    blocks.append(Table(None, rows))
    return Section("Split", blocks)


def training(run: RunRecord) -> Section | None:
    """The curves per epoch (None: a classifier fitted directly has none; the Summary says so)."""
    hist = run.history
    if not hist:
        return None if how.is_linear(run) else Section("Training", ["No epoch finished."])
    ft = next((h.epoch for h in hist if h.phase == "fine-tune"), None)
    first = (" Epoch 1 is the linear classifier, fitted directly." if how.is_linear(run) and hist[0].phase == "head"
             else "")
    caption = (f"Loss and accuracy per epoch on the training and validation images.{first} Which model was kept is "
               "said in the Summary.")
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


def confusion(ev: Evaluation, width: float = 0.45) -> Section:
    return Section("Confusion matrix", [Figure(plots.confusion(ev.metrics["confusion"], ev.classes),
                                               "Rows: the true class; columns: what the model answered. Each cell "
                                               "counts test images.", width)])


def roc(ev: Evaluation) -> Section:
    r = ev.metrics["roc"]
    blocks: list = [Figure(plots.roc(r), "One-vs-rest ROC curve of each class.", 0.5)]
    if "binary" in r:
        rows = []
        for name, op in (("chosen before testing", r["binary"]["chosen"]), ("0.5", r["binary"]["default"])):
            rows.append([name, f"{op['threshold']:.3f}", _pct(op["sensitivity"]), _pct(op["specificity"]),
                         _pct(op.get("ppv")), _pct(op.get("npv")),
                         f"TP {op['tp']}, FN {op['fn']}, TN {op['tn']}, FP {op['fp']}"])
        positive = r["binary"]
        blocks += [f"Thresholds on the probability of the positive class '{positive['positive_class']}' (how the "
                   "chosen one was chosen: Reading for two classes, and the appendix):",
                   Table(["threshold", "value", "sensitivity", "specificity", "PPV", "NPV", "counts"], rows)]
    return Section("ROC", blocks)


def calibration(ev: Evaluation, run: RunRecord | None = None) -> Section:
    """The reliability diagram, and how the confidence was adjusted in plain words."""
    words = how.calibration_words(run) if run is not None else None
    return Section("Calibration", [*([words] if words else []),
                                   Figure(plots.reliability(ev.metrics["calibration"]),
                                          "How often the model is right when it is this confident.", 0.5)])


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
