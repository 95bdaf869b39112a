"""Reading a run folder, checked once for everything its readers rely on; and what an unfinished run leaves.

A run folder is complete when its ``run.json`` exists: the runner writes it last, after ``model.keras``. Every
reader (evaluate, predict, report, export, the window) goes through :func:`read_run`, which gives the
:class:`~foveal.core.run_record.RunRecord` that ``run.json`` holds.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import threading
from collections import OrderedDict
from pathlib import Path

from foveal.core.errors import DatasetError, RunFolderError
from foveal.core.io import remove_leftovers, write_json
from foveal.core.jsonfile import parse_json, read_regular_file
from foveal.core.paths import protect
from foveal.core.run_record import RunRecord

#: The largest run.json Foveal reads (a real one is a few MB even with 100,000 files in its split).
MAX_RUN_JSON_BYTES = 512 * 1024 * 1024
#: Written when training starts, removed when it ends: a folder without run.json but with a live owner is busy.
RUNNING_FILE = ".running"
WINDOWS = os.name == "nt"
#: What an unfinished run leaves that is of no use without its run.json (a model.keras saved just before the
#: run was killed has no record of its classes, split or settings), nor have the files saved beside the model
#: before run.json (core.models.familiar.FAMILIARITY_FILE, core.training.mislabels.MISLABELS_FILE).
_PARTIAL = (".cache", "checkpoint.weights.h5", "model.keras", RUNNING_FILE, "familiarity.npz",
            "suspected_mislabels.csv")


def mark_running(run_dir: Path) -> None:
    """Say which process is writing this run folder, so that opening it meanwhile does not clean it up."""
    write_json(run_dir / RUNNING_FILE, {"pid": os.getpid(), "host": platform.node()})


def _owner_alive(run_dir: Path) -> bool:
    try:
        owner = json.loads((run_dir / RUNNING_FILE).read_text(encoding="utf-8"))
        if owner.get("host") != platform.node() or WINDOWS:
            # Another machine's process, or Windows, where os.kill(pid, 0) would END the process rather than ask
            # about it: assume it is alive (its leftovers wait; never a running training stopped by a question).
            return True
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


def read_run(run_dir: str | os.PathLike[str]) -> RunRecord:
    """A run folder's ``run.json``, checked once for everything its readers rely on (:meth:`RunRecord.from_dict`).

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
    run = _record(f)
    protect(run.dataset.root)  # whatever reads this run never writes into its dataset
    if run.model and not (p / run.model).is_file():
        raise RunFolderError(f"{p} has no {run.model}, which its run.json names. Copy the run folder again, "
                             "or train again.")
    return run


#: The records of the run.json contents read last in this process, by digest: a run folder is opened several
#: times by one command, and its files are checked once. The window reads runs on several threads at once.
_RECORDS: OrderedDict[bytes, RunRecord] = OrderedDict()
_RECORDS_LOCK = threading.Lock()
_KEPT = 8


def _record(f: Path) -> RunRecord:
    """The record in ``f``; only a regular file of bounded size is read, and damage of any kind is a
    :class:`RunFolderError`."""
    fix = "Copy the run folder again from where it came from, or train again."
    raw = read_regular_file(f, what="run record", fix=fix, max_bytes=MAX_RUN_JSON_BYTES, error=RunFolderError)
    # Where the file lies is part of the key: a dataset folder found relative to the run folder depends on it.
    stamp = hashlib.blake2b(raw + os.fsencode(os.path.abspath(f)), digest_size=16).digest()
    with _RECORDS_LOCK:
        record = _RECORDS.get(stamp)
    if record is None:
        record = RunRecord.from_dict(parse_json(raw, f, what="run record", fix=fix, error=RunFolderError), f)
    with _RECORDS_LOCK:
        _RECORDS[stamp] = record
        _RECORDS.move_to_end(stamp)
        while len(_RECORDS) > _KEPT:
            _RECORDS.popitem(last=False)
    return record


def split_images(run: RunRecord, name: str = "test") -> tuple[list[tuple[str, str, str]], list[dict]]:
    """``(path, file, class)`` of each image of a run's split that is still where it was in training, and
    ``{"file", "reason"}`` of each that is not (the caller says how many and goes on without them).

    Raises
    ------
    DatasetError
        When the run's dataset folder is not there (moved, renamed, on a disk that is not connected), or none of
        the split's images are where they were; the message says where they were looked for and what to do.
    """
    root = run.dataset.root
    rows = run.split.of(name)
    if rows and not os.path.isdir(root):
        raise DatasetError(f"The run's dataset folder {root} is not there (moved, renamed or on a disk that is not "
                           "connected). Connect it or put it back there, or evaluate the run on a folder of "
                           "labelled images: `foveal evaluate RUN FOLDER`.")
    found, missing = [], []
    for row in rows:
        path = os.path.join(root, row.file)
        if os.path.isfile(path):
            found.append((path, row.file, row.label))
        else:
            missing.append({"file": row.file, "reason": f"no longer exists at {path}"})
    if rows and not found:
        raise DatasetError(f"None of the run's {len(rows)} {name} images are in its dataset folder {root} any more "
                           f"(the first was {missing[0]['file']}): the folder was changed since training. Put the "
                           "images back, or evaluate the run on a folder of labelled images: `foveal evaluate RUN "
                           "FOLDER`.")
    return found, missing
