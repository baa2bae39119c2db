"""A variant measured on a target for the engine: the emulated run on a few evaluation inputs,
checked against the host TFLM's outputs on the same inputs."""

from __future__ import annotations

import numpy as np

from core.errors import TargetError
from core.target.build import Firmware
from core.target.measure import TargetRun, run

SAMPLES = 4  # evaluation inputs run on the target: enough to compare outputs, cheap to emulate


def measure_variant(data: bytes, x, runner: Firmware, clock_mhz: int = 0) -> TargetRun:
    """Run `data` on the target for the first SAMPLES of `x` (model-domain inputs; None: zeros)
    and compare its outputs with the host TFLM's. Raises TinyOptError when it does not run there."""
    from core.analysis.tflite_reader import dtype_name, read_model
    from core.model.info import quantized_inputs
    from core.measure.tflm_check import tflm_outputs

    sg = read_model(data).subgraphs[0]
    if len(sg.inputs) != 1:
        shapes = [sg.tensors[i] for i in sg.inputs]
        xq = [np.zeros((1, *t.shape[1:]), np.dtype(dtype_name(t))) for t in shapes]
    elif x is None or isinstance(x, list):
        t = sg.tensors[sg.inputs[0]]
        xq = np.zeros((1, *t.shape[1:]), np.dtype(dtype_name(t)))
    else:
        xq = quantized_inputs(data, np.asarray(x)[:SAMPLES])
    result = run(data, xq, runner)
    if clock_mhz:
        result.clock_mhz = clock_mhz
    if not isinstance(xq, list):
        try:
            host = tflm_outputs(data, xq)
        except RuntimeError as exc:
            raise TargetError(f"the host TFLM does not run it: {exc}") from None
        mine = result.outputs[0].reshape(host.shape)
        result.matches_host = bool(np.array_equal(mine, host))
        if not result.matches_host:
            diff = np.abs(mine.astype(np.float64) - host.astype(np.float64))
            scale = float(np.max(np.abs(host))) or 1.0
            why = (" (float rounding: the Cortex-M FPU and x86 round and fuse differently)"
                   if host.dtype.kind == "f" and diff.max() <= 1e-4 * scale else "")
            result.host_difference = (f"{int(np.count_nonzero(diff))} of {diff.size} output values differ "
                                      f"from the host TFLM's, by at most {diff.max():.3g}{why}")
    result.outputs = []  # compared; not kept
    return result
