"""The run folder: ``model.keras``, ``run.json`` and nothing else the user has to know about."""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from foveal.core import paths
from foveal.core.io import TMP_PREFIX, make_dirs, new_folder, os_errors, write_json
from foveal.core.paths import protect
from foveal.core.runs import mark_running
from foveal.core.training.config import TrainConfig

if TYPE_CHECKING:
    from foveal.core.data.scan import DatasetSummary
    from foveal.core.training.runner import _Run


def default_run_dir(config: TrainConfig) -> Path:
    """``./foveal-runs/YYYYmmdd-HHMMSS-<backbone>``; under the user data folder when the current folder is
    inside the dataset (see :func:`core.paths.default_run_dir`)."""
    protect(config.data_dir)
    return paths.default_run_dir(config.backbone)


def prepare_run_dir(config: TrainConfig) -> Path:
    """Create the run folder (a new one; an existing non-empty folder is never overwritten), marked as being
    written by this process and holding ``run_config.json`` from the moment it appears: it is made under a
    temporary name and renamed into place, so a run killed at any moment never leaves a folder that does not
    say what it was."""
    path = new_folder(Path(config.out_dir) if config.out_dir else default_run_dir(config))
    make_dirs(path.parent)
    with os_errors(path.parent):
        staging = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}run-", dir=path.parent))
        try:
            mark_running(staging)
            # The settings, to train again elsewhere: `foveal train --config run_config.json`.
            write_json(staging / "run_config.json", config.to_dict())
            if path.is_dir():
                path.rmdir()  # the empty folder the user chose (a rename onto it fails on Windows)
            os.replace(staging, path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return path


def scan_skip_words(summary: DatasetSummary) -> list[str]:
    """What the scan left out of the dataset, said when a run starts (run.json keeps each as ``skipped_by_scan``):
    a whole class folder by name, the rest as a count with a few examples. Never silently left out."""
    if not summary.skipped:
        return []
    depth = 2 if summary.layout == "pre-split" else 1  # where class folders are
    out = []
    for s in summary.skipped:
        if s.reason.startswith("folder") and len(Path(s.rel).parts) <= depth:
            why = "could not be read" if "cannot be read" in s.reason else f"was skipped ({s.reason})"
            out.append(f"the folder '{s.rel}' {why}: it is not part of this run")
    examples = "; ".join(f"{s.rel}: {s.reason}" for s in summary.skipped[:3])
    more = f"; and {len(summary.skipped) - 3} more" if len(summary.skipped) > 3 else ""
    return [f"{len(summary.skipped)} file(s) or folder(s) of the dataset were skipped by the scan (e.g. {examples}"
            f"{more}); they are not part of this run", *out]


def library_versions() -> dict[str, str]:
    """Versions of everything that shapes a result, for reproducing it later."""
    import keras
    import numpy
    import PIL
    import tensorflow as tf

    import foveal.core

    return {"foveal": foveal.core.__version__, "python": sys.version.split()[0], "platform": platform.platform(),
            "tensorflow": tf.__version__, "keras": keras.__version__, "numpy": numpy.__version__,
            "pillow": PIL.__version__}


def run_record(run: _Run, outcome: str, model_path: str | None, test: dict, seconds: float) -> dict:
    """What run.json holds about a finished run: settings, split, history, test result and what was measured."""
    from foveal.core.training.mislabels import MISLABELS_FILE

    c, t = run.config, run.tracker
    return {
        "format": "foveal-run", "version": 1, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "outcome": outcome, "config": c.to_dict(), "seed": c.seed, "backbone": run.spec.to_dict(),
        "image_size": run.size, "fine_tune": str(run.depth), "n_blocks": run.n_blocks,
        "classes": list(run.classes), "dataset": {"root": run.summary.root, "layout": run.summary.layout},
        "split": run.split.to_dict(), "split_info": run.split_info,
        "skipped_during_training": [{"file": f, "reason": r} for f, r in run.failed],
        "skipped_by_scan": [{"file": s.rel, "reason": s.reason} for s in run.summary.skipped],
        "blank_images": list(run.blank),
        "versions": library_versions(), "history": t.history, "best_epoch": t.best_epoch,
        "test": test,
        "recipe": run.recipe.to_dict() if run.recipe is not None else {"mode": c.recipe},
        "pooling": run.pooling,
        "calibration": run.calibration.to_dict() if run.calibration is not None else None,
        "operating_point": run.operating,
        "familiarity": ({**run.familiarity.summary(), "test_unfamiliar": run.test_unfamiliar}
                        if run.familiarity is not None else None),
        "suspected_mislabels": ({"n": len(run.suspects), "file": MISLABELS_FILE, "method": "confident "
                                 "learning on out-of-fold probabilities"} if run.suspects is not None else None),
        "phases": t.phase_comparison(),
        "model": Path(model_path).name if model_path else None,
        "timings": {**run.timings, "total": seconds},
        "devices": {**run.plan.to_dict(), "global_batch_size": run.batch, "learning_rate": run.learning_rate},
    }
