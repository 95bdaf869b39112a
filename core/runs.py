"""Reading a run folder, checked once for everything its readers rely on; and what an unfinished run leaves.

A run folder is complete when its ``run.json`` exists: the runner writes it last, after ``model.keras``. Every
reader (evaluate, predict, report, export, the window, projects) goes through :func:`read_run`.
"""

from __future__ import annotations

import hashlib
import json
import math
import ntpath
import os
import platform
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from foveal.core.errors import DatasetError, RunFolderError
from foveal.core.io import remove_leftovers, write_json
from foveal.core.jsonfile import parse_json, read_regular_file
from foveal.core.paths import protect

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
    run, stamp = _parsed(f)
    if stamp not in _CHECKED:  # a run folder is opened several times by one command: its files checked once
        problem = _run_problem(run)
        if problem:
            raise RunFolderError(f"{f} is not a complete Foveal run record: {problem}. Copy the run folder again "
                                 "from where it came from, or train again.")
        _CHECKED.add(stamp)
    protect(run["dataset"]["root"])  # whatever reads this run never writes into its dataset
    if run.get("model") and not (p / run["model"]).is_file():
        raise RunFolderError(f"{p} has no {run['model']}, which its run.json names. Copy the run folder again, "
                             "or train again.")
    return run


#: Digests of the run.json contents found sound in this process: the same contents are not checked again.
_CHECKED: set[bytes] = set()


def _parsed(f: Path) -> tuple[Any, bytes]:
    """The JSON in ``f`` and a digest of it; only a regular file of bounded size is read, and damage of any kind
    is a :class:`RunFolderError`."""
    fix = "Copy the run folder again from where it came from, or train again."
    raw = read_regular_file(f, what="run record", fix=fix, max_bytes=MAX_RUN_JSON_BYTES, error=RunFolderError)
    return (parse_json(raw, f, what="run record", fix=fix, error=RunFolderError),
            hashlib.blake2b(raw, digest_size=16).digest())


def split_images(run: dict, name: str = "test") -> tuple[list[tuple[str, str, str]], list[dict]]:
    """``(path, file, class)`` of each image of a checked run's split that is still where it was in training, and
    ``{"file", "reason"}`` of each that is not (the caller says how many and goes on without them).

    Raises
    ------
    DatasetError
        When the run's dataset folder is not there (moved, renamed, on a disk that is not connected), or none of
        the split's images are where they were; the message says where they were looked for and what to do.
    """
    root = run["dataset"]["root"]
    rows = run["split"][name]
    if rows and not os.path.isdir(root):
        raise DatasetError(f"The run's dataset folder {root} is not there (moved, renamed or on a disk that is not "
                           "connected). Connect it or put it back there, or evaluate the run on a folder of "
                           "labelled images: `foveal evaluate RUN FOLDER`.")
    found, missing = [], []
    for row in rows:
        path = os.path.join(root, row["file"])
        if os.path.isfile(path):
            found.append((path, row["file"], row["class"]))
        else:
            missing.append({"file": row["file"], "reason": f"no longer exists at {path}"})
    if rows and not found:
        raise DatasetError(f"None of the run's {len(rows)} {name} images are in its dataset folder {root} any more "
                           f"(the first was {missing[0]['file']}): the folder was changed since training. Put the "
                           "images back, or evaluate the run on a folder of labelled images: `foveal evaluate RUN "
                           "FOLDER`.")
    return found, missing


def _run_problem(run: object) -> str | None:
    """What is missing, of the wrong type or pointing where it must not in a parsed run.json, in words naming the
    key; None when every reader can rely on it."""
    if not isinstance(run, dict) or run.get("format") != "foveal-run":
        return "it is not a Foveal run.json"
    if _depth(run) > MAX_DEPTH:
        return f"it is nested more than {MAX_DEPTH} levels deep, far more than a run.json ever is"
    classes = run.get("classes")
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) and c for c in classes):
        return "its class list ('classes') is missing or not a list of at least two names"
    if len(set(classes)) != len(classes):
        return "its class list ('classes') names a class twice"
    dataset = run.get("dataset")
    if not isinstance(dataset, dict) or not isinstance(dataset.get("root"), str) or not dataset["root"]:
        return "the dataset folder ('dataset.root') is missing"
    if "\0" in dataset["root"]:
        return "the dataset folder ('dataset.root') holds a NUL character"
    return (_shape_problem(run) or _split_problem(run["split"], dataset["root"], classes)
            or _settings_problem(run, classes))


def _settings_problem(run: dict, classes: list[str]) -> str | None:
    """The values whose range, or whose presence beside another, readers rely on."""
    if not 1 <= run["image_size"] <= MAX_IMAGE_SIZE:
        return f"the image size ('image_size') is {run['image_size']}, not between 1 and {MAX_IMAGE_SIZE}"
    model = run.get("model")
    if model is not None and (not model or model in (".", "..") or any(c in model for c in "/\\\0")):
        return "the model file name ('model') is not a plain file name"
    positive = _lookup(run, "operating_point.positive_class")
    if isinstance(positive, str) and positive not in classes:
        return f"'operating_point.positive_class' ({_shown(positive)}) is not one of the classes"
    temperature = _lookup(run, "calibration.temperature")
    if isinstance(temperature, (int, float)) and not 0 < temperature < math.inf:
        return f"'calibration.temperature' is {temperature}, not a positive number"
    if isinstance(_lookup(run, "recipe.candidates"), list):  # the report says why the winner won
        problem = _value_problem("recipe.reason", _lookup(run, "recipe.reason"), "text")
        if problem:
            return problem
    winner = _lookup(run, "recipe.winner")
    if isinstance(winner, dict) and winner.get("head") == "linear":  # the report gives its strength
        return _value_problem("recipe.winner.strength", _lookup(run, "recipe.winner.strength"), "number")
    return None


def _split_problem(split: dict, root: str, classes: list[str]) -> str | None:
    """Each split entry names a file inside the dataset folder and one of the run's classes."""
    known, confined = set(classes), Confined(root)
    for name in ("train", "val", "test"):
        for i, row in enumerate(split[name]):
            key = f"split.{name}[{i}]"
            if not isinstance(row, dict):
                return f"'{key}' should be an object with 'file' and 'class', not {_shown(row)}"
            problem = (_value_problem(f"{key}.file", row.get("file", _MISSING), "text")
                       or _value_problem(f"{key}.class", row.get("class", _MISSING), "text"))
            if problem:
                return problem
            if row["class"] not in known:
                return f"'{key}.class' ({_shown(row['class'])}) is not one of the classes"
            outside = confined.problem(row["file"])
            if outside:
                return f"'{key}.file' ({_shown(row['file'])}) {outside}"
    return None


def outside_reason(rel: str, root: str) -> str | None:
    """Why ``rel`` does not name a file inside the folder ``root`` (None: it does); see :class:`Confined`."""
    return Confined(root).problem(rel)


class Confined:
    """Checks paths relative to one dataset folder, as a run folder holds them, resolving each folder once.

    A run folder's paths are relative to its dataset folder, with ``/`` between parts: an absolute path, a drive
    (``C:\\x``), a ``..`` or ``.`` part, an empty part, a NUL character, or a link that leads out of the folder
    (where the file exists) would let a run folder made elsewhere have Foveal read, and show in a report, files
    from anywhere on this computer. The scan never follows a link out of the dataset folder either.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        real = os.path.realpath(root)
        self._prefix = real.rstrip(os.sep) + os.sep
        self._real_root = real
        self._folders: dict[str, str] = {}  # folder part of a path → where it really is

    def problem(self, rel: str) -> str | None:
        """Why ``rel`` does not name a file inside the folder (None: it does, or it would if it existed)."""
        if not rel or "\0" in rel:
            return "is empty or holds a NUL character"
        if rel[0] in "/\\" or ntpath.splitdrive(rel)[0]:
            return "is an absolute path, not one inside the dataset folder"
        if any(part in ("", ".", "..") for part in rel.split("/")) or ".." in rel.split("\\"):
            return "is not a plain path inside the dataset folder (it has an empty, '.' or '..' part)"
        folder, _, name = rel.rpartition("/")
        real_folder = self._folders.get(folder)
        if real_folder is None:
            real_folder = self._folders[folder] = os.path.realpath(os.path.join(self.root, folder))
        full = os.path.join(real_folder, name)
        try:
            is_link = stat.S_ISLNK(os.lstat(full).st_mode)
        except OSError:
            is_link = False  # not there (moved, deleted): nothing to read, so nothing read from elsewhere
        real = os.path.realpath(full) if is_link else full
        if real != self._real_root and not real.startswith(self._prefix):
            return f"leads out of the dataset folder (to {real})"
        return None


# ---- the shape of run.json ---------------------------------------------------------------------------------

#: The deepest nesting a run.json may have (a real one has 5 levels).
MAX_DEPTH = 32
#: The largest image size a run may name: a bigger one would make every image decode into gigabytes.
MAX_IMAGE_SIZE = 8192
_MISSING = object()

#: Every key of run.json a reader uses, and what it holds; "?": it may be missing or null (older runs lack it);
#: "|null": it must be there, but may be null.
#: Parents come before their children, so that a child is only looked at inside an object.
_SHAPE: tuple[tuple[str, str], ...] = (
    ("dataset.layout", "text"), ("split", "object"), ("split.train", "list"), ("split.val", "list"),
    ("split.test", "list"), ("image_size", "int"), ("model", "text?"), ("outcome", "text"), ("fine_tune", "text"),
    ("created", "text?"), ("seed", "int"), ("n_blocks", "int?"), ("best_epoch", "int?"), ("pooling", "text?"),
    ("backbone", "object"), ("backbone.name", "text"), ("backbone.family", "text"), ("backbone.top1", "number"),
    ("config", "object"), ("config.weights", "text|null"), ("config.dropout", "number"),
    ("config.val_fraction", "number"), ("config.test_fraction", "number"), ("config.fine_tune", "text?"),
    ("config.group_by", "text?"), ("config.group_pattern", "text?"),
    ("split_info", "object?"), ("split_info.seed", "int?"), ("split_info.split_file", "text?"),
    ("split_info.group_by", "text?"), ("split_info.group_pattern", "text?"), ("split_info.n_groups", "int?"),
    ("split_info.leaking_groups", "list?"), ("split_info.n_duplicate_sets", "int?"),
    ("split_info.keep_duplicates_together", "bool?"), ("split_info.duplicates_across_splits", "list?"),
    ("skipped_during_training", "list?"), ("skipped_by_scan", "list?"), ("blank_images", "list?"),
    ("versions", "object?"),
    ("history", "list?"), ("timings", "object?"), ("timings.total", "number?"),
    ("test", "object?"), ("test.accuracy", "number?"), ("test.loss", "number?"), ("test.n", "int?"),
    ("test.baseline", "number?"), ("test.baseline_class", "text?"), ("test.headline", "text?"),
    ("recipe", "object?"), ("recipe.winner", "object?"), ("recipe.winner.head", "text?"),
    ("recipe.winner.strength", "number?"), ("recipe.reason", "text?"), ("recipe.candidates", "list?"),
    ("calibration", "object?"), ("calibration.temperature", "number?"),
    ("operating_point", "object?"), ("operating_point.positive_class", "text?"),
    ("operating_point.threshold", "number?"), ("operating_point.chosen_on", "text?"),
    ("familiarity", "object?"), ("suspected_mislabels", "object?"), ("phases", "object?"),
    ("phases.words", "text?"), ("devices", "object?"),
)
#: Optional keys that readers look up with a default (``run.get("timings", {})``): missing is fine, null is not.
_NOT_NULL = frozenset({"versions", "timings", "timings.total", "history", "test", "recipe", "recipe.winner",
                       "recipe.candidates"})
#: What each element of these lists holds.
_ITEMS: dict[str, tuple[tuple[str, str], ...]] = {
    "history": (("epoch", "int"), ("phase", "text?"), ("loss", "number?"), ("accuracy", "number?"),
                ("val_loss", "number?"), ("val_accuracy", "number?")),
    "skipped_during_training": (("file", "text"), ("reason", "text")),
    "skipped_by_scan": (("file", "text"), ("reason", "text")),
    "recipe.candidates": (("description", "text"), ("accuracy", "number"), ("interval", "pair"),
                          ("balanced_accuracy", "number")),
    "split_info.duplicates_across_splits": (),
}
_KINDS: dict[str, tuple[str, Callable[[object], bool]]] = {
    "text": ("text", lambda v: isinstance(v, str)),
    "int": ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "number": ("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "list": ("a list", lambda v: isinstance(v, list)),
    "object": ("an object", lambda v: isinstance(v, dict)),
    "pair": ("a list of two numbers", lambda v: isinstance(v, list) and len(v) == 2
             and all(_KINDS["number"][1](x) for x in v)),
}


def _shape_problem(run: dict) -> str | None:
    """The first key in :data:`_SHAPE` or :data:`_ITEMS` that is missing or holds the wrong kind of value."""
    for key, kind in _SHAPE:
        problem = _value_problem(key, _lookup(run, key), kind)
        if problem:
            return problem
    for key, fields in _ITEMS.items():
        items = _lookup(run, key)
        for i, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict):
                return f"'{key}[{i}]' should be an object, not {_shown(item)}"
            for name, kind in fields:
                problem = _value_problem(f"{key}[{i}].{name}", item.get(name, _MISSING), kind)
                if problem:
                    return problem
    return None


def _lookup(run: dict, key: str) -> object:
    """The value at a dotted key; :data:`_MISSING` when it, or an object above it, is missing or null."""
    value: object = run
    parts = key.split(".")
    for i, part in enumerate(parts):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
        if value is None:
            return None if i == len(parts) - 1 else _MISSING
    return value


def _value_problem(key: str, value: object, kind: str) -> str | None:
    """What is wrong with ``value`` at ``key``, which should be of ``kind`` ("text", "int?"…), in words."""
    words, fits = _KINDS[kind.removesuffix("?").removesuffix("|null")]
    if value is _MISSING:
        return None if kind.endswith("?") else f"'{key}' is missing"
    if value is None:
        nullable = kind.endswith(("?", "|null")) and key not in _NOT_NULL
        return None if nullable else f"'{key}' is null; it should be {words}"
    return None if fits(value) else f"'{key}' should be {words}, not {_shown(value)}"


def _shown(value: object) -> str:
    """A value as one short line for a message."""
    text = json.dumps(value, ensure_ascii=True) if not isinstance(value, (dict, list)) else (
        "an object" if isinstance(value, dict) else "a list")
    return text if len(text) <= 60 else text[:57] + "…"


def _depth(value: object) -> int:
    """How deeply ``value`` nests lists and objects (without recursion: it may be deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list)):
            deepest = max(deepest, d)
            if d <= MAX_DEPTH:
                stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest
