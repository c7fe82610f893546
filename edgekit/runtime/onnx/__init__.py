"""ONNX files: what the protobuf shows (graph, read from the wire) and the onnxruntime session."""
