"""Exporting a trained classifier to Keras, SavedModel, TFLite and ONNX files that predict what Foveal predicts."""
