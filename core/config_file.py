"""Reading a run's settings from a file, for ``foveal train --config FILE`` on a server.

Three kinds of file are accepted: a ``run_config.json`` (written into every run folder when a run starts, from
the window or the command line), a run's ``run.json`` (its ``config``), or a project's ``project.json`` (the
settings the window autosaved, on the project's fixed split, with runs saved under the project's ``runs/``).
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.training.config import TrainConfig

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
        data = dict(data.get("config", {}))
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
    """The JSON a config file holds. Only a regular file of at most :data:`MAX_CONFIG_BYTES` is opened: a FIFO or
    a device would block or never end, and a huge file is no config."""
    unusable = "Give a run_config.json, a run.json or a project.json written by Foveal."
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            what = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a pipe, socket or device)"
            raise ConfigError(f"The config file {path} is {what}. {unusable}")
        if info.st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"The config file {path} is {info.st_size / (1 << 20):.0f} MB; a config file is at "
                              f"most {MAX_CONFIG_BYTES >> 20} MB. {unusable}")
        # O_NONBLOCK: should a FIFO take the file's place after the check, opening it does not hang.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise ConfigError(f"The config file {path} is not a regular file. {unusable}")
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"Cannot read the config file {path}: {exc.strerror or exc}. Check the path.") from None
    except ValueError as exc:  # a NUL character in the path
        raise ConfigError(f"Cannot read the config file {path!r}: {exc}. Check the path.") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"The config file {path} grew past {MAX_CONFIG_BYTES >> 20} MB while being read. {unusable}")
    try:
        return json.loads(raw.decode("utf-8"))
    except RecursionError:  # e.g. '[' nested 100,000 deep: Python's parser recurses once per level
        raise ConfigError(f"The config file {path} is damaged or not a config file: its JSON is nested too deeply "
                          f"to be settings. {unusable}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"The config file {path} is not UTF-8 text: it is damaged or not a config file. "
                          f"{unusable}") from None
    except ValueError as exc:
        raise ConfigError(f"The config file {path} is not valid JSON ({exc}). {unusable}") from None


def _check_paths(path: Path, data: dict) -> None:
    """A config file's run folder and split file may not climb out of where they point with ``..``: a file
    received from elsewhere must not choose where on this computer a run writes or what it reads as a split."""
    for key in ("out_dir", "split_file"):
        value = data.get(key)
        if isinstance(value, str) and ".." in re.split(r"[\\/]+", value):
            raise ConfigError(f"In the config file {path}: {key} {value!r} climbs out of its folder with '..'. Give "
                              f"an absolute path in the file, or on the line (--out RUN_DIR for the run folder).")


def _from_project(path: Path, project: dict) -> dict:
    from core.project import load_project

    p = load_project(path.parent)
    data = dict(p.settings, data_dir=p.dataset)
    if p.split_path.is_file():
        data["split_file"] = str(p.split_path)
    backbone = data.get("backbone", "run")
    data["out_dir"] = str(p.runs_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{backbone}")
    return data
