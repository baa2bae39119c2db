"""Read a .tflite flatbuffer with TensorFlow's own schema (never a hand-written parser)."""

from __future__ import annotations

import numpy as np

from core.analysis.schema import dtype_name, op_name, tflite_schema  # noqa: F401  (readers import them from here too)
from core.errors import LoadError


def read_model(data: bytes, label: str = "model"):
    """Parse flatbuffer bytes into TensorFlow's mutable object API (`ModelT`), checked structurally
    (core.analysis.validate) so that every reader may trust its indices, operands and shapes."""
    from core import tf_env  # noqa: F401
    from tensorflow.lite.tools import flatbuffer_utils

    from core.analysis.validate import check_model

    if len(data) < 8 or bytes(data[4:8]) != b"TFL3":
        raise LoadError(f"{label}: not a TensorFlow Lite model (the 'TFL3' identifier is missing).")
    try:
        model = flatbuffer_utils.convert_bytearray_to_object(bytearray(data))
    except Exception:  # the pure-Python reader raises many types on damaged bytes
        raise LoadError(f"{label}: the TFLite file is damaged (corrupt or truncated): its flatbuffer "
                        "cannot be read. Copy or export it again.") from None
    check_model(model, label)
    return model


def op_names(model, subgraph: int = 0) -> list[str]:
    return [op_name(model, op) for op in model.subgraphs[subgraph].operators or []]


def io_dtypes(model, subgraph: int = 0) -> tuple[list[str], list[str]]:
    sg = model.subgraphs[subgraph]
    ins = [dtype_name(sg.tensors[i]) for i in sg.inputs]
    outs = [dtype_name(sg.tensors[i]) for i in sg.outputs]
    return ins, outs


def constant_tensors(model, subgraph: int = 0) -> list:
    """Tensors backed by a non-empty buffer (weights, biases, constants)."""
    sg = model.subgraphs[subgraph]
    return [t for t in sg.tensors
            if t.buffer and model.buffers[t.buffer].data is not None
            and len(model.buffers[t.buffer].data) > 0]


def weight_dtypes(model, subgraph: int = 0) -> set[str]:
    """Types of constant tensors with more than 16 elements (weights rather than shapes/scalars)."""
    return {dtype_name(t) for t in constant_tensors(model, subgraph)
            if t.shape is not None and int(np.prod(t.shape)) > 16}


def parameter_count(model) -> int:
    """Elements in constant tensors of all subgraphs, each buffer counted once."""
    seen, total = set(), 0
    for sg in model.subgraphs:
        for t in sg.tensors:
            if t.buffer and t.buffer not in seen and model.buffers[t.buffer].data is not None \
                    and len(model.buffers[t.buffer].data) > 0:
                seen.add(t.buffer)
                total += int(np.prod(t.shape)) if t.shape is not None and len(t.shape) else 1
    return total


def activation_dtypes(model, subgraph: int = 0) -> set[str]:
    """Types of the non-constant float/int tensors that flow between operators."""
    sg = model.subgraphs[subgraph]
    const = {id(t) for t in constant_tensors(model, subgraph)}
    return {dtype_name(t) for t in sg.tensors if id(t) not in const}


def payload_ranges(data: bytes) -> list[tuple[int, int]]:
    """(start, end) byte ranges of the buffers' payloads (weights, constants, metadata) in `data`;
    everything outside them is the flatbuffer's structure (tables, vectors, strings)."""
    schema = tflite_schema()
    model = schema.Model.GetRootAsModel(bytearray(data), 0)
    ranges = []
    for i in range(model.BuffersLength()):
        table = model.Buffers(i)._tab
        field = table.Offset(4)  # Buffer.data
        if field:
            start = table.Vector(field)
            ranges.append((start, start + table.VectorLen(field)))
    return sorted(ranges)
