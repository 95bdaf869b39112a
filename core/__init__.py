"""Foveal's headless core: data ingest, models, training and evaluation.

Importing this package is cheap: TensorFlow and Keras are imported only by the functions that need them.
"""

__version__ = "0.1.0"
