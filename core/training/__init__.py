"""Training: ``train(config, *, on_event, cancel)`` and the events it reports. TensorFlow loads on first use."""

from core.training.cancel import CancelToken
from core.training.config import TrainConfig

__all__ = ["CancelToken", "TrainConfig", "TrainResult", "train"]


def __getattr__(name: str):
    if name in ("train", "TrainResult"):
        from core.training import runner

        return getattr(runner, name)
    raise AttributeError(name)
