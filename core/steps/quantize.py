"""Post-training quantization (Keras -> TFLite) in the five modes TensorFlow Lite defines.

The written flatbuffer is checked against what was asked for (e.g. integer-only really has int8
input and output tensors and no float activations); a mismatch is an error, never a silent variant.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.artifact import TFLITE
from core.choices import CALIBRATED, PTQ_MODES
from core.errors import ConversionError, DataError, setting
from core.params import param
from core.steps.base import Context, Progress, Step

MODES = PTQ_MODES  # mode -> title
NEEDS_DATA = CALIBRATED
FLOAT_ONLY = ("float32", "float16")  # exports that keep no integer arithmetic


class QuantizeStep(Step):
    """Convert a Keras model to TFLite, once per requested mode (one variant each)."""

    name = "quantize"
    title = "Post-training quantization"
    takes = "keras"
    gives = TFLITE
    primary = "modes"

    @dataclass
    class Params:
        modes: list = param(["int8"], "conversions to make, one variant each", kind="choices",
                            choices=tuple(MODES), labels=MODES)
        representative_samples: int = param(200, "calibration samples for integer modes", min=1,
                                            max=100_000, unit="samples")
        # MCUs run batch 1; a fixed batch folds Reshape/Flatten shape arithmetic into constants
        # (the reference CNN loses SHAPE, STRIDED_SLICE and PACK ops: ~1 KB and ~450 B of arena).
        batch_one: bool = param(True, "convert with a fixed batch of 1, as an MCU runs it")
        # Integer modes need calibration data; without any, synthetic inputs only if asked for.
        calibration: str = param("data", "what integer modes calibrate on: the dataset, or inputs "
                                 "drawn from the input's range (when there is no data)",
                                 choices=("data", "synthetic"))

    def check_order(self, previous):
        floats = [m for m in self.params.modes if m in FLOAT_ONLY]
        if floats and any(s.name == "qat" for s in previous):
            return (f"mode(s) {', '.join(floats)} would throw away what quantization-aware training "
                    "learned (a float export ignores its ranges); choose int8 or full-int after 'qat'.")
        return None

    def outputs(self):
        return list(self.params.modes)

    def run(self, artifact, ctx: Context) -> list:
        results = []
        calibration, synthetic = ctx.dataset, False
        if ctx.dataset is None and any(m in NEEDS_DATA for m in self.params.modes):
            if self.params.calibration != "synthetic":
                modes = ", ".join(m for m in self.params.modes if m in NEEDS_DATA)
                raise DataError(f"Step 'quantize': mode(s) {modes} calibrate on representative data, and "
                                f"there is none. Give your data with {setting('data')}, or ask "
                                f"for synthetic calibration explicitly with {setting('calibration_synthetic')} (inputs "
                                "drawn from the input's range: the result's accuracy is then unknown).")
            calibration, synthetic = synthetic_calibration(artifact, self.params.representative_samples,
                                                           ctx.seed, ctx.input_range, ctx.input_norm), True
        for i, mode in enumerate(self.params.modes):
            ctx.cancel.check()
            ctx.progress(Progress(self.name, f"converting: {MODES[mode]}", i / len(self.params.modes)))
            data = convert(artifact.model, mode, calibration, self.params.representative_samples,
                           seed=ctx.seed, batch_one=self.params.batch_one)
            verify(data, mode)
            ctx.log(f"quantize: {mode} -> {len(data):,} bytes")
            info = {"calibration": "synthetic" if synthetic and mode in NEEDS_DATA else
                    "data" if mode in NEEDS_DATA else "none"}
            results.append(artifact.derive(kind=TFLITE, name=mode, step=f"quantize:{mode}", data=data,
                                           info=info))
        ctx.progress(Progress(self.name, "done", 1.0))
        return results


def synthetic_calibration(artifact, samples: int, seed: int, value_range=None, norm=None):
    """A calibration set of inputs drawn uniformly from the model's input range (no labels); for
    multi-input models `x_train` is a list with one array per input."""
    import numpy as np

    from core.data import Dataset
    from core.model.info import draw_scaled

    x = draw_scaled(artifact, samples, seed, value_range, norm)
    if x is None:
        raise DataError("Step 'quantize': synthetic calibration needs fixed input shapes, and this "
                        f"model has an input of unknown size. Give data with {setting('data')}.")
    empty = np.zeros(0, np.int64)
    return Dataset("synthetic", x, empty, x[:0] if not isinstance(x, list) else [a[:0] for a in x], empty)


def _converter(model, batch_one: bool):
    from core.tf_env import tf

    t = tf()
    if not batch_one:
        return t.lite.TFLiteConverter.from_keras_model(model)
    specs = [t.TensorSpec([1, *inp.shape[1:]], inp.dtype) for inp in model.inputs]
    if len(specs) == 1:
        fn = t.function(lambda x: model(x, training=False))
    else:
        fn = t.function(lambda *xs: model(list(xs), training=False))
    return t.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function(*specs)], model)


def convert(model, mode: str, dataset=None, samples: int = 200, *, seed: int = 0,
            batch_one: bool = True) -> bytes:
    """Run the real TFLite converter on a Keras model in one of `MODES`.

    With `batch_one` the input batch is fixed to 1, as on a microcontroller.
    """
    from core.data import representative
    from core.tf_env import tf

    if mode in NEEDS_DATA and dataset is None:
        raise ConversionError(f"Mode '{mode}' needs representative data; choose a dataset.")
    t = tf()
    conv = _converter(model, batch_one)
    if mode != "float32":
        conv.optimizations = [t.lite.Optimize.DEFAULT]
    if mode == "float16":
        conv.target_spec.supported_types = [t.float16]
    if mode in NEEDS_DATA:
        conv.representative_dataset = representative(dataset, samples, seed=seed)
    if mode == "int8":
        conv.target_spec.supported_ops = [t.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = t.int8
        conv.inference_output_type = t.int8
    if mode == "16x8":
        conv.target_spec.supported_ops = [
            t.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    try:
        return bytes(conv.convert())
    except Exception as exc:
        lines = [ln for ln in str(exc).splitlines() if "error" in ln.lower()] or str(exc).splitlines()
        raise ConversionError(f"The TFLite converter failed for mode '{mode}': "
                              f"{(lines[0] if lines else type(exc).__name__)[:400]}") from None


def verify(data: bytes, mode: str) -> None:
    """Check the flatbuffer holds what `mode` promises; raise `ConversionError` if not."""
    from core.analysis import tflite_reader as r

    model = r.read_model(data, f"{mode} model")
    ins, outs = r.io_dtypes(model)
    weights = r.weight_dtypes(model)
    acts = r.activation_dtypes(model)
    problems = []
    if mode == "int8":
        if set(ins) != {"int8"} or set(outs) != {"int8"}:
            problems.append(f"input/output types are {ins}/{outs}, not int8")
        if "float32" in acts:
            problems.append("float32 activations remain")
    elif mode in ("full-int", "16x8", "dynamic"):
        if "int8" not in weights:
            problems.append(f"weights are {sorted(weights)}, none int8")
        if mode == "16x8" and "int16" not in acts:
            problems.append("no int16 activations")
        if mode == "full-int" and "int8" not in acts:
            problems.append("no int8 activations")
    elif mode == "float16":
        if "float16" not in weights:
            problems.append(f"weights are {sorted(weights)}, none float16")
    elif mode == "float32":
        if weights - {"float32", "int32"}:
            problems.append(f"unexpected weight types {sorted(weights)}")
    if problems:
        raise ConversionError(f"Quantization '{mode}' did not produce what was asked: "
                              f"{'; '.join(problems)}. The model may use ops this mode cannot "
                              "quantize; try 'full-int' (float fallback).")
