"""Loading a saved Foveal classifier (a run folder or a ``.keras`` file) safely, with its class names.

Keras's safe mode stays on: a model file that carries arbitrary Python code (a ``Lambda`` layer) is refused with
a message, unless the caller explicitly allows it. Foveal's own models never need that.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ModelFileError


@dataclass
class Classifier:
    """A loaded classifier: raw RGB images (0–255, any size) → class probabilities."""

    model: object
    classes: tuple[str, ...]
    image_size: int
    path: str
    run_dir: str | None = None
    run: dict | None = field(default=None, repr=False)
    #: The compiled forward function, made once on first prediction (see core.evaluation.predict).
    compiled: object = field(default=None, repr=False, compare=False)


def resolve_model_path(path: str | os.PathLike[str]) -> tuple[Path, Path | None]:
    """``(model file, run folder or None)`` for a run folder or a model file; raises ModelFileError."""
    p = Path(path).expanduser()
    if p.is_dir():
        model = p / "model.keras"
        if not model.is_file():
            raise ModelFileError(f"{p} has no model.keras. Choose a Foveal run folder that finished training, "
                                 "or the .keras file itself.")
        return model, p
    if not p.is_file():
        raise ModelFileError(f"{p} does not exist. Choose a Foveal run folder or a .keras model file.")
    if p.suffix.lower() != ".keras":
        raise ModelFileError(f"{p} is not a .keras model file. Choose a Foveal run folder or its model.keras "
                             "(other formats are what Foveal exports, not what it reads).")
    return p, p.parent if (p.parent / "run.json").is_file() else None


def load_classifier(path: str | os.PathLike[str], *, allow_unsafe: bool = False) -> Classifier:
    """Load a Foveal classifier from a run folder or a ``.keras`` file.

    Class names come from the run's ``run.json`` or a ``labels.txt`` next to the model (one per line, in output
    order); without either they are ``class 0``, ``class 1``…

    Raises
    ------
    ModelFileError
        When the file is missing, not a Keras model, or holds code and ``allow_unsafe`` is false.
    """
    import keras

    model_path, run_dir = resolve_model_path(path)
    try:
        model = keras.saving.load_model(model_path, safe_mode=not allow_unsafe, compile=False)
    except ValueError as exc:
        if "safe_mode" in str(exc) or "Lambda" in str(exc):
            raise ModelFileError(
                f"{model_path} contains arbitrary Python code (a Lambda layer), which could do anything on this "
                "computer. Foveal refused to run it. Only if you trust where the file came from, allow it "
                "(--allow-unsafe-model, or 'Allow code in model files' in the window).") from None
        raise ModelFileError(f"{model_path} cannot be loaded as a Keras model: {exc}") from None
    except Exception as exc:  # zip, h5 and deserialisation errors come in many types
        raise ModelFileError(f"{model_path} cannot be loaded as a Keras model ({type(exc).__name__}: {exc}). "
                             "Choose a model.keras saved by Foveal or Keras 3.") from None
    run = _read_json(run_dir / "run.json") if run_dir else None
    n_out = int(model.output_shape[-1])
    classes = _class_names(model_path, run, n_out)
    return Classifier(model, classes, _image_size(model, run), str(model_path), str(run_dir) if run_dir else None,
                      run)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _class_names(model_path: Path, run: dict | None, n_out: int) -> tuple[str, ...]:
    names: list[str] | None = None
    if run and isinstance(run.get("classes"), list):
        names = [str(c) for c in run["classes"]]
    elif (model_path.parent / "labels.txt").is_file():
        names = [ln.strip() for ln in (model_path.parent / "labels.txt").read_text("utf-8").splitlines() if ln.strip()]
    if names is None or len(names) != n_out:
        return tuple(f"class {i}" for i in range(n_out))
    return tuple(names)


def _image_size(model, run: dict | None) -> int:
    """The square size the model resizes to: its ``resize`` layer, else the run, else its input shape."""
    try:
        return int(model.get_layer("resize").get_config()["height"])
    except (ValueError, KeyError):
        pass
    if run and run.get("image_size"):
        return int(run["image_size"])
    shape = model.input_shape
    if shape[1] is None:
        raise ModelFileError("The model takes images of any size and has no 'resize' layer; Foveal cannot tell "
                             "which size to decode images at.")
    return int(shape[1])
