"""The ``foveal`` command line: the parser of every command group, and the entry point.

``foveal`` with no arguments opens the window; ``foveal COMMAND …`` runs headless.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Sequence

from foveal.core.cli import compare, explain, label, model, scan, split, train
from foveal.core.errors import FovealError
from foveal.core.io import standard_output
from foveal.core.native_log import filtered_native_stderr

DESCRIPTION = """\
Foveal teaches a computer to sort images the way you sorted some. Give it a
folder with one sub-folder per class (say benign/ and malignant/): it trains a
classifier on them, measures how often it is right on images it did not learn
from, and sorts new images the same way. With no command, the window opens."""

EPILOG = """\
where to start:
  foveal                     open the window (most people start there)
  foveal demo                train on the sample images that come with Foveal
  foveal scan FOLDER         check a dataset folder: classes, counts, problems
  foveal train FOLDER        train on it; its run folder holds the model
  foveal predict RUN IMAGES  sort new images with a trained run

examples:
  foveal scan ~/data/cells
  foveal train ~/data/cells --out ~/runs/cells-1
  foveal predict ~/runs/cells-1 ~/data/new-images --csv answers.csv

Each command explains itself (foveal train --help); all of them: docs/cli.md"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command (also used to document them)."""
    parser = argparse.ArgumentParser(
        prog="foveal", formatter_class=argparse.RawDescriptionHelpFormatter, description=DESCRIPTION,
        epilog=EPILOG)
    parser.add_argument("--version", action="store_true", help="print Foveal's version and its libraries'")
    parser.add_argument("--licenses", action="store_true",
                        help="list the components Foveal ships with and their licenses")
    parser.add_argument("--self-test", action="store_true",
                        help="check that the window, TensorFlow, training, saving and export work here")
    parser.add_argument("--verbose", action="store_true",
                        help="also show TensorFlow's own start-up messages (hidden by default)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for group in (scan, train, split, compare, model, explain, label):
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``foveal`` console script."""
    started = time.monotonic()  # durations shown count from here: the time the person waits
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter is not for users
    if not argv:
        from importlib import import_module

        return import_module("foveal.gui.app").main()
    parser = build_parser()
    args = parser.parse_args(argv)
    args.started = started
    if args.version or args.licenses:
        args.func = _print_about
    if args.self_test:
        from importlib import import_module

        args.func = lambda _args: import_module("foveal.gui.self_test").main()
    if not getattr(args, "func", None):
        def show_help(_args: argparse.Namespace) -> int:
            parser.print_help()
            return 0

        args.func = show_help
    if args.verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
    else:  # TensorFlow's Python-side deprecation notes ("Please consider providing the trackable_obj…")
        import logging

        logging.getLogger("absl").setLevel(logging.ERROR)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    """Run a command: a user error is a message and exit code 2, whatever it printed meanwhile; standard output
    is written through :func:`core.io.standard_output` (a full device behind it is a message too)."""
    # Only on the real terminal: under a test's captured stderr there is nothing to filter.
    # The self-test shows every native message: a library that aborts must be heard (the filter's pipe would lose
    # its last words).
    quiet = not args.verbose and sys.stderr is sys.__stderr__ and not args.self_test
    try:
        with filtered_native_stderr() if quiet else contextlib.nullcontext(), standard_output():
            return args.func(args)
    except FovealError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _print_about(args: argparse.Namespace) -> int:
    from foveal.core import about

    print("\n\n".join(t for t, wanted in ((about.version_text(), args.version),
                                         (about.licenses_text(), args.licenses)) if wanted))
    return 0
