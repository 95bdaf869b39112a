"""What a run folder's ``run.json`` says, as one frozen :class:`RunRecord`: checked once, in
:meth:`RunRecord.from_dict`, for everything its readers rely on.

The training runner writes the JSON (``core.training.runfolder.run_record``); evaluation, reports, exports,
projects and the window read this record's attributes. Keys that older runs lack are optional (None or empty);
keys the record does not name are kept, so :meth:`RunRecord.to_dict` gives back what was written.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from foveal.core.errors import RunFolderError
from foveal.core.paths import follow_relative
from foveal.core.records import Record, ShapeError, depth, shown
from foveal.core.run_split import RunSplit, split_problem

RUN_FORMAT = "foveal-run"
#: The deepest nesting a run.json may have (a real one has 5 levels).
MAX_DEPTH = 32
#: The largest image size a run may name: a bigger one would make every image decode into gigabytes.
MAX_IMAGE_SIZE = 8192


@dataclass(frozen=True)
class Dataset(Record):
    """The folder the run was trained on and how it is laid out (class folders, or pre-split)."""

    root: str
    layout: str
    #: ``root`` as seen from the run folder, ``/`` between parts: where ``root`` is not a folder here (the run and
    #: its dataset were moved together, or opened on another system), the folder it names is the dataset.
    relative: str | None = None


@dataclass(frozen=True)
class Backbone(Record):
    name: str
    family: str
    top1: float  # ImageNet top-1 accuracy, percent


@dataclass(frozen=True)
class RunSettings(Record):
    """The run's settings (``config``); the report lists every one of them (:meth:`to_dict`)."""

    weights: str | None  # "imagenet", "none" or a weights file
    dropout: float
    val_fraction: float
    test_fraction: float
    fine_tune: str | None = None
    group_by: str | None = None
    group_pattern: str | None = None


@dataclass(frozen=True)
class SplitInfo(Record):
    """How the split was made: seed or split file, groups kept together, copies of an image found."""

    seed: int | None = None
    split_file: str | None = None
    group_by: str | None = None
    group_pattern: str | None = None
    n_groups: int | None = None
    leaking_groups: tuple[str, ...] = ()
    n_duplicate_sets: int | None = None
    n_identical_file_sets: int | None = None  # found by the scan (the same bytes); runs before: not said
    n_picture_copy_sets: int | None = None  # the same picture resized or re-saved; runs before: not said
    keep_duplicates_together: bool | None = None
    balance_over_copies: bool | None = None  # copy sets split apart when keeping them whole unbalanced classes
    stratified: bool | None = None  # every class within a few points of its share in every split
    copy_sets_split_apart: int | None = None
    grouping_warning: str | None = None  # said before training: what the grouping or the copies did to the split
    #: Each set of copies that spans splits: file → the split it is in.
    duplicates_across_splits: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class Skipped(Record):
    """A file left out, and why."""

    file: str
    reason: str


@dataclass(frozen=True)
class Epoch(Record):
    """One epoch of training, as the curves show it."""

    epoch: int
    phase: str | None = None  # "head" or "fine-tune"
    loss: float | None = None
    accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None


@dataclass(frozen=True)
class TestResult(Record):
    """What training measured on the test split, and the warnings said beside it."""

    accuracy: float | None = None
    loss: float | None = None
    n: int | None = None
    headline: str | None = None
    baseline: float | None = None  # accuracy of always answering the largest training class
    baseline_class: str | None = None
    copies_warning: str | None = None
    lost_warning: str | None = None
    lost: tuple[Mapping[str, Any], ...] = ()
    #: What the split cannot measure for a class (one sentence each).
    class_gaps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Winner(Record):
    """The head the automatic recipe chose."""

    head: str | None = None  # "linear" or "dense"
    strength: float | None = None  # the linear head's C


@dataclass(frozen=True)
class Candidate(Record):
    """One head the automatic recipe scored by cross-validation."""

    description: str
    accuracy: float
    interval: tuple[float, float]
    balanced_accuracy: float


@dataclass(frozen=True)
class Recipe(Record):
    """The automatic recipe's choice (``mode`` alone for a manual run)."""

    mode: str | None = None
    winner: Winner | None = None
    reason: str | None = None
    summary: str | None = None  # why, in plain words (runs before it: not said)
    candidates: tuple[Candidate, ...] | None = None


@dataclass(frozen=True)
class Calibration(Record):
    """The temperature folded into the model, and the calibration error before and after."""

    temperature: float | None = None
    val_ece_before: float | None = None
    val_ece_after: float | None = None
    test_ece_before: float | None = None
    test_ece_after: float | None = None
    fitted_on: str | None = None
    words: str | None = None


@dataclass(frozen=True)
class OperatingPoint(Record):
    """The positive class of two, and the threshold chosen for it on images the head never saw."""

    positive_class: str | None = None
    threshold: float | None = None
    chosen_on: str | None = None
    n_val: int | None = None
    positive_reason: str | None = None  # why this class is the positive one (older runs: not said)


@dataclass(frozen=True)
class Familiarity(Record):
    """How an image's distance to the training images is judged (the statistics are in ``file``)."""

    method: str | None = None
    k: int | None = None
    threshold: float | None = None
    n_reference: int | None = None
    pass_rate: float | None = None
    file: str | None = None
    test_unfamiliar: float | None = None


@dataclass(frozen=True)
class Mislabels(Record):
    """How many images look mislabelled, and the file that lists them."""

    n: int | None = None
    file: str | None = None
    method: str | None = None


@dataclass(frozen=True)
class BestEpoch(Record):
    """The epoch of a phase with the lowest validation loss."""

    epoch: int | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None


@dataclass(frozen=True)
class PhaseComparison(Record):
    """Whether fine-tuning beat the head on validation loss, and which epoch's model was kept. The runner makes
    it (:meth:`core.training.tracker.RunTracker.phase_comparison`) and run.json is read back into it."""

    improved: bool | None = None
    kept_epoch: int | None = None
    words: str | None = None
    stopped_after_trial: bool | None = None  # fine-tuning "auto" stopped after its trial epochs: no gain
    head_best: BestEpoch | None = None
    fine_tune_best: BestEpoch | None = None


@dataclass(frozen=True)
class Timings(Record):
    """Seconds in all (``total``) and per step (:attr:`steps`)."""

    total: float | None = None

    @property
    def steps(self) -> Mapping[str, Any]:
        return self.extra


@dataclass(frozen=True)
class Devices(Record):
    """Where the run trained: strategy, devices, batch size across them."""

    description: str | None = None
    strategy: str | None = None
    devices: tuple[str, ...] = ()
    replicas: int | None = None
    global_batch_size: int | None = None
    learning_rate: float | None = None


@dataclass(frozen=True)
class RunRecord(Record):
    """A finished run as its ``run.json`` says: settings, classes, split, what was measured and how.

    Built only by :meth:`from_dict`, which refuses a record any reader could not rely on.
    """

    format: str
    outcome: str  # completed, early-stopped or cancelled
    config: RunSettings
    seed: int
    backbone: Backbone
    image_size: int
    fine_tune: str  # the depth as asked ("frozen", "auto", "top-2"…)
    classes: tuple[str, ...]
    dataset: Dataset
    split: RunSplit
    version: int | None = None
    created: str | None = None  # local time, ISO 8601
    ending: str | None = None  # why the run ended when it did, in words (runs before it: not said)
    n_blocks: int | None = None  # how many blocks the backbone has
    split_info: SplitInfo | None = None
    skipped_during_training: tuple[Skipped, ...] = ()
    skipped_by_scan: tuple[Skipped, ...] = ()
    blank_images: tuple[str, ...] = ()
    versions: Mapping[str, Any] = field(default_factory=dict)  # library → version
    history: tuple[Epoch, ...] = ()
    best_epoch: int | None = None  # None: no epochs (a linear head fitted directly)
    test: TestResult = field(default_factory=TestResult)
    recipe: Recipe = field(default_factory=Recipe)
    pooling: str | None = None
    #: Over how many orientations the head's features are averaged: 8 (every quarter-turn and mirror image,
    #: core.models.orientation) or 1; runs before it: not said (1).
    orientations: int | None = None
    #: The grid of overlapping tiles the head's features come from: 2 (3×3 tiles of ``image_size`` px on a canvas
    #: twice as large, core.models.tiles) or 0 (the whole image at once); runs before it: not said (0).
    tiles: int = 0
    calibration: Calibration | None = None
    operating_point: OperatingPoint | None = None
    familiarity: Familiarity | None = None
    suspected_mislabels: Mislabels | None = None
    phases: PhaseComparison | None = None  # None: one phase only
    model: str | None = None  # the model file's name in the run folder
    timings: Timings = field(default_factory=Timings)
    devices: Devices | None = None

    @classmethod
    def from_dict(cls, data: object, source: str | os.PathLike[str] = "run.json") -> RunRecord:
        """The record a parsed ``run.json`` (``source``, named in messages) holds.

        Raises
        ------
        RunFolderError
            When it is not Foveal's, nested too deeply, lacks a key a reader needs, holds a value of the wrong kind,
            names a split image outside its dataset folder or a class it does not have, or a setting out of range.
        """
        record = None
        try:
            problem = _outline_problem(data)
            if problem is None:
                data = _found_again(data, source)
                record = cls.parse(data)
                problem = split_problem(record.split, record.dataset.root, record.classes) or record.settings_problem()
        except ShapeError as exc:
            problem = str(exc)
        if problem or record is None:
            raise RunFolderError(f"{source} is not a complete Foveal run record: {problem}. Copy the run folder again "
                                 "from where it came from, or train again.")
        return record

    def settings_problem(self) -> str | None:
        """The values whose range, or whose presence beside another, readers rely on."""
        if not 1 <= self.image_size <= MAX_IMAGE_SIZE:
            return f"the image size ('image_size') is {self.image_size}, not between 1 and {MAX_IMAGE_SIZE}"
        if self.orientations not in (None, 1, 8):
            return f"'orientations' is {self.orientations}, not 1 or 8"
        if self.tiles not in (0, 2):
            return f"'tiles' is {self.tiles}, not 0 or 2"
        if self.tiles and self.orientations == 8:
            return "'tiles' and 'orientations' are both set; a model reads tiles or averages orientations, not both"
        model = self.model
        if model is not None and (not model or model in (".", "..") or any(c in model for c in "/\\\0")):
            return "the model file name ('model') is not a plain file name"
        positive = self.operating_point.positive_class if self.operating_point else None
        if positive is not None and positive not in self.classes:
            return f"'operating_point.positive_class' ({shown(positive)}) is not one of the classes"
        temperature = self.calibration.temperature if self.calibration else None
        if temperature is not None and not 0 < temperature < math.inf:
            return f"'calibration.temperature' is {temperature}, not a positive number"
        if self.recipe.candidates is not None and self.recipe.reason is None:  # the report says why the winner won
            return "'recipe.reason' is missing or null; it should be text"
        winner = self.recipe.winner
        if winner is not None and winner.head == "linear" and winner.strength is None:  # the report gives it
            return "'recipe.winner.strength' is missing or null; it should be a number"
        return None


def _found_again(data: object, source: str | os.PathLike[str]) -> object:
    """``data`` with its dataset folder found through ``dataset.relative`` where ``dataset.root`` is not a folder
    on this computer (a run made on Windows opened on Linux, or moved together with its dataset)."""
    if not isinstance(data, dict) or not isinstance(data.get("dataset"), dict):
        return data
    dataset = data["dataset"]
    if os.path.isdir(dataset["root"]):
        return data
    found = follow_relative(os.path.dirname(os.path.abspath(source)), dataset.get("relative"))
    return {**data, "dataset": {**dataset, "root": found}} if found else data


def _outline_problem(data: object) -> str | None:
    """What makes ``data`` no run.json at all: not Foveal's, absurdly deep, or without classes or a dataset."""
    if not isinstance(data, dict) or data.get("format") != RUN_FORMAT:
        return "it is not a Foveal run.json"
    if depth(data, MAX_DEPTH) > MAX_DEPTH:
        return f"it is nested more than {MAX_DEPTH} levels deep, far more than a run.json ever is"
    classes = data.get("classes")
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) and c for c in classes):
        return "its class list ('classes') is missing or not a list of at least two names"
    if len(set(classes)) != len(classes):
        return "its class list ('classes') names a class twice"
    dataset = data.get("dataset")
    if not isinstance(dataset, dict) or not isinstance(dataset.get("root"), str) or not dataset["root"]:
        return "the dataset folder ('dataset.root') is missing"
    if "\0" in dataset["root"]:
        return "the dataset folder ('dataset.root') holds a NUL character"
    return None
