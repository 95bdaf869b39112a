"""The report's first pages, for a lab scientist: the result against always answering the commonest class, how the
model was made in plain words (said once, as it was done), the two-class reading, and what to be careful about.
The technical details are in the appendix (core.evaluation.report_appendix)."""

from __future__ import annotations

from foveal.core.evaluation import report_method as how
from foveal.core.evaluation.document import Section, Table
from foveal.core.evaluation.evaluate import Evaluation
from foveal.core.evaluation.metrics import format_value
from foveal.core.run_record import RunRecord, SplitInfo


def _pct(x) -> str:
    return format_value(x, pct=True)


def summary(run: RunRecord, ev: Evaluation) -> Section:
    """The headline, and how the model was made and chosen, in plain words."""
    m = ev.metrics
    lo, hi = m["accuracy_ci"]
    accuracy = m.get("headline") or (f"{_pct(m['accuracy'])} of {m['n']} held-out images right (95% interval "
                                     f"{_pct(lo)}–{_pct(hi)}).")
    where = ("The test images were kept apart: the model never saw them while it was made or chosen."
             if ev.source == "test split" else f"Measured on the images of {ev.source}.")
    blocks: list = [
        f"{accuracy} {where}",
        f"Balanced accuracy (each class counted equally): {_pct(m['balanced_accuracy'])}. "
        f"{m['n_low_confidence']} of {m['n']} answers were given with less than "
        f"{m['low_confidence_threshold']:.0%} confidence.",
        *_recall(ev),
        f"The model tells {_classes(run.classes)} apart. It reads each image with {run.backbone.name}, "
        f"{_start(run)}. {how.choice_words(run)}",
        how.made_words(run),
    ]
    if run.outcome == "cancelled":
        blocks.append("The run was stopped by hand before it finished; the best model so far was kept.")
    return Section("Summary", blocks)


def _recall(ev: Evaluation) -> list[str]:
    """Each class's recall in words, and the classes recognised less than half the time named (none: one class)."""
    from foveal.core.training.heldout import recall_words

    rows = [{"class": r["class"], "recognised": round(r["recall"] * r["support"]), "of": r["support"],
             "recall": r["recall"]} for r in ev.metrics.get("per_class", ()) if r.get("support")]
    images = "test images" if ev.source == "test split" else "images measured"
    words = recall_words(rows, images) if len(rows) > 1 else ()
    return [" ".join(f"{w}." for w in words)] if words else []


def _classes(classes) -> str:
    names = [f"'{c}'" for c in classes]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _start(run: RunRecord) -> str:
    weights = str(run.config.weights)
    if weights == "none":
        return "a network that started from random weights (nothing pretrained)"
    if weights == "imagenet":
        return "a network pretrained on ImageNet, a large set of everyday photographs"
    return "a pretrained network (its weights come from the file named in the appendix)"


def two_class(ev: Evaluation) -> Section | None:
    """With two classes: which one is the positive (the finding) and why, and the reading at the threshold chosen
    before testing: sensitivity, specificity, PPV and NPV, each with its counts."""
    binary = ev.metrics.get("roc", {}).get("binary")
    if not binary:
        return None
    pos = binary["positive_class"]
    neg = next((c for c in ev.classes if c != pos), "the other class")
    op = binary["chosen"]
    reason = binary.get("positive_reason") or "the second class"
    reason = "you chose it" if reason == "chosen by you" else reason
    rule = str(op.get("rule", ""))
    if "these same images" in rule:
        when = ("chosen on these same test images, which flatters the numbers below (this run kept no threshold "
                "of its own)")
    else:
        on = rule.split(" on the ", 1)[1] if " on the " in rule else None
        when = (f"chosen before testing, on the {how.images_words(on)}, to balance missed findings against false "
                "alarms")
    tp, fn, tn, fp = op["tp"], op["fn"], op["tn"], op["fp"]
    rows = [["sensitivity: findings found", _pct(op["sensitivity"]), f"{tp} of {tp + fn} '{pos}' images"],
            ["specificity: the others called so", _pct(op["specificity"]), f"{tn} of {tn + fp} '{neg}' images"],
            [f"PPV: a '{pos}' answer is right", _pct(op.get("ppv")), f"{tp} of {tp + fp} '{pos}' answers"],
            [f"NPV: a '{neg}' answer is right", _pct(op.get("npv")), f"{tn} of {tn + fn} '{neg}' answers"]]
    return Section("Reading for two classes", [
        f"'{pos}' is the positive class, the finding: {reason}. An image is called '{pos}' when the model gives it "
        f"at least {op['threshold']:.0%} probability; this threshold was {when}.",
        Table(["on the test images", "value", "counts"], rows, widths=[0.45, 0.15, 0.4])])


def careful(run: RunRecord, ev: Evaluation, n_marked: int = 0) -> Section:
    """What a reader must keep in mind: the data's warnings (copies, groups, unfamiliar images, suspected and
    marked mislabels, lost files) and the model's known limits."""
    m = ev.metrics
    items = [*m.get("cautions", [])]
    items.append(f"{m['n_unfamiliar']} of {m['n']} test images do not look like the images the model learned from; "
                 "answers on such images may be meaningless." if "n_unfamiliar" in m else
                 "This run has no check for images unlike the training ones (it was made before Foveal kept one).")
    items += _data_warnings(run)
    if n_marked:
        items.append(f"{n_marked} image(s) were marked as mislabelled while reviewing errors (listed under Images "
                     "marked as mislabelled).")
    items += _limits(run, ev)
    return Section("What to be careful about", [f"• {item}" for item in items])


def _data_warnings(run: RunRecord) -> list[str]:
    info = run.split_info or SplitInfo()
    out = []
    suspects = run.suspected_mislabels
    if suspects is not None and suspects.n:
        out.append(f"{suspects.n} image(s) look mislabelled: a model that did not see them gives their folder's "
                   "class little probability (listed under Suspected mislabels). Check them.")
    copies = how.copies_found(run)
    if copies is not None and copies.total:
        kept = ("each set was kept in one split" if info.keep_duplicates_together else
                "they were not kept together in one split")
        out.append(f"Copies of an image: {copies.words()}; {kept}.")
    group_by = info.group_by or run.config.group_by or "none"
    total = sum(len(run.split.of(s)) for s in ("train", "val", "test"))
    alone = group_by == "none" or info.n_groups == total
    if alone and not info.split_file and run.dataset.layout != "pre-split":
        out.append("Nothing kept related images together. If several images come from one patient, specimen or "
                   "slide, some may be among both the training and the test images, and the accuracy may then be "
                   "higher than on new patients. Group the images by file name or DICOM PatientID and train again "
                   "if that can be the case.")
    if run.test.lost_warning:
        out.append(run.test.lost_warning)
    if run.skipped_during_training:
        out.append(f"{len(run.skipped_during_training)} file(s) could not be read during training and were left out "
                   "(listed under Dataset).")
    return out


def _limits(run: RunRecord, ev: Evaluation) -> list[str]:
    """The model card's known limits: what Foveal knows from the run."""
    m = ev.metrics
    learned = how.learned_from(run)
    return [
        f"The model learned from {learned.words()} of one folder ({run.dataset.root}). It can only answer "
        f"{_classes(run.classes)}, even for an image of something else.",
        f"It was measured on {m['n']} held-out images from the same folder. Images from another site, scanner, "
        "stain or protocol may score lower; this has not been measured.",
        "It is not a medical device and has not been validated for clinical decisions.",
    ]


#: What only the people responsible for the model can say; the report leaves room for it, marked as such.
MODEL_CARD_FIELDS = ("Intended use (which images, which question, which decision it supports)",
                     "Intended users", "Uses it is not meant for", "Population and equipment the images come from",
                     "Reviewed by (name, role)", "Date and signature")
TO_FILL = "[to be filled in]"


def model_card(run: RunRecord, ev: Evaluation) -> Section:
    """Intended use and limitations: what a person must state (marked to fill in); what Foveal knows from the run
    is said under What to be careful about."""
    learned = how.learned_from(run)
    return Section("Intended use and limitations", [
        f"Known from the run: the limits under What to be careful about (the model learned from {learned.words()} "
        f"and was measured on {ev.metrics['n']} held-out images from the same folder). To be completed by the "
        f"person responsible for the model (fields marked {TO_FILL}):",
        Table(None, [[f, TO_FILL] for f in MODEL_CARD_FIELDS], form=True)])
