"""Everything a training run reports, as frozen dataclasses with plain Python payloads.

Events are delivered in this order: ``TrainingStarted``; then per phase ``PhaseChanged``, any
``WeightsDownloading`` and ``FeaturesExtracting``, and ``BatchesEnded``/``EpochEnded`` while it learns; last
``TrainingFinished``, which is also what ``train`` returns. ``DataWarning`` may come in any phase (before
``TrainingStarted`` too: the scan and the split are checked first); ``RunEstimated`` comes once the data is split
and the devices found, before ``TrainingStarted`` and before any image is read; the automatic recipe sends
``CandidateTried`` and ``RecipeChosen`` between the features and the first epoch. Cross-validation
(core.crossval) wraps each fold's run in ``FoldStarted`` … ``FoldFinished``. No tensors or Keras objects cross
this boundary, so a GUI thread can keep them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    """How a run (or a cross-validation) ended."""

    COMPLETED = "completed"
    """Every epoch ran."""
    EARLY_STOPPED = "early-stopped"
    """Validation loss stopped improving; the best epoch's weights are kept."""
    CANCELLED = "cancelled"
    """The user stopped it; the best weights so far are kept."""


class Phase(StrEnum):
    """The phases of a run, in order (``HEAD`` and ``FINE_TUNE`` are the learning phases)."""

    PREPARING = "preparing"
    EXTRACTING = "extracting"
    HEAD = "head"
    FINE_TUNE = "fine-tune"
    EVALUATING = "evaluating"
    SAVING = "saving"

    @property
    def learning(self) -> bool:
        return self in (Phase.HEAD, Phase.FINE_TUNE)


class HeadKind(StrEnum):
    """How the new head learns."""

    LINEAR = "linear"
    """A logistic regression fitted directly on the features: no epochs of its own."""
    DENSE = "dense"
    """Dropout and a dense softmax layer, trained for epochs."""


@dataclass(frozen=True)
class RunEstimated:
    """Before any image is read: how long the run should take. ``seconds`` is the whole run under its ``search``;
    ``words`` says it as a person would, the parts that take time in brackets, a shorter search and the extra
    passes left out to stay within the time budget (core.training.estimate). ``parts`` holds each part's words
    and seconds (the run's own pass, each extra pass, choosing the head, fine-tuning); ``searches`` the whole
    run's seconds under each search ("quick", "auto", "full")."""

    seconds: float
    words: str
    search: str = "auto"
    parts: tuple[tuple[str, float], ...] = ()
    searches: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class TrainingStarted:
    """A run began.

    ``epochs`` is the total over all phases; ``steps_per_epoch`` the batches of one epoch of the first
    learning phase; ``phases`` the names of the phases in order (e.g. ``("head", "fine-tune")``).
    """

    run_dir: str
    backbone: str
    fine_tune: str
    classes: tuple[str, ...]
    n_train: int
    n_val: int
    n_test: int
    epochs: int
    steps_per_epoch: int
    phases: tuple[Phase, ...]
    weights: str
    #: Which device trains, in words (e.g. "CPU", "NVIDIA H200 (GPU 0) · mixed precision (float16) · XLA").
    device: str = "CPU"
    #: Epochs of the head phase (the rest of ``epochs`` fine-tune); 0 when not known.
    head_epochs: int = 0


@dataclass(frozen=True)
class PhaseChanged:
    """A phase started; ``description`` says it in words for the status line."""

    phase: Phase
    description: str
    first_epoch: int = 0

    def __post_init__(self) -> None:  # a plain string (from JSON, a script) becomes the enum
        object.__setattr__(self, "phase", Phase(self.phase))


@dataclass(frozen=True)
class DataWarning:
    """Something about the data the user should know, found during ``phase``: files the scan skipped, a grouping
    that kept nothing together, a class missing from a part of the split, blank images. ``message`` says it in
    words (no "Warning:" in front: how to mark it is the display's choice); run.json keeps what it is about."""

    phase: Phase
    message: str

    def __post_init__(self) -> None:  # a plain string (from JSON, a script) becomes the enum
        object.__setattr__(self, "phase", Phase(self.phase))


@dataclass(frozen=True)
class WeightsDownloading:
    """ImageNet weights are downloading: bytes done and total (0 when the server does not say)."""

    done: int
    total: int


@dataclass(frozen=True)
class FeaturesExtracting:
    """Images decoded and passed once through the frozen backbone so far, out of ``total``."""

    done: int
    total: int
    split: str


@dataclass(frozen=True)
class BatchesEnded:
    """One or more training batches ended (coalesced to at most one event every 100 ms; no batch is lost).

    ``batch_losses`` holds the loss of each batch on its own; ``running_loss`` and ``running_accuracy`` hold
    Keras's running mean over the epoch so far after each of those batches. ``steps`` are global step numbers
    (counting from 1 over the whole run), ``epoch`` is 1-based over the whole run.
    """

    epoch: int
    steps: tuple[int, ...]
    batch_losses: tuple[float, ...]
    running_loss: tuple[float, ...]
    running_accuracy: tuple[float, ...]
    steps_per_epoch: int


@dataclass(frozen=True)
class EpochEnded:
    """An epoch ended (1-based over the whole run), with its training and validation metrics."""

    epoch: int
    phase: Phase
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float
    seconds: float

    def __post_init__(self) -> None:  # a plain string (from JSON, a script) becomes the enum
        object.__setattr__(self, "phase", Phase(self.phase))


@dataclass(frozen=True)
class CandidateTried:
    """The automatic recipe scored candidate ``done`` of ``total`` (``name`` says which, in words): its mean
    accuracy over the folds, the 95% interval of that mean and its balanced accuracy (None: not scored), with the
    balanced accuracy's interval. ``ranked_by`` is what the candidates are ranked by: "accuracy", or
    "balanced_accuracy" where the classes are imbalanced (core.training.recipe.ranking_for)."""

    done: int
    total: int
    name: str
    accuracy: float | None = None
    low: float | None = None
    high: float | None = None
    balanced_accuracy: float | None = None
    balanced_low: float | None = None
    balanced_high: float | None = None
    ranked_by: str = "accuracy"
    #: Dropped before its last fold, its interval wholly below the leader's (its scores: the folds it had).
    dropped: bool = False


@dataclass(frozen=True)
class RecipeChosen:
    """The automatic recipe chose ``winner``; ``reason`` says why in words. ``candidates`` holds, best first,
    each candidate's (description, mean accuracy, 95% interval low, high, balanced accuracy) over the folds.

    The choice changes what the run plans, so the event says it: ``head`` is how the head learns; ``epochs`` the
    epochs of the whole run from now on (0 when a fitted linear head is the whole run; 1 + the fine-tuning epochs
    when a fitted linear head, counted as epoch 1, comes before fine-tuning; else :class:`TrainingStarted`'s);
    ``steps_per_epoch`` the batches of each epoch still to run. ``step_offset`` is how many batches lie before step
    1 of :class:`BatchesEnded` on the run's batch axis (a fitted head's epoch has none of its own): a batch's place
    is ``step + step_offset``, so fine-tuning after a fitted head is drawn from epoch 2 on.
    """

    winner: str
    reason: str
    candidates: tuple[tuple[str, float, float, float, float], ...]
    head: HeadKind
    epochs: int
    steps_per_epoch: int
    step_offset: int = 0
    #: Why the winner was chosen in plain words (``reason`` has the technical terms).
    summary: str = ""

    def __post_init__(self) -> None:  # a plain string (from JSON, a script) becomes the enum
        object.__setattr__(self, "head", HeadKind(self.head))

    @property
    def planned_steps(self) -> int:
        """The batches the run still plans to run, over every epoch left."""
        return self.epochs * self.steps_per_epoch - self.step_offset


@dataclass(frozen=True)
class TrainingFinished:
    """The run ended; also what ``train`` returns.

    ``seconds`` is the time the person waited: from when they asked for the run (``train``'s ``started``) to this
    event. ``best_epoch`` is the epoch whose weights were kept (None if no epoch ended); ``model_path`` is where the
    model was saved (None if nothing was trained); ``test_accuracy``/``test_loss`` are on the held-out test
    split (None if it is empty or the run was cancelled before any epoch); ``history`` holds one row per epoch
    (as run.json has it). ``run_dir`` is empty on the non-chief workers of a multi-worker run (they write nothing).
    """

    outcome: Outcome
    run_dir: str
    model_path: str | None
    test_accuracy: float | None
    test_loss: float | None
    best_epoch: int | None
    classes: tuple[str, ...]
    history: tuple[dict, ...] = ()
    seconds: float = 0.0
    #: What the run found worth saying in words (e.g. whether fine-tuning beat the head).
    notes: tuple[str, ...] = ()
    #: The test accuracy in words: on how many test images it was measured (those read, never the split's list),
    #: its interval, the majority-class baseline (core.stats), then warnings: copies across splits, images lost
    #: during the run (core.training.lost).
    headline: str = ""
    #: Why the run ended when it did, in one sentence (all epochs ran, early stopping and since when, a fitted
    #: linear head needing none, the person stopping it and what was kept).
    reason: str = ""

    def __post_init__(self) -> None:  # a plain string (from JSON, a script) becomes the enum
        object.__setattr__(self, "outcome", Outcome(self.outcome))


@dataclass(frozen=True)
class FoldStarted:
    """Fold ``fold`` of ``k`` of a cross-validation started (1-based); its run goes into ``run_dir``."""

    fold: int
    k: int
    run_dir: str


@dataclass(frozen=True)
class FoldFinished:
    """Fold ``fold`` of ``k`` ended: its run's outcome and its metrics on its own test split (None: not measured)."""

    fold: int
    k: int
    run_dir: str
    outcome: Outcome
    metrics: dict[str, float | None] = field(default_factory=dict)

    def __post_init__(self) -> None:  # a plain string (from JSON, a script) becomes the enum
        object.__setattr__(self, "outcome", Outcome(self.outcome))


Event = (RunEstimated | TrainingStarted | PhaseChanged | DataWarning | WeightsDownloading | FeaturesExtracting
         | BatchesEnded | EpochEnded | CandidateTried | RecipeChosen | TrainingFinished | FoldStarted | FoldFinished)


def event_to_dict(event: Event) -> dict:
    """A JSON-ready dict with the event's type name under ``"event"``."""
    return {"event": type(event).__name__, **asdict(event)}
