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

from dataclasses import dataclass

import numpy as np

from core.analysis.schema import op_name, tflite_schema
from core.analysis import tflite_edit as E
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
    kind = "conv_forms"

    @property
    def ops(self) -> list:
        """The operators of the original model the forms replace (for their MACs)."""
        return [self.op] + ([self.pool] if self.pool is not None else [])

    def label(self, model) -> str:
        kh, kw = self.kernel
        pool = " + 2x2 max pool" if self.pool is not None else ""
        return f"{op_name(model, model.subgraphs[0].operators[self.op])} #{self.op} (1 -> {self.channels} channels, {kh}x{kw}{pool})"


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
        if not (E.is_int8(x) and E.is_int8(w) and E.is_int8(y)) or sg.tensors[op.inputs[1]].buffer == 0:
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
    model = E.start_rewrite(model, site, form)
    if form == site.form:
        return model
    return drop_unused(_rewrite(model, site, form))


def _rewrite(model, site: Site, form: str):
    sg = model.subgraphs[0]
    op = sg.operators[site.op]
    weights = _taps(model, op, site)  # [C, kh, kw] int8, the filter of every form
    scales, zeros = E.filter_quant(sg.tensors[op.inputs[1]], site.channels)
    act = op.builtinOptions.fusedActivationFunction
    if form in ("conv", "depthwise"):
        E.set_filter(model, sg.tensors[op.inputs[1]], weights[:, :, :, None] if form == "conv"
                    else np.moveaxis(weights, 0, -1)[None], scales, zeros, 0 if form == "conv" else 3)
        sg.operators[site.op] = E.conv_op(model, form, op.inputs, op.outputs, op.builtinOptions.padding, act,
                                         site.channels)
        return model
    if form == "pairs":
        return _pairs(model, site, weights, scales, zeros, act)
    return _space_to_depth(model, site, weights, scales, zeros, act)


def span(model, site: Site, form: str) -> list:
    """Indices of the operators that compute the site in `model`, the site written in `form`."""
    if form in ("conv", "depthwise"):  # replaced in place; the pool, if any, is where it was
        return site.ops
    if form == "pairs":  # RESHAPE, CONV_2D, RESHAPE in a row; the pool where it was
        return list(range(site.op, site.op + 3)) + ([site.pool + 2] if site.pool is not None else [])
    # SPACE_TO_DEPTH, CONV_2D, then DEPTH_TO_SPACE or RESHAPE + MAX_POOL_2D, in a row
    return list(range(site.op, site.op + (3 if site.pool is None else 4)))


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
    paired = E.new_tensor(sg, [1, h, wd // 2, 2], x)
    filt = E.new_const(model, sg, big, schema.TensorType.INT8)
    sg.tensors[filt].quantization = E.quant(np.tile(scales, 2), np.tile(zeros, 2), 0)
    inputs = [paired, filt] + E.replicated_bias(model, sg, op, c, 2)
    wide = E.new_tensor(sg, [1, ho, wo // 2, 2 * c], y)
    sg.operators[site.op:site.op + 1] = [
        E.reshape(model, sg, x_index, paired, [1, h, wd // 2, 2]),
        E.conv_op(model, "conv", inputs, [wide], schema.Padding.VALID, act, 2 * c),
        E.reshape(model, sg, wide, y_index, [1, ho, wo, c])]
    return model


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
    s2d = E.new_tensor(sg, [1, h // 2, wd // 2, 4], x)
    filt = E.new_const(model, sg, big, schema.TensorType.INT8)
    sg.tensors[filt].quantization = E.quant(np.tile(scales, 4), np.tile(zeros, 4), 0)
    inputs = [s2d, filt] + E.replicated_bias(model, sg, op, c, 4)
    new = [E.new_op(model, "SPACE_TO_DEPTH", [x_index], [s2d], "SpaceToDepthOptions", blockSize=2)]
    if site.pool is None:
        wide = E.new_tensor(sg, [1, ho, wo, 4 * c], y)
        new.append(E.conv_op(model, "conv", inputs, [wide], schema.Padding.VALID, act, 4 * c))
        new.append(E.new_op(model, "DEPTH_TO_SPACE", [wide], [y_index], "DepthToSpaceOptions", blockSize=2))
        sg.operators[site.op:site.op + 1] = new
        return model
    pool = sg.operators[site.pool]
    wide = E.new_tensor(sg, [1, ho, wo, 4 * c], y)
    # [1, ho, wo, 4C] read as [1, ho, 4*wo, C] holds the four positions of each block side by
    # side in a row, so a 1x4/4 max pool writes the 2x2 pool's own output tensor directly.
    rows = E.new_tensor(sg, [1, ho, 4 * wo, c], y)
    new.append(E.conv_op(model, "conv", inputs, [wide], schema.Padding.VALID, act, 4 * c))
    new.append(E.reshape(model, sg, wide, rows, [1, ho, 4 * wo, c]))
    new.append(E.new_op(model, "MAX_POOL_2D", [rows], [pool.outputs[0]], "Pool2DOptions", padding=schema.Padding.VALID,
                   strideH=1, strideW=4, filterHeight=1, filterWidth=4,
                   fusedActivationFunction=pool.builtinOptions.fusedActivationFunction))
    del sg.operators[site.pool]  # after the conv: removing it first keeps site.op valid
    sg.operators[site.op:site.op + 1] = new
    return model


def _taps(model, op, site: Site) -> np.ndarray:
    w = E.buffer_array(model, model.subgraphs[0].tensors[op.inputs[1]], np.int8)
    return w[:, :, :, 0].copy() if site.form == "conv" else np.moveaxis(w[0], -1, 0).copy()
