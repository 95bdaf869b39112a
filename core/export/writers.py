"""Writing each export format, and running a written file with its own runtime (for the check after export).

Every format takes raw RGB uint8 images ``(N, H, W, 3)`` of any size and returns class probabilities: the
resize and the backbone's preprocessing are inside. The runners load the file with nothing of Foveal's.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from foveal.core.models.saved import Classifier

FORMATS = ("keras", "savedmodel", "tflite", "onnx")
TFLITE_TYPES = ("float32", "float16", "int8")
#: The file or folder name of the model inside the export folder.
MODEL_NAMES = {"keras": "model.keras", "savedmodel": "saved_model", "tflite": "model.tflite",
               "onnx": "model.onnx"}


def write_keras(classifier: Classifier, path: Path, **_) -> None:
    """The run's own ``model.keras`` (it already takes raw images of any size)."""
    shutil.copyfile(classifier.path, path)


def write_savedmodel(classifier: Classifier, path: Path, **_) -> None:
    """A TensorFlow SavedModel with a ``serving_default`` signature ``image`` (uint8) → ``probabilities``."""
    import tensorflow as tf

    from foveal.core.export.graph import raw_image_function

    module = tf.Module()
    module.model = classifier.model  # tracked, so its variables are saved
    module.predict = raw_image_function(classifier)
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.predict})


def write_tflite(classifier: Classifier, path: Path, *, tflite_type: str = "float32",
                 representative: Callable[[], Iterator[np.ndarray]] | None = None, **_) -> None:
    """A TFLite flatbuffer: float32 weights, float16 weights, or int8 (calibrated on ``representative``)."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from foveal.core.export.graph import raw_image_function

    # Keras 3 variables stay resource variables on the converter's own routes (and read as uninitialised in
    # the interpreter); folding them into constants first gives a plain, self-contained graph.
    frozen = convert_variables_to_constants_v2(raw_image_function(classifier).get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    _configure(converter, tflite_type, representative)
    if tflite_type != "int8":
        path.write_bytes(converter.convert())
        return
    # Full-integer quantization would also quantize the resize weights, whose ranges depend on the input size
    # (calibration cannot know every size); the quantization debugger's denylist keeps those nodes in float.
    float_model = tf.lite.TFLiteConverter.from_concrete_functions([frozen]).convert()
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=_resize_nodes(float_model))
    with warnings.catch_warnings():  # the debugger uses TensorFlow's deprecated interpreter internally
        warnings.simplefilter("ignore", UserWarning)
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=converter.representative_dataset, debug_options=options)
        path.write_bytes(debugger.get_nondebug_quantized_model())


def _resize_nodes(model_content: bytes) -> list[str]:
    """Output tensor names of the resize operations in a float TFLite model."""
    from foveal.core.export.graph import RESIZE_SCOPE
    from foveal.core.export.tflite_runtime import Interpreter

    interpreter = Interpreter(model_content=model_content)
    names = []
    for op in interpreter._get_ops_details():  # noqa: SLF001 - the interpreter's only listing of its operations
        for t in op["outputs"]:
            name = interpreter._get_tensor_details(t, 0)["name"]  # noqa: SLF001 - as above
            if RESIZE_SCOPE in name:
                names.append(name)
    return names


def _configure(converter, tflite_type: str, representative) -> None:
    import tensorflow as tf

    if tflite_type == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif tflite_type == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([x] for x in representative())


def write_onnx(classifier: Classifier, path: Path, **_) -> None:
    """An ONNX model (opset 17) converted by tf2onnx from the same graph."""
    import tensorflow as tf
    import tf2onnx

    from foveal.core.export.graph import raw_image_function

    fn = raw_image_function(classifier)
    spec = (tf.TensorSpec([None, None, None, 3], tf.uint8, name="image"),)
    tf2onnx.convert.from_function(fn, input_signature=spec, opset=17, output_path=str(path))


WRITERS = {"keras": write_keras, "savedmodel": write_savedmodel, "tflite": write_tflite, "onnx": write_onnx}


# ---- running an export with its own runtime ----------------------------------------------------------------

def runner(fmt: str, path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """``run(image)``: probabilities for one uint8 ``(H, W, 3)`` image, using only the format's runtime."""
    return {"keras": _keras_runner, "savedmodel": _savedmodel_runner, "tflite": _tflite_runner,
            "onnx": _onnx_runner}[fmt](path)


def _keras_runner(path: Path):
    import keras

    model = keras.saving.load_model(path, safe_mode=True, compile=False)
    return lambda image: np.asarray(model(image[None].astype(np.float32), training=False))[0]


def _savedmodel_runner(path: Path):
    import tensorflow as tf

    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    return lambda image: serve(image=tf.constant(image[None]))["probabilities"].numpy()[0]


def _tflite_runner(path: Path):
    from foveal.core.export.tflite_runtime import Interpreter

    interpreter = Interpreter(model_path=str(path))
    inp = interpreter.get_input_details()[0]["index"]
    out = interpreter.get_output_details()[0]["index"]

    def run(image: np.ndarray) -> np.ndarray:
        interpreter.resize_tensor_input(inp, [1, *image.shape])
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp, image[None])
        interpreter.invoke()
        return interpreter.get_tensor(out)[0]

    return run


def _onnx_runner(path: Path):
    import onnxruntime as ort  # its telemetry is off: core.runtime set ORT_DISABLE_TELEMETRY before this import

    ort.disable_telemetry_events()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda image: session.run(None, {name: image[None]})[0][0]


def size_of(path: Path) -> int:
    """Bytes of a file, or of every file in a folder."""
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return os.path.getsize(path)
