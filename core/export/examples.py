"""``predict_example.py`` for each export format: runnable, using only that format's runtime, Pillow and NumPy."""

from __future__ import annotations

from pathlib import Path

_HEAD = '''"""Predict classes of images with this exported Foveal model ({what}).

    python predict_example.py IMAGE [IMAGE ...]

Needs only {needs}, Pillow and NumPy. The model takes raw RGB images of any size as uint8 (0-255): resizing
and preprocessing are inside it. 16-bit, float and DICOM images need mapping to 0-255 first (Foveal maps them
from their own range; see Foveal's docs/dataset.md).
"""

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
LABELS = (HERE / "labels.txt").read_text(encoding="utf-8").splitlines()


def load_rgb(path):
    """The image as Foveal reads it: EXIF orientation applied, RGB, uint8, its own size."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            im = im.convert("RGBA")
            black = Image.new("RGBA", im.size, (0, 0, 0, 255))
            im = Image.alpha_composite(black, im)
        return np.asarray(im.convert("RGB"), dtype=np.uint8)

'''

_TAIL = '''

def main():
    for path in sys.argv[1:]:
        probs = predict(load_rgb(path))
        top = np.argsort(probs)[::-1][:3]
        print(path + ": " + ", ".join(f"{LABELS[k]} {probs[k]:.4f}" for k in top))


if __name__ == "__main__":
    main()
'''

_BODIES = {
    "keras": ("a Keras 3 model.keras", "Keras 3 (with TensorFlow, JAX or PyTorch)", '''import keras

MODEL = keras.saving.load_model(HERE / "model.keras", compile=False)


def predict(rgb):
    return np.asarray(MODEL(rgb[None].astype("float32"), training=False))[0]
'''),
    "savedmodel": ("a TensorFlow SavedModel", "TensorFlow", '''import tensorflow as tf

SERVE = tf.saved_model.load(str(HERE / "saved_model")).signatures["serving_default"]


def predict(rgb):
    return SERVE(image=tf.constant(rgb[None]))["probabilities"].numpy()[0]
'''),
    "tflite": ("a TensorFlow Lite model", "LiteRT (ai-edge-litert) or TensorFlow's tf.lite", '''try:
    from ai_edge_litert.interpreter import Interpreter
except ImportError:
    from tensorflow.lite.python.interpreter import Interpreter

INTERPRETER = Interpreter(model_path=str(HERE / "model.tflite"))
INPUT = INTERPRETER.get_input_details()[0]["index"]
OUTPUT = INTERPRETER.get_output_details()[0]["index"]


def predict(rgb):
    INTERPRETER.resize_tensor_input(INPUT, [1, *rgb.shape])
    INTERPRETER.allocate_tensors()
    INTERPRETER.set_tensor(INPUT, rgb[None])
    INTERPRETER.invoke()
    return INTERPRETER.get_tensor(OUTPUT)[0]
'''),
    "onnx": ("an ONNX model", "onnxruntime", '''import os

# onnxruntime otherwise writes a device id and a telemetry queue under ~/.cache (read before it is imported).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ORT_TELEMETRY_DISABLED", "1")
import onnxruntime as ort  # noqa: E402

ort.disable_telemetry_events()
SESSION = ort.InferenceSession(str(HERE / "model.onnx"), providers=["CPUExecutionProvider"])
INPUT = SESSION.get_inputs()[0].name


def predict(rgb):
    return SESSION.run(None, {INPUT: rgb[None]})[0][0]
'''),
}


def read_labels(folder: Path) -> list[str]:
    """labels.txt in ``folder`` read back as ``predict_example.py`` reads it (its ``LABELS`` line): one class
    name per line of UTF-8 text."""
    return (folder / "labels.txt").read_text(encoding="utf-8").splitlines()


def example_source(fmt: str) -> str:
    """The text of ``predict_example.py`` for ``fmt``."""
    what, needs, body = _BODIES[fmt]
    return _HEAD.format(what=what, needs=needs) + body + _TAIL
