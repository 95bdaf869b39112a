"""A run's settings in words, for people who read a report rather than a config file."""

from __future__ import annotations

from collections.abc import Callable
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
                                                 "all": "every layer"}.get(v, _last_blocks(v))),
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
    "split_file": ("Split file", lambda v: "none (split made here)" if v is None else str(v)),
    "out_dir": ("Run folder", lambda v: "chosen automatically" if v is None else str(v)),
    "distribute": ("Several devices", lambda v: {"auto": "automatic (all GPUs when several)", "none": "one device",
                                                 "mirrored": "all GPUs of this computer",
                                                 "multi-worker": "several computers"}.get(v, str(v))),
    "devices": ("Devices", _auto("automatic")),
    "mixed_precision": ("Mixed precision (faster on recent GPUs)", _switch),
    "xla": ("Compiled training step (XLA)", _switch),
}


def setting_rows(config: dict[str, Any]) -> list[list[str]]:
    """``[words, value in words]`` for each setting of a run's config (unknown keys keep their own name)."""
    rows = []
    for key, (words, say) in WORDS.items():
        if key in config:
            try:
                rows.append([words, say(config[key])])
            except (TypeError, ValueError):
                rows.append([words, str(config[key])])
    rows += [[key, str(value)] for key, value in config.items() if key not in WORDS]
    return rows
