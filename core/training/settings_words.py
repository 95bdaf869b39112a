"""A run's settings in words, for people who read a report rather than a config file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def _auto(what: str) -> Callable[[Any], str]:
    return lambda v: what if v in (None, "auto") else str(v)


def _pct(v: Any) -> str:
    return f"{v:.0%}" if isinstance(v, int | float) else str(v)


def _yes(v: Any) -> str:
    return "yes" if v else "no"


def _switch(v: Any) -> str:
    return {"auto": "automatic (on for GPUs that benefit)", "on": "on", "off": "off"}.get(v, str(v))


def _last_blocks(v: Any) -> str:
    n = str(v).removeprefix("last:")
    return f"the classifier and the last {n} block(s) of the backbone" if n.isdigit() else str(v)


#: setting key → (words, how its value reads); in the order a reader wants them.
WORDS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "data_dir": ("Dataset folder", str),
    "backbone": ("Pretrained network (backbone)", str),
    "weights": ("Starting weights", lambda v: {"imagenet": "ImageNet", "none": "none (random)"}.get(v, f"file {v}")),
    "fine_tune": ("Layers that learn", lambda v: {"frozen": "only the new classifier (backbone frozen)",
                                                 "all": "every layer",
                                                 "auto": "the classifier, then the last blocks of the backbone "
                                                         "tried, kept only if they help"}.get(v, _last_blocks(v))),
    "recipe": ("Recipe", lambda v: {"auto": "chosen automatically by cross-validation",
                                    "manual": "as set here"}.get(v, str(v))),
    "image_size": ("Image size", lambda v: "the backbone's own" if v is None else f"{v}×{v} pixels"),
    "epochs": ("Training rounds (epochs) for the classifier", str),
    "fine_tune_epochs": ("Training rounds (epochs) when fine-tuning",
                         lambda v: "as many as for the classifier" if v is None else str(v)),
    "batch_size": ("Images per step (batch size)", str),
    "learning_rate": ("Learning rate", lambda v: f"{v:g}" if isinstance(v, int | float) else str(v)),
    "fine_tune_lr_factor": ("Learning rate when fine-tuning", lambda v: f"{v:g} × the learning rate"
                            if isinstance(v, int | float) else str(v)),
    "augment": ("Augmented copies (flips, small rotations)", _yes),
    "augment_copies": ("Copies per image when augmenting", str),
    "class_weights": ("Rare classes weighted up", lambda v: {"auto": "automatically when classes are unbalanced",
                                                            "balanced": "always", "none": "never"}.get(v, str(v))),
    "early_stopping_patience": ("Stop after this many rounds without improvement",
                                lambda v: "never (off)" if v == 0 else str(v)),
    "dropout": ("Dropout before the classifier", lambda v: f"{v:g}" if isinstance(v, int | float) else str(v)),
    "val_fraction": ("Validation share", _pct),
    "test_fraction": ("Test share", _pct),
    "seed": ("Random seed", str),
    "group_by": ("Images kept together", lambda v: {"none": "none", "dicom": "same DICOM PatientID",
                                                    "filename": "same file-name group"}.get(v, str(v))),
    "group_pattern": ("File-name group pattern", lambda v: "text before the first _" if v is None else str(v)),
    "keep_duplicates_together": ("Copies of an image kept in one split", _yes),
    "balance_over_copies": ("Copies split apart when that keeps every class at its share", _yes),
    "split_file": ("Split file", lambda v: "none (split made here)" if v is None else str(v)),
    "out_dir": ("Run folder", lambda v: "chosen automatically" if v is None else str(v)),
    "distribute": ("Several devices", lambda v: {"auto": "automatic (all GPUs when several)", "none": "one device",
                                                 "mirrored": "all GPUs of this computer",
                                                 "multi-worker": "several computers"}.get(v, str(v))),
    "devices": ("Devices", _auto("automatic")),
    "mixed_precision": ("Mixed precision (faster on recent GPUs)", _switch),
    "xla": ("Compiled training step (XLA)", _switch),
}


#: Settings only a classifier trained in rounds uses: a linear classifier fitted directly has no rounds.
ROUNDS_ONLY = ("epochs", "learning_rate", "early_stopping_patience", "dropout")
#: Settings only fine-tuning uses.
FINE_TUNE_ONLY = ("fine_tune_epochs", "fine_tune_lr_factor")
#: Settings only a run on a GPU (or on several devices) uses.
GPU_ONLY = ("distribute", "devices", "mixed_precision", "xla")


@dataclass(frozen=True)
class RunShape:
    """What a run did, which decides which of its settings applied to it."""

    fitted_head: bool = False  # a linear classifier fitted directly: no training rounds of its own
    fine_tuned: bool = True  # the backbone was fine-tuned, or fine-tuning was tried
    on_gpu: bool = True  # it ran on a GPU (unknown: True, so nothing is left out)
    #: The class weighting the automatic recipe chose (None: the setting's own value held).
    chosen_weighting: bool | None = None


def setting_rows(config: dict[str, Any], shape: RunShape | None = None) -> list[list[str]]:
    """``[words, value in words]`` for each setting of a run's config that applied to it (``shape``: what the run
    did; None: every setting); unknown keys keep their own name."""
    skipped = set() if shape is None else set(not_applied(config, shape)) | _silent(config, shape)
    rows = []
    for key, (words, say) in WORDS.items():
        if key in config and key not in skipped:
            value = config[key]
            if key == "class_weights" and shape is not None and shape.chosen_weighting is not None:
                rows.append([words, f"{_yes(shape.chosen_weighting)} (chosen by the automatic recipe)"])
                continue
            try:
                rows.append([words, say(value)])
            except (TypeError, ValueError):
                rows.append([words, str(value)])
    rows += [[key, str(value)] for key, value in config.items() if key not in WORDS]
    return rows


def not_applied(config: dict[str, Any], shape: RunShape) -> list[str]:
    """The settings a run had but did not use, to be said once beside the settings table: for a linear classifier
    fitted directly, the training rounds of the classifier, and without fine-tuning also how rounds learn."""
    if not shape.fitted_head:
        return []
    keys = ("epochs",) if shape.fine_tuned else ROUNDS_ONLY
    return [key for key in keys if key in config]


def not_applied_words(config: dict[str, Any], shape: RunShape) -> str | None:
    """:func:`not_applied` as one sentence with each setting's value (None: every setting applied)."""
    keys = not_applied(config, shape)
    if not keys:
        return None
    said = []
    for key in keys:
        words, say = WORDS[key]
        try:
            said.append(f"{words[0].lower()}{words[1:]}: {say(config[key])}")
        except (TypeError, ValueError):
            said.append(f"{words[0].lower()}{words[1:]}: {config[key]}")
    return ("Set, but not used by the final model, because its linear classifier was fitted directly, with no "
            f"training rounds of its own: {'; '.join(said)}. The automatic recipe used "
            f"{'it' if len(said) == 1 else 'them'} only to try the candidates that are trained in rounds.")


def _silent(config: dict[str, Any], shape: RunShape) -> set[str]:
    """Settings left out without a word: they had nothing to act on in this run."""
    out: set[str] = set()
    if not shape.fine_tuned:
        out.update(FINE_TUNE_ONLY)
    if not shape.on_gpu:
        out.update(GPU_ONLY)
    if not config.get("augment") or shape.fine_tuned:  # augmented copies are features of a frozen run only
        out.add("augment_copies")
    if config.get("group_by") != "filename":
        out.add("group_pattern")
    return out
