"""What a model takes and gives: input and output shapes, and the input range it expects."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from core.artifact import Artifact


@dataclass(frozen=True)
class ModelIO:
    input_shape: tuple  # the first input, without the batch axis; None for unknown dimensions
    num_outputs: int | None  # size of the first output's last axis
    value_range: tuple = (0.0, 1.0)
    output_shape: tuple = ()  # the first output, without the batch axis
    input_shapes: tuple = ()  # every input (several for multi-input models)
    output_shapes: tuple = ()
    range_source: str = "default for images"  # where value_range comes from, for the log and the window

    @property
    def multi_input(self) -> bool:
        return len(self.input_shapes) > 1


# One answer per artifact while it lives: a run asks it many times (task, scaling, data, inputs),
# and for a .tflite each answer costs a new LiteRT interpreter.
_IO = weakref.WeakKeyDictionary()


def model_io(artifact: Artifact) -> ModelIO:
    """The artifact's inputs and outputs, in canonical order (computed once per artifact)."""
    try:
        return _IO[artifact]
    except (KeyError, TypeError):
        pass
    io = _model_io(artifact)
    try:
        _IO[artifact] = io
    except TypeError:  # not weak-referenceable or hashable: answer without keeping it
        pass
    return io


def _model_io(artifact: Artifact) -> ModelIO:
    if artifact.is_keras:
        return _keras_io(artifact.model)
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=artifact.data)

    def shape(detail):
        return tuple(None if d < 0 else int(d) for d in detail.get("shape_signature", detail["shape"])[1:])

    in_details, out_details = tflite_io_details(interp)
    ins, outs = tuple(shape(d) for d in in_details), tuple(shape(d) for d in out_details)
    first = out_details[0]["shape"]
    return ModelIO(ins[0], int(first[-1]) if len(first) else None, output_shape=outs[0],
                   input_shapes=ins, output_shapes=outs)


# Inputs and outputs in one canonical order for Keras and .tflite alike: sorted by name. The
# converter lists a Keras model's inputs in its own order (inputs a, b may become b, a), and a
# variant must get the same input arrays as its original and be compared output by output.

def tflite_io_details(interp) -> tuple[list, list]:
    """LiteRT input and output details in canonical order: by the signature's names when the model
    has a signature (converted Keras models), else as the model lists them."""
    ins, outs = interp.get_input_details(), interp.get_output_details()
    sigs = interp.get_signature_list()
    if len(sigs) == 1 and (len(ins) > 1 or len(outs) > 1):
        runner = interp.get_signature_runner(next(iter(sigs)))
        by_index = {d["index"]: d for d in ins + outs}
        s_in, s_out = runner.get_input_details(), runner.get_output_details()
        if len(s_in) == len(ins) and len(s_out) == len(outs):
            ins = [by_index[s_in[k]["index"]] for k in sorted(s_in)]
            outs = [by_index[s_out[k]["index"]] for k in sorted(s_out)]
    return list(ins), list(outs)


def keras_io_order(model) -> tuple[list, list]:
    """Positions of a Keras model's inputs and outputs in canonical order (sorted by name)."""
    ins, outs = list(model.input_names), list(model.output_names)
    return sorted(range(len(ins)), key=ins.__getitem__), sorted(range(len(outs)), key=outs.__getitem__)


def _keras_io(model) -> ModelIO:
    ins = model.input_shape if isinstance(model.input_shape, list) else [model.input_shape]
    outs = model.output_shape if isinstance(model.output_shape, list) else [model.output_shape]
    in_order, out_order = keras_io_order(model) if len(ins) > 1 or len(outs) > 1 else ([0], [0])
    ins = tuple(tuple(ins[i][1:]) for i in in_order)
    outs = tuple(tuple(outs[i][1:]) for i in out_order)
    value_range, source = _keras_value_range(model)
    return ModelIO(ins[0], outs[0][-1] if outs[0] else None, value_range, outs[0], ins, outs, source)


def _keras_value_range(model) -> tuple:
    """(range, where it comes from). A leading Rescaling(1/255) means raw 0..255 pixels; a leading
    Normalization layer means raw units, whose scale its adapted mean and variance tell."""
    for layer in model.layers[:3]:
        kind = type(layer).__name__
        if kind == "Rescaling":
            scale = float(layer.get_config().get("scale", 1.0))
            if 0 < scale < 1:
                return (0.0, round(1.0 / scale, 3)), f"the model's Rescaling layer (scale {scale:g})"
        if kind == "Normalization":
            mean, var = (np.asarray(getattr(layer, a, np.nan), np.float64) for a in ("mean", "variance"))
            if mean.size and np.all(np.isfinite(mean)) and np.all(np.isfinite(var)):
                top = float(np.max(mean + 3 * np.sqrt(np.maximum(var, 0))))
                # Adapted on 0..255 pixels the mean is tens; on 0..1 data it is below 1.
                hi = 255.0 if top > 2 else 1.0
                return (0.0, hi), (f"the model's Normalization layer (mean {float(np.mean(mean)):.3g}, "
                                   f"std {float(np.mean(np.sqrt(var))):.3g}: raw units 0..{hi:g})")
    return (0.0, 1.0), "default for images"


def draw_inputs(io: ModelIO, samples: int, seed: int, value_range: tuple | None = None):
    """Inputs drawn uniformly from the input range: an array, or a list of arrays (one per input)
    for multi-input models. Raises ValueError when an input's shape is not fixed."""
    lo, hi = value_range or io.value_range
    shapes = io.input_shapes or (io.input_shape,)
    if any(d is None for s in shapes for d in s):
        raise ValueError(f"input shape {shapes[0] if len(shapes) == 1 else shapes} is not fixed")
    rng = np.random.default_rng(seed)
    xs = [rng.uniform(lo, hi, (samples, *s)).astype(np.float32) for s in shapes]
    return xs[0] if len(xs) == 1 else xs


def draw_scaled(artifact: Artifact, samples: int, seed: int, value_range=None, norm: dict | None = None):
    """`draw_inputs` for a model as the run scales its inputs (a range, or 0..1 then normalized);
    None when an input's size is unknown or LiteRT cannot open the model."""
    from core.data import normalize

    try:
        x = draw_inputs(model_io(artifact), samples, seed, (0.0, 1.0) if norm else value_range)
    except Exception:  # an input of unknown size, or a model LiteRT cannot open: nothing to draw
        return None
    if norm is None:
        return x
    return [normalize(a, norm) for a in x] if isinstance(x, list) else normalize(x, norm)


def quantized_inputs(data: bytes, x: np.ndarray) -> np.ndarray:
    """`x` (model-domain floats) as the model's first input takes it: quantized with its scale and
    zero point when it is an integer tensor, reshaped to its shape without the batch axis."""
    from core.analysis.tflite_reader import dtype_name, read_model

    sg = read_model(data).subgraphs[0]
    t_in = sg.tensors[sg.inputs[0]]
    x = np.asarray(x).reshape((-1, *[int(d) for d in t_in.shape[1:]]))
    dtype = np.dtype(dtype_name(t_in))
    q = t_in.quantization
    if np.issubdtype(dtype, np.integer) and q is not None and q.scale is not None and len(q.scale):
        info = np.iinfo(dtype)
        x = np.clip(np.round(x / q.scale[0] + q.zeroPoint[0]), info.min, info.max)
    return x.astype(dtype)
