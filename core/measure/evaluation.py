"""Metrics of one variant: size, accuracy and latency on the host, and the real TFLM check.

Accuracy and latency of .tflite models come from the LiteRT interpreter (inputs quantized with the
model's own scale and zero point); Keras models are scored with Keras. TFLM deployability and
arena sizes come from the TFLM runtime itself (`core.measure.tflm_check`).
"""

from __future__ import annotations

import gzip
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from core.artifact import Artifact
from core.measure.fidelity import Fidelity
from core.measure.tasks import TaskScores
from core.measure.tflm_check import TflmResult, check_tflm

LATENCY_RUNS = 200
WARMUP_RUNS = 20


@dataclass
class Metrics:
    """Everything measured about one variant. None means not measured (with `notes` saying why)."""

    name: str
    kind: str
    size_bytes: int
    gzip_bytes: int
    params: int | None = None
    accuracy: float | None = None
    latency_ms_median: float | None = None
    latency_ms_p90: float | None = None
    tflm: TflmResult | None = None  # None: not checked (Keras models, or tflm=False)
    fidelity: Fidelity | None = None  # to the original, on the same inputs
    task: str | None = None  # core.measure.tasks: classification or anomaly
    scores: TaskScores | None = None  # the task's figures (per-class accuracy, confusion, AUC, ...)
    target: object = None  # core.target.measure.TargetRun on the recipe's emulated Cortex-M, or None
    target_note: str = ""  # why it has no target figures (does not run there, not TFLM-runnable, ...)
    footprint: object = None  # core.target.footprint.Footprint: model + TFLM code, arena + runtime RAM
    footprint_note: str = ""  # why there is none
    calibration: str = ""  # integer modes: "data" or "synthetic" (accuracy then unknown); "" otherwise
    npu: object = None  # core.npu.vela.NpuReport on the recipe's Ethos-U (Vela's estimates), or None
    npu_note: str = ""  # why it has no NPU figures

    @property
    def primary(self) -> tuple[str, float | None]:
        """The task's headline figure: ('accuracy', value) or ('AUC', value)."""
        if self.task == "anomaly":
            return "AUC", self.scores.auc if self.scores else None
        if self.task == "regression":
            return "MAE", self.scores.mae if self.scores else None
        return "accuracy", self.accuracy
    history: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def arena_total(self) -> int | None:
        return self.tflm.arena_total if self.tflm else None

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.footprint is not None:
            d["footprint"] = self.footprint.to_dict()  # with its totals
        return d


def model_bytes(artifact: Artifact) -> bytes:
    """The bytes a user would ship: the flatbuffer, or the Keras model saved as .h5."""
    if artifact.is_tflite:
        return artifact.data
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.h5"
        artifact.model.save(str(path), include_optimizer=False)
        return path.read_bytes()


def evaluate(artifact: Artifact, dataset=None, *, latency_runs: int = LATENCY_RUNS,
             tflm: bool = True) -> Metrics:
    """Measure `artifact`; `dataset` (already adapted to the model) enables accuracy."""
    return evaluate_outputs(artifact, dataset, latency_runs=latency_runs, tflm=tflm)[0]


def evaluate_outputs(artifact: Artifact, dataset=None, *, inputs=None, reference=None,
                     inputs_label: str = "test split", latency_runs: int = LATENCY_RUNS,
                     tflm: bool = True, task: str = "classification", target=None, clock_mhz: int = 0,
                     footprint_on=None):
    """(Metrics, outputs): `outputs` are the dequantized outputs on `inputs` (default: the
    dataset's test split); with `reference` (the original's outputs on the same inputs) the
    metrics carry the variant's fidelity to the original; with `target` (a core.target.build.Firmware)
    every TFLM-runnable variant is also run on that emulated Cortex-M; without one, `footprint_on` (a
    built Firmware standing in for a device without an emulated core) estimates the firmware footprint."""
    from core.measure.fidelity import fidelity

    raw = model_bytes(artifact)
    m = Metrics(name=artifact.name, kind=artifact.kind, size_bytes=len(raw),
                gzip_bytes=len(gzip.compress(raw, 9, mtime=0)), history=list(artifact.history))
    x = inputs if inputs is not None else (dataset.x_test if dataset is not None else None)
    outputs = None
    if artifact.is_keras:
        m.params = int(artifact.model.count_params())
        if x is not None:
            outputs = keras_outputs(artifact.model, x)
        if latency_runs:
            m.latency_ms_median, m.latency_ms_p90 = keras_latency(artifact.model, latency_runs)
        m.notes.append("Keras model: TFLM runs .tflite files; see its converted variants.")
    else:
        from core.analysis.tflite_reader import parameter_count, read_model

        m.params = parameter_count(read_model(artifact.data))
        try:
            runner = LiteRTRunner(artifact.data)
        except Exception as exc:  # e.g. a custom op LiteRT lacks: other figures remain useful
            runner = None
            m.notes.append(f"LiteRT cannot run this model: {str(exc).splitlines()[0][:200]}")
        if runner is not None:
            if x is not None:
                outputs = runner.outputs(x)
            if latency_runs:
                m.latency_ms_median, m.latency_ms_p90 = runner.latency(latency_runs)
        if tflm:
            m.tflm = check_tflm(artifact.data)
            if runner is None and x is not None and m.tflm.runs:
                # e.g. LUT-compressed models: only TFLM has the DECODE kernel, so measure there.
                outputs = tflm_dequantized_outputs(artifact.data, x)
                m.notes.append("Outputs measured on TFLM; host latency needs LiteRT and is not measured.")
            if target is not None:
                _on_target(m, artifact.data, x, target, clock_mhz)
            elif footprint_on is not None and m.tflm.runs:
                _footprint(m, artifact.data, footprint_on, None, f"An estimate: measured on the {footprint_on.target} "
                           f"build ({footprint_on.kernels}), standing in for the device's CPU (no emulated core "
                           "for it); its own code and RAM differ.")
    m.task = task
    if outputs is not None and x is not None:
        from core.measure.tasks import score

        y = dataset.y_test if dataset is not None and inputs is None else None
        first_out = outputs[0] if isinstance(outputs, list) else outputs
        if isinstance(outputs, list):
            m.notes.append(f"{len(outputs)} outputs: the task's figures are of output 0 (outputs in name "
                           "order); fidelity covers each output.")
        m.scores, m.accuracy = score(task, x[0] if isinstance(x, list) else x, first_out, y,
                                     dataset.num_classes if y is not None else 0)
    if outputs is not None and reference is not None:
        m.fidelity = fidelity(reference, outputs, inputs_label)
    return m, outputs


def _on_target(m: Metrics, data: bytes, x, target, clock_mhz: int) -> None:
    from core.errors import TinyOptError
    from core.target.variant import measure_variant

    where = f"{target.target} ({target.kernels})"
    if not m.tflm.runs:
        m.target_note = f"not run on {where}: it does not run on TFLM"
        return
    try:
        m.target = measure_variant(data, x, target, clock_mhz)
    except TinyOptError as exc:
        m.target_note = str(exc)
        m.notes.append(f"Target {where}: {exc}")
        return
    if m.target.matches_host is False:
        m.notes.append(f"On {where}: {m.target.host_difference}.")
    _footprint(m, data, target, m.target.arena_used)


def _footprint(m: Metrics, data: bytes, firmware, arena: int | None, note: str = "") -> None:
    """The whole firmware footprint (core.target.footprint); a failure is a note, never an error."""
    from core.errors import TinyOptError
    from core.target.footprint import measure

    try:
        m.footprint = measure(data, firmware, arena, note=note)
    except TinyOptError as exc:
        m.footprint_note = f"Firmware footprint not measured on {firmware.target} ({firmware.kernels}): {exc}"
        m.notes.append(m.footprint_note)


def tflm_dequantized_outputs(data: bytes, x: np.ndarray) -> np.ndarray | None:
    """Outputs of the real TFLM interpreter, inputs quantized and outputs dequantized as the model
    declares (first input, first output)."""
    from core.analysis.tflite_reader import read_model
    from core.model.info import quantized_inputs
    from core.measure.tflm_check import tflm_outputs

    sg = read_model(data).subgraphs[0]
    if len(sg.inputs) != 1 or len(sg.outputs) != 1 or isinstance(x, list):
        return None  # the TFLM probe feeds one input and reads one output
    try:
        out = tflm_outputs(data, quantized_inputs(data, x)).astype(np.float32)
    except RuntimeError:
        return None
    q = sg.tensors[sg.outputs[0]].quantization
    if q is not None and q.scale is not None and len(q.scale):
        out = (out - q.zeroPoint[0]) * q.scale[0]
    return out


def batch_for(model, wanted: int = 256) -> int:
    """The batch to run `model` with: `wanted`, or 1 for a model built for a batch of one (a
    converted ONNX model: onnx2tf bakes the batch into its reshapes)."""
    shapes = model.input_shape if isinstance(model.input_shape, list) else [model.input_shape]
    return 1 if any(s and s[0] == 1 for s in shapes) else wanted


def keras_outputs(model, x, batch_size: int = 256):
    """Outputs on `x` (an array, or one per input in canonical order for multi-input models): an
    array, or a list with one array per output (canonical order) for multi-output models."""
    from core.model.info import keras_io_order

    batch_size = batch_for(model, batch_size)
    # Eager batches rather than predict(): no graph tracing, which holds Python's GIL for long
    # stretches and would freeze the GUI thread beside it.
    if not isinstance(x, list) and len(model.outputs) == 1:
        return np.concatenate([np.asarray(model(x[i:i + batch_size], training=False))
                               for i in range(0, len(x), batch_size)])
    in_order, out_order = keras_io_order(model)
    xs = x if isinstance(x, list) else [x]
    by_model = [None] * len(xs)
    for canonical, position in enumerate(in_order):
        by_model[position] = xs[canonical]
    batches = []
    for i in range(0, len(xs[0]), batch_size):
        part = [a[i:i + batch_size] for a in by_model]
        out = model(part if len(part) > 1 else part[0], training=False)
        batches.append([np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])])
    outs = [np.concatenate([b[k] for b in batches]) for k in range(len(batches[0]))]
    outs = [outs[k] for k in out_order]
    return outs if len(outs) > 1 else outs[0]


def keras_latency(model, runs: int) -> tuple[float, float]:
    shapes = model.input_shape if isinstance(model.input_shape, list) else [model.input_shape]
    xs = [np.zeros([1 if d is None else d for d in shape], np.float32) for shape in shapes]
    x = xs if len(xs) > 1 else xs[0]
    fn = model.__call__
    for _ in range(WARMUP_RUNS):
        fn(x, training=False)
    times = []
    for _ in range(runs):
        t = time.perf_counter_ns()
        fn(x, training=False)
        times.append(time.perf_counter_ns() - t)
    return _median_p90(times)


def _median_p90(times_ns) -> tuple[float, float]:
    a = np.asarray(times_ns, dtype=np.float64) / 1e6
    return float(np.median(a)), float(np.percentile(a, 90))


class LiteRTRunner:
    """Batch-1 inference with LiteRT, quantizing inputs with the model's own parameters. Inputs and
    outputs are in canonical order (core.model.info): one array each for single-I/O models."""

    def __init__(self, data: bytes, num_threads: int = 1, *, reference: bool = False):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        from core.model.info import tflite_io_details

        resolver = OpResolverType.BUILTIN_REF if reference else OpResolverType.AUTO
        self.interp = Interpreter(model_content=data, num_threads=num_threads, experimental_op_resolver_type=resolver)
        self.interp.allocate_tensors()
        self.ins, self.outs = tflite_io_details(self.interp)
        self.inp, self.out = self.ins[0], self.outs[0]

    @staticmethod
    def quantize_input(x: np.ndarray, detail: dict) -> np.ndarray:
        dtype = detail["dtype"]
        if np.issubdtype(dtype, np.integer):
            scale, zero = detail["quantization"]
            if scale:
                info = np.iinfo(dtype)
                x = np.clip(np.round(x / scale + zero), info.min, info.max)
        return x.astype(dtype)

    def predict_one(self, xs: list) -> list:
        for detail, x in zip(self.ins, xs):
            self.interp.set_tensor(detail["index"], self.quantize_input(x[None, ...], detail))
        self.interp.invoke()
        return [self.interp.get_tensor(d["index"])[0] for d in self.outs]

    def outputs(self, x):
        """Dequantized outputs, one row per sample: an array, or one per output."""
        xs = x if isinstance(x, list) else [x]
        if len(xs) != len(self.ins):
            raise ValueError(f"the model takes {len(self.ins)} inputs, {len(xs)} given")
        rows = [self.predict_one([a[i] for a in xs]) for i in range(len(xs[0]))]
        outs = []
        for k, detail in enumerate(self.outs):
            out = np.stack([r[k] for r in rows]).astype(np.float32)
            scale, zero = detail["quantization"]
            outs.append((out - zero) * scale if scale else out)
        return outs if len(outs) > 1 else outs[0]

    def latency(self, runs: int) -> tuple[float, float]:
        for detail in self.ins:
            self.interp.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
        for _ in range(WARMUP_RUNS):
            self.interp.invoke()
        times = []
        for _ in range(runs):
            t = time.perf_counter_ns()
            self.interp.invoke()
            times.append(time.perf_counter_ns() - t)
        return _median_p90(times)
