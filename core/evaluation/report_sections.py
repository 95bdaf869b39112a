"""The sections of the report, each built from the run's record (``run.json``) and the evaluation."""

from __future__ import annotations

from collections import Counter

from foveal.core.evaluation import plots
from foveal.core.evaluation.document import Figure, Section, Table
from foveal.core.evaluation.evaluate import Evaluation
from foveal.core.evaluation.metrics import format_value
from foveal.core.run_record import RunRecord, SplitInfo

_SPLITS = ("train", "val", "test")


def _pct(x) -> str:
    return format_value(x, pct=True)


def _num(x, digits: int = 3) -> str:
    return format_value(x, digits=digits)


def summary(run: RunRecord, ev: Evaluation) -> Section:
    m = ev.metrics
    lo, hi = m["accuracy_ci"]
    epoch = (f"the weights of epoch {run.best_epoch} were kept" if run.best_epoch is not None else
             "no epochs (a linear head fitted directly)")
    accuracy = m.get("headline") or (f"Accuracy on {m['n']} held-out images: {_pct(m['accuracy'])} (95% confidence "
                                     f"interval {_pct(lo)}–{_pct(hi)}).")
    return Section("Summary", [
        f"{run.backbone.name} ({_depth(run)}) trained on {len(run.classes)} classes "
        f"({', '.join(run.classes)}). Outcome: {run.outcome}; {epoch}.",
        f"{accuracy} Measured on the {ev.source}; balanced accuracy {_pct(m['balanced_accuracy'])}; "
        f"{m['n_low_confidence']} prediction(s) below {m['low_confidence_threshold']:.0%} confidence.",
        *m.get("cautions", []),
        (f"{m['n_unfamiliar']} of {m['n']} held-out image(s) do not look like the images the model learned from "
         "(their answers may be meaningless)." if "n_unfamiliar" in m else
         "This run has no check for images unlike the training ones (it was made before Foveal kept one)."),
    ])


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
    """Exactly how the split was made (file, groups, copies, seed) and a warning when nothing kept related images
    together, so a reader can judge whether the test images were truly new to the model."""
    c, info = run.config, run.split_info or SplitInfo()
    n = {s: len(run.split.of(s)) for s in _SPLITS}
    total = sum(n.values())
    blocks: list = [f"{n['train']} training, {n['val']} validation and {n['test']} test images. The test images were "
                    "never used for training or for choosing the best epoch; the exact file list per split is in "
                    "run.json."]
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
    if info.n_duplicate_sets is not None:
        kept = info.keep_duplicates_together
        rows.append(["copies of an image", f"{info.n_duplicate_sets} set(s) of duplicate or near-duplicate "
                     f"images found; {'kept in one split' if kept else 'not kept together'}; "
                     f"{len(info.duplicates_across_splits)} set(s) span splits"])
    blocks.append(Table(None, rows))
    alone = group_by == "none" or info.n_groups == total
    if alone and not info.split_file and run.dataset.layout != "pre-split":
        blocks.append("Warning: nothing kept related images together. If several images come from one patient, "
                      "specimen or slide, some of them may be in both the training and the test images, and the test "
                      "accuracy may then be higher than on new patients. Group the images by file name or DICOM "
                      "PatientID and train again if that can be the case.")
    from foveal.core.split.duplicates import copies_words

    copies = copies_words(info.duplicates_across_splits, from_split_file=bool(info.split_file))
    if copies:
        blocks.append(f"Warning: {copies}")
    return Section("Split", blocks)


def model(run: RunRecord) -> Section:
    b = run.backbone
    weights = run.config.weights
    return Section("Model", [Table(None, [
        ["backbone", f"{b.name} ({b.family}), ImageNet top-1 {b.top1}%"],
        ["input", f"{run.image_size}×{run.image_size} RGB, resized inside the model"],
        ["fine-tuning", _depth(run)],
        ["starting weights", {"imagenet": "ImageNet", "none": "none (random)"}.get(str(weights), f"file {weights}")],
        ["head", _head(run)],
    ])])


def _depth(run: RunRecord) -> str:
    from foveal.core.errors import ConfigError
    from foveal.core.models.build import FineTune

    try:
        text = FineTune.parse(run.fine_tune).describe(run.n_blocks)
    except ConfigError:
        text = run.fine_tune
    if run.config.fine_tune == "auto":
        text = f"tried automatically: {text}"
    words = run.phases.words if run.phases else None  # whether fine-tuning beat the head, and what was kept
    return f"{text}. {words}" if words else text


def _head(run: RunRecord) -> str:
    pooling = {"avg": "global average", "max": "global max", "grid": "2×2-grid average"}.get(
        run.pooling or "avg", "global average")
    winner = run.recipe.winner
    if winner is not None and winner.head == "linear":
        return f"{pooling} pooling, logistic regression (C={winner.strength:g}) as a dense softmax"
    return f"{pooling} pooling, dropout {run.config.dropout}, dense softmax"


def recipe(run: RunRecord) -> Section | None:
    """The candidates the automatic recipe tried, best first, and why the winner won (None: a manual run)."""
    chosen = run.recipe
    if chosen.candidates is None:
        return None
    rows = [[c.description, _pct(c.accuracy), f"{_pct(c.interval[0])}–{_pct(c.interval[1])}",
             _pct(c.balanced_accuracy)] for c in chosen.candidates]
    return Section("Recipe", [f"Chosen automatically: {chosen.reason}. Each candidate was scored by "
                              "cross-validation on the training and validation images only; the test images were "
                              "not used.", Table(["candidate", "accuracy", "95% interval", "balanced"], rows,
                                                 widths=[0.46, 0.16, 0.22, 0.16])])


def settings(run: RunRecord) -> Section:
    from foveal.core.training.settings_words import setting_rows

    return Section("Settings", [
        "Every setting of the run. The file run_config.json in the run folder holds them all; the command "
        "foveal train --config run_config.json trains the same way again.",
        Table(["setting", "value"], setting_rows(run.config.to_dict()))])


def software(run: RunRecord) -> Section:
    rows = [[k, str(v)] for k, v in run.versions.items()]
    return Section("Software", [Table(["library", "version"], rows),
                                f"Training took {run.timings.total or 0:.0f} s in all."])


def training(run: RunRecord) -> Section:
    hist = run.history
    if not hist and run.recipe.winner is not None and run.recipe.winner.head == "linear":
        return Section("Training", ["No epochs: the linear head was fitted directly on the frozen features."])
    if not hist:
        return Section("Training", ["No epoch finished."])
    ft = next((h.epoch for h in hist if h.phase == "fine-tune"), None)
    caption = (f"Loss and accuracy per epoch. The weights of epoch {run.best_epoch} (lowest validation "
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
                                               "Rows: the true class; columns: what the model predicted.", 0.55)])


def roc(ev: Evaluation) -> Section:
    r = ev.metrics["roc"]
    blocks: list = [Figure(plots.roc(r), "One-vs-rest ROC curve of each class.", 0.5)]
    if "binary" in r:
        rows = []
        for name, op in ((r["binary"]["chosen"]["rule"], r["binary"]["chosen"]), ("0.5", r["binary"]["default"])):
            rows.append([name, f"{op['threshold']:.3f}", _pct(op["sensitivity"]), _pct(op["specificity"]),
                         _pct(op.get("ppv")), _pct(op.get("npv")),
                         f"TP {op['tp']}, FN {op['fn']}, TN {op['tn']}, FP {op['fp']}"])
        positive = r["binary"]
        blocks += [f"Operating thresholds on the probability of the positive class '{positive['positive_class']}' "
                   f"({positive.get('positive_reason') or 'the second class'}):",
                   Table(["chosen by", "threshold", "sensitivity", "specificity", "PPV", "NPV", "counts"], rows)]
    return Section("ROC", blocks)


def calibration(ev: Evaluation) -> Section:
    return Section("Calibration", [Figure(plots.reliability(ev.metrics["calibration"]),
                                          "How often the model is right when it is this confident.", 0.5)])


#: What only the people responsible for the model can say; the report leaves room for it, marked as such.
MODEL_CARD_FIELDS = ("Intended use (which images, which question, which decision it supports)",
                     "Intended users", "Uses it is not meant for", "Population and equipment the images come from",
                     "Reviewed by (name, role)", "Date and signature")
TO_FILL = "[to be filled in]"


def model_card(run: RunRecord, ev: Evaluation) -> Section:
    """Intended use and limitations: what Foveal knows (filled in) and what a person must state (marked)."""
    m = ev.metrics
    lo, hi = m["accuracy_ci"]
    known = [
        f"Trained on {len(run.split.train)} images of one folder ({run.dataset.root}); classes: "
        f"{', '.join(run.classes)}. It can only answer one of these classes, even for an image of something else.",
        f"Measured on {m['n']} held-out images from the same folder: accuracy {_pct(m['accuracy'])} (95% "
        f"interval {_pct(lo)}–{_pct(hi)}). Images from another site, scanner, stain or protocol may score lower; "
        "this has not been measured.",
        "Each answer comes with a confidence and, where the run keeps the check, a warning when the image does not "
        "look like the training images; such answers may be meaningless.",
        "It is not a medical device and has not been validated for clinical decisions.",
    ]
    return Section("Intended use and limitations", [
        "Known from the run:", *(f"• {k}" for k in known),
        f"To be completed by the person responsible for the model (fields marked {TO_FILL}):",
        Table(None, [[f, TO_FILL] for f in MODEL_CARD_FIELDS], form=True)])


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
