"""The run folder: ``model.keras``, ``run.json`` and nothing else the user has to know about."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

from core import paths
from core.io import make_dirs
from core.paths import protect
from core.training.config import TrainConfig


def default_run_dir(config: TrainConfig) -> Path:
    """``./foveal-runs/YYYYmmdd-HHMMSS-<backbone>``; under the user data folder when the current folder is
    inside the dataset (see :func:`core.paths.default_run_dir`)."""
    protect(config.data_dir)
    return paths.default_run_dir(config.backbone)


def prepare_run_dir(config: TrainConfig) -> Path:
    """Create the run folder (a new one; an existing non-empty folder is never overwritten)."""
    base = Path(config.out_dir) if config.out_dir else default_run_dir(config)
    path, k = base, 1
    while path.exists() and any(path.iterdir()):
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    make_dirs(path)
    return path


def library_versions() -> dict[str, str]:
    """Versions of everything that shapes a result, for reproducing it later."""
    import keras
    import numpy
    import PIL
    import tensorflow as tf

    import core

    return {"foveal": core.__version__, "python": sys.version.split()[0], "platform": platform.platform(),
            "tensorflow": tf.__version__, "keras": keras.__version__, "numpy": numpy.__version__,
            "pillow": PIL.__version__}
