"""Everything a training run reports, as frozen dataclasses with plain Python payloads.

Events are delivered in this order: ``TrainingStarted``; then per phase ``PhaseChanged``, any
``WeightsDownloading`` and ``FeaturesExtracting``, and ``BatchesEnded``/``EpochEnded`` while it learns; last
``TrainingFinished``. No tensors or Keras objects cross this boundary, so a GUI thread can keep them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


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
    phases: tuple[str, ...]
    weights: str
    #: Which device trains, in words (e.g. "CPU", "NVIDIA H200 (GPU 0) · mixed precision (float16) · XLA").
    device: str = "CPU"


@dataclass(frozen=True)
class PhaseChanged:
    """A phase started. ``phase`` is one of ``preparing``, ``extracting``, ``head``, ``fine-tune``,
    ``evaluating``, ``saving``; ``description`` says it in words for the status line."""

    phase: str
    description: str
    first_epoch: int = 0


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
    phase: str
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float
    seconds: float


@dataclass(frozen=True)
class TrainingFinished:
    """The run ended: ``outcome`` is ``completed``, ``cancelled`` or ``early-stopped``.

    ``best_epoch`` is the epoch whose weights were kept (None if no epoch ended); ``model_path`` is where the
    model was saved (None if nothing was trained); ``test_accuracy``/``test_loss`` are on the held-out test
    split (None if it is empty or the run was cancelled before any epoch).
    """

    outcome: str
    best_epoch: int | None
    run_dir: str
    model_path: str | None
    test_accuracy: float | None
    test_loss: float | None
    seconds: float
    history: dict = field(default_factory=dict)


Event = (TrainingStarted | PhaseChanged | WeightsDownloading | FeaturesExtracting | BatchesEnded | EpochEnded
         | TrainingFinished)


def event_to_dict(event: Event) -> dict:
    """A JSON-ready dict with the event's type name under ``"event"``."""
    return {"event": type(event).__name__, **asdict(event)}
