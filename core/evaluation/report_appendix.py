"""The report's appendix: how the model was made in technical terms (backbone, pooling, C, temperature, threshold
rule), every candidate the automatic recipe tried, the settings that applied to the run, and the software. The
front pages say the same in plain words (core.evaluation.report_front)."""

from __future__ import annotations

from foveal.core.evaluation import report_method as how
from foveal.core.evaluation.document import Section, Table
from foveal.core.evaluation.metrics import format_value
from foveal.core.run_record import RunRecord


def _pct(x) -> str:
    return format_value(x, pct=True)


def model(run: RunRecord) -> Section:
    """The model in technical terms: backbone, input, fine-tuning depth, weights, head, calibration, threshold."""
    b = run.backbone
    weights = run.config.weights
    learned = how.learned_from(run)
    rows = [
        ["backbone", f"{b.name} ({b.family}), ImageNet top-1 {b.top1}%"],
        ["input", _input(run)],
        ["fine-tuning", depth(run)],
        ["starting weights", {"imagenet": "ImageNet", "none": "none (random)"}.get(str(weights), f"file {weights}")],
        ["head", _head(run)],
        ["head learned from", f"{learned.words()}" + (" (fitted directly, no training rounds)" if how.is_linear(run) and
                                                      how.fitted_on_all(run) else "")],
    ]
    cal = run.calibration
    if cal is not None and cal.temperature is not None:
        rows.append(["confidence calibration", f"temperature scaling (Guo et al. 2017), T = {cal.temperature:.3g} "
                     f"(logits divided by T, folded into the last layer), fitted on the "
                     f"{cal.fitted_on or 'validation images'}"])
    op = run.operating_point
    if op is not None and op.threshold is not None:
        on = op.chosen_on or "validation images"
        rows.append(["two-class threshold", f"{op.threshold:.3f} on the probability of '{op.positive_class}', "
                     f"maximising Youden's J (sensitivity + specificity − 1) on the {on}"
                     f"{f' ({op.n_val} images)' if op.n_val else ''}"])
    if run.devices is not None and run.devices.description:
        rows.append(["computed on", run.devices.description])
    return Section("Appendix: model", [Table(None, rows)], new_page=True)


def depth(run: RunRecord) -> str:
    """How deep the backbone was fine-tuned, as asked (what fine-tuning changed is said in the Summary)."""
    from foveal.core.errors import ConfigError
    from foveal.core.models.build import FineTune

    try:
        text = FineTune.parse(run.fine_tune).describe(run.n_blocks)
    except ConfigError:
        text = run.fine_tune
    return f"tried automatically: {text}" if run.config.fine_tune == "auto" else text


def _input(run: RunRecord) -> str:
    """How the model reads an image: its input size, and over tiles or orientations when it does."""
    size = run.image_size
    tiles = getattr(run, "tiles", 0)
    if tiles:
        canvas = size * tiles
        return (f"{canvas}×{canvas} RGB, resized inside the model, read as {(2 * tiles - 1) ** 2} overlapping tiles "
                f"of {size}×{size} px (stride {size // 2}); the mean and the maximum of each feature over the tiles")
    text = f"{size}×{size} RGB, resized inside the model"
    if run.orientations == 8:
        text += "; features averaged over the image's 8 rotations and flips (quarter-turns and mirror images)"
    return text


def _head(run: RunRecord) -> str:
    pooling = how.pooling_technical(run.pooling)
    winner = run.recipe.winner
    if winner is not None and winner.head == "linear":
        return f"{pooling}, logistic regression (C={winner.strength:g}) as a dense softmax layer"
    return f"{pooling}, dropout {run.config.dropout}, dense softmax layer trained with Adam"


_TERMS = ("Terms: linear head (C=…): logistic regression on the pooled features, fitted directly; C is the inverse "
          "of the regularisation strength (a smaller C keeps the classifier simpler). Dense head: dropout and a dense "
          "softmax layer trained in epochs. avg / max / grid pooling: the backbone's feature map averaged over the "
          "whole image / its largest value / averaged over each cell of a 2×2 grid. Classes weighted: each class "
          "weighted by the inverse of its count. Images at N px: the same, with the images read at a larger size. "
          "Averaged over rotations and flips: the features of the image's 8 quarter-turns and mirror images "
          "averaged. Over tiles of N px at full resolution: the image read at twice N as 3×3 overlapping tiles of "
          "N px, the mean and the maximum of each feature over the tiles side by side.")


def recipe(run: RunRecord) -> Section | None:
    """The candidates the automatic recipe tried, best first, in technical terms (None: a manual run)."""
    chosen = run.recipe
    if chosen.candidates is None:
        return None
    rows = [[c.description, _pct(c.accuracy), f"{_pct(c.interval[0])}–{_pct(c.interval[1])}",
             _pct(c.balanced_accuracy)] for c in chosen.candidates]
    folds = chosen.winner.extra.get("folds") if chosen.winner is not None else None
    how_scored = (f"{folds}-fold cross-validation" if isinstance(folds, int) else "cross-validation")
    metric = "balanced accuracy" if how.balanced_ranking(run) else "accuracy"
    why = chosen.extra.get("ranked_by_reason")
    return Section("Appendix: recipe", [*_passes(chosen.extra.get("passes")),
        f"Each candidate was scored by {how_scored} on the training and validation images only (the test images "
        "were not used): its mean accuracy over the folds, with a 95% interval from the spread between folds "
        f"(Student's t). They are ranked by {metric}" + (f" because {why}" if isinstance(why, str) else "") +
        f". The first won; those whose {metric} lies within its interval are about as good.", _TERMS,
        Table(["candidate", "accuracy", "95% interval", "balanced"], rows, widths=[0.46, 0.16, 0.22, 0.16])])


def _passes(passes) -> list[str]:
    """The extra passes the recipe made over the images and those it left out, in one paragraph (none: a run
    made before Foveal made them)."""
    if not isinstance(passes, dict):
        return []

    def words(key: str) -> list[str]:
        return [str(p.get("words")) for p in passes.get(key) or () if isinstance(p, dict)]

    made, left = words("made"), words("left_out")
    text = ("Besides the images at the run's own size, the best pooling was also tried on features made "
            "otherwise: " + ("; ".join(made) if made else "none"))
    if left:
        text += f"; left out to stay within the time budget (search '{passes.get('search')}'): {'; '.join(left)}"
    return [text + "."]


def run_shape(run: RunRecord):
    """What the run did, which decides which settings applied (core.training.settings_words.RunShape)."""
    from foveal.core.training.settings_words import RunShape

    fine_tuned = (str(run.fine_tune).lower() not in ("frozen", "none", "head")
                  or any(h.phase == "fine-tune" for h in run.history))
    devices = run.devices
    on_gpu = devices is None or any("gpu" in str(d).lower() for d in devices.devices) or bool(devices.extra.get("gpus"))
    winner = run.recipe.winner
    balanced = winner.extra.get("balanced") if winner is not None and run.recipe.candidates is not None else None
    return RunShape(fitted_head=how.is_linear(run), fine_tuned=fine_tuned, on_gpu=on_gpu,
                    chosen_weighting=balanced if isinstance(balanced, bool) and not fine_tuned else None)


def settings(run: RunRecord) -> Section:
    """The settings that applied to the run, in words; those set but unused said once, beside them."""
    from foveal.core.training.settings_words import not_applied_words, setting_rows

    config, shape = run.config.to_dict(), run_shape(run)
    blocks: list = [
        "The settings that applied to this run. The file run_config.json in the run folder holds every one; the "
        "command foveal train --config run_config.json trains the same way again.",
        Table(["setting", "value"], setting_rows(config, shape))]
    unused = not_applied_words(config, shape)
    if unused:
        blocks.append(unused)
    if not shape.on_gpu:
        blocks.append("It ran on the CPU: the settings for GPUs are left out.")
    return Section("Appendix: settings", blocks)


def software(run: RunRecord) -> Section:
    rows = [[k, str(v)] for k, v in run.versions.items()]
    return Section("Appendix: software", [Table(["library", "version"], rows),
                                          f"Training took {run.timings.total or 0:.0f} s in all."])
