"""No model file can crash the process (issue 11): the structural check, the child-process probe, and the
rule that decides between the fast in-process path and the probe (edgekit.runtime.safety.admission)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import edgekit.runtime.safety.admission as safety
from edgekit.errors import ArtifactError, UsageError
from edgekit.formats import Format
from edgekit.runtime import load
from edgekit.runtime.safety.admission import admit, check_structure
from edgekit.runtime.safety.probe import probe
from tests.fuzz_onnx import tiny_model
from tests.fuzz_tflite import OP, T, float_model, int8_model, pack, quant, unpack

ROOT = Path(__file__).resolve().parents[1]
LITERT = "ai_edge_litert.interpreter"


def _mutated(base: Callable[[], bytes], change: Callable[[Any, Any], None]) -> bytes:
    model = unpack(base())
    change(model.subgraphs[0], model)
    return pack(model)


def _set(tensor: int, field: str, value: Any) -> Callable[[Any, Any], None]:
    return lambda g, m: setattr(g.tensors[tensor], field, value)


def _scale(tensor: int, value: float) -> Callable[[Any, Any], None]:
    return lambda g, m: setattr(g.tensors[tensor], "quantization", quant([value], [0]))


# single mutations of the tiny models that kill LiteRT 2.3.0 (found by tests/test_fuzz.py), and what the
# structural check says about each
CRASHERS = {
    "softmax-output-is-a-resource": (
        float_model,
        _set(32, "type", T.RESOURCE),
        "operator 18 (SOFTMAX): its output is RESOURCE, its input FLOAT32",
    ),
    "pack-relabelled-strided-slice": (
        float_model,
        lambda g, m: setattr(g.operators[8], "opcodeIndex", 7),
        "operator 8 (STRIDED_SLICE): it carries PackOptions instead of StridedSliceOptions",
    ),
    "quantize-to-uint8-before-int8-conv": (
        int8_model,
        _set(1, "type", T.UINT8),
        "tensor 1: a zero point is outside UINT8's range",
    ),
    "input-scale-nan": (int8_model, _scale(1, float("nan")), "tensor 1: quantization scale nan"),
    "scale-1e30": (int8_model, _scale(10, 1e30), "tensor 10: quantization scale 1e+30"),
    "scale-0": (int8_model, _scale(11, 0.0), "tensor 11: quantization scale 0 is not finite"),
    "pack-opcode-relabelled-split": (
        float_model,
        lambda g, m: [setattr(m.operatorCodes[8], f, OP.SPLIT) for f in ("builtinCode", "deprecatedBuiltinCode")],
        "operator 8 (SPLIT): it carries PackOptions instead of SplitOptions",
    ),
    "reshape-shape-input-absent": (
        float_model,
        lambda g, m: setattr(g.operators[9], "inputs", [10, -1]),
        "operator 9 (RESHAPE): its input 1 is absent (-1), which its kernel does not allow",
    ),
}


def test_edgekit_models_pass_the_structural_check(dense_artifacts, cnn_artifacts) -> None:  # type: ignore[no-untyped-def]
    artifacts = [r.artifact for r in [*dense_artifacts.values(), *cnn_artifacts.values()]]
    tflite = [p for p in artifacts if p.suffix == ".tflite"]
    assert len(tflite) == 8
    for path in tflite:
        assert check_structure(Format.TFLITE, path.read_bytes(), path) is True, path
    for model in (float_model(), int8_model()):
        assert check_structure(Format.TFLITE, model, Path("tiny.tflite")) is True
    assert check_structure(Format.ONNX, tiny_model(), Path("tiny.onnx")) is False  # ONNX: the probe checks it


@pytest.mark.parametrize("case", sorted(CRASHERS))
def test_crashing_files_are_refused_in_one_line(case: str, tmp_path: Path) -> None:
    base, change, expected = CRASHERS[case]
    path = tmp_path / f"{case}.tflite"
    path.write_bytes(_mutated(base, change))
    with pytest.raises(ArtifactError) as info:
        load(path)
    message = info.value.message
    assert message.startswith(f"{path} is not a valid TFLite model: the graph, ")
    assert expected in message and "\n" not in message
    assert info.value.hint and "no interpreter has opened it" in info.value.hint


@pytest.mark.parametrize(
    ("case", "signal_name", "phase"),
    [
        ("softmax-output-is-a-resource", "SIGSEGV", "running it at batch 1"),
        ("scale-1e30", "SIGABRT", "allocating tensors"),
    ],
)
def test_the_probe_alone_turns_a_crash_into_an_error(case: str, signal_name: str, phase: str, tmp_path: Path) -> None:
    """Without the structural check, the same bytes kill the interpreter: in the probe's child, not here."""
    base, change, _ = CRASHERS[case]
    path = tmp_path / f"{case}.tflite"
    with pytest.raises(ArtifactError) as info:
        probe(Format.TFLITE, _mutated(base, change), path, LITERT, None)
    assert info.value.message.startswith(f"{path} crashed the interpreter ({signal_name}")
    assert info.value.message.endswith(f"while {phase}")


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("segv:invoke", "crashed the interpreter (SIGSEGV) while running it at batch 1"),
        ("raise:allocate", ": the interpreter failed while allocating tensors: tensor 3 has no buffer"),
        ("hang:load", "hung the interpreter while loading the model (no answer in 1.5 s)"),
    ],
)
def test_probe_names_the_phase(mode: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("FAKE_INTERPRETER", mode)
    monkeypatch.setenv("EDGEKIT_PROBE_TIMEOUT", "1.5")
    with pytest.raises(ArtifactError) as info:
        probe(Format.TFLITE, b"model", Path("m.tflite"), "tests.fake_interpreter", 2)
    assert info.value.message == f"m.tflite {expected}".replace("m.tflite :", "m.tflite:")
    monkeypatch.setenv("FAKE_INTERPRETER", "")
    probe(Format.TFLITE, b"model", Path("m.tflite"), "tests.fake_interpreter", 2)  # works: returns


def test_probe_timeout_must_be_a_positive_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEKIT_PROBE_TIMEOUT", "soon")
    with pytest.raises(UsageError, match="EDGEKIT_PROBE_TIMEOUT"):
        probe(Format.TFLITE, float_model(), Path("m.tflite"), LITERT, None)


def _counting_probe(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def counted(*args: Any) -> None:
        calls.append(1)
        probe(*args)

    monkeypatch.setattr(safety, "probe", counted)
    return calls


def test_known_good_files_skip_the_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path / "cache"))
    calls = _counting_probe(monkeypatch)
    path, content = tmp_path / "m.tflite", float_model()
    path.write_bytes(content)
    for threads in (None, None, 2, 4):
        admit(Format.TFLITE, content, path, backend=None, num_threads=threads)
    assert len(calls) == 1  # once per (bytes, backend, version): the verdict is on record after that
    assert len(list((tmp_path / "cache" / "probe-v1").iterdir())) == 1
    other = content.replace(b"fuzz", b"fuzZ")
    admit(Format.TFLITE, other, path, backend=None, num_threads=None)
    assert len(calls) == 2  # other bytes, another probe
    prediction = load(path).predict(np.zeros((2, 8, 8), np.uint8))  # a recorded file loads as before
    assert prediction.probabilities.shape == (2, 10) and len(calls) == 2


def test_a_recorded_verdict_does_not_skip_the_structural_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safety, "_has_verdict", lambda key: True)
    base, change, expected = CRASHERS["scale-1e30"]
    with pytest.raises(ArtifactError, match=expected.replace("+", r"\+")):
        admit(Format.TFLITE, _mutated(base, change), tmp_path / "m.tflite", backend=None, num_threads=1)


def test_a_sealed_edgekit_artifact_is_still_probed_once(dense_artifacts, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A matching seal or sidecar hash is integrity, not a pass: whoever writes a file can reseal it."""
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path / "cache"))
    calls = _counting_probe(monkeypatch)
    artifact = dense_artifacts["tflite-int8"].artifact
    for _ in range(2):
        model = load(artifact)
    assert model.integrity.verified and len(calls) == 1


def test_an_unwritable_cache_only_means_probing_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(blocker))
    calls = _counting_probe(monkeypatch)
    path = tmp_path / "m.tflite"
    path.write_bytes(int8_model())
    for _ in range(2):
        assert load(path).predict(np.zeros((8, 8), np.uint8)).labels.shape == (1,)
    assert len(calls) == 2


def test_onnx_checker_runs_in_the_probe(tmp_path: Path) -> None:
    import onnx

    model = onnx.ModelProto.FromString(tiny_model())
    model.graph.output[0].type.tensor_type.shape.dim[1].dim_value = 11  # onnxruntime only warns: 10 come out
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ArtifactError) as info:
        load(path)
    assert info.value.message.startswith(f"{path} is not a valid ONNX model: [ShapeInferenceError]")
    assert "(10) vs (11)" in info.value.message
    good = tmp_path / "good.onnx"
    good.write_bytes(tiny_model())
    assert load(good).predict(np.zeros((3, 8, 8), np.uint8)).probabilities.shape == (3, 10)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c[:40], "the flatbuffer is malformed"),
        (lambda c: c[:-200], "the flatbuffer is malformed"),
    ],
)
def test_damaged_flatbuffers_are_named(change: Callable[[bytes], bytes], expected: str) -> None:
    with pytest.raises(ArtifactError, match=expected):
        check_structure(Format.TFLITE, change(float_model()), Path("m.tflite"))


def test_control_flow_may_not_recurse() -> None:
    def while_calls_main(g: Any, m: Any) -> None:
        from tests.fuzz_tflite import options, schema

        code = schema.OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = OP.WHILE
        m.operatorCodes.append(code)
        state = schema.TensorT()
        state.shape, state.type, state.buffer, state.name = [1, 8, 8, 1], T.FLOAT32, 0, "state"
        g.tensors.append(state)
        loop = schema.OperatorT()
        loop.opcodeIndex, loop.inputs, loop.outputs = len(m.operatorCodes) - 1, [0], [len(g.tensors) - 1]
        loop.builtinOptionsType = schema.BuiltinOptions.WhileOptions
        loop.builtinOptions = options("WhileOptions", condSubgraphIndex=0, bodySubgraphIndex=0)
        g.operators.insert(0, loop)

    with pytest.raises(ArtifactError, match="subgraph 0 calls subgraph 0 in a cycle"):
        check_structure(Format.TFLITE, _mutated(float_model, while_calls_main), Path("m.tflite"))


@pytest.mark.parametrize(
    ("out_type", "problem"), [(T.BOOL, None), (T.FLOAT32, "output 0 is FLOAT32, its input is BOOL")]
)
def test_ops_that_move_values_take_any_dtype_but_keep_it(out_type: int, problem: str | None) -> None:
    from tests.fuzz_tflite import GraphBuilder, options

    g = GraphBuilder()
    x, y = g.act((1, 4), T.BOOL), g.act((4,), out_type)
    g.op(OP.RESHAPE, [x, g.const(np.array([4]), T.INT32)], [y], options("ReshapeOptions"), 17)
    content = g.finish([x], [y])
    if problem is None:
        assert check_structure(Format.TFLITE, content, Path("m.tflite")) is True
    else:
        with pytest.raises(ArtifactError, match=f"operator 0 \\(RESHAPE\\): {problem}"):
            check_structure(Format.TFLITE, content, Path("m.tflite"))


def test_onnx_with_external_data_is_probed_every_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its sha256 covers the .onnx file, not the weights beside it: a recorded verdict would not cover them."""
    import onnx

    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path / "cache"))
    calls = _counting_probe(monkeypatch)
    path = tmp_path / "m.onnx"
    model = onnx.ModelProto.FromString(tiny_model())
    onnx.save_model(model, path, save_as_external_data=True, location="m.onnx.data", size_threshold=1024)
    for _ in range(2):
        assert load(path).predict(np.zeros((8, 8), np.uint8)).probabilities.shape == (1, 10)
    assert len(calls) == 2


def test_the_probe_child_reads_onnx_types_as_the_runtime_does() -> None:
    """The child runs without edgekit's modules, so it keeps its own copy of the ONNX type table."""
    from edgekit.runtime.safety import probe_child
    from edgekit.runtime.tensors import ONNX_DTYPES

    assert probe_child.ONNX_TYPES == ONNX_DTYPES
