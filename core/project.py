"""A Foveal project: a folder the user chooses (never inside the dataset) holding ``project.json`` (the dataset,
its fingerprint and file list, settings), ``split.json`` (the split, fixed once made) and ``runs/``.

Every write is atomic (a temporary file, flushed, then renamed), so a crash or power loss leaves the previous
file intact. ``project.json`` carries a schema version; older files are migrated when read.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foveal.core.data.scan import DatasetSummary
from foveal.core.errors import ConfigError, FovealError
from foveal.core.io import make_dirs, remove_leftovers, remove_tree, write_json
from foveal.core.jsonfile import read_json_file
from foveal.core.paths import follow_relative, is_inside, protect, relative_link
from foveal.core.records import Record, ShapeError
from foveal.core.run_record import Epoch, TestResult, Timings
from foveal.core.split.files import SplitFiles, write_split_file
from foveal.core.split.make import Split

SCHEMA_VERSION = 2
#: The largest project.json (or evaluation.json) read: a project with 100,000 images is a few MB.
MAX_PROJECT_BYTES = 256 << 20
PROJECT_FILE, SPLIT_FILE, RUNS = "project.json", "split.json", "runs"


@dataclass
class DatasetChanges:
    """How the dataset folder differs from the file list the project's split was made on."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.modified)

    def describe(self) -> str:
        parts = [f"{len(v)} {k}" for k, v in (("added", self.added), ("removed", self.removed),
                                               ("changed", self.modified)) if v]
        examples = (self.added + self.removed + self.modified)[:5]
        return ("The dataset changed since its split was made: " + ", ".join(parts) + " file(s)"
                + (f" (e.g. {', '.join(examples)})" if examples else "") + ".")


@dataclass
class Project:
    """The state of one project; :func:`save_project` writes it, :func:`load_project` reads it."""

    folder: str
    dataset: str
    settings: dict = field(default_factory=dict)
    files: dict[str, list] = field(default_factory=dict)  # rel → [size, mtime_ns] when the split was made
    fingerprint: str = ""
    run_meta: dict[str, dict] = field(default_factory=dict)  # run folder name → {"name", "note"}
    created: str = ""

    @property
    def split_path(self) -> Path:
        return Path(self.folder) / SPLIT_FILE

    @property
    def runs_dir(self) -> Path:
        return Path(self.folder) / RUNS

    def to_dict(self) -> dict:
        return {"format": "foveal-project", "schema_version": SCHEMA_VERSION, "created": self.created,
                "dataset": {"path": self.dataset, "relative": relative_link(self.dataset, self.folder),
                            "fingerprint": self.fingerprint, "files": self.files},
                "settings": self.settings, "runs": self.run_meta}


# ---- files of the dataset --------------------------------------------------------------------------------------

def file_state(summary) -> dict[str, list]:
    """``{rel: [size, mtime_ns]}`` of the usable images of a scan."""
    return {r.rel: [int(r.size_bytes), int(r.mtime * 1e9)] for r in summary.images}


def fingerprint(files: dict[str, list]) -> str:
    """A short digest of the file list with sizes and times: equal fingerprints, same files."""
    h = hashlib.sha256()
    for rel in sorted(files):
        size, mtime = files[rel]
        h.update(f"{rel}\t{size}\t{mtime}\n".encode())
    return h.hexdigest()[:16]


def dataset_changes(project: Project, summary) -> DatasetChanges:
    """What was added, removed or changed (size or modification time) since the split was made."""
    now = file_state(summary)
    old = project.files
    return DatasetChanges(added=sorted(set(now) - set(old)), removed=sorted(set(old) - set(now)),
                          modified=sorted(rel for rel in set(now) & set(old) if now[rel] != old[rel]))


# ---- create, save, load -------------------------------------------------------------------------------------------

def create_project(folder: str | os.PathLike[str], dataset: str | os.PathLike[str]) -> Project:
    """A new project in ``folder`` (created; must be empty or new, and outside the dataset folder)."""
    folder, dataset = Path(folder).expanduser(), Path(dataset).expanduser()
    if is_inside(folder, dataset):
        raise ConfigError(f"The project folder {folder} is inside the dataset folder {dataset}; Foveal never "
                          "writes there. Choose a project folder elsewhere.")
    if folder.exists() and any(folder.iterdir()) and not (folder / PROJECT_FILE).exists():
        raise ConfigError(f"{folder} is not empty. Choose an empty or new folder for the project.")
    make_dirs(folder / RUNS)
    project = Project(str(folder), str(dataset), created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    save_project(project)
    return project


def save_project(project: Project) -> None:
    """Write ``project.json`` atomically."""
    write_json(Path(project.folder) / PROJECT_FILE, project.to_dict())


def load_project(folder: str | os.PathLike[str]) -> Project:
    """Read a project (migrating older schema versions); raises ConfigError for a folder that is not one."""
    path = Path(folder).expanduser() / PROJECT_FILE
    if not path.is_file():
        raise ConfigError(f"{folder} is not a Foveal project (no {PROJECT_FILE}). Choose the project's folder.")
    remove_leftovers(path.parent)  # temporary files of saves that were killed half-way
    damaged = (f"{path} is damaged ({{}}). Foveal writes it atomically, so this is damage from outside Foveal: "
               "restore it from a backup, or make a new project.")
    fix = "Restore it from a backup, or make a new project."
    raw = read_json_file(path, what="project file", fix=fix, max_bytes=MAX_PROJECT_BYTES, error=ConfigError)
    try:
        data = migrate(raw)
        ds = data["dataset"]
        dataset = str(ds["path"])
        if not os.path.isdir(dataset):  # made on another system, or moved together with its dataset
            dataset = follow_relative(path.parent, ds.get("relative")) or dataset
        project = Project(str(Path(folder).expanduser()), dataset, dict(data.get("settings", {})),
                          dict(ds.get("files", {})), str(ds.get("fingerprint", "")), dict(data.get("runs", {})),
                          str(data.get("created", "")))
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(damaged.format(exc)) from None
    if not (all(isinstance(m, dict) and all(isinstance(m.get(k, ""), str) for k in ("path", "name", "note"))
                for m in project.run_meta.values())
            and all(isinstance(v, list) and len(v) == 2 and all(_is_number(x) for x in v)
                    for v in project.files.values())):
        raise ConfigError(damaged.format("its runs or its file list are not what Foveal writes"))
    protect(project.dataset)
    return project


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


# ---- schema migrations ------------------------------------------------------------------------------------------

def _v1_to_v2(data: dict) -> dict:
    """Version 1 kept the dataset path and settings flat and had no grouping or run names."""
    settings = dict(data.get("settings", {}))
    settings.setdefault("group_by", "none")
    settings.setdefault("group_pattern", None)
    settings.setdefault("keep_duplicates_together", False)
    return {"format": "foveal-project", "schema_version": 2, "created": data.get("created", ""),
            "dataset": {"path": data["dataset_path"], "fingerprint": data.get("fingerprint", ""),
                        "files": data.get("files", {})},
            "settings": settings, "runs": {}}


MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: _v1_to_v2}


def migrate(data: dict) -> dict:
    """Bring a project file's data up to :data:`SCHEMA_VERSION`, one version at a time."""
    version = int(data.get("schema_version", 1))
    if version > SCHEMA_VERSION:
        raise ConfigError(f"This project was written by a newer Foveal (schema {version}; this one reads up to "
                          f"{SCHEMA_VERSION}). Update Foveal to open it.")
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version = data["schema_version"]
    return data


# ---- the split ----------------------------------------------------------------------------------------------------

def fix_split(project: Project, summary: DatasetSummary, split: Split | SplitFiles, **extra: Any) -> None:
    """Store ``split`` as the project's split for the files of ``summary`` (both files written atomically);
    ``extra`` goes into split.json beside it (e.g. ``from_run``)."""
    write_split_file(project.split_path, split, **extra)
    project.files = file_state(summary)
    project.fingerprint = fingerprint(project.files)
    save_project(project)


def has_split(project: Project) -> bool:
    return project.split_path.is_file()


# ---- runs ------------------------------------------------------------------------------------------------------------

def list_runs(project: Project | None, extra: Sequence[str | os.PathLike[str]] = ()) -> list[dict]:
    """Every run of the project (its ``runs/`` folder and the runs it adopted, :func:`adopt_runs`) and the run
    folders ``extra``, with what the Runs view shows, newest first. Without a project: just ``extra``."""
    folders: dict[str, Path] = {}
    if project is not None:
        folders.update({p.parent.name: p.parent for p in project.runs_dir.glob("*/run.json")})
        folders.update({k: Path(m["path"]) for k, m in project.run_meta.items() if m.get("path")})
    for f in extra:
        folders.setdefault(Path(f).name, Path(f))
    rows = []
    for run_id, folder in folders.items():
        try:
            rows.append(_run_row(project, run_id, folder, RunListing.parse(_run_json(folder))))
        except (FovealError, ShapeError):  # gone, damaged or not Foveal's
            continue  # (opening it says why: read_run checks a run folder in full)
    return sorted(rows, key=lambda r: (r["created"], r["id"]), reverse=True)


def find_runs(parents: list[str | os.PathLike[str]], dataset: str | os.PathLike[str]) -> list[str]:
    """Run folders (with run.json) directly under ``parents`` that were trained on ``dataset``."""
    want = os.path.realpath(dataset)
    found = []
    for parent in parents:
        for run_json in sorted(Path(parent).expanduser().glob("*/run.json")):
            try:
                trained_on = _TrainedOn.parse(_run_json(run_json.parent)).dataset.root
            except (FovealError, ShapeError):
                continue
            if os.path.realpath(trained_on) == want:
                found.append(str(run_json.parent))
    return found


def adopt_runs(project: Project, folders: list[str | os.PathLike[str]]) -> int:
    """List run folders kept elsewhere in the project (they stay where they are); returns how many are new."""
    known = {os.path.realpath(m["path"]) for m in project.run_meta.values() if m.get("path")}
    known |= {os.path.realpath(p.parent) for p in project.runs_dir.glob("*/run.json")}
    added = 0
    for f in folders:
        real = os.path.realpath(f)
        if real in known or not (Path(real) / "run.json").is_file():
            continue
        run_id, k = Path(real).name, 1
        while run_id in project.run_meta or (project.runs_dir / run_id).exists():
            k += 1
            run_id = f"{Path(real).name}-{k}"
        project.run_meta[run_id] = {"path": real}
        known.add(real)
        added += 1
    if added:
        save_project(project)
    return added


@dataclass(frozen=True)
class _Named(Record):
    name: str


@dataclass(frozen=True)
class _Folder(Record):
    root: str


@dataclass(frozen=True)
class _TrainedOn(Record):
    """The dataset folder a run.json names, and nothing else of it: enough to find a dataset's runs."""

    dataset: _Folder


@dataclass(frozen=True)
class RunListing(Record):
    """What the Runs view shows of a run.json, read leniently: a run that cannot be opened is still listed, and
    opening it says why (:class:`core.run_record.RunRecord` is the full check)."""

    backbone: _Named
    fine_tune: str
    created: str | None = None
    outcome: str | None = None
    history: tuple[Epoch, ...] = ()
    timings: Timings = field(default_factory=Timings)
    test: TestResult = field(default_factory=TestResult)
    model: str | None = None  # the saved model's file name (None: nothing was saved)


def ended_words(run: RunListing) -> str:
    """How a run ended, in a word or three for the Runs list ("stopped, nothing saved" for a run stopped before
    any model was trained: never listed like a finished run with no epochs)."""
    if run.outcome == "cancelled":
        return "stopped" if run.model else "stopped, nothing saved"
    return {"completed": "finished", "early-stopped": "finished early"}.get(run.outcome or "", "–")


def readable_name(run: RunListing) -> str:
    """A run's name for people: backbone, depth and when (``MobileNetV2 · frozen · 3 Dec 14:05``)."""
    when = run.created or ""
    try:
        stamp = time.strptime(when[:19], "%Y-%m-%dT%H:%M:%S")
        when = f"{stamp.tm_mday} {time.strftime('%b %H:%M', stamp)}"
    except ValueError:
        pass
    return " · ".join(x for x in (run.backbone.name, run.fine_tune, when) if x)


def _run_row(project: Project | None, run_id: str, folder: Path, run: RunListing) -> dict:
    ev_path = folder / "evaluation.json"
    metrics = _saved_metrics(ev_path)
    meta = project.run_meta.get(run_id, {}) if project is not None else {}
    return {
        "folder": str(folder), "id": run_id, "name": meta.get("name") or readable_name(run),
        "adopted": bool(meta.get("path")) or project is None,
        "note": meta.get("note", ""), "backbone": run.backbone.name, "fine_tune": run.fine_tune,
        "epochs": len(run.history), "seconds": run.timings.total,
        "outcome": run.outcome, "ended": ended_words(run), "created": run.created or "",
        "test_accuracy": metrics.get("accuracy", run.test.accuracy),
        "balanced_accuracy": metrics.get("balanced_accuracy"),
        "macro_f1": (metrics.get("macro") or {}).get("f1"),
        "macro_auc": (metrics.get("roc") or {}).get("macro_auc"), "history": run.history}


def _run_json(folder: Path) -> object:
    """A run.json as it is, for listing (bounded, a regular file, not nested beyond reason); not checked in full:
    a run that cannot be opened is still listed, and opening it says why."""
    return read_json_file(folder / "run.json", what="run record", fix="", max_bytes=MAX_PROJECT_BYTES,
                          error=ConfigError)


def _saved_metrics(path: Path) -> dict:
    """The metrics of a run's evaluation.json, or none when it is missing or damaged (the list still shows the
    run, with run.json's own test accuracy)."""
    try:
        metrics = read_json_file(path, what="evaluation", fix="", max_bytes=MAX_PROJECT_BYTES,
                                 error=ConfigError)["metrics"]
    except (FovealError, KeyError, TypeError):
        return {}
    return metrics if isinstance(metrics, dict) else {}


def set_run_meta(project: Project, run_id: str, *, name: str | None = None, note: str | None = None) -> None:
    """Rename a run or set its note (saved at once)."""
    meta = project.run_meta.setdefault(run_id, {})
    if name is not None:
        meta["name"] = name
    if note is not None:
        meta["note"] = note
    save_project(project)


def delete_run(project: Project, run_id: str) -> None:
    """Delete one run folder of this project (only folders under the project's runs/); a run adopted from
    elsewhere is only taken off the project's list (its folder stays)."""
    if (project.run_meta.get(run_id) or {}).get("path"):
        project.run_meta.pop(run_id)
        save_project(project)
        return
    target = (project.runs_dir / run_id).resolve()
    if target.parent != project.runs_dir.resolve() or not (target / "run.json").is_file():
        raise ConfigError(f"{run_id} is not a run of this project.")
    remove_tree(target)
    project.run_meta.pop(run_id, None)
    save_project(project)
