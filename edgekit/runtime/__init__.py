"""The on-device part: numpy and an interpreter, never TensorFlow (unless it is the only TFLite backend).

    from edgekit.runtime import load
    model = load("tflite-int8.tflite")
    prediction = model.predict(images)   # uint8 0..255 or float 0..1, (28, 28) or (N, 28, 28)
"""

from edgekit.runtime.model import Model, Prediction, load, prepare_images

__all__ = ["Model", "Prediction", "load", "prepare_images"]
