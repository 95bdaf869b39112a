"""Sub-commands beyond ``scan``: demo (and, as they arrive, training and evaluation commands)."""

from __future__ import annotations

import argparse
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "resources" / "samples"


def _cmd_demo(args: argparse.Namespace) -> int:
    from core.cli import _cmd_scan

    print(f"Foveal demo on the bundled sample: {SAMPLES}\n")
    return _cmd_scan(argparse.Namespace(folder=str(SAMPLES), json=False))


def register(sub: argparse._SubParsersAction) -> None:
    """Add the sub-commands of this module to the ``foveal`` parser."""
    demo = sub.add_parser("demo", help="run Foveal on the sample images that ship with it")
    demo.set_defaults(func=_cmd_demo)
