"""A depthwise convolution with a channel multiplier as a CONV_2D, and back.

CMSIS-NN runs DEPTHWISE_CONV_2D fast only with multiplier 1; with a multiplier it takes the generic
loop. The same layer is a CONV_2D whose filter is block-diagonal: output channel o = c*M + m reads
input channel c with the depthwise taps of o and every other input channel with zero weights, so
its int32 accumulators, bias and per-channel requantization are the depthwise ones, exactly. It
costs Cin times the multiply-accumulates, which only the measurement can say is worth it.

Sites here are the ones core.analysis.conv_forms leaves: depthwise convolutions with a multiplier
over several input channels, and convolutions over one input channel with a stride.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.analysis import tflite_edit as E
from core.analysis.schema import op_name
from core.analysis.tflite_writer import drop_unused

MAX_INPUT_CHANNELS = 16  # beyond, the CONV_2D's Cin-fold work cannot pay for the generic loop


@dataclass
class Site:
    op: int
    form: str  # "depthwise" or "conv"
    forms: tuple
    channels_in: int
    channels_out: int
    kernel: tuple
    stride: tuple
    kind = "dw_forms"

    @property
    def ops(self) -> list:
        return [self.op]

    def label(self, model) -> str:
        kh, kw = self.kernel
        stride = f", stride {self.stride[0]}x{self.stride[1]}" if self.stride != (1, 1) else ""
        return (f"{op_name(model, model.subgraphs[0].operators[self.op])} #{self.op} "
                f"({self.channels_in} -> {self.channels_out} channels, {kh}x{kw}{stride})")


def sites(model) -> list[Site]:
    sg = model.subgraphs[0]
    found = []
    for i, op in enumerate(sg.operators):
        kind = op_name(model, op)
        if kind not in ("CONV_2D", "DEPTHWISE_CONV_2D") or len(op.inputs) < 2:
            continue
        x, w, y = sg.tensors[op.inputs[0]], sg.tensors[op.inputs[1]], sg.tensors[op.outputs[0]]
        if (len(x.shape) != 4 or x.shape[0] != 1 or len(w.shape) != 4 or w.buffer == 0
                or not (E.is_int8(x) and E.is_int8(w) and E.is_int8(y))):
            continue
        o = op.builtinOptions
        if (o.dilationHFactor or 1, o.dilationWFactor or 1) != (1, 1):
            continue
        cin, stride = int(x.shape[3]), (int(o.strideH), int(o.strideW))
        if kind == "DEPTHWISE_CONV_2D":
            cout, kh, kw = int(w.shape[3]), int(w.shape[1]), int(w.shape[2])
            multiplier = cout // cin
            ok = (cin > 1 and multiplier > 1 and cin <= MAX_INPUT_CHANNELS) or (cin == 1 and stride != (1, 1))
            form, other = "depthwise", "conv"
        else:
            cout, kh, kw = int(w.shape[0]), int(w.shape[1]), int(w.shape[2])
            ok = cin == 1 and w.shape[3] == 1 and stride != (1, 1)
            form, other = "conv", "depthwise"
        if ok:
            found.append(Site(i, form, (form, other), cin, cout, (kh, kw), stride))
    return found


def rewrite(model, site: Site, form: str):
    model = E.start_rewrite(model, site, form)
    if form == site.form:
        return model
    sg = model.subgraphs[0]
    op = sg.operators[site.op]
    w_t = sg.tensors[op.inputs[1]]
    w = E.buffer_array(model, w_t, np.int8)
    scales, zeros = E.filter_quant(w_t, site.channels_out)
    cin, cout = site.channels_in, site.channels_out
    if form == "conv":  # [1, kh, kw, Cout] -> block-diagonal [Cout, kh, kw, Cin]
        multiplier = cout // cin
        big = np.zeros((cout, *site.kernel, cin), np.int8)
        for o in range(cout):
            big[o, :, :, o // multiplier] = w[0, :, :, o]
        E.set_filter(model, w_t, big, scales, zeros, 0)
    else:  # one input channel: [Cout, kh, kw, 1] -> [1, kh, kw, Cout]
        E.set_filter(model, w_t, np.moveaxis(w[:, :, :, 0], 0, -1)[None], scales, zeros, 3)
    sg.operators[site.op] = E.conv_op(model, form, op.inputs, op.outputs, op.builtinOptions.padding,
                                      op.builtinOptions.fusedActivationFunction, cout // cin, site.stride)
    return drop_unused(model)


def span(model, site: Site, form: str) -> list:
    return [site.op]
