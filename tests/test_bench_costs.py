"""What bench says an artifact costs a device: MACs from its graph, peak memory in a child, the per-op profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgekit.benchmarks.costs import OpProfile, PeakMemory
from edgekit.benchmarks.macs import count_macs
from edgekit.benchmarks.memory import peak_memory
from edgekit.benchmarks.profile import ONNX_METHOD, TFLITE_METHOD, profile_ops
from edgekit.formats import Format

LITERT = "ai_edge_litert.interpreter"
# Flatten, Dense 128, Dense 10 on 28x28 images
DENSE_MACS = 784 * 128 + 128 * 10
# Conv 32 3x3 same on 28x28x1, pool, Conv 64 3x3 same on 14x14x32, pool, Dense 128 on 7*7*64, Dense 10
CNN_MACS = 28 * 28 * 32 * 9 + 14 * 14 * 64 * 9 * 32 + 7 * 7 * 64 * 128 + 128 * 10


def _format(path: Path) -> Format:
    return Format.TFLITE if path.suffix == ".tflite" else Format.ONNX


def _tflite_op_types(path: Path) -> set[str]:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(path.read_bytes(), 0)
    graph = model.Subgraphs(0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = [model.OperatorCodes(graph.Operators(i).OpcodeIndex()) for i in range(graph.OperatorsLength())]
    return {names[max(c.BuiltinCode(), c.DeprecatedBuiltinCode())] for c in codes}


def _onnxruntime_op_types(path: Path, folder: Path) -> set[str]:
    """The op types of the graph onnxruntime runs: the file after the optimisations edgekit's session gets."""
    import onnx
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.add_session_config_entry("session.x64quantprecision", "1")
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    options.optimized_model_filepath = str(folder / f"{path.stem}-optimised.onnx")
    ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    return {n.op_type for n in onnx.load(options.optimized_model_filepath).graph.node}


def test_macs_of_the_dense_model_are_its_two_matrix_products(dense_artifacts) -> None:  # type: ignore[no-untyped-def]
    for name, converted in dense_artifacts.items():
        macs = count_macs(converted.artifact, _format(converted.artifact))
        assert macs is not None and macs.total == DENSE_MACS, name
        assert not macs.uncounted
        assert set(macs.by_op) <= {"FULLY_CONNECTED", "MatMul", "Gemm", "MatMulInteger", "QGemm"}, name


def test_every_cnn_artifact_counts_the_hand_computed_macs(cnn_artifacts) -> None:  # type: ignore[no-untyped-def]
    counted = {name: count_macs(c.artifact, _format(c.artifact)) for name, c in cnn_artifacts.items()}
    assert {name: m.total if m else None for name, m in counted.items()} == dict.fromkeys(counted, CNN_MACS)
    tflite, onnx_int8 = counted["tflite-int8"], counted["onnx-int8"]
    assert tflite is not None and tflite.by_op["CONV_2D"] == 28 * 28 * 32 * 9 + 14 * 14 * 64 * 9 * 32
    assert (
        onnx_int8 is not None and sum(v for k, v in onnx_int8.by_op.items() if "Conv" in k) == tflite.by_op["CONV_2D"]
    )


@pytest.mark.parametrize("name", ["tflite-float32", "tflite-int8", "onnx-float32", "onnx-int8"])
def test_peak_memory_is_measured_in_a_child_process(dense_artifacts, name: str) -> None:  # type: ignore[no-untyped-def]
    path = dense_artifacts[name].artifact
    module = LITERT if path.suffix == ".tflite" else "onnxruntime"
    memory = peak_memory(path, _format(path), module, 1)
    assert isinstance(memory, PeakMemory) and memory.note is None
    # the dense model's weights alone are 0.1 (int8) to 0.4 MiB (float32); an interpreter takes a few MiB more
    assert 0.1 < memory.peak_mb < 200
    assert memory.heap_mb is not None and 0.05 < memory.heap_mb <= memory.peak_mb + 0.5
    assert "VmHWM" in memory.method


@pytest.mark.parametrize("name", ["tflite-float32", "tflite-float16", "tflite-int8", "tflite-dynamic"])
def test_tflite_profile_names_the_ops_of_the_graph(cnn_artifacts, name: str) -> None:  # type: ignore[no-untyped-def]
    path = cnn_artifacts[name].artifact
    profile = profile_ops(path, Format.TFLITE, LITERT, 1)
    assert isinstance(profile, OpProfile) and profile.method == TFLITE_METHOD.format(runs=100)
    ops = {o.op for o in profile.ops}
    assert ops <= _tflite_op_types(path) and {"CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D"} <= ops
    assert "DEQUANTIZE" not in ops  # float16 weights' DEQUANTIZE runs at load
    # Flatten's target shape is computed at run time here (SHAPE -> PACK): zeros fed in its place are refused
    assert set(profile.untimed) <= {"RESHAPE"} and not ops & set(profile.untimed)
    assert sum(o.share for o in profile.ops) == pytest.approx(1.0, abs=0.01)
    assert sum(o.ms for o in profile.ops) == pytest.approx(profile.ops_ms, rel=1e-3) and profile.ops_ms > 0
    assert {o.op: o.nodes for o in profile.ops}["CONV_2D"] == 2
    assert [o.ms for o in profile.ops] == sorted((o.ms for o in profile.ops), reverse=True)


@pytest.mark.parametrize("name", ["onnx-float32", "onnx-int8", "onnx-dynamic"])
def test_onnx_profile_names_the_kernels_onnxruntime_runs(cnn_artifacts, name: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = cnn_artifacts[name].artifact
    profile = profile_ops(path, Format.ONNX, "onnxruntime", 1)
    assert isinstance(profile, OpProfile) and profile.method == ONNX_METHOD.format(runs=100)
    assert profile.runs == 100 and profile.ops
    assert {o.op for o in profile.ops} <= _onnxruntime_op_types(path, tmp_path)
    assert sum(o.share for o in profile.ops) == pytest.approx(1.0, abs=0.01)
    assert all(o.ms > 0 and o.nodes >= 1 for o in profile.ops)


def test_onnx_macs_of_grouped_conv_and_transposed_gemm(tmp_path: Path) -> None:
    """A depthwise Conv (group = channels) and a Gemm with transB, by hand: 8x8x4 -> 3x3 depthwise -> 10 units."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = [
        numpy_helper.from_array(np.zeros((4, 1, 3, 3), np.float32), "dw"),
        numpy_helper.from_array(np.zeros((10, 4 * 8 * 8), np.float32), "fc"),
        numpy_helper.from_array(np.array([1, -1], np.int64), "flat"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "dw"], ["y"], group=4, pads=[1, 1, 1, 1]),
        helper.make_node("Reshape", ["y", "flat"], ["f"]),
        helper.make_node("Gemm", ["f", "fc"], ["z"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 10])],
        weights,
    )
    path = tmp_path / "grouped.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    macs = count_macs(path, Format.ONNX)
    assert macs is not None and macs.by_op == {"Conv": 8 * 8 * 4 * 9, "Gemm": 256 * 10} and not macs.uncounted
