"""The main subgraph of a .tflite as plain data: tensors (shape, dtype, bytes, constant?) and ops.

Everything else in core/analysis works on this, so the flatbuffer is read once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.analysis.tflite_reader import dtype_name, op_name, read_model

ITEMSIZE = {"float32": 4, "float16": 2, "int32": 4, "uint8": 1, "int64": 8, "bool": 1, "int16": 2,
            "int8": 1, "float64": 8, "uint32": 4, "uint16": 2, "int4": 1, "complex64": 8}


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple
    dtype: str
    bytes: int
    constant: bool  # backed by data in the file (weights, biases, shape constants)
    variable: bool  # state kept between invocations (TFLM puts it in the tail, not the plan)
    buffer: int
    dynamic: bool = False  # a dimension is unknown until run time


@dataclass
class Op:
    index: int
    type: str
    inputs: list
    outputs: list
    options: object = None


@dataclass
class Graph:
    tensors: list
    ops: list
    inputs: list
    outputs: list
    notes: list = field(default_factory=list)
    model: object = None  # the flatbuffer object model, for writers

    def consumers(self) -> dict:
        """tensor index -> op indices that read it."""
        out: dict = {}
        for op in self.ops:
            for t in op.inputs:
                if t >= 0:
                    out.setdefault(t, []).append(op.index)
        return out

    def producer(self) -> dict:
        return {t: op.index for op in self.ops for t in op.outputs}


def build_graph(data: bytes, label: str = "model") -> Graph:
    model = read_model(data, label)
    notes = []
    if len(model.subgraphs) > 1:
        notes.append(f"{len(model.subgraphs)} subgraphs: the main one (0) is analysed; the others "
                     "run inside control-flow ops (IF/WHILE/CALL_ONCE).")
    sg = model.subgraphs[0]
    tensors = []
    for i, t in enumerate(sg.tensors or []):
        dtype = dtype_name(t)
        shape = tuple(int(d) for d in (t.shape if t.shape is not None else ()))
        sig = t.shapeSignature
        # A dynamic batch (the first dimension) is normal and runs as 1; other unknowns matter.
        dynamic = sig is not None and any(int(d) < 0 for d in list(sig)[1:])
        buf = model.buffers[t.buffer] if t.buffer < len(model.buffers) else None
        constant = bool(t.buffer) and buf is not None and buf.data is not None and len(buf.data) > 0
        n = int(np.prod(shape)) if shape else 1
        size = (n + 1) // 2 if dtype == "int4" else n * ITEMSIZE.get(dtype, 4)
        name = t.name.decode(errors="replace") if isinstance(t.name, bytes) else (t.name or "")
        tensors.append(Tensor(i, name or f"tensor {i}", shape, dtype, size, constant,
                              bool(t.isVariable), t.buffer, dynamic))
    if any(t.dynamic for t in tensors):
        names = ", ".join(t.name for t in tensors if t.dynamic)[:200]
        notes.append(f"Dynamic dimensions (sized here as 1): {names}.")
    ops = [Op(i, op_name(model, op), [int(x) for x in (op.inputs if op.inputs is not None else [])],
              [int(x) for x in (op.outputs if op.outputs is not None else [])], op.builtinOptions)
           for i, op in enumerate(sg.operators or [])]
    return Graph(tensors, ops, [int(x) for x in sg.inputs], [int(x) for x in sg.outputs], notes, model)
