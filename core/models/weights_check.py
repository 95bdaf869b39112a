"""Whether a weights file a person chose fits a backbone, said in plain words before anything trains.

Keras only finds out when the backbone is built with the file, and then says "A total of 103 objects could not be
loaded" or "Layer count mismatch". :func:`check_weights_file` reads the file's table of layers first (h5py, no
TensorFlow), then builds the backbone's architecture without weights and compares: a file of another network is
named as such, with the number of layers that hold weights on each side and the file Keras would use. When the
numbers agree, Keras loads the file into the architecture, exactly as training will; only then does the file fit.
The window (off its GUI thread) and ``foveal train --weights FILE`` call it; :func:`build_backbone` uses it to
explain a file that does not load.
"""

from __future__ import annotations

import logging
import math
import os
import warnings

from foveal.core.models.registry import BackboneSpec

log = logging.getLogger(__name__)

#: File endings Keras reads weights from (``.weights.h5`` is Keras 3's own; ``.h5``/``.hdf5`` the older layout).
WEIGHTS_SUFFIXES = (".h5", ".hdf5")

#: The shapes of one layer's weights, in order.
Shapes = tuple[tuple[int, ...], ...]

_file_names: dict[str, str] = {}  # backbone → the name Keras gives its ImageNet weights without the top


def check_weights_file(spec: BackboneSpec, path: str) -> str | None:
    """None when the file at ``path`` holds weights that load into ``spec``'s backbone without its top; otherwise
    what is wrong with it and which file would fit, in words a person without Keras knowledge can act on.

    Reads the file and builds the architecture (a second or two; imports TensorFlow): call it off a GUI thread.
    """
    name = os.path.basename(path)
    if not os.path.isfile(path):
        return f"The weights file {path} is not there (moved or deleted?). {fitting_file(spec)}"
    if not name.lower().endswith(WEIGHTS_SUFFIXES):
        return (f"{name} is not a Keras weights file: Keras reads weights from files ending in .h5 or "
                f".weights.h5. {fitting_file(spec)}")
    found = file_layers(path)
    if found is None:
        return (f"{name} could not be read as a Keras weights file (it is not an HDF5 file, or it is damaged or "
                f"incomplete). {fitting_file(spec)}")
    if not found:
        return f"{name} holds no layer weights. {fitting_file(spec)}"
    backbone = _architecture(spec)
    expected = [tuple(tuple(w.shape) for w in layer.weights) for layer in backbone.layers if layer.weights]
    if len(found) != len(expected):
        if len(found) > len(expected) and found[:len(expected)] == expected:
            return (f"This file holds the weights of {spec.name} with its top (the layers that name ImageNet's "
                    f"1000 classes); Foveal puts its own top on the backbone. {fitting_file(spec)}")
        return (f"This file holds the weights of a different network ({len(found)} layers with weights; "
                f"{spec.name} has {len(expected)}). {fitting_file(spec)}")
    have, need = _numbers(found), _numbers(expected)
    if have != need:
        return (f"This file has as many layers with weights as {spec.name} ({len(expected)}), but of other sizes "
                f"({have:,} numbers in all; {spec.name} has {need:,}): it was made for another version of the "
                f"network (another width, for example). {fitting_file(spec)}")
    problem = _load_problem(backbone, path)
    if problem:
        return (f"This file has the layers of {spec.name} but Keras cannot load it into them ({problem}) "
                f"{fitting_file(spec)}")
    return None


def fitting_file(spec: BackboneSpec) -> str:
    """The sentence that says which file would fit ``spec``: Keras's own name for its weights without the top."""
    known = keras_file_name(spec)
    if known:
        return f"Choose {spec.name}'s weights without its top: Keras names that file '{known}'."
    return f"Choose the weights file made for {spec.name} without its top (include_top=False)."


def keras_file_name(spec: BackboneSpec) -> str:
    """Keras's file name for ``spec``'s ImageNet weights without the top ("" when Keras cannot say); remembered."""
    if spec.name not in _file_names:
        from foveal.core.models.build import imagenet_weights_status

        try:
            _file_names[spec.name] = imagenet_weights_status(spec)[0]
        except Exception:  # only the advice is lost: the check itself has its answer
            log.exception("Could not find Keras's weights file name for %s", spec.name)
            return ""
    return _file_names[spec.name]



def file_layers(path: str) -> list[Shapes] | None:
    """The shapes of each layer's weights in a Keras weights file, layers with weights only, in the file's order
    (None: not an HDF5 file Keras could read weights from). Reads the table of contents, not the weights."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "layers" in f and "layer_names" not in f.attrs:  # Keras 3: layers/<name>/vars/0, 1, …
                return _keras3_layers(f["layers"])
            group = f["model_weights"] if "layer_names" not in f.attrs and "model_weights" in f else f
            if "layer_names" not in group.attrs:
                return None
            return _legacy_layers(group)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        log.info("Weights file %s could not be read: %s", path, exc)
        return None


def _text(value: bytes | str) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _legacy_layers(group) -> list[Shapes]:
    """Keras 2's layout: ``layer_names`` in order, each layer's ``weight_names`` in order."""
    layers = []
    for layer_name in group.attrs["layer_names"]:
        layer = group[_text(layer_name)]
        names = [_text(n) for n in layer.attrs.get("weight_names", [])]
        if names:
            layers.append(tuple(tuple(layer[n].shape) for n in names))
    return layers


def _keras3_layers(group) -> list[Shapes]:
    """Keras 3's layout: one group per layer (nested models have their own ``layers``); stored by name, so the
    order is the file's, not the network's."""
    layers = []
    for key in group:
        layer = group[key]
        variables = layer.get("vars")
        if variables is not None and len(variables):
            layers.append(tuple(tuple(variables[k].shape) for k in sorted(variables, key=int)))
        if "layers" in layer:
            layers.extend(_keras3_layers(layer["layers"]))
    return layers


def _numbers(layers: list[Shapes]) -> int:
    """How many numbers the layers' weights hold in all."""
    return sum(math.prod(shape) for layer in layers for shape in layer)


def _architecture(spec: BackboneSpec):
    """``spec``'s backbone without its top and without weights (what a weights file is loaded into)."""
    import keras

    builder = getattr(keras.applications, spec.name)
    size = spec.input_size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return builder(include_top=False, weights=None, input_shape=(size, size, 3), **spec.builder_kwargs)


def _load_problem(backbone, path: str) -> str:
    """Keras's reason the file does not load into ``backbone`` ("" when it loads), its first line only."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            backbone.load_weights(path)
    except Exception as exc:  # Keras raises ValueError, KeyError, OSError… for a file that does not fit
        log.info("Keras could not load %s: %s", path, exc)
        return str(exc).strip().split("\n")[0].rstrip(".:")
    return ""
