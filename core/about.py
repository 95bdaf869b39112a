"""What this Foveal is: its version, the versions of the libraries that shape its results, the licenses of
everything it ships with, and where it keeps its log files."""

from __future__ import annotations

import logging
import logging.handlers
import platform
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import foveal.core

#: The libraries named in the About window and ``foveal --version``, in that order.
KEY_LIBRARIES = ("tensorflow", "keras", "numpy", "PySide6-Essentials", "pyqtgraph", "Pillow", "pydicom",
                 "tifffile", "scikit-learn", "onnxruntime")


def version_text() -> str:
    """``Foveal 0.1.0`` and the key library versions, one per line."""
    lines = [f"Foveal {foveal.core.__version__}", f"Python {sys.version.split()[0]} on {platform.platform()}"]
    lines += [f"{name} {library_version(name)}" for name in KEY_LIBRARIES]
    return "\n".join(lines)


def library_version(dist: str) -> str:
    """The installed version of a distribution, or "not installed"."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def third_party_licenses() -> list[tuple[str, str, str]]:
    """``(name, version, license)`` of every package Foveal depends on, directly or not, as their own metadata
    declares it, sorted by name."""
    seen: dict[str, tuple[str, str, str]] = {}
    todo = [_requirement_name(r) for r in (_requires("foveal") or _requires_from_core())]
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[key] = (dist.metadata["Name"], dist.version, _license_of(dist))
        todo += [_requirement_name(r) for r in dist.requires or () if "extra ==" not in r]
    return sorted(seen.values(), key=lambda t: t[0].lower())


def licenses_text() -> str:
    rows = third_party_licenses()
    width = max((len(n) + len(v) for n, v, _ in rows), default=10) + 3
    out = ["Foveal is licensed under the Apache License 2.0. It ships with these components, under their own "
           "licenses (Qt for Python: LGPL-3.0, dynamically linked; see the licenses folder):", ""]
    out += [f"{f'{n} {v}':<{width}}{lic}" for n, v, lic in rows]
    return "\n".join(out)


def _requires(dist: str) -> list[str] | None:
    try:
        return [r for r in metadata.requires(dist) or [] if "extra ==" not in r]
    except metadata.PackageNotFoundError:
        return None


def _requires_from_core() -> list[str]:
    """The dependency list of a source tree that was never installed: pyproject.toml beside core/."""
    import tomllib

    pyproject = Path(foveal.core.__file__).resolve().parent.parent / "pyproject.toml"
    try:
        return list(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"])
    except (OSError, KeyError, ValueError):
        return []


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[(]", requirement.strip(), maxsplit=1)[0]


def _license_of(dist: metadata.Distribution) -> str:
    meta: Any = dist.metadata  # an email.message.Message; the PackageMetadata protocol lacks .get
    expression = meta.get("License-Expression")
    if expression:
        return expression
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    text = (meta.get("License") or "").strip()
    if classifiers:
        return ", ".join(classifiers)
    return text.splitlines()[0][:80] if text else "see the package's own files"


def log_dir() -> Path:
    """Foveal's log folder (e.g. ``~/.local/state/foveal/log`` on Linux)."""
    from platformdirs import user_log_path

    return user_log_path("foveal")


def start_log_file(name: str = "foveal.log") -> Path | None:
    """Log INFO and above to a rotating file in :func:`log_dir` (5 files of 1 MB); returns its path, or None
    when the folder cannot be written (Foveal then logs to the terminal only)."""
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(folder / name, maxBytes=1 << 20, backupCount=4,
                                                       encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    logging.getLogger().addHandler(handler)
    return folder / name
