"""The on-device part: numpy and an interpreter, never TensorFlow."""
