"""User-facing errors.

A :class:`FovealError` is a problem with the user's input or environment, never a bug: its message says what
was found, where, and what to do about it, and the GUI shows it inline. Anything else is a bug and gets a
traceback.
"""

from __future__ import annotations


def listing(items, most: int = 5) -> str:
    """``"a, b, c and 4 more"``: a few names in a message, however many there are."""
    items = list(items)
    shown = ", ".join(str(x) for x in items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


class FovealError(Exception):
    """Base class of every error caused by the user's data, settings or environment."""


class DatasetError(FovealError):
    """The dataset folder cannot be used as it is (no classes, one class, not a folder...)."""


class ImageDecodeError(FovealError):
    """One image file cannot be read. The message names the file and the reason."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ConfigError(FovealError):
    """A training, evaluation or export setting is invalid."""


class WeightsError(FovealError):
    """Pretrained weights are missing or do not fit the chosen backbone."""


class ModelFileError(FovealError):
    """A saved model cannot be loaded, or was refused for safety."""


class WriteError(FovealError):
    """A file cannot be written: not enough space, no permission, or the place is inside a dataset folder."""


class RunFolderError(FovealError):
    """A run folder is incomplete, damaged, or does not match its model."""
