"""tf2onnx's hard-swish chains fused into one HardSwish before QDQ int8; hard-sigmoid chains left alone."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from edgekit.convert.onnx_fusions import fuse_hard_swish  # noqa: E402

_CONSTS = {"three": 3.0, "zero": 0.0, "six": 6.0, "sixth": 1 / 6, "half": 0.5}


def _model(three: float = 3.0) -> object:
    """input -> hard_swish -> times hard_sigmoid(its half) (an SE-like gate) -> logits, as tf2onnx writes them."""
    from onnx import TensorProto, helper, numpy_helper

    consts = {**_CONSTS, "three": three}
    inits = [numpy_helper.from_array(np.array(v, np.float32), k) for k, v in consts.items()]
    nodes = [
        helper.make_node("Add", ["input", "three"], ["a1"], name="hs/add"),
        helper.make_node("Clip", ["a1", "zero", "six"], ["c1"], name="hs/Relu6"),
        helper.make_node("Mul", ["c1", "sixth"], ["d1"], name="hs/truediv"),
        helper.make_node("Mul", ["input", "d1"], ["hs"], name="hs/mul"),
        helper.make_node("Mul", ["hs", "half"], ["squeezed"], name="se/squeeze"),  # the gate's own branch
        helper.make_node("Add", ["squeezed", "three"], ["a2"], name="gate/add"),
        helper.make_node("Clip", ["a2", "zero", "six"], ["c2"], name="gate/Relu6"),
        helper.make_node("Mul", ["c2", "sixth"], ["gate"], name="gate/truediv"),
        helper.make_node("Mul", ["hs", "gate"], ["logits"], name="se/mul"),
    ]
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", 8]) for n in ("input", "logits")]
    graph = helper.make_graph(nodes, "g", io[:1], io[1:], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: object, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def test_a_hard_swish_chain_becomes_one_op_with_the_same_values_and_a_hard_sigmoid_stays() -> None:
    x = np.linspace(-8, 8, 64, dtype=np.float32).reshape(8, 8)
    before = _model()
    expected = _run(before, x)
    after = onnx.load_from_string(before.SerializeToString())
    assert fuse_hard_swish(after) == 1
    assert [(n.op_type, n.name) for n in after.graph.node] == [
        ("HardSwish", "hs/mul"), ("Mul", "se/squeeze"),
        ("Add", "gate/add"), ("Clip", "gate/Relu6"), ("Mul", "gate/truediv"), ("Mul", "se/mul"),
    ]  # fmt: skip
    assert {t.name for t in after.graph.initializer} == set(_CONSTS)  # the gate still reads them all
    onnx.checker.check_model(after)
    np.testing.assert_allclose(_run(after, x), expected, rtol=1e-6, atol=1e-6)
    hard_swish = x * np.clip(x + 3, 0, 6) / 6
    np.testing.assert_allclose(expected, hard_swish * np.clip(hard_swish / 2 + 3, 0, 6) / 6, rtol=1e-5, atol=1e-6)


def test_a_chain_with_other_constants_is_left_alone() -> None:
    model = _model(three=2.5)
    assert fuse_hard_swish(model) == 0
    assert [n.op_type for n in model.graph.node] == ["Add", "Clip", "Mul", "Mul", "Mul", "Add", "Clip", "Mul", "Mul"]
