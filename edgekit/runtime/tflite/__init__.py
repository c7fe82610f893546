"""TFLite files: what the flatbuffer shows (graph, facts, ops, options), the structural check, the session."""
