"""Equivalent forms of a convolution over a one-channel input, written into a .tflite.

A 3x3 convolution of a grayscale image is the costliest operator of most small MCU models, and
CMSIS-NN runs it slowly in every form the converter emits: as CONV_2D its im2col copies one byte
per call (about 640 instructions per output pixel on a Cortex-M4), as DEPTHWISE_CONV_2D with a
channel multiplier it takes the generic loop. The same arithmetic has other forms:

- ``conv``: CONV_2D with a [C, kh, kw, 1] filter;
- ``depthwise``: DEPTHWISE_CONV_2D with depth multiplier C;
- ``s2d``: SPACE_TO_DEPTH(2), then a CONV_2D with 4*C filters over the 4-channel image (each
  filter one output channel at one position of a 2x2 output block, the rest of its taps zero),
  then DEPTH_TO_SPACE(2) back; when a 2x2/2 MAX_POOL_2D follows, the pool becomes a max over the
  four positions (RESHAPE, MAX_POOL_2D 1x4) and no full-size map is ever stored;
- ``pairs``: the image read as [H, W/2, 2] (a RESHAPE, free in place: neighbouring pixels are
  adjacent in memory), a CONV_2D with 2*C filters writing two neighbouring output pixels at once,
  read back as [Ho, Wo, C] (another free RESHAPE). Half the im2col calls, few new bytes.

Every form computes the same int32 accumulators with the same per-channel requantization, so
outputs are bit-identical; the caller proves that on TFLM and measures which is fastest
(core.steps.graph). This module only finds the sites and rewrites them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from core.analysis.schema import op_name, tflite_schema
from core.analysis.tflite_writer import drop_unused

FORMS = ("conv", "depthwise", "s2d", "pairs")


@dataclass
class Site:
    """A convolution over a one-channel input, at operator `op` of subgraph 0."""

    op: int
    form: str  # the form it has now
    channels: int
    kernel: tuple  # (kh, kw)
    pool: int | None  # index of the 2x2/2 MAX_POOL_2D that alone reads its output, if any
    forms: list  # the forms that apply here, its own first


def sites(model) -> list[Site]:
    """Convolutions over one input channel with int8 data, stride 1 and no dilation."""
    sg = model.subgraphs[0]
    readers: dict = {}
    for i, op in enumerate(sg.operators):
        for t in op.inputs:
            if t >= 0:
                readers.setdefault(t, []).append(i)
    found = []
    for i, op in enumerate(sg.operators):
        kind = op_name(model, op)
        if kind not in ("CONV_2D", "DEPTHWISE_CONV_2D") or len(op.inputs) < 2:
            continue
        x, w, y = (sg.tensors[op.inputs[0]], sg.tensors[op.inputs[1]], sg.tensors[op.outputs[0]])
        if len(x.shape) != 4 or x.shape[0] != 1 or x.shape[3] != 1 or len(w.shape) != 4:
            continue
        if not (_is_int8(x) and _is_int8(w) and _is_int8(y)) or sg.tensors[op.inputs[1]].buffer == 0:
            continue
        o = op.builtinOptions
        if (o.strideH, o.strideW, o.dilationHFactor or 1, o.dilationWFactor or 1) != (1, 1, 1, 1):
            continue
        if kind == "CONV_2D":
            channels, kh, kw = w.shape[0], w.shape[1], w.shape[2]
        else:
            channels, kh, kw = w.shape[3], w.shape[1], w.shape[2]
        valid = o.padding == tflite_schema().Padding.VALID
        h, wd, (ho, wo) = x.shape[1], x.shape[2], y.shape[1:3]
        even = valid and wd % 2 == 0 and kw % 2 == 1 and wo % 2 == 0 and op.outputs[0] not in sg.outputs
        s2d_ok = even and h % 2 == 0 and kh % 2 == 1 and ho % 2 == 0
        pool = None
        after = readers.get(op.outputs[0], [])
        if len(after) == 1 and op.outputs[0] not in sg.outputs:
            p = sg.operators[after[0]]
            po = p.builtinOptions
            if (op_name(model, p) == "MAX_POOL_2D" and (po.filterHeight, po.filterWidth, po.strideH,
                                                         po.strideW) == (2, 2, 2, 2)
                    and po.padding == tflite_schema().Padding.VALID):
                pool = after[0]
        form = "conv" if kind == "CONV_2D" else "depthwise"
        forms = [form] + [f for f in FORMS if f != form and (f in ("conv", "depthwise") or
                                                             (f == "s2d" and s2d_ok) or (f == "pairs" and even))]
        found.append(Site(i, form, int(channels), (int(kh), int(kw)), pool, forms))
    return found


def rewrite(model, site: Site, form: str):
    """A copy of `model` with the convolution at `site` in `form` (one of site.forms)."""
    if form not in site.forms:
        raise ValueError(f"form {form!r} does not apply here (possible: {', '.join(site.forms)})")
    model = copy.deepcopy(model)
    if form == site.form:
        return model
    return drop_unused(_rewrite(model, site, form))


def _rewrite(model, site: Site, form: str):
    sg = model.subgraphs[0]
    op = sg.operators[site.op]
    weights = _taps(model, op, site)  # [C, kh, kw] int8, the filter of every form
    scales, zeros = _filter_quant(sg.tensors[op.inputs[1]], site.channels)
    act = op.builtinOptions.fusedActivationFunction
    if form in ("conv", "depthwise"):
        _set_filter(model, sg.tensors[op.inputs[1]], weights[:, :, :, None] if form == "conv"
                    else np.moveaxis(weights, 0, -1)[None], scales, zeros, 0 if form == "conv" else 3)
        sg.operators[site.op] = _conv_op(model, form, op.inputs, op.outputs, op.builtinOptions.padding, act,
                                         site.channels)
        return model
    if form == "pairs":
        return _pairs(model, site, weights, scales, zeros, act)
    return _space_to_depth(model, site, weights, scales, zeros, act)


def _site_tensors(model, site: Site):
    """(schema, subgraph, operator, input index, output index, input, output) of the site."""
    sg = model.subgraphs[0]
    op = sg.operators[site.op]
    return (tflite_schema(), sg, op, op.inputs[0], op.outputs[0], sg.tensors[op.inputs[0]],
            sg.tensors[op.outputs[0]])


def _pairs(model, site: Site, w, scales, zeros, act):
    schema, sg, op, x_index, y_index, x, y = _site_tensors(model, site)
    c, (kh, kw) = site.channels, site.kernel
    h, wd = x.shape[1], x.shape[2]
    ho, wo = y.shape[1], y.shape[2]
    kw2 = kw // 2 + 1
    # Filter o = dx*C + ch writes output pixel 2j+dx; input channel sx of pair j+kx2 is pixel
    # 2(j+kx2)+sx, i.e. tap kx = 2*kx2 + sx - dx of the original filter.
    big = np.zeros((2 * c, kh, kw2, 2), np.int8)
    for dx in range(2):
        for kx2 in range(kw2):
            for sx in range(2):
                kx = 2 * kx2 + sx - dx
                if 0 <= kx < kw:
                    big[dx * c:(dx + 1) * c, :, kx2, sx] = w[:, :, kx]
    paired = _tensor(sg, [1, h, wd // 2, 2], x)
    filt = _const(model, sg, big, schema.TensorType.INT8)
    sg.tensors[filt].quantization = _quant(np.tile(scales, 2), np.tile(zeros, 2), 0)
    inputs = [paired, filt] + _replicated_bias(model, sg, op, c, 2)
    wide = _tensor(sg, [1, ho, wo // 2, 2 * c], y)
    sg.operators[site.op:site.op + 1] = [
        _reshape(model, sg, x_index, paired, [1, h, wd // 2, 2]),
        _conv_op(model, "conv", inputs, [wide], schema.Padding.VALID, act, 2 * c),
        _reshape(model, sg, wide, y_index, [1, ho, wo, c])]
    return model


def _replicated_bias(model, sg, op, c: int, times: int) -> list:
    """The bias input of a form with `times` copies of every output channel ([] without a bias)."""
    if len(op.inputs) < 3 or op.inputs[2] < 0:
        return []
    schema = tflite_schema()
    bias = _buffer_array(model, sg.tensors[op.inputs[2]], np.int32)
    b = _const(model, sg, np.tile(bias, times), schema.TensorType.INT32)
    bq = sg.tensors[op.inputs[2]].quantization
    if bq is not None and bq.scale is not None and len(bq.scale) == c:
        sg.tensors[b].quantization = _quant(np.tile(np.asarray(bq.scale), times), np.zeros(times * c, np.int64), 0)
    return [b]


def _space_to_depth(model, site: Site, w, scales, zeros, act):
    schema, sg, op, x_index, y_index, x, y = _site_tensors(model, site)
    c, (kh, kw) = site.channels, site.kernel
    h, wd = x.shape[1], x.shape[2]
    ho, wo = y.shape[1] // 2, y.shape[2] // 2
    kh2, kw2 = kh // 2 + 1, kw // 2 + 1
    # Filter o = (dy*2 + dx)*C + ch, input channel (sy*2 + sx): output (2i+dy, 2j+dx) reads input
    # row 2(i+ky2)+sy, i.e. tap ky = 2*ky2 + sy - dy of the original filter.
    big = np.zeros((4 * c, kh2, kw2, 4), np.int8)
    for dy in range(2):
        for dx in range(2):
            for ky2 in range(kh2):
                for kx2 in range(kw2):
                    for sy in range(2):
                        for sx in range(2):
                            ky, kx = 2 * ky2 + sy - dy, 2 * kx2 + sx - dx
                            if 0 <= ky < kh and 0 <= kx < kw:
                                big[(dy * 2 + dx) * c:(dy * 2 + dx + 1) * c, ky2, kx2, sy * 2 + sx] = w[:, ky, kx]
    s2d = _tensor(sg, [1, h // 2, wd // 2, 4], x)
    filt = _const(model, sg, big, schema.TensorType.INT8)
    sg.tensors[filt].quantization = _quant(np.tile(scales, 4), np.tile(zeros, 4), 0)
    inputs = [s2d, filt] + _replicated_bias(model, sg, op, c, 4)
    new = [_op(model, "SPACE_TO_DEPTH", [x_index], [s2d], "SpaceToDepthOptions", blockSize=2)]
    if site.pool is None:
        wide = _tensor(sg, [1, ho, wo, 4 * c], y)
        new.append(_conv_op(model, "conv", inputs, [wide], schema.Padding.VALID, act, 4 * c))
        new.append(_op(model, "DEPTH_TO_SPACE", [wide], [y_index], "DepthToSpaceOptions", blockSize=2))
        sg.operators[site.op:site.op + 1] = new
        return model
    pool = sg.operators[site.pool]
    wide = _tensor(sg, [1, ho, wo, 4 * c], y)
    # [1, ho, wo, 4C] read as [1, ho, 4*wo, C] holds the four positions of each block side by
    # side in a row, so a 1x4/4 max pool writes the 2x2 pool's own output tensor directly.
    rows = _tensor(sg, [1, ho, 4 * wo, c], y)
    new.append(_conv_op(model, "conv", inputs, [wide], schema.Padding.VALID, act, 4 * c))
    new.append(_reshape(model, sg, wide, rows, [1, ho, 4 * wo, c]))
    new.append(_op(model, "MAX_POOL_2D", [rows], [pool.outputs[0]], "Pool2DOptions", padding=schema.Padding.VALID,
                   strideH=1, strideW=4, filterHeight=1, filterWidth=4,
                   fusedActivationFunction=pool.builtinOptions.fusedActivationFunction))
    del sg.operators[site.pool]  # after the conv: removing it first keeps site.op valid
    sg.operators[site.op:site.op + 1] = new
    return model


def _is_int8(t) -> bool:
    return t.type == tflite_schema().TensorType.INT8


def _buffer_array(model, tensor, dtype) -> np.ndarray:
    raw = model.buffers[tensor.buffer].data
    return np.frombuffer(bytes(bytearray(raw)), dtype).reshape(tensor.shape)


def _taps(model, op, site: Site) -> np.ndarray:
    w = _buffer_array(model, model.subgraphs[0].tensors[op.inputs[1]], np.int8)
    return w[:, :, :, 0].copy() if site.form == "conv" else np.moveaxis(w[0], -1, 0).copy()


def _filter_quant(tensor, channels: int):
    q = tensor.quantization
    scales = np.asarray(q.scale, np.float32)
    zeros = np.asarray(q.zeroPoint if q.zeroPoint is not None else np.zeros(len(scales)), np.int64)
    if len(scales) == 1:  # per-tensor: the same scale for every channel
        scales, zeros = np.repeat(scales, channels), np.repeat(zeros, channels)
    return scales, zeros


def _quant(scales, zeros, axis: int):
    q = tflite_schema().QuantizationParametersT()
    q.scale, q.zeroPoint, q.quantizedDimension = list(map(float, scales)), list(map(int, zeros)), axis
    return q


def _set_filter(model, tensor, values: np.ndarray, scales, zeros, axis: int) -> None:
    buf = tflite_schema().BufferT()
    buf.data = np.frombuffer(values.astype(np.int8).tobytes(), np.uint8)
    model.buffers.append(buf)  # a buffer of its own: the old one may be shared
    tensor.buffer = len(model.buffers) - 1
    tensor.shape = list(values.shape)
    tensor.quantization = _quant(scales, zeros, axis)


def _tensor(sg, shape, like) -> int:
    """A new activation tensor with `like`'s type and quantization."""
    t = tflite_schema().TensorT()
    t.shape, t.type, t.buffer, t.name = list(shape), like.type, 0, b""
    t.quantization = copy.deepcopy(like.quantization)
    sg.tensors.append(t)
    return len(sg.tensors) - 1


def _const(model, sg, values: np.ndarray, dtype) -> int:
    schema = tflite_schema()
    buf = schema.BufferT()
    buf.data = np.frombuffer(np.ascontiguousarray(values).tobytes(), np.uint8)
    model.buffers.append(buf)
    t = schema.TensorT()
    t.shape, t.type, t.buffer, t.name = list(values.shape), dtype, len(model.buffers) - 1, b""
    sg.tensors.append(t)
    return len(sg.tensors) - 1


def _opcode(model, name: str, version: int) -> int:
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


def _op(model, name: str, inputs, outputs, options: str, **fields):
    schema = tflite_schema()
    op = schema.OperatorT()
    op.opcodeIndex = _opcode(model, name, VERSIONS[name])
    op.inputs, op.outputs = list(inputs), list(outputs)
    opts = getattr(schema, options + "T")()
    for k, v in fields.items():
        setattr(opts, k, v)
    op.builtinOptionsType, op.builtinOptions = getattr(schema.BuiltinOptions, options), opts
    return op


def _conv_op(model, form: str, inputs, outputs, padding, act, channels: int):
    common = dict(padding=padding, strideH=1, strideW=1, dilationHFactor=1, dilationWFactor=1,
                  fusedActivationFunction=act)
    if form == "conv":
        return _op(model, "CONV_2D", inputs, outputs, "Conv2DOptions", **common)
    return _op(model, "DEPTHWISE_CONV_2D", inputs, outputs, "DepthwiseConv2DOptions", depthMultiplier=channels,
               **common)


def _reshape(model, sg, src: int, dst: int, shape):
    # No shape tensor: TFLM reads the output tensor's dims, LiteRT the option (saves ~100 B each).
    return _op(model, "RESHAPE", [src], [dst], "ReshapeOptions", newShape=list(shape))
