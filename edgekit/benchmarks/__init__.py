"""Latency, accuracy and drift against the Keras reference; reports."""
