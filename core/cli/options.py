"""The values each command-line option takes, checked before a command does anything.

A command's function is wrapped by :func:`checked` where it is registered: every numeric option is compared
with its range and no text option may hold a NUL character, so a bad value ends the command with exit code 2
and a message naming the option and its range (``--top-k must be between 1 and 1000. Received: --top-k=0``)
before any folder is made or any model is loaded. Type errors (``--epochs many``) are argparse's own: exit code
2 with the usage line.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from foveal.core.errors import ConfigError
from foveal.core.training.config import LIMITS, MAX_IMAGE_SIZE, Limit, check_limit

Command = Callable[[argparse.Namespace], int]

#: ``foveal train --folds``: what core.crossval.cross_validate accepts (fewer than 3 folds leaves no validation
#: images beside each fold's test split worth the name; more than 10 is 10 full runs for little).
FOLDS = Limit(3, 10)
#: ``--image-size`` on the line: every backbone's own minimum is checked with the backbone (TrainConfig.validate).
IMAGE_SIZE = Limit(LIMITS["image_size"].low, MAX_IMAGE_SIZE)
#: ``predict --top-k``: more than the model's classes lists them all.
TOP_K = Limit(1, 1000)
#: ``predict --low-confidence``: a probability.
PROBABILITY = Limit(0, 1)
#: ``predict``/``evaluate --batch-size``: images decoded and classified at once.
PREDICT_BATCH = Limit(1, 1024)
#: ``split --test``, and ``--val`` (which must be more than 0: the validation images pick the best epoch); the two
#: together leave at least 10% for training (core.split.plan.SplitSpec.validate).
FRACTION = Limit(0, 0.9, open_high=True)
FRACTION_OF_VAL = Limit(0, 0.9, open_low=True, open_high=True)


class Checked:
    """A command with its options checked first (see :func:`checked`); ``limits`` says what each option takes."""

    def __init__(self, command: Command, limits: dict[str, Limit]) -> None:
        self.command, self.limits = command, limits
        self.__doc__ = command.__doc__

    def __call__(self, args: argparse.Namespace) -> int:
        check_options(args, self.limits)
        return self.command(args)


def checked(command: Command, **limits: Limit) -> Checked:
    """``command`` with its options checked first: each ``dest=Limit`` given, and every text option for NUL."""
    return Checked(command, limits)


def check_options(args: argparse.Namespace, limits: dict[str, Limit]) -> None:
    """Raise :class:`ConfigError` for the first option outside its range, or text that holds a NUL character."""
    for dest, limit in limits.items():
        value = getattr(args, dest, None)
        if value is not None:
            check_limit(option_name(dest), value, limit)
    for dest, value in vars(args).items():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and "\x00" in text:
                name = option_name(dest) if dest not in ("folder", "model", "run", "paths") else dest.upper()
                shown = repr(text) if len(text) <= 80 else f"{text[:77]!r}…"
                raise ConfigError(f"{name} holds a NUL character, which no file name or setting can contain. "
                                  f"Received: {name}={shown}")


def option_name(dest: str) -> str:
    """``fine_tune_epochs`` → ``--fine-tune-epochs``."""
    return "--" + dest.replace("_", "-")
