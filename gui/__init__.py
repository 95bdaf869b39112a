"""Foveal's Qt window. Reaches TensorFlow/Keras only through :mod:`core`, on worker threads."""
