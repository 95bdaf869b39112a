"""The one place that knows where Foveal's bundled data lives, in a source tree, an installed wheel or a bundle.

The data is the ``foveal.resources`` package's (sample images, icons, license notices), found through
:mod:`importlib.resources`, so it is where the installed package is, whatever the current folder.
"""

from __future__ import annotations

from importlib import resources as _importlib_resources
from pathlib import Path


def resource_root() -> Path:
    """The folder of the installed ``foveal.resources`` package."""
    root = _importlib_resources.files("foveal.resources")
    if isinstance(root, Path):
        return root
    # A frozen bundle's loader answers with a reader over several places (its archive and its data folder);
    # the data lies beside the module's own file there, as in a wheel.
    import foveal.resources

    return Path(foveal.resources.__file__).resolve().parent


def resource_path(*parts: str) -> Path:
    """Path of a bundled file, e.g. ``resource_path("icons", "foveal.svg")``."""
    return resource_root().joinpath(*parts)


def samples_dir() -> Path:
    """The bundled sample dataset (three classes of synthetic stained-cell micrographs)."""
    return resource_path("samples")


def icon_paths() -> list[Path]:
    """The application icon at every size it is drawn at, smallest first."""
    return sorted(resource_path("icons").glob("foveal-*.png"), key=lambda p: int(p.stem.split("-")[1]))
