"""Type-checks Foveal under its installed name: ``python -m tests.typecheck`` (core and gui) or ``… core``.

mypy resolves imports on the file system and cannot follow the import hook of an editable install, so it would
not find ``foveal.core`` in this checkout, where the package lives in ``core/``. This builds
``build/typecheck/foveal/``, links to ``core/``, ``gui/`` and ``resources/``, and checks
``-p foveal.core -p foveal.gui`` with that folder on ``MYPYPATH``
(settings from ``pyproject.toml``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "gui")
LINKED = (*PACKAGES, "resources")


def link_tree() -> Path:
    """``build/typecheck`` holding ``foveal/core``, ``foveal/gui`` and ``foveal/resources``: links to this
    checkout's folders."""
    base = ROOT / "build" / "typecheck"
    (base / "foveal").mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        link = base / "foveal" / name
        if not (link.is_symlink() and link.resolve() == (ROOT / name).resolve()):
            if link.is_symlink():
                link.unlink()
            link.symlink_to(ROOT / name, target_is_directory=True)
    return base


def run(packages: tuple[str, ...] = PACKAGES) -> subprocess.CompletedProcess:
    """mypy over ``foveal.<package>`` for each package named; its output captured."""
    env = dict(os.environ, MYPYPATH=str(link_tree()))
    args = [sys.executable, "-m", "mypy"]
    for name in packages:
        args += ["-p", f"foveal.{name}"]
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


if __name__ == "__main__":
    done = run(tuple(sys.argv[1:]) or PACKAGES)
    sys.stdout.write(done.stdout + done.stderr)
    sys.exit(done.returncode)
