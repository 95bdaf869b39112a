"""Foveal's headless core: data ingest, models, training and evaluation.

Importing this package is cheap: TensorFlow and Keras are imported only by the functions that need them.
It sets the process's TensorFlow allocator first (see :mod:`core.runtime`).
"""

from foveal.core.runtime import prepare_environment

__version__ = "0.1.0"

prepare_environment()
