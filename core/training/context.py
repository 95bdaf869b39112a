"""What every phase of one run shares: the settings, where its events go, its cancel token and clock, the
tracker of its epochs, how long each phase took, and the images it could not use. Everything else a phase needs
it is handed, and what it makes it returns (core.training.runner drives the phases)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from foveal.core.cancel import CancelToken
from foveal.core.training.config import TrainConfig
from foveal.core.training.events import Event
from foveal.core.training.tracker import RunTracker

#: ``(inputs, labels)`` of one split: pooled features, decoded images or cached activations.
Arrays = tuple[np.ndarray, np.ndarray]


@dataclass
class RunContext:
    """One run's shared context. ``failed`` (``(file, reason)``) and ``blank`` (files) grow as images are read:
    run.json lists each, and a class that loses most of a split stops the run (core.training.lost)."""

    config: TrainConfig
    emit: Callable[[Event], None]
    cancel: CancelToken
    clock: Callable[[], float]
    tracker: RunTracker = field(default_factory=RunTracker)
    timings: dict[str, float] = field(default_factory=dict)
    failed: list[tuple[str, str]] = field(default_factory=list)
    blank: list[str] = field(default_factory=list)

    def stopped(self) -> bool:
        """The user asked to stop (or a phase already stopped on it): no further phase starts."""
        return self.tracker.cancelled or self.cancel.cancelled

    def note_failed(self, failed: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> None:
        """Add files that could not be read, each once (the first reason kept)."""
        known = {rel for rel, _ in self.failed}
        self.failed += [(rel, reason) for rel, reason in failed if rel not in known]
