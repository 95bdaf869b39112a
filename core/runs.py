"""Reading a run folder, checked once for everything its readers rely on; and what an unfinished run leaves.

A run folder is complete when its ``run.json`` exists: the runner writes it last, after ``model.keras``. Every
reader (evaluate, predict, report, export, the window, projects) goes through :func:`read_run`.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from pathlib import Path

from core.errors import RunFolderError
from core.io import remove_leftovers, write_json
from core.paths import protect

#: The largest run.json Foveal reads (a real one is a few MB even with 100,000 files in its split).
MAX_RUN_JSON_BYTES = 512 * 1024 * 1024
#: Written when training starts, removed when it ends: a folder without run.json but with a live owner is busy.
RUNNING_FILE = ".running"
#: What an unfinished run leaves that is of no use without its run.json (a model.keras saved just before the
#: run was killed has no record of its classes, split or settings).
_PARTIAL = (".cache", "checkpoint.weights.h5", "model.keras", RUNNING_FILE)


def mark_running(run_dir: Path) -> None:
    """Say which process is writing this run folder, so that opening it meanwhile does not clean it up."""
    write_json(run_dir / RUNNING_FILE, {"pid": os.getpid(), "host": platform.node()})


def _owner_alive(run_dir: Path) -> bool:
    try:
        owner = json.loads((run_dir / RUNNING_FILE).read_text(encoding="utf-8"))
        if owner.get("host") != platform.node():
            return True  # another machine's process: assume it is alive
        os.kill(int(owner["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return True


def discard_partial_run(run_dir: str | os.PathLike[str], *, own: bool = False) -> list[str]:
    """Remove what an unfinished run left behind (feature cache, checkpoint, half-written files), unless another
    live process is still writing the folder (``own``: the caller is that process). ``run_config.json`` stays:
    it says how to train again. Returns the names removed."""
    p = Path(run_dir)
    if not own and (p / RUNNING_FILE).exists() and _owner_alive(p):
        return []
    removed = remove_leftovers(p)
    for name in _PARTIAL:
        target = p / name
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
            removed.append(name)
        elif target.exists():
            target.unlink(missing_ok=True)
            removed.append(name)
    return removed


def end_run_folder(run_dir: Path, *, chief: bool) -> None:
    """When a run ends, however it ends: a worker that is not the chief leaves nothing behind; a complete run
    drops its busy mark; an unfinished one keeps only run_config.json."""
    if not chief:
        shutil.rmtree(run_dir, ignore_errors=True)
    elif (run_dir / "run.json").is_file():
        (run_dir / RUNNING_FILE).unlink(missing_ok=True)
    else:
        discard_partial_run(run_dir, own=True)


def read_run(run_dir: str | os.PathLike[str]) -> dict:
    """A run folder's ``run.json``, checked once here for everything its readers rely on.

    Raises
    ------
    RunFolderError
        When the folder is missing, unfinished (no ``run.json``: training was stopped before it ended; what it
        left behind is cleaned up), or its ``run.json`` is damaged or not Foveal's. The message says what to do.
    """
    p = Path(run_dir).expanduser()
    f = p / "run.json"
    if not p.is_dir():
        raise RunFolderError(f"{p} is not a folder. Choose a Foveal run folder (it holds run.json and model.keras).")
    if not f.is_file():
        if (p / "run_config.json").is_file():
            busy = (p / RUNNING_FILE).exists() and _owner_alive(p)
            discard_partial_run(p)  # does nothing while its writer is alive
            raise RunFolderError(
                f"{p} is an unfinished run: " + ("it is still training." if busy else
                "training stopped before the run was saved (no run.json). Train again with `foveal train "
                f"--config {p / 'run_config.json'}`, or delete the folder."))
        raise RunFolderError(f"{p} has no run.json, so it is not a Foveal run folder. Choose the folder a run "
                             "was saved in (it holds run.json and model.keras).")
    try:
        if f.stat().st_size > MAX_RUN_JSON_BYTES:
            raise ValueError(f"{f.stat().st_size} bytes, far more than a run.json holds")
        run = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunFolderError(f"{f} is damaged and cannot be read ({exc}). Copy the run folder again from where "
                             "it came from, or train again.") from None
    problem = _run_problem(run)
    if problem:
        raise RunFolderError(f"{f} is not a complete Foveal run record: {problem}. Copy the run folder again "
                             "from where it came from, or train again.")
    protect(run["dataset"]["root"])  # whatever reads this run never writes into its dataset
    if run.get("model") and not (p / run["model"]).is_file():
        raise RunFolderError(f"{p} has no {run['model']}, which its run.json names. Copy the run folder again, "
                             "or train again.")
    return run


def _run_problem(run: object) -> str | None:
    """What is missing or of the wrong type in a parsed run.json, in words; None when it is usable."""
    if not isinstance(run, dict) or run.get("format") != "foveal-run":
        return "it is not a Foveal run.json"
    classes = run.get("classes")
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) and c for c in classes):
        return "its class list ('classes') is missing or not a list of at least two names"
    if len(set(classes)) != len(classes):
        return "its class list ('classes') names a class twice"
    dataset = run.get("dataset")
    if not isinstance(dataset, dict) or not isinstance(dataset.get("root"), str):
        return "the dataset folder ('dataset.root') is missing"
    split = run.get("split")
    if not isinstance(split, dict) or not all(
            isinstance(split.get(s, []), list) and all(isinstance(r, dict) and isinstance(r.get("file"), str)
                                                       for r in split.get(s, []))
            for s in ("train", "val", "test")):
        return "the split ('split') is missing or damaged"
    if not isinstance(run.get("image_size"), int) or run["image_size"] < 1:
        return "the image size ('image_size') is missing"
    if run.get("model") is not None and not (isinstance(run["model"], str) and "/" not in run["model"]
                                             and "\\" not in run["model"] and run["model"] not in ("", ".", "..")):
        return "the model file name ('model') is not a plain file name"
    return None
