"""Writing operators into a .tflite held as the schema's object API (core.analysis.schema).

The helpers every operator form uses (core.analysis.conv_forms, pad_fusion, dw_forms): new activation and constant tensors, operator codes, operators with their options.
"""

from __future__ import annotations

import copy

import numpy as np

from core.analysis.schema import tflite_schema


def is_int8(t) -> bool:
    return t.type == tflite_schema().TensorType.INT8


def buffer_array(model, tensor, dtype) -> np.ndarray:
    raw = model.buffers[tensor.buffer].data
    return np.frombuffer(bytes(bytearray(raw)), dtype).reshape(tensor.shape)


def filter_quant(tensor, channels: int):
    q = tensor.quantization
    scales = np.asarray(q.scale, np.float32)
    zeros = np.asarray(q.zeroPoint if q.zeroPoint is not None else np.zeros(len(scales)), np.int64)
    if len(scales) == 1:  # per-tensor: the same scale for every channel
        scales, zeros = np.repeat(scales, channels), np.repeat(zeros, channels)
    return scales, zeros


def quant(scales, zeros, axis: int):
    q = tflite_schema().QuantizationParametersT()
    q.scale, q.zeroPoint, q.quantizedDimension = list(map(float, scales)), list(map(int, zeros)), axis
    return q


def set_filter(model, tensor, values: np.ndarray, scales, zeros, axis: int) -> None:
    buf = tflite_schema().BufferT()
    buf.data = np.frombuffer(values.astype(np.int8).tobytes(), np.uint8)
    model.buffers.append(buf)  # a buffer of its own: the old one may be shared
    tensor.buffer = len(model.buffers) - 1
    tensor.shape = list(values.shape)
    tensor.quantization = quant(scales, zeros, axis)


def new_tensor(sg, shape, like) -> int:
    """A new activation tensor with `like`'s type and quantization."""
    t = tflite_schema().TensorT()
    t.shape, t.type, t.buffer, t.name = list(shape), like.type, 0, b""
    t.quantization = copy.deepcopy(like.quantization)
    sg.tensors.append(t)
    return len(sg.tensors) - 1


def new_const(model, sg, values: np.ndarray, dtype) -> int:
    schema = tflite_schema()
    buf = schema.BufferT()
    buf.data = np.frombuffer(np.ascontiguousarray(values).tobytes(), np.uint8)
    model.buffers.append(buf)
    t = schema.TensorT()
    t.shape, t.type, t.buffer, t.name = list(values.shape), dtype, len(model.buffers) - 1, b""
    sg.tensors.append(t)
    return len(sg.tensors) - 1


def opcode(model, name: str, version: int) -> int:
    schema = tflite_schema()
    code = getattr(schema.BuiltinOperator, name)
    for i, oc in enumerate(model.operatorCodes):
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == code:
            return i
    oc = schema.OperatorCodeT()
    oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = code, min(code, 127), version
    model.operatorCodes.append(oc)
    return len(model.operatorCodes) - 1


# Operator versions for int8 data (TFLite's op_version table); TFLM ignores them, LiteRT checks.
VERSIONS = {"CONV_2D": 3, "DEPTHWISE_CONV_2D": 3, "SPACE_TO_DEPTH": 2, "DEPTH_TO_SPACE": 2,
            "MAX_POOL_2D": 2, "RESHAPE": 1}


def new_op(model, name: str, inputs, outputs, options: str, **fields):
    schema = tflite_schema()
    made = schema.OperatorT()
    made.opcodeIndex = opcode(model, name, VERSIONS[name])
    made.inputs, made.outputs = list(inputs), list(outputs)
    opts = getattr(schema, options + "T")()
    for k, v in fields.items():
        setattr(opts, k, v)
    made.builtinOptionsType, made.builtinOptions = getattr(schema.BuiltinOptions, options), opts
    return made


def reshape(model, sg, src: int, dst: int, shape):
    # No shape tensor: TFLM reads the output tensor's dims, LiteRT the option (saves ~100 B each).
    return new_op(model, "RESHAPE", [src], [dst], "ReshapeOptions", newShape=list(shape))


def conv_op(model, form: str, inputs, outputs, padding, act, channels: int, stride=(1, 1)):
    """CONV_2D (form 'conv') or DEPTHWISE_CONV_2D with depth multiplier `channels`."""
    common = dict(padding=padding, strideH=stride[0], strideW=stride[1], dilationHFactor=1, dilationWFactor=1,
                  fusedActivationFunction=act)
    if form == "conv":
        return new_op(model, "CONV_2D", inputs, outputs, "Conv2DOptions", **common)
    return new_op(model, "DEPTHWISE_CONV_2D", inputs, outputs, "DepthwiseConv2DOptions", depthMultiplier=channels,
               **common)


def replicated_bias(model, sg, op, c: int, times: int) -> list:
    """The bias input of a form with `times` copies of every output channel ([] without a bias)."""
    if len(op.inputs) < 3 or op.inputs[2] < 0:
        return []
    schema = tflite_schema()
    bias = buffer_array(model, sg.tensors[op.inputs[2]], np.int32)
    b = new_const(model, sg, np.tile(bias, times), schema.TensorType.INT32)
    bq = sg.tensors[op.inputs[2]].quantization
    if bq is not None and bq.scale is not None and len(bq.scale) == c:
        sg.tensors[b].quantization = quant(np.tile(np.asarray(bq.scale), times), np.zeros(times * c, np.int64), 0)
    return [b]


def readers(sg) -> dict:
    """Tensor index -> indices of the operators that read it."""
    found: dict = {}
    for i, o in enumerate(sg.operators):
        for t in o.inputs:
            if t >= 0:
                found.setdefault(t, []).append(i)
    return found


def start_rewrite(model, site, form: str):
    """A copy of `model` to write `site` in `form` into; a form the site does not offer is an error."""
    if form not in site.forms:
        raise ValueError(f"form {form!r} does not apply here (possible: {', '.join(site.forms)})")
    return copy.deepcopy(model)
