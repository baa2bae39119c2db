"""Structural checks of a parsed .tflite, beyond the flatbuffer verifier.

The verifier proves the bytes are a well-formed flatbuffer; it does not prove that indices point
where they should. A one-byte change to a real model can leave a tensor pointing past the buffer
list or a CONV_2D with a rank-1 filter; the analysis (and LiteRT) would then fail with a raw
IndexError or crash. Every problem found here becomes a `LoadError` naming the file and the
subgraph, operator or tensor, so nothing else has to guard against it.
"""

from __future__ import annotations

import math

from core.errors import LoadError

MAX_ELEMENTS = 2**31 - 1  # TFLite's own limit per tensor (int32 sizes); far above any MCU model
FIXED_ITEMSIZE = {"float32": 4, "float16": 2, "int32": 4, "uint8": 1, "int64": 8, "bool": 1,
                  "int16": 2, "int8": 1, "float64": 8, "uint32": 4, "uint16": 2, "uint64": 8,
                  "complex64": 8, "complex128": 16, "bfloat16": 2}

# Operand counts and ranks the analysis relies on: op -> (min inputs, {input position: rank or
# (lowest, highest) rank}).
OPERANDS = {
    "CONV_2D": (2, {0: 4, 1: 4}),
    "DEPTHWISE_CONV_2D": (2, {0: 4, 1: 4}),
    "TRANSPOSE_CONV": (3, {1: 4, 2: 4}),
    "FULLY_CONNECTED": (2, {1: 2}),
    "BATCH_MATMUL": (2, {0: (1, 8)}),
    "AVERAGE_POOL_2D": (1, {0: 4}),
    "MAX_POOL_2D": (1, {0: 4}),
    "L2_POOL_2D": (1, {0: 4}),
    "ADD": (2, {}), "SUB": (2, {}), "MUL": (2, {}), "SQUARED_DIFFERENCE": (2, {}),
    "MAXIMUM": (2, {}), "MINIMUM": (2, {}),
    "MEAN": (2, {}), "SUM": (2, {}), "REDUCE_MAX": (2, {}),
    "RESHAPE": (1, {}), "SOFTMAX": (1, {}), "QUANTIZE": (1, {}), "DEQUANTIZE": (1, {}),
}
NEEDS_OUTPUT = set(OPERANDS)


def check_model(model, label: str) -> None:
    """Raise `LoadError` (naming `label` and the part) for anything the analysis cannot trust."""

    def bad(where: str, what: str) -> LoadError:
        return LoadError(f"{label}: the TFLite file is damaged or malformed: {where} {what}. "
                         "Export the model again from its source (TFLite converter).")

    from core.analysis.schema import dtype_name, op_name

    subgraphs = model.subgraphs or []
    if not subgraphs:
        raise bad("the model", "has no subgraph")
    buffers = model.buffers or []
    codes = model.operatorCodes or []
    for m in model.metadata or []:
        if not 0 <= m.buffer < len(buffers):
            raise bad(f"metadata '{_text(m.name)}'", f"points to buffer {m.buffer} of {len(buffers)}")
        if _text(m.name) == "OfflineMemoryAllocation":
            _check_offline_plan(bad, buffers[m.buffer].data, len(subgraphs[0].tensors or []))
    for s, sg in enumerate(subgraphs):
        where_sg = f"subgraph {s}" if len(subgraphs) > 1 else ""
        tensors = sg.tensors or []
        n = len(tensors)
        for i, t in enumerate(tensors):
            where = f"{where_sg} tensor {i} ('{_text(t.name)[:60]}')".strip()
            if not 0 <= t.buffer < max(len(buffers), 1):
                raise bad(where, f"points to buffer {t.buffer}, but the file has {len(buffers)}")
            dtype = dtype_name(t)
            if dtype.lstrip("-").isdigit():  # not a name in TFLite's TensorType enum
                raise bad(where, f"has unknown type {t.type}")
            shape = [] if t.shape is None else [int(d) for d in t.shape]
            if any(d < 0 for d in shape):
                raise bad(where, f"has a negative dimension in shape {shape}")
            elements = math.prod(shape)
            if elements > MAX_ELEMENTS:
                raise bad(where, f"declares {elements:,} elements (more than TFLite allows)")
            if t.buffer and t.buffer < len(buffers):
                _check_constant(bad, where, buffers[t.buffer], dtype, elements)
            q = t.quantization
            if q is not None and q.scale is not None and q.zeroPoint is not None \
                    and len(q.zeroPoint) not in (0, len(q.scale)):
                raise bad(where, f"has {len(q.scale)} scales but {len(q.zeroPoint)} zero points")
        for kind, indices in (("input", sg.inputs), ("output", sg.outputs)):
            if s == 0 and (indices is None or len(indices) == 0):
                raise bad("the main subgraph", f"has no {kind} tensor")
            for t in [] if indices is None else indices:
                if not 0 <= int(t) < n:
                    raise bad(f"{where_sg} graph {kind}".strip(), f"is tensor {int(t)}, but there are {n}")
        for o, op in enumerate(sg.operators or []):
            if not 0 <= op.opcodeIndex < len(codes):
                raise bad(f"{where_sg} operator {o}".strip(),
                          f"uses operator code {op.opcodeIndex}, but the file has {len(codes)}")
            name = op_name(model, op)
            where = f"{where_sg} operator {o} ({name})".strip()
            ins = [] if op.inputs is None else [int(x) for x in op.inputs]
            outs = [] if op.outputs is None else [int(x) for x in op.outputs]
            for x in ins:
                if not -1 <= x < n:
                    raise bad(where, f"reads tensor {x}, but there are {n}")
            for x in outs:
                if not 0 <= x < n:
                    raise bad(where, f"writes tensor {x}, but there are {n}")
            rule = OPERANDS.get(name)
            if rule is None:
                continue
            need, ranks = rule
            if len(ins) < need or any(x < 0 for x in ins[:need]):
                raise bad(where, f"has {len(ins)} input(s); it needs at least {need}")
            if name in NEEDS_OUTPUT and not outs:
                raise bad(where, "has no output")
            for pos, rank in ranks.items():
                t = tensors[ins[pos]]
                got = 0 if t.shape is None else len(t.shape)
                low, high = rank if isinstance(rank, tuple) else (rank, rank)
                if not low <= got <= high:
                    need = f"rank {low}" if low == high else f"rank {low} to {high}"
                    raise bad(where, f"input {pos} has rank {got}; {name} needs {need}")


def _check_constant(bad, where: str, buf, dtype: str, elements: int) -> None:
    data = buf.data
    if data is None or len(data) == 0 or getattr(buf, "offset", 0) > 1:
        return  # not a constant, or stored outside the flatbuffer (large models)
    size = FIXED_ITEMSIZE.get(dtype)
    if size is None:
        return  # strings, int4 and other packed types: sizes are not element * itemsize
    if len(data) != elements * size:
        raise bad(where, f"has {len(data):,} bytes of data but its shape and type need {elements * size:,}")


def _check_offline_plan(bad, data, n_tensors: int) -> None:
    """TFLM's layout: version, subgraph count, tensor count, then one int32 offset per tensor."""
    raw = b"" if data is None else bytes(data)
    words = len(raw) // 4
    count = int.from_bytes(raw[8:12], "little", signed=True) if len(raw) >= 12 else -1
    if len(raw) % 4 or words < 3 or count != n_tensors or words != 3 + count:
        raise bad("its offline memory plan (OfflineMemoryAllocation)",
                  f"does not match the model ({len(raw)} bytes for {n_tensors} tensors)")


def _text(name) -> str:
    if isinstance(name, bytes):
        return name.decode("utf-8", "replace")
    return name or ""
