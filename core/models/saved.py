"""Loading a saved Foveal classifier (a run folder or a ``.keras`` file) safely, with its class names.

Keras's safe mode stays on: a model file that carries arbitrary Python code (a ``Lambda`` layer) is refused with
a message, unless the caller explicitly allows it. Foveal's own models never need that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foveal.core.errors import ModelFileError
from foveal.core.run_record import RunRecord
from foveal.core.runs import read_run


@dataclass
class Classifier:
    """A loaded classifier: raw RGB images (0–255, any size) → class probabilities."""

    #: The ``keras.Model`` (typed ``Any``: Keras has no type information).
    model: Any
    classes: tuple[str, ...]
    image_size: int
    path: str
    run_dir: str | None = None
    run: RunRecord | None = field(default=None, repr=False)
    #: The compiled forward function, made once on first prediction (see core.models.predict).
    compiled: Any = field(default=None, repr=False, compare=False)
    #: How familiar an image looks (core.models.familiar.Familiarity); None for runs made before Foveal kept it.
    familiarity: Any = field(default=None, repr=False, compare=False)
    #: Over how many orientations the model averages its features (core.models.orientation): 1 or 8.
    orientations: int = 1
    #: The grid of overlapping tiles the model reads (core.models.tiles): 0 (the whole image at once) or 2.
    #: ``image_size`` is then the canvas the tiles are cut from, and ``image_size // tiles`` a tile's side.
    tiles: int = 0


#: Limits on a .keras archive, checked before Keras inflates anything (the idea of Pillow's bomb guard): a
#: Foveal model of the largest backbone is ~600 MB of weights, and its config.json well under 10 MB.
MAX_MEMBER_BYTES = 4 * 1024**3
MAX_CONFIG_BYTES = 64 * 1024**2
MAX_COMPRESSION_RATIO = 200


def resolve_model_path(path: str | os.PathLike[str]) -> tuple[Path, Path | None]:
    """``(model file, run folder or None)`` for a run folder or a model file; raises ModelFileError."""
    p = Path(path).expanduser()
    if p.is_dir():
        model = p / "model.keras"
        if not model.is_file():
            if (p / "run_config.json").is_file() or (p / "run.json").is_file():
                read_run(p)  # says what is wrong with the run (unfinished, damaged…)
            raise ModelFileError(f"{p} has no model.keras. Choose a Foveal run folder that finished training, "
                                 "or the .keras file itself.")
        return model, p
    if not p.exists():
        raise ModelFileError(f"{p} does not exist. Choose a Foveal run folder or a .keras model file.")
    if not p.is_file():
        raise ModelFileError(f"{p} is not a file. Choose a Foveal run folder or a .keras model file.")
    if p.suffix.lower() != ".keras":
        raise ModelFileError(f"{p} is not a .keras model file. Choose a Foveal run folder or its model.keras "
                             "(other formats are what Foveal exports, not what it reads).")
    return p, p.parent if (p.parent / "run.json").is_file() else None


def check_archive(path: Path) -> None:
    """Refuse a ``.keras`` file that is not a zip archive of a Keras model, or that would inflate to far more
    than any model (a zip bomb), before anything is decompressed."""
    import zipfile

    invalid = (f"{path} is not a valid Foveal/Keras model file ({{}}). Choose the model.keras of a Foveal run "
               "folder, or copy the file again if it was cut short.")
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ModelFileError(invalid.format(f"not a readable zip archive: {exc}")) from None
    names = {m.filename for m in members}
    if "config.json" not in names:
        raise ModelFileError(invalid.format("it holds no config.json"))
    for m in members:
        ratio = m.file_size / max(m.compress_size, 1)
        limit = MAX_CONFIG_BYTES if m.filename.endswith(".json") else MAX_MEMBER_BYTES
        if m.file_size > limit or (ratio > MAX_COMPRESSION_RATIO and m.file_size > 1024**2):
            raise ModelFileError(invalid.format(
                f"refused: '{m.filename}' would inflate from {m.compress_size:,} to {m.file_size:,} bytes, "
                "far more than a model holds (a damaged file or a zip bomb)"))


def load_classifier(path: str | os.PathLike[str], *, allow_unsafe: bool = False) -> Classifier:
    """Load a Foveal classifier from a run folder or a ``.keras`` file.

    Class names come from the run's ``run.json`` or a ``labels.txt`` next to the model (one per line, in output
    order); a model with neither, or whose names do not match its outputs, is refused: made-up names would be
    shown as if they were real.

    Raises
    ------
    ModelFileError
        When the file is missing, not a Keras model, or holds code and ``allow_unsafe`` is false.
    RunFolderError
        When the run folder beside it is unfinished or damaged.
    """
    import keras

    model_path, run_dir = resolve_model_path(path)
    run = read_run(run_dir) if run_dir else None
    check_archive(model_path)
    try:
        model = keras.saving.load_model(model_path, safe_mode=not allow_unsafe, compile=False)
    except ValueError as exc:
        if "safe_mode" in str(exc) or "Lambda" in str(exc):
            raise ModelFileError(
                f"{model_path} contains arbitrary Python code (a Lambda layer), which could do anything on this "
                "computer. Foveal refused to run it. Only if you trust where the file came from, allow it "
                "(--allow-unsafe-model on the command line).") from None
        raise ModelFileError(f"{model_path} is not a valid Foveal/Keras model file: {exc}") from None
    except Exception as exc:  # zip, h5 and deserialisation errors come in many types
        raise ModelFileError(f"{model_path} is not a valid Foveal/Keras model file ({type(exc).__name__}: "
                             f"{exc}). Choose a model.keras saved by Foveal or Keras 3.") from None
    try:
        n_out = int(model.output_shape[-1])
    except (AttributeError, TypeError, ValueError, IndexError):
        raise ModelFileError(f"{model_path} is not a classifier: it has no single output of class "
                             "probabilities.") from None
    classes = _class_names(model_path, run, n_out)
    return Classifier(model, classes, _image_size(model, run), str(model_path), str(run_dir) if run_dir else None,
                      run, familiarity=_familiarity(model, run_dir), orientations=_orientations(model, model_path, run),
                      tiles=_tiles(model, model_path, run))


def _orientations(model: Any, model_path: Path, run: RunRecord | None) -> int:
    """Over how many orientations the model averages, refused where its run.json says otherwise (the report and
    the window would describe a model that is not the one predicting)."""
    from foveal.core.models.orientation import describe, orientations_of

    n = orientations_of(model)
    said = run.orientations if run is not None and run.orientations is not None else None
    if said is not None and said != n:
        raise ModelFileError(f"{model_path.parent / 'run.json'} says the model sees images {describe(said)}, but "
                             f"{model_path.name} sees them {describe(n)}: they do not belong together. Use the run "
                             "folder the model was saved in.")
    return n


def _tiles(model: Any, model_path: Path, run: RunRecord | None) -> int:
    """The grid of tiles the model reads, refused where its run.json says otherwise (as for orientations)."""
    from foveal.core.models.tiles import describe, tiles_of

    try:
        grid = tiles_of(model)
    except ValueError as exc:
        raise ModelFileError(f"{model_path} is not a valid Foveal model: {exc}. Use a model.keras saved by Foveal."
                             ) from None
    said = run.tiles if run is not None and "tiles" not in run.absent else None
    if said is not None and said != grid:
        size = run.image_size if run is not None else 0
        raise ModelFileError(f"{model_path.parent / 'run.json'} says the model reads {describe(said, size)}, but "
                             f"{model_path.name} reads {describe(grid, size)}: they do not belong together. Use the "
                             "run folder the model was saved in.")
    return grid


def _familiarity(model: Any, run_dir: Path | None) -> Any:
    """The run's familiarity statistics when they fit this model's pooled features (else None)."""
    from foveal.core.models.familiar import Familiarity
    from foveal.core.models.predict import feature_layer_output

    fam = Familiarity.load(run_dir)
    features = feature_layer_output(model) if fam is not None else None
    if fam is None or features is None or int(features.shape[-1]) != fam.reference.shape[1]:
        return None
    return fam


def _class_names(model_path: Path, run: RunRecord | None, n_out: int) -> tuple[str, ...]:
    labels = model_path.parent / "labels.txt"
    if run is not None:
        names, source = list(run.classes), model_path.parent / "run.json"
    elif labels.is_file():
        try:
            text = labels.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelFileError(f"{labels} cannot be read ({exc}). Write one class name per line.") from None
        # One name per line, kept exactly as the export wrote it (a class folder may end with a space); only line
        # ends are taken off, and blank lines skipped (a hand-written file may end with one).
        names, source = [ln.rstrip("\r") for ln in text.split("\n") if ln.strip()], labels
    else:
        raise ModelFileError(f"{model_path} has no class names: neither a run.json nor a labels.txt lies beside "
                             "it. Open the run folder it was saved in, or write a labels.txt beside it with one "
                             "class name per line, in the model's output order.")
    if len(names) != n_out:
        raise ModelFileError(f"{source} names {len(names)} classes but the model {model_path.name} has {n_out} "
                             "outputs: they do not belong together. Use the run folder the model was saved in.")
    return tuple(names)


def _image_size(model, run: RunRecord | None) -> int:
    """The square size the model resizes to: its ``resize`` layer, else the run, else its input shape."""
    try:
        return int(model.get_layer("resize").get_config()["height"])
    except (ValueError, KeyError):
        pass
    if run is not None:
        return run.image_size
    shape = model.input_shape
    if shape[1] is None:
        raise ModelFileError("The model takes images of any size and has no 'resize' layer; Foveal cannot tell "
                             "which size to decode images at.")
    return int(shape[1])
