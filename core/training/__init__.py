"""Training: ``train(config, *, on_event, cancel)`` and the events it reports. TensorFlow loads on first use."""

from foveal.core.cancel import CancelToken
from foveal.core.training.config import TrainConfig

__all__ = ["CancelToken", "TrainConfig", "TrainResult", "preload_backend", "train"]


def preload_backend() -> None:
    """Import TensorFlow and Keras now (3–5 s), e.g. on a background thread while the user picks a folder."""
    import keras  # noqa: F401
    import tensorflow  # noqa: F401


def __getattr__(name: str):
    if name in ("train", "TrainResult"):
        from foveal.core.training import runner

        return getattr(runner, name)
    raise AttributeError(name)
