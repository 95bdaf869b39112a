"""Reading a run's settings from a file, for ``foveal train --config FILE`` on a server.

Three kinds of file are accepted: a ``run_config.json`` (written into every run folder when a run starts, from
the window or the command line), a run's ``run.json`` (its ``config``), or a project's ``project.json`` (the
settings the window autosaved, on the project's fixed split, with runs saved under the project's ``runs/``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from core.errors import ConfigError
from core.training.config import TrainConfig


def load_config_file(path: str | Path, *, data_dir: str | None = None, out_dir: str | None = None,
                     overrides: dict | None = None) -> TrainConfig:
    """The :class:`TrainConfig` a file describes; ``data_dir``, ``out_dir`` and ``overrides`` replace its values
    (a dataset and run folder on the server are rarely where they were on the laptop)."""
    path = Path(path).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read the config file {path}: {exc.strerror or exc}. Check the path.") from None
    except ValueError as exc:
        raise ConfigError(f"The config file {path} is not valid JSON ({exc}). Give a run_config.json, a run.json "
                          "or a project.json written by Foveal.") from None
    if not isinstance(data, dict):
        raise ConfigError(f"The config file {path} must hold a JSON object of settings.")
    if not isinstance(data.get("config", {}), dict) or not isinstance(data.get("settings", {}), dict):
        raise ConfigError(f"The config file {path} is damaged: its settings are not a JSON object.")
    if data.get("format") == "foveal-run":
        data = dict(data.get("config", {}))
    elif "dataset" in data and "settings" in data:  # a project
        data = _from_project(path, data)
    data = dict(data)
    if data_dir:
        data["data_dir"] = data_dir
    if out_dir:
        data["out_dir"] = out_dir
    data.update(overrides or {})
    if "data_dir" not in data:
        raise ConfigError(f"The config file {path} names no dataset folder: give it as `foveal train FOLDER "
                          "--config FILE`.")
    config = TrainConfig.from_dict(data)
    try:
        config.check_types()
    except ConfigError as exc:
        raise ConfigError(f"In the config file {path}: {exc}") from None
    return config


def _from_project(path: Path, project: dict) -> dict:
    from core.project import load_project

    p = load_project(path.parent)
    data = dict(p.settings, data_dir=p.dataset)
    if p.split_path.is_file():
        data["split_file"] = str(p.split_path)
    backbone = data.get("backbone", "run")
    data["out_dir"] = str(p.runs_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{backbone}")
    return data
