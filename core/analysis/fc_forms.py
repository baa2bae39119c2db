"""A FULLY_CONNECTED as a CONV_2D: 1x1 over its input read as one pixel, or HxW over the image it
flattens.

CMSIS-NN has separate kernels for the two (a vector-matrix product; im2col-free 1x1 or general
convolutions), and which is faster depends on the core and the shapes. A Dense layer after a
Flatten is, weight for weight, a VALID convolution whose kernel covers the whole image: the Flatten
is row-major over (H, W, C), the convolution filter's layout [O, H, W, C]. Both forms compute the
same int32 accumulators; the requantization is the same only where TFLM derives the same
multiplier: FULLY_CONNECTED multiplies input and filter scales in float, CONV_2D in double, so a
form is offered only where both round to the same fixed-point multiplier and shift.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from core.analysis import tflite_edit as E
from core.analysis.schema import op_name, tflite_schema
from core.analysis.tflite_writer import drop_unused


@dataclass
class Site:
    op: int
    forms: tuple
    inputs: int  # N
    outputs: int  # O
    flatten: int | None  # the RESHAPE that flattens [1, H, W, C] into the input, if only it feeds it
    image: tuple | None  # (H, W, C) of that image
    form: str = "fc"
    kind = "fc_forms"

    @property
    def ops(self) -> list:
        return [self.op]

    def label(self, model) -> str:
        over = f" over a flattened {'x'.join(map(str, self.image))} image" if self.image else ""
        return f"FULLY_CONNECTED #{self.op} ({self.inputs} -> {self.outputs}{over})"


def quantize_multiplier(m: float) -> tuple:
    """TFLite's QuantizeMultiplier: (significand in Q31, shift)."""
    if m == 0:
        return 0, 0
    q, shift = math.frexp(m)
    fixed = math.floor(q * (1 << 31) + 0.5)  # std::round, half away from zero (q > 0)
    if fixed == 1 << 31:
        fixed, shift = fixed // 2, shift + 1
    if shift < -31:
        return 0, 0
    return fixed, shift


def same_requantization(input_scale: float, filter_scales, output_scale: float) -> bool:
    """Does CONV_2D's per-channel multiplier equal FULLY_CONNECTED's per-tensor one?"""
    if len(filter_scales) != 1:  # a per-channel FULLY_CONNECTED takes the convolution's formula
        return True
    f32 = np.float32
    fc = float(f32(input_scale) * f32(filter_scales[0])) / float(f32(output_scale))
    conv = float(f32(input_scale)) * float(f32(filter_scales[0])) / float(f32(output_scale))
    return quantize_multiplier(fc) == quantize_multiplier(conv)


def sites(model) -> list[Site]:
    sg = model.subgraphs[0]
    schema = tflite_schema()
    readers = E.readers(sg)
    producer = {t: i for i, op in enumerate(sg.operators) for t in op.outputs}
    found = []
    for i, op in enumerate(sg.operators):
        if op_name(model, op) != "FULLY_CONNECTED" or len(op.inputs) < 2:
            continue
        x, w, y = sg.tensors[op.inputs[0]], sg.tensors[op.inputs[1]], sg.tensors[op.outputs[0]]
        o = op.builtinOptions
        if (len(x.shape) != 2 or x.shape[0] != 1 or len(w.shape) != 2 or w.buffer == 0 or len(y.shape) != 2
                or not (E.is_int8(x) and E.is_int8(w) and E.is_int8(y))
                or (o is not None and o.weightsFormat != schema.FullyConnectedOptionsWeightsFormat.DEFAULT)):
            continue
        if not same_requantization(x.quantization.scale[0], list(w.quantization.scale), y.quantization.scale[0]):
            continue
        n, out = int(w.shape[1]), int(w.shape[0])
        flatten, image = None, None
        p = producer.get(op.inputs[0])
        if (p is not None and op_name(model, sg.operators[p]) == "RESHAPE" and readers.get(op.inputs[0]) == [i]
                and op.inputs[0] not in sg.outputs):
            z = sg.tensors[sg.operators[p].inputs[0]]
            if len(z.shape) == 4 and z.shape[0] == 1 and int(np.prod(z.shape[1:])) == n:
                flatten, image = p, tuple(int(v) for v in z.shape[1:])
        forms = ("fc", "conv1x1") + (("conv",) if flatten is not None else ())
        found.append(Site(i, forms, n, out, flatten, image))
    return found


def rewrite(model, site: Site, form: str):
    if form not in site.forms:
        raise ValueError(f"form {form!r} does not apply here (possible: {', '.join(site.forms)})")
    model = copy.deepcopy(model)
    if form == site.form:
        return model
    schema = tflite_schema()
    sg = model.subgraphs[0]
    op = sg.operators[site.op]
    x, w_t, y = sg.tensors[op.inputs[0]], sg.tensors[op.inputs[1]], sg.tensors[op.outputs[0]]
    w = E.buffer_array(model, w_t, np.int8)
    scales, zeros = E.filter_quant(w_t, site.outputs)
    act = op.builtinOptions.fusedActivationFunction if op.builtinOptions is not None else 0
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        bias = [op.inputs[2]]
    else:  # LiteRT's int8 CONV_2D needs a bias: zeros add nothing
        bias = [E.new_const(model, sg, np.zeros(site.outputs, np.int32), schema.TensorType.INT32)]
        sg.tensors[bias[0]].quantization = E.quant(scales * np.float32(x.quantization.scale[0]),
                                                   np.zeros(site.outputs, np.int64), 0)
    pixel = E.new_tensor(sg, [1, 1, 1, site.outputs], y)
    new = []
    if form == "conv1x1":
        src = E.new_tensor(sg, [1, 1, 1, site.inputs], x)
        new.append(E.reshape(model, sg, op.inputs[0], src, [1, 1, 1, site.inputs]))
        filt = w.reshape(site.outputs, 1, 1, site.inputs)
    else:
        src = sg.operators[site.flatten].inputs[0]
        filt = w.reshape(site.outputs, *site.image)
    kernel = E.new_const(model, sg, filt, schema.TensorType.INT8)
    sg.tensors[kernel].quantization = E.quant(scales, zeros, 0)
    new.append(E.conv_op(model, "conv", [src, kernel] + bias, [pixel], schema.Padding.VALID, act, site.outputs))
    new.append(E.reshape(model, sg, pixel, op.outputs[0], list(y.shape)))
    sg.operators[site.op:site.op + 1] = new
    if form == "conv":
        del sg.operators[site.flatten]  # before the FULLY_CONNECTED: site.op's slice is written first
    return drop_unused(model)


def span(model, site: Site, form: str) -> list:
    flatten = [site.flatten] if site.flatten is not None else []  # the "conv" form takes its place
    if form == "fc":
        return flatten + [site.op]
    if form == "conv1x1":
        return flatten + [site.op, site.op + 1, site.op + 2]
    return [site.op - 1, site.op]
