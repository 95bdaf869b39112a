"""The settings of one training run, validated before anything heavy starts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from core.errors import ConfigError
from core.models.build import FineTune
from core.models.registry import DEFAULT_BACKBONE, Weights, get_backbone
from core.paths import is_inside
from core.split.plan import SplitSpec

__all__ = ["TrainConfig"]


#: Why Foveal will not train without pretrained weights unless every layer learns.
RANDOM_FEATURES_REFUSAL = (
    "No pretrained weights, and not every layer learns: the frozen layers would pass random features on, and the "
    "model would score close to guessing. Use ImageNet weights or a weights file you have (--weights PATH; in "
    "the window, \"Choose weights file…\"), or let every layer learn from scratch (--fine-tune all; slow, and "
    "needs thousands of images).")


@dataclass
class TrainConfig:
    """Everything that defines a run. Defaults are what the window starts with.

    ``epochs`` is the number of epochs training the new head; when fine-tuning, ``fine_tune_epochs`` more
    follow at ``learning_rate × fine_tune_lr_factor`` (default: as many as ``epochs``, 10× lower rate).
    """

    data_dir: str
    backbone: str = DEFAULT_BACKBONE
    fine_tune: str = "frozen"
    epochs: int = 10
    fine_tune_epochs: int | None = None
    weights: str = Weights.IMAGENET.value
    out_dir: str | None = None
    seed: int = 1234
    batch_size: int = 32
    learning_rate: float = 1e-3
    fine_tune_lr_factor: float = 0.1
    augment: bool = False
    augment_copies: int = 2
    image_size: int | None = None
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    class_weights: str = "auto"
    early_stopping_patience: int = 5
    dropout: float = 0.2
    #: Keep images of one patient/specimen together: "none", "dicom" (PatientID) or "filename" (see group_pattern).
    group_by: str = "none"
    #: Filename grouping: a regular expression whose first group names the group (default: text before first _).
    group_pattern: str | None = None
    #: Keep each set of near-duplicate images (perceptual hashes) in one split, so a copy of a training image
    #: cannot inflate the test accuracy. On by default; copies are looked for either way and reported.
    keep_duplicates_together: bool = True
    #: A JSON file fixing the split (``{"train": [files], "val": [...], "test": [...]}``, e.g. a project's).
    split_file: str | None = None
    #: "auto": on frozen features, choose the head, pooling and class weighting by cross-validation on the
    #: training and validation images; "manual": the dense head on average-pooled features, as set here.
    recipe: str = "auto"
    #: How to spread training: "auto" (all GPUs when several), "none", "mirrored", "multi-worker" (TF_CONFIG).
    distribute: str = "auto"
    #: Which devices train: "auto", "cpu", "gpu" (all) or "gpu:0,1".
    devices: str = "auto"
    #: "auto" (on for GPUs of compute capability ≥ 7.0), "on" or "off".
    mixed_precision: str = "auto"
    #: XLA compilation of the training step: "auto" (on for GPUs), "on" or "off".
    xla: str = "auto"

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid setting and the values it accepts."""
        self.check_types()
        spec = get_backbone(self.backbone)
        self.backbone = spec.name
        FineTune.parse(self.fine_tune)
        _check(self.epochs >= 1, f"epochs must be at least 1. Received: epochs={self.epochs}")
        _check(self.fine_tune_epochs is None or self.fine_tune_epochs >= 0,
               f"fine_tune_epochs must be 0 or more. Received: {self.fine_tune_epochs}")
        _check(self.batch_size >= 1, f"batch size must be at least 1. Received: {self.batch_size}")
        _check(0 < self.learning_rate < 10, f"learning rate must be between 0 and 10. Received: {self.learning_rate}")
        _check(0 < self.fine_tune_lr_factor <= 1, "fine_tune_lr_factor must be in (0, 1]. "
               f"Received: {self.fine_tune_lr_factor}")
        _check(self.augment_copies >= 1, f"augment_copies must be at least 1. Received: {self.augment_copies}")
        _check(self.class_weights in ("auto", "balanced", "none"),
               f"class_weights must be 'auto', 'balanced' or 'none'. Received: {self.class_weights!r}")
        _check(self.recipe in ("auto", "manual"), f"recipe must be 'auto' or 'manual'. Received: {self.recipe!r}")
        _check(0 <= self.dropout < 1, f"dropout must be in [0, 1). Received: {self.dropout}")
        _check(self.early_stopping_patience >= 0, "early_stopping_patience must be 0 (off) or more")
        from core.training.devices import check_settings

        check_settings(self.distribute, self.mixed_precision, self.xla)
        self.split_spec.validate()
        if self.weights_source == Weights.NONE and (self.depth.kind != "all" or self.total_fine_tune_epochs == 0):
            raise ConfigError(RANDOM_FEATURES_REFUSAL)
        if self.image_size is not None and self.image_size < spec.min_size:
            raise ConfigError(f"{spec.name} needs images of at least {spec.min_size}×{spec.min_size} pixels. "
                              f"Received: image_size={self.image_size}. Choose a larger size or another backbone.")
        if self.out_dir and is_inside(self.out_dir, self.data_dir):
            raise ConfigError(f"The run folder {self.out_dir} is inside the dataset folder {self.data_dir}; Foveal "
                              "never writes there. Choose a run folder outside the dataset.")

    def check_types(self) -> None:
        """Each setting is of its declared type (a config file can hold anything: ``"epochs": "many"``)."""
        for f in fields(self):
            value, kinds = getattr(self, f.name), str(f.type).replace(" ", "").split("|")
            if value is None and "None" in kinds:
                continue
            ok = any(_TYPES[k](value) for k in kinds if k in _TYPES)
            if not ok:
                want = " or ".join(_WORDS[k] for k in kinds if k in _WORDS)
                raise ConfigError(f"Setting '{f.name}' must be {want}. Received: {f.name}={value!r}")

    @classmethod
    def default(cls, name: str) -> Any:
        """The default of setting ``name`` (what the window starts with; the command line's defaults too)."""
        return next(f.default for f in fields(cls) if f.name == name)

    @property
    def split_spec(self) -> SplitSpec:
        """The split settings of this run."""
        return SplitSpec(self.val_fraction, self.test_fraction, self.seed, self.group_by, self.group_pattern,
                         self.keep_duplicates_together, self.split_file)

    @property
    def weights_source(self) -> Weights | str:
        """:class:`Weights` for ImageNet or none, else the weights file's path."""
        return Weights.parse(self.weights)

    @property
    def depth(self) -> FineTune:
        return FineTune.parse(self.fine_tune)

    @property
    def total_fine_tune_epochs(self) -> int:
        if self.depth.kind == "frozen":
            return 0
        return self.epochs if self.fine_tune_epochs is None else self.fine_tune_epochs

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Build from a dict (e.g. a saved ``run_config.json``); unknown keys are an error, not ignored."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"Unknown setting(s) {', '.join(unknown)}. Known settings: {', '.join(sorted(names))}")
        return cls(**data)


_TYPES = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
}
_WORDS = {"int": "a whole number", "float": "a number", "bool": "true or false", "str": "text",
          "None": "empty (null)"}


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)

