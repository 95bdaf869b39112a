"""The headless ``foveal`` command line: the same core functions the window calls.

One module per command group, each with a ``register(sub)`` that adds its sub-commands: :mod:`~core.cli.scan`
(``scan``), :mod:`~core.cli.split` (``split``), :mod:`~core.cli.train` (``train``, ``backbones``, ``demo``),
:mod:`~core.cli.model` (``evaluate``, ``report``, ``predict``, ``export``); :mod:`~core.cli.main` builds the parser
and is the console script's entry point.
"""

from foveal.core.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
