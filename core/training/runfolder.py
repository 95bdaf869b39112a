"""The run folder: ``model.keras``, ``run.json`` and nothing else the user has to know about."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from foveal.core import paths
from foveal.core.io import TMP_PREFIX, check_target, make_dirs, new_folder, os_errors, temp_dir, write_json
from foveal.core.paths import protect
from foveal.core.runs import end_run_folder, mark_running
from foveal.core.training.config import TrainConfig

if TYPE_CHECKING:
    from foveal.core.data.scan import DatasetSummary
    from foveal.core.run_record import TestResult
    from foveal.core.training.auto_head import HeadChoice
    from foveal.core.training.context import RunContext
    from foveal.core.training.heldout import Measured
    from foveal.core.training.mislabels import Suspect
    from foveal.core.training.prepare import Prepared, RunPlan


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


@dataclass(frozen=True)
class RunFolder:
    """Where a run writes: its folder, the cache of features and images (removed at the end) and the checkpoint
    of the best weights so far (until model.keras exists). Only the chief of a multi-worker job writes the run
    folder; the other workers keep theirs in a temporary folder, removed when the run ends."""

    path: Path
    cache_dir: Path
    checkpoint: Path
    is_chief: bool = True

    def forget(self, *, made_here: bool) -> None:
        """The run failed before it learned anything (a problem with the weights or the data): nothing of it is
        kept, not even run_config.json, and the folder goes too when this run made it (``made_here``)."""
        if not self.is_chief:
            return
        (self.path / "run_config.json").unlink(missing_ok=True)
        end_run_folder(self.path, chief=True)
        if made_here:
            with contextlib.suppress(OSError):  # only an empty folder is removed: anything else stays
                self.path.rmdir()

    def end(self) -> None:
        """However the run ended: a worker that is not the chief leaves nothing behind, even when the run failed; a
        chief's failed run keeps only what says what it was (run_config.json), without caches or checkpoints."""
        end_run_folder(self.path, chief=self.is_chief)


def open_run_folder(config: TrainConfig, *, is_chief: bool) -> RunFolder:
    """Make the run's folder (the chief's: :func:`prepare_run_dir`) and its cache; a folder made here and not
    handed back is ended here."""
    path = prepare_run_dir(config) if is_chief else temp_dir("foveal-worker-")
    try:
        cache_dir = path / ".cache"
        make_dirs(cache_dir)
        return RunFolder(path, cache_dir, check_target(path / "checkpoint.weights.h5"), is_chief)
    except BaseException:
        end_run_folder(path, chief=is_chief)
        raise


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


def run_record(ctx: RunContext, prepared: Prepared, plan: RunPlan, *, n_blocks: int, choice: HeadChoice | None,
               measured: Measured, suspects: list[Suspect] | None, held_out: TestResult, seconds: float,
               run_dir: Path, ending: str = "") -> dict:
    """What run.json holds about a finished run: settings, split, history, test result and what was measured,
    why it ended when it did (``ending``, in words) and how long the person waited (``seconds``). ``choice`` is
    None when the run stopped before its head was chosen."""
    from foveal.core.training.mislabels import MISLABELS_FILE

    c, t = ctx.config, ctx.tracker
    comparison = t.phase_comparison()
    return {
        "format": "foveal-run", "version": 1, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "outcome": t.outcome, "ending": ending, "config": c.to_dict(), "seed": c.seed, "backbone": plan.spec.to_dict(),
        "image_size": choice.size if choice else plan.size, "fine_tune": str(plan.depth), "n_blocks": n_blocks,
        "classes": list(prepared.classes), "orientations": choice.orientations if choice else 1,
        **({"tiles": choice.tiles} if choice and choice.tiles else {}),
        "dataset": {"root": prepared.summary.root, "layout": prepared.summary.layout,
                    "relative": paths.relative_link(prepared.summary.root, run_dir)},
        "split": prepared.split.to_dict(), "split_info": prepared.split_info,
        "skipped_during_training": [{"file": f, "reason": r} for f, r in ctx.failed],
        "skipped_by_scan": [{"file": s.rel, "reason": s.reason} for s in prepared.summary.skipped],
        "blank_images": list(ctx.blank),
        "versions": library_versions(), "history": t.history, "best_epoch": t.best_epoch,
        "test": held_out.to_dict(),
        "recipe": ({**choice.recipe.to_dict(), "passes": plan.passes.to_dict(c.search, choice.passes_made)}
                   if choice and choice.recipe else {"mode": c.recipe}),
        "pooling": choice.pooling if choice else "avg",
        "calibration": measured.calibration.to_dict() if measured.calibration is not None else None,
        "operating_point": measured.operating,
        "familiarity": ({**measured.familiarity.summary(), "test_unfamiliar": measured.test_unfamiliar}
                        if measured.familiarity is not None else None),
        "suspected_mislabels": ({"n": len(suspects), "file": MISLABELS_FILE, "method": "confident "
                                 "learning on out-of-fold probabilities"} if suspects is not None else None),
        "phases": comparison.to_dict() if comparison else None,
        "model": Path(measured.model_path).name if measured.model_path else None,
        "timings": {**ctx.timings, "total": seconds},
        "estimate": plan.estimate.to_dict() if plan.estimate else None,
        "devices": {**plan.devices.to_dict(), "global_batch_size": plan.batch, "learning_rate": plan.learning_rate},
    }
