"""Reading a run's settings from a file, for ``foveal train --config FILE`` on a server.

Three kinds of file are accepted: a ``run_config.json`` (written into every run folder when a run starts, from
the window or the command line), a run's ``run.json`` (its ``config``), or a project's ``project.json`` (the
settings the window autosaved, on the project's fixed split, with runs saved under the project's ``runs/``).
"""

from __future__ import annotations

import ntpath
import os
import re
import time
from pathlib import Path
from typing import Any

from foveal.core.errors import ConfigError
from foveal.core.jsonfile import read_json_file
from foveal.core.paths import follow_relative
from foveal.core.training.config import TrainConfig

#: The largest config file read: Foveal's own (a run.json with its split and metrics) are well under a megabyte.
MAX_CONFIG_BYTES = 16 << 20


def load_config_file(path: str | Path, *, data_dir: str | None = None, out_dir: str | None = None,
                     overrides: dict | None = None) -> TrainConfig:
    """The :class:`TrainConfig` a file describes; ``data_dir``, ``out_dir`` and ``overrides`` replace its values
    (a dataset and run folder on the server are rarely where they were on the laptop)."""
    path = Path(path).expanduser()
    data = _read_json(path)
    if not isinstance(data, dict):
        raise ConfigError(f"The config file {path} must hold a JSON object of settings.")
    if not isinstance(data.get("config", {}), dict) or not isinstance(data.get("settings", {}), dict):
        raise ConfigError(f"The config file {path} is damaged: its settings are not a JSON object.")
    if data.get("format") == "foveal-run":
        data = _run_settings(path, data)
    elif "dataset" in data and "settings" in data:  # a project
        data = _from_project(path, data)
    data = dict(data)
    _check_paths(path, data)
    if data_dir:
        data["data_dir"] = data_dir
    if out_dir:
        data["out_dir"] = out_dir
    data.update(overrides or {})
    if "data_dir" not in data:
        raise ConfigError(f"The config file {path} names no dataset folder: give it as `foveal train FOLDER "
                          "--config FILE`.")
    try:
        config = TrainConfig.from_dict(data)
        config.check_types()
        config.check_limits()
    except ConfigError as exc:
        raise ConfigError(f"In the config file {path}: {exc}") from None
    return config


def _read_json(path: Path) -> Any:
    """The JSON a config file holds (a regular file of at most :data:`MAX_CONFIG_BYTES`)."""
    return read_json_file(path, what="config file", max_bytes=MAX_CONFIG_BYTES, error=ConfigError,
                          fix="Give a run_config.json, a run.json or a project.json written by Foveal.")


def _run_settings(path: Path, run: dict) -> dict:
    """A run.json's settings, as they apply on this computer: a dataset folder that is not here is looked for
    where the run folder says it lies relative to itself (``dataset.relative``: a run made on another system, or
    moved together with its dataset), and a run folder path of another system (``C:\\…`` on Linux or macOS) is
    dropped, so that the new run goes to the default runs folder instead of a folder named after that path."""
    data = dict(run.get("config", {}))
    dataset = run["dataset"] if isinstance(run.get("dataset"), dict) else {}
    if isinstance(data.get("data_dir"), str) and not os.path.isdir(data["data_dir"]):
        found = follow_relative(path.parent, dataset.get("relative"))
        if found:
            data["data_dir"] = found
    if isinstance(data.get("out_dir"), str) and _foreign(data["out_dir"]):
        data.pop("out_dir")
    return data


def _foreign(value: str) -> bool:
    """Whether ``value`` is an absolute path of another system than this one."""
    if os.name == "nt":
        return value.startswith("/") and not value.startswith("//")
    return bool(ntpath.splitdrive(value)[0]) or value.startswith("\\\\")


def _check_paths(path: Path, data: dict) -> None:
    """A config file's run folder and split file may not climb out of where they point with ``..``: a file
    received from elsewhere must not choose where on this computer a run writes or what it reads as a split."""
    for key in ("out_dir", "split_file"):
        value = data.get(key)
        if isinstance(value, str) and ".." in re.split(r"[\\/]+", value):
            raise ConfigError(f"In the config file {path}: {key} {value!r} climbs out of its folder with '..'. Give "
                              f"an absolute path in the file, or on the line (--out RUN_DIR for the run folder).")


def _from_project(path: Path, project: dict) -> dict:
    from foveal.core.project import load_project

    p = load_project(path.parent)
    data = dict(p.settings, data_dir=p.dataset)
    if p.split_path.is_file():
        data["split_file"] = str(p.split_path)
    backbone = data.get("backbone", "run")
    data["out_dir"] = str(p.runs_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{backbone}")
    return data
