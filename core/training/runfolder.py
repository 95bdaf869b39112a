"""The run folder: ``model.keras``, ``run.json`` and nothing else the user has to know about."""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from core.training.config import TrainConfig


def default_run_dir(config: TrainConfig) -> Path:
    """``./foveal-runs/YYYYmmdd-HHMMSS-<backbone>`` in the current folder."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path.cwd() / "foveal-runs" / f"{stamp}-{config.backbone}"


def prepare_run_dir(config: TrainConfig) -> Path:
    """Create the run folder (a new one; an existing non-empty folder is never overwritten)."""
    base = Path(config.out_dir) if config.out_dir else default_run_dir(config)
    path, k = base, 1
    while path.exists() and any(path.iterdir()):
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    path.mkdir(parents=True, exist_ok=True)
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


def write_json_atomic(path: Path, data: dict) -> None:
    """Write JSON to a temporary file in the same folder, then rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a run folder is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_run(run_dir: str | os.PathLike[str]) -> dict:
    """Load a run folder's ``run.json``."""
    return json.loads((Path(run_dir) / "run.json").read_text(encoding="utf-8"))
