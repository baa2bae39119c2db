"""What a trial's variant can never go below, known before anything is fine-tuned or converted.

The search uses these to stop a trial that its device budget already rules out (core/search/run.py):
fine-tuning is most of a trial's time. Both bounds are strict lower bounds, never estimates:
- flash: every Conv/Dense kernel weight is stored, at no fewer bits than the PTQ mode keeps
  (8 for the integer modes and dynamic range, 16 for float16) or the LUT index bits of `compress`
  (one bit where it may store a tensor sparse: its bitmap);
  pruning and clustering change values, not how many are stored; biases, the flatbuffer and
  metadata only add to it.
- RAM: the arena holds every activation tensor at some point; none is smaller than its elements
  times the mode's activation width (1 byte int8, 2 bytes 16x8, 4 bytes float activations).
A separable or channels step changes the kernels' shapes, so no bound is given for trials that have one.
"""

from __future__ import annotations

import numpy as np

WEIGHT_BITS = {"int8": 8, "full-int": 8, "16x8": 8, "dynamic": 8, "float16": 16, "float32": 32}
ACTIVATION_BYTES = {"int8": 1, "full-int": 1, "16x8": 2, "dynamic": 4, "float16": 4, "float32": 4}
KERNELS = ("Conv2D", "Conv1D", "Dense", "DepthwiseConv2D", "SeparableConv2D")


def lower_bounds(model, steps: list[dict]) -> tuple[int, int] | None:
    """(flash bytes, arena bytes) that the variant of `steps` (applied to Keras `model`) cannot go
    below; None when the steps change the model's shapes."""
    names = [s["name"] for s in steps]
    if "separable" in names or "channels" in names:
        return None
    modes = next((s["params"].get("modes", []) for s in steps if s["name"] == "quantize"), ["float32"])
    if len(modes) != 1 or modes[0] not in WEIGHT_BITS:
        return None
    mode = modes[0]
    bits = WEIGHT_BITS[mode]
    compress = next((s for s in steps if s["name"] == "compress"), None)
    storage = compress["params"].get("storage", "auto") if compress is not None else None
    if storage == "lut" and compress["params"].get("index_bits"):
        bits = min(bits, int(compress["params"]["index_bits"]))
    elif compress is not None:
        bits = 1  # LUT bits chosen per tensor, or sparse storage's bitmap: at least one per weight
    weights = sum(int(np.prod(w.shape)) for layer in model.layers if type(layer).__name__ in KERNELS
                  for w in layer.weights[:1])
    largest = 0
    for layer in model.layers:
        shapes = layer.output_shape if isinstance(layer.output_shape, list) else [layer.output_shape]
        for shape in shapes:
            if shape and all(isinstance(d, int) for d in shape[1:]):
                largest = max(largest, int(np.prod(shape[1:])))
    return weights * bits // 8, largest * ACTIVATION_BYTES[mode]
