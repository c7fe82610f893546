"""Keras -> ONNX through tf2onnx's from_function route; int8 through onnxruntime's quantizer, dynamic per row."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.convert.calibration import CalibrationMethod, histogram_bins, method_of, onnx_calibration
from edgekit.convert.onnx_dynamic import MATMUL_OPS, quantize_rowwise
from edgekit.convert.onnx_fusions import fuse_hard_swish
from edgekit.errors import ConversionError
from edgekit.formats import Quantization

OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "logits"
BATCH_DIM = "batch"


# Dynamic quantization of convolutions (ConvInteger) is slow on CPU (measured: the CNN's onnx-dynamic
# 4-6x slower than float32 with it), so by default only MatMul/Gemm are quantized.
DYNAMIC_OPS = {"matmul": MATMUL_OPS, "all": (*MATMUL_OPS, "Conv")}
QUANTIZATION_KEY = "edgekit.quantization"  # metadata_props entry: what the dynamic rewrite did, node by node


def _float_model(reference: Any) -> Any:
    """tf2onnx.convert.from_keras fails on Keras 3 ('keras_tensor_N'); a tf.function wrapper works."""
    from edgekit.native_output import quiet_native_output
    from edgekit.tensorflow_import import import_tensorflow

    import_tensorflow()
    with quiet_native_output():
        import tf2onnx

        fn, spec = reference.tf_function()
        proto, _ = tf2onnx.convert.from_function(fn, input_signature=spec, opset=OPSET)
    _rename_io(proto)
    return proto


def _rename_io(proto: Any) -> None:
    """Input 'input', output 'logits', batch dimension 'batch' (tf2onnx gives 'x:0', 'Identity:0', 'unk__N')."""
    graph = proto.graph
    renames = {graph.input[0].name: INPUT_NAME, graph.output[0].name: OUTPUT_NAME}
    for node in graph.node:
        node.input[:] = [renames.get(n, n) for n in node.input]
        node.output[:] = [renames.get(n, n) for n in node.output]
    for value in (graph.input[0], graph.output[0]):
        value.name = renames[value.name]
        value.type.tensor_type.shape.dim[0].dim_param = BATCH_DIM


class _Calibration:
    """onnxruntime CalibrationDataReader over calibration images, one image per call."""

    def __init__(self, images: np.ndarray) -> None:
        self._images = images.astype(np.float32)
        self._next = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._next >= len(self._images):
            return None
        self._next += 1
        return {INPUT_NAME: self._images[self._next - 1 : self._next]}

    def rewind(self) -> None:
        self._next = 0


def to_onnx(
    reference: Any, mode: Quantization, calibration_inputs: np.ndarray | None = None, options: Any = None
) -> bytes:
    """Convert the reference to ONNX bytes in ``mode`` (none, dynamic or int8 QDQ).

    int8 needs float32 calibration inputs already through the contract, shaped like the model input.
    dynamic quantizes ``options.onnx_dynamic_ops``: "matmul" (default: MatMul/Gemm only) or "all" (Conv too),
    with activations quantized per row (onnx_dynamic.py), never per batch.
    """
    import onnx

    proto = _float_model(reference)
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as exc:
        raise ConversionError(f"tf2onnx produced an invalid ONNX model: {exc}") from exc
    if mode is Quantization.NONE:
        return proto.SerializeToString()
    if mode is Quantization.DYNAMIC:
        return _dynamic(proto, DYNAMIC_OPS[getattr(options, "onnx_dynamic_ops", "matmul")])
    if mode is not Quantization.INT8:  # pragma: no cover - formats.check_supported stops this earlier
        raise ConversionError(f"ONNX cannot do {mode.value}")
    if calibration_inputs is None or len(calibration_inputs) == 0:
        raise ConversionError("ONNX int8 needs calibration images")
    return _quantize_static(_prepared(proto), calibration_inputs, method=method_of(options))


def _prepared(proto: Any) -> bytes:
    """The float model as onnxruntime's quantizer wants it: shapes inferred, MatMul + Add fused into Gemm, BN
    after a depthwise conv folded (quant_pre_process), small shared constants unshared, hard-swish chains
    as one HardSwish op (onnx_fusions.py)."""
    import onnx
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory(prefix="edgekit-onnx-") as tmp:
        float_path, prepared = Path(tmp) / "float.onnx", Path(tmp) / "prep.onnx"
        onnx.save(proto, float_path)
        quant_pre_process(str(float_path), str(prepared), skip_symbolic_shape=True)
        proto = _unshared(onnx.load(prepared))
        fuse_hard_swish(proto)
        return proto.SerializeToString()


# Copies of an initializer up to this many elements are cheap; a larger shared one (tied weights) stays shared.
UNSHARE_MAX_ELEMENTS = 4096


def _unshared(proto: Any) -> Any:
    """Give every node its own copy of each small constant it shares with other nodes.

    tf2onnx folds the constants of every hard-swish (x + 3, / 6) and ReLU6 clip into one initializer each,
    shared by all of them (28 nodes in MobileNetV3Small). The QDQ quantizer then quantizes it once, and
    onnxruntime's int8 transform for x86 (session.x64quantprecision, which edgekit's session sets) rewrites
    it once per consumer: "Attempt to replace the existing tensor", a file onnxruntime cannot initialise.
    """
    import math

    graph = proto.graph
    initializers = {t.name: t for t in graph.initializer if math.prod(t.dims) <= UNSHARE_MAX_ELEMENTS}
    uses: dict[str, int] = {}
    for node in graph.node:
        for k, name in enumerate(node.input):
            if name not in initializers:
                continue
            uses[name] = uses.get(name, 0) + 1
            if uses[name] > 1:
                copy = graph.initializer.add()
                copy.CopyFrom(initializers[name])
                copy.name = f"{name}__use{uses[name]}"
                node.input[k] = copy.name
    return proto


# Activations uint8, weights int8 (u8s8), not int8 both: onnxruntime's CPU QDQ fusion turns every Conv of the
# ResNet-style zoo model into QLinearConv with u8 activations (9 of 9), with s8 only 3 of 9, the other six
# running as float Conv between DequantizeLinear/QuantizeLinear: p50 at batch 1, one thread, 68 us against 133 us
# (float32: 34 us); EfficientNet-style 208 against 475 us (float32 127), agreement unchanged (99.0% both).
# u8s8's saturation on x86 without VNNI is what session.x64quantprecision (edgekit's session) avoids.
ACTIVATIONS = "uint8"


def _quantize_static(
    prepared: bytes,
    calibration_inputs: np.ndarray,
    float_nodes: tuple[str, ...] = (),
    method: CalibrationMethod = CalibrationMethod.MINMAX,
) -> bytes:
    """QDQ int8, per-channel weights, calibrated by ``method``; ``float_nodes`` stay float (``nodes_to_exclude``)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    calibrate_method, extra_options = onnx_calibration(method)

    with tempfile.TemporaryDirectory(prefix="edgekit-onnx-") as tmp:
        source, quantized = Path(tmp) / "prep.onnx", Path(tmp) / "q.onnx"
        source.write_bytes(prepared)
        reader = type("Reader", (_Calibration, CalibrationDataReader), {})(calibration_inputs)
        try:
            with contextlib.redirect_stdout(io.StringIO()), histogram_bins(method):  # its histogram calibrators print
                quantize_static(
                    source,
                    quantized,
                    reader,
                    quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8,  # u8s8: see ACTIVATIONS
                    weight_type=QuantType.QInt8,
                    per_channel=True,
                    nodes_to_exclude=list(float_nodes),
                    calibrate_method=calibrate_method,
                    extra_options=extra_options,
                )
        except (ValueError, RuntimeError) as exc:
            raise ConversionError(f"onnxruntime int8 quantization failed: {exc}") from exc
        return quantized.read_bytes()


def mixed_int8(reference: Any, calibration_inputs: np.ndarray, options: Any = None) -> Any:
    """A function of Keras layer names -> QDQ int8 ONNX bytes with those layers' nodes left in float.

    The float model is converted and prepared once; each call quantizes it with the layers' nodes (found by
    their name scopes, ``convert/scopes.py``) as ``nodes_to_exclude``.
    """
    import onnx

    from edgekit.convert.scopes import LayerScopes

    prepared = _prepared(_float_model(reference))
    names = [node.name for node in onnx.load_from_string(prepared).graph.node]
    scopes = LayerScopes([layer.name for layer in reference.keras_model.layers], names)

    def quantize(float_layers: tuple[str, ...]) -> bytes:
        wanted = {n for layer in float_layers for n in scopes.names_of(layer, names)}
        nodes = tuple(n for n in names if n in wanted)
        if not nodes:
            raise ConversionError(f"no ONNX node belongs to the layer(s) {', '.join(float_layers)}")
        return _quantize_static(prepared, calibration_inputs, nodes, method_of(options))

    return quantize


def _dynamic(proto: Any, op_types: tuple[str, ...]) -> bytes:
    """int8 weights, activations quantized per row at run time (see onnx_dynamic for why not quantize_dynamic)."""
    import json

    import onnx

    try:
        story = quantize_rowwise(proto, op_types)
    except (ValueError, onnx.checker.ValidationError) as exc:
        raise ConversionError(f"ONNX dynamic quantization failed: {exc}") from exc
    proto.metadata_props.add(key=QUANTIZATION_KEY, value=json.dumps(story.to_dict(), sort_keys=True))
    return proto.SerializeToString()


def quantization_story(proto: Any) -> dict[str, Any] | None:
    """What the dynamic rewrite recorded in an ONNX model proto (None for other modes)."""
    import json

    props = {p.key: p.value for p in proto.metadata_props}
    return json.loads(props[QUANTIZATION_KEY]) if QUANTIZATION_KEY in props else None


def embed_onnx_metadata(content: bytes, payload: dict[str, Any]) -> bytes:
    """Return ONNX bytes with ``payload`` as JSON under metadata_props['edgekit'], checked again."""
    import json

    import onnx

    proto = onnx.load_from_string(content)
    kept = [p for p in proto.metadata_props if p.key != "edgekit"]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    proto.metadata_props.add(key="edgekit", value=json.dumps(payload, sort_keys=True))
    proto.doc_string = f"edgekit {payload.get('format')} {payload.get('mode')} model; see metadata_props['edgekit']"
    onnx.checker.check_model(proto)
    return proto.SerializeToString()
