"""Are two .tflite models the same function? Bit-identical outputs on TFLM and on LiteRT's
reference kernels, for random inputs over the input type's range: the proof every rewrite of a
graph owes."""

from __future__ import annotations

import numpy as np

CHECK_SAMPLES = 16


def same_outputs(a: bytes, b: bytes, seed: int = 0) -> str | None:
    """None when both models give bit-identical outputs on TFLM and LiteRT, else what differs."""
    from core.measure.evaluation import LiteRTRunner
    from core.measure.tflm_check import tflm_outputs

    # LiteRT's reference kernels, which define each operator: its optimized ones round a strided
    # one-channel DEPTHWISE_CONV_2D differently from the same CONV_2D, and XNNPACK, after many
    # models in one process, has failed to start for a valid one ("failed to create XNNPACK
    # runtime"). The reference set lacks a few int8 versions (DEPTH_TO_SPACE 2): then the
    # default kernels. TFLM, the runtime the forms are for, is compared below either way.
    try:
        ra, rb = LiteRTRunner(a, reference=True), LiteRTRunner(b, reference=True)
    except ValueError:  # "Didn't find op for builtin opcode ..."
        ra, rb = LiteRTRunner(a), LiteRTRunner(b)
    d = ra.inp
    rng = np.random.default_rng(seed)
    if np.issubdtype(d["dtype"], np.integer):
        info = np.iinfo(d["dtype"])
        x = rng.integers(info.min, info.max, (CHECK_SAMPLES, *d["shape"][1:]), endpoint=True).astype(d["dtype"])
    else:
        x = rng.uniform(-1, 1, (CHECK_SAMPLES, *d["shape"][1:])).astype(d["dtype"])
    for sample in x:
        outs = []
        for r in (ra, rb):
            r.interp.set_tensor(r.inp["index"], sample[None])
            r.interp.invoke()
            outs.append(r.interp.get_tensor(r.out["index"]).copy())
        if not np.array_equal(*outs):
            return "LiteRT outputs differ"
    if not np.array_equal(tflm_outputs(a, x), tflm_outputs(b, x)):
        return "TFLM outputs differ"
    return None
