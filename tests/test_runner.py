"""The prepared call (``model.runner``) and ``predict`` answer bit for bit what a raw interpreter answers when
fed the old mapping (``contract.model_input`` then the input tensor's quantization), at batch 1, 7 and 256."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgekit.runtime import load
from edgekit.runtime.prediction import Prediction
from edgekit.runtime.quantization import to_tensor_dtype


def _raw_interpreter(path: Path, x: np.ndarray) -> np.ndarray:
    """The artifact run by its interpreter alone, without edgekit."""
    if path.suffix == ".tflite":
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=str(path), num_threads=1)
        index = interpreter.get_input_details()[0]["index"]
        interpreter.resize_tensor_input(index, list(x.shape))
        interpreter.allocate_tensors()
        interpreter.set_tensor(index, x)
        interpreter.invoke()
        return np.asarray(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {session.get_inputs()[0].name: x})[0])


@pytest.mark.parametrize("name", ["tflite-int8", "tflite-float32", "tflite-dynamic", "onnx-float32", "onnx-int8"])
@pytest.mark.parametrize("batch", [1, 7, 256])
def test_runner_and_predict_equal_the_raw_interpreter(name: str, batch: int, dense_artifacts, tiny_dataset) -> None:  # type: ignore[no-untyped-def]
    path = dense_artifacts[name].artifact
    model = load(path)
    images = tiny_dataset.test.images[:batch]
    old_mapping = to_tensor_dtype(model.contract.model_input(images), model.input_dtype, model.input_quant)
    expected = _raw_interpreter(path, old_mapping)
    reference = Prediction(expected, model.output_quant, model.class_names, model.contract.output_kind)
    run = model.runner(batch)
    for answer in (run(images), run(images), model.predict(images), model.predict(images)):  # buffers reused
        np.testing.assert_array_equal(answer.raw, expected)
        np.testing.assert_array_equal(answer.labels, expected.argmax(axis=1))
        np.testing.assert_array_equal(answer.probabilities, reference.probabilities)
        assert answer.class_names == model.class_names and answer.output_quant == model.output_quant
    if batch == 1:
        np.testing.assert_array_equal(run(images[0]).raw, expected)  # one sample without a batch axis


def test_runner_takes_the_general_path_for_what_it_was_not_prepared_for(dense_artifacts, tiny_dataset) -> None:  # type: ignore[no-untyped-def]
    model = load(dense_artifacts["tflite-int8"].artifact)
    run, images = model.runner(1), tiny_dataset.test.images[:5]
    np.testing.assert_array_equal(run(images).raw, model.run_model_inputs(model.contract.model_input(images)).raw)
    as_unit = images[:1].astype(np.float32) / 255  # pixels / 255, the raw input rule's other form
    np.testing.assert_array_equal(run(as_unit).raw, run(images[:1]).raw)
    assert run(images[:1]).labels.shape == (1,)


@pytest.mark.parametrize("name", ["tflite-int8", "tflite-float32", "tflite-float16", "onnx-float32", "onnx-int8"])
@pytest.mark.parametrize("batch", [1, 256])
def test_runner_writes_the_input_tensor_fresh_every_call(name: str, batch: int, dense_artifacts, tiny_dataset) -> None:  # type: ignore[no-untyped-def]
    """The own runner writes the interpreter's input tensor through a view it holds (TFLite) or a bound
    buffer (onnxruntime IOBinding): a view taken before the first invoke points at memory the delegate freed
    (it corrupted the heap within 100 calls), a stale binding would answer the previous image. A new image
    every call, 60 calls, each against the general path; the runner outlives its model."""
    import gc

    model = load(dense_artifacts[name].artifact)
    run = model.runner(batch)
    assert run.__qualname__.split(".")[1] in ("_prepared_own", "prepared")  # the tensor/binding path, not a fallback
    pool = tiny_dataset.test.images
    batches = [np.roll(pool, k, axis=0)[:batch] for k in range(6)]
    expected = [model.run_model_inputs(model.contract.model_input(b)).raw for b in batches]
    del model
    gc.collect()
    for call in range(60):
        np.testing.assert_array_equal(run(batches[call % 6]).raw, expected[call % 6], err_msg=f"call {call}")
