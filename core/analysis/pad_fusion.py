"""A PAD before a convolution, folded into the convolution's own SAME padding.

The converter folds a ZeroPadding2D into the convolution when the pads are SAME's own, but keeps
the others as a PAD that copies the whole input into a larger buffer before a VALID convolution:
PyTorch's symmetric padding of 1 before a stride-2 3x3 convolution of an even image (SAME would
pad 0 before and 1 after), which onnx2tf passes on. Such a convolution is still a SAME one with a
larger kernel: its filter gets zero taps before or after the original ones (4x4 for that case),
chosen so that SAME's padding starts each window where the PAD did. The PAD fills with the input's
zero point (an int8 PAD without a constant does), and SAME's border taps contribute
(zp - zp) * w = 0, as the zero taps do: the accumulators are the same. The copy and its buffer go;
the larger kernel costs multiply-accumulates, which the measurement weighs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.analysis import tflite_edit as E
from core.analysis.schema import op_name, tflite_schema
from core.analysis.tflite_writer import drop_unused

CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D")


@dataclass
class Site:
    """PAD at operator `op`, read only by the convolution at `conv`."""

    op: int
    conv: int
    pads: tuple  # (top, bottom, left, right)
    taps: tuple  # zero taps the filter gains: (before, after) rows, (before, after) columns
    form: str = "pad"
    forms: tuple = ("pad", "fused")
    kind = "pad_fusion"

    @property
    def ops(self) -> list:
        return [self.op, self.conv]

    def label(self, model) -> str:
        conv = model.subgraphs[0].operators[self.conv]
        t, b, left, r = self.pads
        w = model.subgraphs[0].tensors[conv.inputs[1]].shape
        (a, z), (c, d) = self.taps
        kernel = f", as {w[1] + a + z}x{w[2] + c + d}" if any((a, z, c, d)) else ""
        return f"PAD #{self.op} ({t},{b},{left},{r}) + {op_name(model, conv)} #{self.conv} {w[1]}x{w[2]}{kernel}"


def same_pads(size: int, kernel: int, stride: int) -> tuple:
    """(before, after) padding of SAME for one axis, as TFLite computes it."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def as_same(size: int, kernel: int, stride: int, pads: tuple):
    """(zero taps before, after) that make a VALID convolution of the input padded by `pads` a SAME
    one over the input itself, or None. SAME must write as many outputs and start each window
    where the padded one starts; the taps past the original ones read SAME's padding or input
    rows the original never read, with zero weights."""
    before, after = pads
    out = (size + before + after - kernel) // stride + 1
    if out != -(-size // stride):
        return None
    for k in range(kernel, kernel + 2 * stride + 1):
        top, _ = same_pads(size, k, stride)
        lead = top - before
        if lead >= 0 and k - kernel - lead >= 0:
            return lead, k - kernel - lead
    return None


def sites(model) -> list[Site]:
    sg = model.subgraphs[0]
    schema = tflite_schema()
    readers = E.readers(sg)
    found = []
    for i, op in enumerate(sg.operators):
        if op_name(model, op) not in ("PAD", "PADV2") or len(op.inputs) < 2:
            continue
        x, y = sg.tensors[op.inputs[0]], sg.tensors[op.outputs[0]]
        after = readers.get(op.outputs[0], [])
        if (len(x.shape) != 4 or x.shape[0] != 1 or not (E.is_int8(x) and E.is_int8(y)) or len(after) != 1
                or op.outputs[0] in sg.outputs or not _same_quant(x, y)):
            continue
        pads = _pads(model, sg, op)
        if pads is None or not _fills_with_zero_point(model, sg, op, y):
            continue
        conv = sg.operators[after[0]]
        if op_name(model, conv) not in CONVS or conv.inputs[0] != op.outputs[0]:
            continue
        o = conv.builtinOptions
        if o.padding != schema.Padding.VALID or (o.dilationHFactor or 1, o.dilationWFactor or 1) != (1, 1):
            continue
        if pads[0] != (0, 0) or pads[3] != (0, 0):
            continue
        w = sg.tensors[conv.inputs[1]]
        if w.buffer == 0 or model.buffers[w.buffer].data is None:
            continue
        if pads[1:3] == ((0, 0), (0, 0)):
            taps = ((0, 0), (0, 0))  # no padding at all: the PAD is a copy, VALID stays
        else:
            taps = (as_same(x.shape[1], w.shape[1], o.strideH, pads[1]), as_same(x.shape[2], w.shape[2], o.strideW, pads[2]))
            if None in taps:
                continue
        found.append(Site(i, after[0], (*pads[1], *pads[2]), taps))
    return found


def rewrite(model, site: Site, form: str):
    model = E.start_rewrite(model, site, form)
    if form == site.form:
        return model
    sg = model.subgraphs[0]
    pad, conv = sg.operators[site.op], sg.operators[site.conv]
    conv.inputs[0] = pad.inputs[0]
    if any(site.pads):
        conv.builtinOptions.padding = tflite_schema().Padding.SAME
    (a, z), (c, d) = site.taps
    if any((a, z, c, d)):
        w_t = sg.tensors[conv.inputs[1]]
        w = np.pad(E.buffer_array(model, w_t, np.int8), ((0, 0), (a, z), (c, d), (0, 0)))
        q = w_t.quantization
        E.set_filter(model, w_t, w, q.scale, q.zeroPoint if q.zeroPoint is not None else [0] * len(q.scale),
                     q.quantizedDimension)
    del sg.operators[site.op]
    return drop_unused(model)


def span(model, site: Site, form: str) -> list:
    return [site.op, site.conv] if form == "pad" else [site.conv - 1]


def _pads(model, sg, op):
    t = sg.tensors[op.inputs[1]]
    if t.buffer == 0 or model.buffers[t.buffer].data is None:
        return None
    dtype = np.int64 if t.type == tflite_schema().TensorType.INT64 else np.int32
    values = E.buffer_array(model, t, dtype)
    if values.shape != (4, 2):
        return None
    return tuple(tuple(int(v) for v in row) for row in values)


def _fills_with_zero_point(model, sg, op, y) -> bool:
    """An int8 PAD fills with its output's zero point; a PADV2 with its constant, which must be it."""
    if len(op.inputs) < 3 or op.inputs[2] < 0:
        return True
    c = sg.tensors[op.inputs[2]]
    if c.buffer == 0 or model.buffers[c.buffer].data is None or not E.is_int8(c):
        return False
    value = E.buffer_array(model, c, np.int8).reshape(-1)
    return value.size == 1 and int(value[0]) == _zero_point(y)


def _zero_point(t) -> int:
    q = t.quantization
    return int(q.zeroPoint[0]) if q is not None and q.zeroPoint is not None and len(q.zeroPoint) else 0


def _same_quant(a, b) -> bool:
    qa, qb = a.quantization, b.quantization
    if qa is None or qb is None or qa.scale is None or qb.scale is None:
        return False
    return list(qa.scale) == list(qb.scale) and _zero_point(a) == _zero_point(b)
