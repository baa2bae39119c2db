"""Multiply-accumulates per operator for the common MCU ops (others count 0 and say so)."""

from __future__ import annotations

import numpy as np


def _n(shape) -> int:
    return int(np.prod(shape)) if shape else 1


def op_macs(op, graph) -> int | None:
    """MACs of one op, or None when we do not model its cost."""
    t = graph.tensors
    out = t[op.outputs[0]].shape if op.outputs else ()
    ins = [t[i] for i in op.inputs if i >= 0]
    if op.type == "CONV_2D" and len(ins) > 1:  # filter [cout, kh, kw, cin]
        _, kh, kw, cin = ins[1].shape
        return _n(out) * kh * kw * cin
    if op.type == "DEPTHWISE_CONV_2D" and len(ins) > 1:  # filter [1, kh, kw, cout]
        return _n(out) * ins[1].shape[1] * ins[1].shape[2]
    if op.type == "FULLY_CONNECTED" and len(ins) > 1:  # filter [units, depth]
        return _n(out) * ins[1].shape[-1]
    if op.type == "TRANSPOSE_CONV" and len(ins) > 2:  # filter [cout, kh, kw, cin], input is ins[2]
        cout, kh, kw = ins[1].shape[0], ins[1].shape[1], ins[1].shape[2]
        return _n(ins[2].shape) * kh * kw * cout
    if op.type in ("AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"):
        o = op.options
        return _n(out) * (getattr(o, "filterHeight", 1) or 1) * (getattr(o, "filterWidth", 1) or 1)
    if op.type in ("ADD", "SUB", "MUL", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM"):
        return _n(out)
    if op.type in ("MEAN", "SUM", "REDUCE_MAX"):
        return _n(ins[0].shape) if ins else 0
    if op.type == "BATCH_MATMUL" and len(ins) > 1:
        return _n(out) * ins[0].shape[-1]
    if op.type in ("RESHAPE", "QUANTIZE", "DEQUANTIZE", "SOFTMAX", "LOGISTIC", "TANH", "RELU",
                   "RELU6", "CONCATENATION", "PAD", "SQUEEZE", "EXPAND_DIMS", "STRIDED_SLICE",
                   "SHAPE", "PACK", "UNPACK", "TRANSPOSE", "HARD_SWISH", "LEAKY_RELU",
                   "CUSTOM:TFLM_DECODE"):
        return 0
    return None
