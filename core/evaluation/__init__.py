"""Evaluation: metrics on held-out images, every prediction, Grad-CAM, and the report. TensorFlow loads on use."""
