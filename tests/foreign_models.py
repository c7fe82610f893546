"""Artifacts as other people publish them, built from the fixture models: no edgekit metadata, no sidecar.

Each builder returns a ``Foreign``: the file, and how to feed the raw interpreter by hand (what the model's
author would tell you), so tests can compare edgekit with the interpreter fed correctly.

- ``softmax_tflite``: float32 NHWC (28, 28, 1), pixels / 255, softmax head;
- ``uint8_raw_tflite``: uint8 input with no quantization (scale 0): raw pixels, the model rescales itself;
- ``uint8_full_integer_tflite``: full-integer with uint8 input and uint8 (softmax) output;
- ``nchw_onnx``: NCHW (10, 1, 28, 28) with a fixed batch of 10, pixels / 255, logits (a PyTorch-style export);
- ``softmax_onnx``: NHWC (N, 28, 28, 1) fed raw 0..255 floats, softmax head;
- ``external_data_onnx``: the NCHW model saved with its weights in ``model.onnx.data`` beside it;
- ``edgetpu_tflite``: a TFLite file whose op is the Edge TPU's custom op.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Foreign:
    """A third-party-style artifact and the preprocessing its author documents."""

    path: Path
    feed: Callable[[np.ndarray], np.ndarray]  # uint8 (N, 28, 28) images -> what the input tensor takes
    probabilities: bool  # the output is already probabilities


def _layers(keras_model: Any) -> list[Any]:
    """The trained layers after the input (the fixture CNN starts with a Reshape to add a channel)."""
    return [layer for layer in keras_model.layers if type(layer).__name__ not in ("InputLayer", "Reshape")]


def _wrap(keras_model: Any, inputs: Any, x: Any, softmax: bool) -> Any:
    import keras

    for layer in _layers(keras_model):
        x = layer(x, training=False) if type(layer).__name__ == "Dropout" else layer(x)
    if softmax:
        x = keras.layers.Softmax(name="probabilities")(x)
    return keras.Model(inputs, x)


def _tflite(model: Any, **settings: Any) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    for key, value in settings.items():
        setattr(converter, key, value)
    return bytes(converter.convert())


def softmax_tflite(keras_model: Any, folder: Path) -> Foreign:
    import keras

    inputs = keras.Input((28, 28, 1))
    model = _wrap(keras_model, inputs, inputs, softmax=True)
    path = folder / "mnist_softmax.tflite"
    path.write_bytes(_tflite(model))
    return Foreign(path, lambda x: (x.astype(np.float32) / 255.0)[..., None], probabilities=True)


def uint8_raw_tflite(keras_model: Any, folder: Path) -> Foreign:
    import keras

    inputs = keras.Input((28, 28, 1), dtype="uint8")
    x = keras.layers.Rescaling(1.0 / 255.0)(keras.ops.cast(inputs, "float32"))
    model = _wrap(keras_model, inputs, x, softmax=False)
    path = folder / "mnist_uint8_raw.tflite"
    path.write_bytes(_tflite(model))
    return Foreign(path, lambda x: x.astype(np.uint8)[..., None], probabilities=False)


def uint8_full_integer_tflite(keras_model: Any, folder: Path, calibration: np.ndarray) -> Foreign:
    import keras
    import tensorflow as tf

    inputs = keras.Input((28, 28, 1))
    model = _wrap(keras_model, inputs, inputs, softmax=True)
    unit = (calibration.astype(np.float32) / 255.0)[..., None]

    def representative() -> Any:
        for i in range(len(unit)):
            yield [unit[i : i + 1]]

    content = _tflite(
        model,
        optimizations=[tf.lite.Optimize.DEFAULT],
        representative_dataset=representative,
        target_spec=_int8_spec(tf),
        inference_input_type=tf.uint8,
        inference_output_type=tf.uint8,
    )
    path = folder / "mnist_full_uint8.tflite"
    path.write_bytes(content)
    scale, zero = _input_quant(content)
    return Foreign(
        path,
        lambda x: np.clip(np.round(x.astype(np.float32) / 255.0 / scale + zero), 0, 255).astype(np.uint8)[..., None],
        probabilities=True,
    )


def _int8_spec(tf: Any) -> Any:
    spec = tf.lite.TargetSpec()
    spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return spec


def _input_quant(content: bytes) -> tuple[float, int]:
    from ai_edge_litert.interpreter import Interpreter

    detail = Interpreter(model_content=content).get_input_details()[0]
    scale, zero = detail["quantization"]
    return float(scale), int(zero)


def _onnx(model: Any, shape: tuple[Any, ...]) -> Any:
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec(shape, tf.float32, name="input.1"),)
    fn = tf.function(lambda x: model(x, training=False), input_signature=spec)
    proto, _ = tf2onnx.convert.from_function(fn, input_signature=spec, opset=17)
    return proto


def nchw_onnx(keras_model: Any, folder: Path) -> Foreign:
    import keras
    import onnx

    inputs = keras.Input((1, 28, 28))
    x = keras.layers.Permute((2, 3, 1))(inputs)  # the Keras layers run NHWC behind a transpose, as in PyTorch ports
    model = _wrap(keras_model, inputs, x, softmax=False)
    path = folder / "mnist_nchw_b10.onnx"
    onnx.save(_onnx(model, (10, 1, 28, 28)), path)
    return Foreign(path, lambda x: (x.astype(np.float32) / 255.0)[:, None], probabilities=False)


def softmax_onnx(keras_model: Any, folder: Path) -> Foreign:
    import keras
    import onnx

    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Rescaling(1.0 / 255.0)(inputs)
    model = _wrap(keras_model, inputs, x, softmax=True)
    path = folder / "mnist_softmax_raw255.onnx"
    onnx.save(_onnx(model, (None, 28, 28, 1)), path)
    return Foreign(path, lambda x: x.astype(np.float32)[..., None], probabilities=True)


def external_data_onnx(nchw: Foreign, folder: Path) -> Foreign:
    import onnx

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.onnx"
    onnx.save_model(
        onnx.load(nchw.path),
        path,
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="model.onnx.data",
        size_threshold=1024,
    )
    return Foreign(path, nchw.feed, nchw.probabilities)


def edgetpu_tflite(source: Path, folder: Path) -> Path:
    """The first operator of a .tflite turned into the Edge TPU compiler's custom op."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(source.read_bytes(), 0))
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = "edgetpu-custom-op"
    model.operatorCodes.append(code)
    model.subgraphs[0].operators[0].opcodeIndex = len(model.operatorCodes) - 1
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = folder / "mnist_edgetpu.tflite"
    path.write_bytes(bytes(builder.Output()))
    return path


def raw_interpreter_outputs(foreign: Foreign, images: np.ndarray) -> np.ndarray:
    """What the plain interpreter returns (dequantized to float) when fed as the author documents."""
    fed = foreign.feed(images)
    if foreign.path.suffix == ".onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(foreign.path), providers=["CPUExecutionProvider"])
        meta = session.get_inputs()[0]
        batch = meta.shape[0] if isinstance(meta.shape[0], int) else len(fed)
        padded = np.concatenate([fed, np.zeros((-len(fed) % batch, *fed.shape[1:]), fed.dtype)])
        outs = [session.run(None, {meta.name: padded[i : i + batch]})[0] for i in range(0, len(padded), batch)]
        return np.concatenate(outs)[: len(fed)].astype(np.float32)
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(foreign.path))
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.allocate_tensors()
    rows = []
    for i in range(len(fed)):  # one image a call: the file's batch of 1, as its author runs it
        interpreter.set_tensor(inp["index"], fed[i : i + 1])
        interpreter.invoke()
        rows.append(interpreter.get_tensor(out["index"]))
    raw = np.concatenate(rows)
    scale, zero = out["quantization"]
    return ((raw.astype(np.float32) - zero) * scale) if scale else raw.astype(np.float32)
