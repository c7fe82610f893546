"""edgekit's own ONNX int8 output: the shared-constant case onnxruntime rejects, and how a refusal is named."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from edgekit.convert import onnx as edgekit_onnx  # noqa: E402
from edgekit.convert.own_output import first_failing_onnx_node, refused  # noqa: E402
from edgekit.errors import ArtifactError  # noqa: E402
from edgekit.formats import Format  # noqa: E402


def _hard_swish_like() -> object:
    """Two Add/Mul pairs sharing their constants, as tf2onnx folds every hard-swish's +3 and /6."""
    from onnx import TensorProto, helper, numpy_helper

    three = numpy_helper.from_array(np.array([[3.0]], np.float32), "three")
    sixth = numpy_helper.from_array(np.full((1,), 1 / 6, np.float32), "sixth")
    nodes = [
        helper.make_node("Add", ["input", "three"], ["a"], name="first_add"),
        helper.make_node("Mul", ["a", "sixth"], ["b"], name="first_mul"),
        helper.make_node("Add", ["b", "three"], ["c"], name="second_add"),
        helper.make_node("Mul", ["c", "sixth"], ["logits"], name="second_mul"),
    ]
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", 4]) for n in ("input", "logits")]
    graph = helper.make_graph(nodes, "g", io[:1], io[1:], [three, sixth])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


CALIBRATION = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)


def _int8_activations(model: object) -> bytes:
    """QDQ with int8 activations and weights (edgekit's choice before it took uint8 activations)."""
    import tempfile
    from pathlib import Path

    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    reader = type("Reader", (edgekit_onnx._Calibration, CalibrationDataReader), {})(CALIBRATION)
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "f.onnx", Path(tmp) / "q.onnx"
        onnx.save(model, source)
        quantize_static(source, target, reader, quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
                        weight_type=QuantType.QInt8, per_channel=True)  # fmt: skip
        return target.read_bytes()


def test_shared_constants_quantized_as_is_make_a_file_onnxruntime_refuses_at_their_second_use():
    assert first_failing_onnx_node(_int8_activations(_hard_swish_like())) == "Add 'second_add'"


def test_unshared_constants_quantize_to_a_file_that_loads_and_computes_the_same():
    import onnxruntime as ort

    model = _hard_swish_like()
    prepared = edgekit_onnx._unshared(onnx.load_from_string(model.SerializeToString()))
    inputs_of = {n.name: list(n.input) for n in prepared.graph.node}
    assert inputs_of["first_add"][1] == "three" and inputs_of["second_add"][1] == "three__use2"
    assert first_failing_onnx_node(_int8_activations(prepared)) is None  # unshared, even int8 activations load
    quantized = edgekit_onnx._quantize_static(prepared.SerializeToString(), CALIBRATION)  # edgekit's u8s8
    assert first_failing_onnx_node(quantized) is None
    floats = ort.InferenceSession(model.SerializeToString()).run(None, {"input": CALIBRATION})[0]
    ints = ort.InferenceSession(quantized).run(None, {"input": CALIBRATION})[0]
    expected = ((CALIBRATION + 3) / 6 + 3) / 6
    np.testing.assert_allclose(floats, expected, rtol=1e-6)
    assert np.abs(ints - floats).max() < 0.01  # int8 steps of a 0.5-wide range


def test_a_refusal_of_edgekits_own_file_is_named_a_converter_bug_with_its_op():
    quantized = _int8_activations(_hard_swish_like())
    error = refused(Format.ONNX, "onnx-int8.onnx", quantized, ArtifactError("cannot load x: Attempt to replace"))
    assert str(error).startswith("edgekit's own onnx-int8.onnx output does not load in onnxruntime")
    assert "it fails at op Add 'second_add'" in str(error)
    assert "corrupt" not in str(error) and "converter bug, not your model" in (error.hint or "")
