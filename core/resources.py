"""The one place that knows where Foveal's bundled data lives, in a source tree, an installed wheel or a bundle.

The data is the ``foveal.resources`` package's (sample images, icons, license notices and, in a bundle built
with one, the recommended backbone's ImageNet weights), found through
:mod:`importlib.resources`, so it is where the installed package is, whatever the current folder.
"""

from __future__ import annotations

import os
import re
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


def bundled_weights(file_name: str) -> Path | None:
    """A backbone's ImageNet weights file carried by the installation, under Keras's own file name, or None.

    A desktop bundle built with a weights file (packaging/bundle_weights.py) carries the recommended backbone's
    weights in ``weights/``, so its first training reaches real accuracy with no network.
    """
    if not file_name or os.sep in file_name or "/" in file_name:
        return None
    # Keras names a MobileNet file by the input size it was trained at (96…224 px); the carried 224-px file fits
    # every size (the network is fully convolutional), as Keras itself uses it for sizes it has no file for.
    for name in (file_name, _SIZED.sub(r"\g<1>224\g<2>", file_name)):
        path = resource_path("weights", name)
        if path.is_file():
            return path
    return None


_SIZED = re.compile(r"(_)(?:96|128|160|192)(_no_top\.h5)$")
