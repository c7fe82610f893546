"""The on-device part: numpy and an interpreter, never TensorFlow (unless it is the only TFLite backend).

from edgekit.runtime import load
model = load("tflite-int8.tflite")
prediction = model.predict(images)   # raw samples: uint8 0..255 (or float 0..1) for 8-bit image models
"""

from edgekit.runtime.inputs import prepare_images
from edgekit.runtime.model import Model, load
from edgekit.runtime.prediction import Prediction

__all__ = ["Model", "Prediction", "load", "prepare_images"]
