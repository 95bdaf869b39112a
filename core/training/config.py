"""The settings of one training run, validated before anything heavy starts."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields
from typing import Any

from foveal.core.errors import ConfigError, WeightsError, listing
from foveal.core.models.build import FineTune
from foveal.core.models.registry import BLOCK_COUNTS, DEFAULT_BACKBONE, BackboneSpec, Weights, get_backbone
from foveal.core.paths import is_inside
from foveal.core.split.plan import SEED_MAX, SplitSpec
from foveal.core.training.memory import check_fits

__all__ = ["LIMITS", "MAX_IMAGE_SIZE", "Limit", "TrainConfig", "check_limit"]


@dataclass(frozen=True)
class Limit:
    """The values a numeric setting takes: from ``low`` to ``high``, inclusive unless ``open_low``/``open_high``
    (a learning rate is more than 0, never 0). NaN and infinity are never inside."""

    low: float
    high: float
    open_low: bool = False
    open_high: bool = False

    def holds(self, value: float) -> bool:
        """Whether ``value`` lies inside."""
        if isinstance(value, float) and not math.isfinite(value):
            return False
        above = value > self.low if self.open_low else value >= self.low
        below = value < self.high if self.open_high else value <= self.high
        return above and below

    def words(self) -> str:
        """``"between 1 and 10000"``, ``"more than 0 and less than 10"``: the range in a message."""
        if not (self.open_low or self.open_high):
            return f"between {_number(self.low)} and {_number(self.high)}"
        low = f"more than {_number(self.low)}" if self.open_low else f"at least {_number(self.low)}"
        high = f"less than {_number(self.high)}" if self.open_high else f"at most {_number(self.high)}"
        return f"{low} and {high}"


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def check_limit(name: str, value: float, limit: Limit) -> None:
    """Raise :class:`ConfigError` ("epochs must be between 1 and 10000. Received: epochs=0") when ``value`` is
    outside ``limit``; ``name`` is the setting's (or the command-line option's) name."""
    if not limit.holds(value):
        raise ConfigError(f"{name} must be {limit.words()}. Received: {name}={value!r}")


#: The largest square input: the backbones were trained at 224 to 600 px, and beyond 2048 px a single image's
#: activations alone take gigabytes. Larger images are better cropped or tiled than shrunk this little.
MAX_IMAGE_SIZE = 2048

#: The range of each numeric setting (the image size's lower end is the backbone's own minimum).
LIMITS: dict[str, Limit] = {
    "epochs": Limit(1, 10_000),
    "fine_tune_epochs": Limit(0, 10_000),
    # NumPy's legacy seeding (keras.utils.set_random_seed, scikit-learn's random_state) takes 0 to 2**32 - 1.
    "seed": Limit(0, SEED_MAX),
    # Larger batches than this are refused by memory long before; the memory estimate says so in numbers.
    "batch_size": Limit(1, 4096),
    "learning_rate": Limit(0, 10, open_low=True, open_high=True),
    "fine_tune_lr_factor": Limit(0, 1, open_low=True),
    # Each copy is one more pass of the backbone over every training image.
    "augment_copies": Limit(1, 100),
    "image_size": Limit(1, MAX_IMAGE_SIZE),
    "val_fraction": Limit(0, 1, open_high=True),
    "test_fraction": Limit(0, 1, open_high=True),
    "early_stopping_patience": Limit(0, 10_000),
    "dropout": Limit(0, 1, open_high=True),
}


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
    #: When keeping copies together leaves a class off its share in a split, split the sets of copies that cause it
    #: apart so every split keeps the class balance (the copies then in two splits are reported). Off by default.
    balance_over_copies: bool = False
    #: A JSON file fixing the split (``{"train": [files], "val": [...], "test": [...]}``, e.g. a project's).
    split_file: str | None = None
    #: "auto": on frozen features, choose the head, pooling and class weighting by cross-validation on the
    #: training and validation images; "manual": the dense head on average-pooled features, as set here.
    recipe: str = "auto"
    #: Which extra passes the automatic recipe makes (core.training.passes): "auto" (those the images support,
    #: within a budget), "full" (all of them, whatever they cost) or "quick" (none: the run's own size only).
    search: str = "auto"
    #: How to spread training: "auto" (all GPUs when several), "none", "mirrored", "multi-worker" (TF_CONFIG).
    distribute: str = "auto"
    #: Which devices train: "auto", "cpu", "gpu" (all) or "gpu:0,1".
    devices: str = "auto"
    #: "auto" (on for GPUs of compute capability ≥ 7.0), "on" or "off".
    mixed_precision: str = "auto"
    #: XLA compilation of the training step: "auto" (on for GPUs), "on" or "off".
    xla: str = "auto"

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid setting and the values it accepts.

        Nothing is made before this passes: the run folder, the caches and the devices all come after."""
        self.check_types()
        self.check_limits()
        spec = get_backbone(self.backbone)
        self.backbone = spec.name
        self.check_depth(spec)
        _check(self.class_weights in ("auto", "balanced", "none"),
               f"class_weights must be 'auto', 'balanced' or 'none'. Received: {self.class_weights!r}")
        _check(self.recipe in ("auto", "manual"), f"recipe must be 'auto' or 'manual'. Received: {self.recipe!r}")
        _check(self.search in ("auto", "full", "quick"),
               f"search must be 'auto', 'full' or 'quick'. Received: {self.search!r}")
        from foveal.core.training.devices import check_settings

        check_settings(self.distribute, self.mixed_precision, self.xla)
        self.split_spec.validate()
        if self.weights_source == Weights.NONE and (self.depth.kind != "all" or self.total_fine_tune_epochs == 0):
            raise ConfigError(RANDOM_FEATURES_REFUSAL)
        source = self.weights_source
        if source not in (Weights.NONE, Weights.IMAGENET) and not os.path.isfile(str(source)):
            what = "is not a regular file" if os.path.exists(str(source)) else "does not exist"
            raise WeightsError(f"Weights file {source} {what}. Choose an existing .h5 or .weights.h5 file "
                               f"for {spec.name} without its top, or use --weights imagenet or --weights none.")
        if self.image_size is not None and self.image_size < spec.min_size:
            raise ConfigError(f"{spec.name} needs images of at least {spec.min_size}×{spec.min_size} pixels. "
                              f"Received: image_size={self.image_size}. Choose a larger size or another backbone.")
        if self.out_dir and is_inside(self.out_dir, self.data_dir):
            raise ConfigError(f"The run folder {self.out_dir} is inside the dataset folder {self.data_dir}; Foveal "
                              "never writes there. Choose a run folder outside the dataset.")
        check_fits(spec, self.image_size or spec.input_size, self.batch_size,
                   learns_all=self.depth.kind == "all" and self.total_fine_tune_epochs > 0)

    def check_depth(self, spec: BackboneSpec) -> None:
        """``last:N`` asks for no more blocks than the backbone has (:data:`BLOCK_COUNTS`, known without building
        it); the runner checks again against the built model."""
        depth = FineTune.parse(self.fine_tune)
        blocks = BLOCK_COUNTS.get(spec.name)
        if depth.kind == "last" and blocks is not None and depth.n > blocks:
            raise ConfigError(f"--fine-tune last:N: {spec.name} has {blocks} blocks, so N must be between 1 and "
                              f"{blocks}. Received: {self.fine_tune}")

    def check_limits(self) -> None:
        """Each numeric setting lies in its range (:data:`LIMITS`); run after :meth:`check_types`."""
        for name, limit in LIMITS.items():
            value = getattr(self, name)
            if value is not None:
                check_limit(name, value, limit)

    def check_types(self) -> None:
        """Each setting is of its declared type (a config file can hold anything: ``"epochs": "many"``)."""
        for f in fields(self):
            value, kinds = getattr(self, f.name), str(f.type).replace(" ", "").split("|")
            if value is None and "None" in kinds:
                continue
            ok = any(_TYPES[k](value) for k in kinds if k in _TYPES)
            if not ok:
                want = " or ".join(_WORDS[k] for k in kinds if k in _WORDS)
                raise ConfigError(f"Setting '{f.name}' must be {want}. Received: {f.name}={_shown(value)}")
            if isinstance(value, str) and "\x00" in value:  # no path or name holds one; the OS refuses them
                raise ConfigError(f"Setting '{f.name}' holds a NUL character, which no file name or setting can "
                                  f"contain. Received: {f.name}={_shown(value)}")

    @classmethod
    def default(cls, name: str) -> Any:
        """The default of setting ``name`` (what the window starts with; the command line's defaults too)."""
        return next(f.default for f in fields(cls) if f.name == name)

    @property
    def split_spec(self) -> SplitSpec:
        """The split settings of this run."""
        return SplitSpec(self.val_fraction, self.test_fraction, self.seed, self.group_by, self.group_pattern,
                         self.keep_duplicates_together, self.split_file, self.balance_over_copies)

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
            shown = listing(k if k.isidentifier() and len(k) <= 40 else _shown(k) for k in unknown)
            raise ConfigError(f"Unknown setting(s) {shown}. Known settings: {', '.join(sorted(names))}")
        return cls(**data)


_TYPES = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
}
_WORDS = {"int": "a whole number", "float": "a number", "bool": "true or false", "str": "text",
          "None": "empty (null)"}


def _shown(value: Any) -> str:
    """A value for a message: its repr, cut short (a config file can hold a megabyte in one setting)."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}…"


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)

