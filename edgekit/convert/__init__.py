"""Keras -> TFLite and ONNX conversion with manifests and parity checks."""
