"""The TFLite interpreter: LiteRT's (``ai_edge_litert``) where installed, else TensorFlow's own."""

from __future__ import annotations

import warnings

try:  # the interpreter Google now ships separately from TensorFlow
    from ai_edge_litert.interpreter import Interpreter
except ImportError:  # TensorFlow's copy, deprecated in its favour but identical for Foveal's models
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tensorflow.lite.python.interpreter import Interpreter

__all__ = ["Interpreter"]
