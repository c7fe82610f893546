"""Keras -> ONNX through tf2onnx's from_function route, and int8 / dynamic through onnxruntime's quantizers."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.errors import ConversionError
from edgekit.formats import Quantization

OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "logits"
BATCH_DIM = "batch"


# onnxruntime's guidance for CNNs: dynamic quantization of convolutions (ConvInteger) is slow on CPU
# (measured: the CNN's onnx-dynamic 5x slower than float32), so by default only MatMul/Gemm are quantized.
DYNAMIC_OPS = {"matmul": ["MatMul", "Gemm"], "all": None}


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
        return {INPUT_NAME: self._images[self._next - 1:self._next]}

    def rewind(self) -> None:
        self._next = 0


def to_onnx(reference: Any, mode: Quantization, calibration_inputs: np.ndarray | None = None,
            options: Any = None) -> bytes:
    """Convert the reference to ONNX bytes in ``mode`` (none, dynamic or int8 QDQ).

    int8 needs float32 calibration inputs already through the contract, shaped like the model input.
    ``options.onnx_dynamic_ops``: "matmul" (default: MatMul/Gemm only) or "all".
    """
    import onnx

    proto = _float_model(reference)
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as exc:
        raise ConversionError(f"tf2onnx produced an invalid ONNX model: {exc}") from exc
    if mode is Quantization.NONE:
        return proto.SerializeToString()

    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory(prefix="edgekit-onnx-") as tmp:
        float_path, prepared, quantized = Path(tmp) / "float.onnx", Path(tmp) / "prep.onnx", Path(tmp) / "q.onnx"
        onnx.save(proto, float_path)
        quant_pre_process(str(float_path), str(prepared), skip_symbolic_shape=True)
        try:
            if mode is Quantization.DYNAMIC:
                ops = DYNAMIC_OPS[getattr(options, "onnx_dynamic_ops", "matmul")]
                quantize_dynamic(prepared, quantized, weight_type=QuantType.QInt8, op_types_to_quantize=ops)
            elif mode is Quantization.INT8:
                if calibration_inputs is None or len(calibration_inputs) == 0:
                    raise ConversionError("ONNX int8 needs calibration images")
                reader = type("Reader", (_Calibration, CalibrationDataReader), {})(calibration_inputs)
                quantize_static(prepared, quantized, reader, quant_format=QuantFormat.QDQ,
                                activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=True)
            else:  # pragma: no cover - formats.check_supported stops this earlier
                raise ConversionError(f"ONNX cannot do {mode.value}")
        except (ValueError, RuntimeError) as exc:
            raise ConversionError(f"onnxruntime {mode.value} quantization failed: {exc}") from exc
        return quantized.read_bytes()


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
