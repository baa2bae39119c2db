"""TFLM look-up-table weight compression for clustered integer models (`tflite_micro.compression`).

A weight tensor with at most 2**b distinct values per table is stored as b-bit indices plus the
table; TFLM's DECODE op expands it at run time. The table must follow the weights' quantization:
per-channel weights need one table per channel (a per-tensor table on per-channel weights runs on
TFLM but gives wrong outputs), so outputs are compared with the uncompressed model on TFLM and a
mismatch is refused. Decoded weights live in RAM (the arena): the RAM added is reported.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from core.artifact import TFLITE
from core.errors import ConversionError
from core.params import param
from core.steps.base import Context, Progress, Step

LUT_MODES = ("auto", "per-tensor", "per-channel")
CHECK_SAMPLES = 64


@dataclass
class CompressParams:
    index_bits: int = param(0, "bits per stored weight index (TFLM's LUT holds 1 to 7)", min=1, max=7,
                            unit="bits", special={0: "the fewest that hold every table"})
    lut_mode: str = param("auto", "one table per tensor or per channel (auto follows the weights' "
                          "quantization)", choices=LUT_MODES)
    min_bytes: int = param(256, "smallest weight tensor worth a table (smaller ones cost more than "
                           "they save)", min=0, max=1 << 24, unit="bytes")


@dataclass
class Candidate:
    index: int
    name: str
    size: int
    bits: int
    per_channel_axis: int | None


def candidates(model, p: CompressParams) -> tuple[list[Candidate], list[str]]:
    """Constant int8/int16 weight tensors that a LUT makes smaller, and why others were skipped."""
    from core.analysis.tflite_reader import dtype_name

    sg = model.subgraphs[0]
    weight_inputs = {op.inputs[1] for op in sg.operators if op.inputs is not None and len(op.inputs) > 1}
    found, skipped = [], []
    for i, t in enumerate(sg.tensors):
        buf = model.buffers[t.buffer].data if t.buffer < len(model.buffers) else None
        if buf is None or i not in weight_inputs or dtype_name(t) not in ("int8", "int16"):
            continue
        name = (t.name or b"").decode(errors="replace") or f"tensor {i}"
        values = np.frombuffer(bytes(buf), dtype=np.int8 if dtype_name(t) == "int8" else np.int16)
        values = values.reshape(t.shape)
        q = t.quantization
        per_channel = q is not None and q.scale is not None and len(q.scale) > 1
        if p.lut_mode == "per-channel" or (p.lut_mode == "auto" and per_channel):
            axis = int(q.quantizedDimension) if per_channel else 0
            tables = np.moveaxis(values, axis, 0).reshape(values.shape[axis], -1)
            distinct = max(np.unique(row).size for row in tables)
        else:
            axis, distinct, tables = None, np.unique(values).size, [values]
        bits = p.index_bits or max(1, math.ceil(math.log2(max(distinct, 2))))
        table_bytes = len(tables) * (2 ** bits) * values.itemsize
        if distinct > 2 ** min(bits, 7):
            skipped.append(f"{name}: {distinct} distinct values per table, more than "
                           f"{2 ** min(bits, 7)} (cluster it first)")
        elif values.nbytes < p.min_bytes or values.size * bits / 8 + table_bytes >= values.nbytes:
            skipped.append(f"{name}: {values.nbytes} bytes, a LUT would not save flash")
        else:
            found.append(Candidate(i, name, values.nbytes, bits, axis))
    return found, skipped


def compress(data: bytes, p: CompressParams) -> tuple[bytes, list[Candidate], list[str]]:
    from core.analysis.tflite_reader import read_model
    from tflite_micro.tensorflow.lite.micro.compression import spec
    from tflite_micro.tensorflow.lite.micro.compression.compress import compress as tflm_compress

    found, skipped = candidates(read_model(data), p)
    if not found:
        return data, found, skipped
    specs = [spec.Tensor(0, c.index, [spec.LookUpTableCompression(
        index_bitwidth=c.bits,
        mode=spec.PerTensor() if c.per_channel_axis is None else spec.PerChannel(c.per_channel_axis))])
        for c in found]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bytes(tflm_compress(data, specs)), found, skipped


def check_inputs(data: bytes, dataset, n: int = CHECK_SAMPLES, seed: int = 0) -> np.ndarray:
    """Real test samples (and noise when there are none), quantized as the model expects."""
    from core.measure.evaluation import LiteRTRunner

    runner = LiteRTRunner(data)
    shape = tuple(runner.inp["shape"][1:])
    rng = np.random.default_rng(seed)
    if dataset is not None and len(dataset.x_test):
        x = dataset.x_test[:n]
    else:
        x = rng.uniform(0.0, 1.0, (n, *shape)).astype(np.float32)
    return runner.quantize_input(x.reshape((-1, *shape)), runner.inp)


class CompressStep(Step):
    name = "compress"
    title = "LUT weight compression (TFLM)"
    takes = TFLITE
    gives = TFLITE
    Params = CompressParams

    def check_order(self, previous):
        if not any(s.name == "cluster" for s in previous):
            return ("LUT compression needs few distinct weight values: add 'cluster' (e.g. cluster:16) "
                    "before 'quantize'.")
        if not any(s.name == "quantize" for s in previous):
            return "compress a quantized model: add 'quantize:int8' before 'compress'."
        return None

    def run(self, artifact, ctx: Context) -> list:
        from core.measure.tflm_check import check_tflm, tflm_outputs

        ctx.progress(Progress(self.name, "building look-up tables", 0.1))
        out, found, skipped = compress(artifact.data, self.params)
        for line in skipped:
            ctx.log(f"compress: skipped {line}")
        if not found:
            ctx.log("compress: no tensor benefits from a LUT; model unchanged")
            return [artifact.derive(kind=TFLITE, name="compressed", step="compress", data=artifact.data,
                                    info={"tensors": [], "skipped": skipped})]
        ctx.progress(Progress(self.name, "checking outputs on TFLM", 0.4))
        x = check_inputs(artifact.data, ctx.dataset, seed=ctx.seed)
        try:
            before, after = tflm_outputs(artifact.data, x), tflm_outputs(out, x)
        except RuntimeError as exc:
            raise ConversionError(f"Compressed model does not run on TFLM: {exc}") from None
        if not np.array_equal(before, after):
            worst = int(np.max(np.abs(before.astype(np.int64) - after.astype(np.int64))))
            raise ConversionError(
                "LUT compression changed the model's outputs on TFLM (largest difference "
                f"{worst}); the tables do not match how the weights are quantized. Use lut_mode=auto.")
        ctx.progress(Progress(self.name, "measuring RAM", 0.8))
        base, new = check_tflm(artifact.data), check_tflm(out)  # verified: evaluation reuses them
        decoded = sum(c.size for c in found)
        ram_added = (new.arena_total - base.arena_total) if base.runs and new.runs else None
        info = {"tensors": [{"name": c.name, "bytes": c.size, "index_bits": c.bits,
                             "per_channel_axis": c.per_channel_axis} for c in found],
                "skipped": skipped, "flash_saved": len(artifact.data) - len(out),
                "decoded_bytes": decoded, "arena_added": ram_added,
                "firmware": "build TFLM with USE_TFLM_COMPRESSION and add the DECODE op (AddDecode)"}
        ctx.log(f"compress: {len(found)} tensor(s), {len(artifact.data):,} -> {len(out):,} bytes; "
                f"decoded weights take {decoded:,} bytes of RAM (arena +{ram_added if ram_added is not None else '?'})")
        ctx.progress(Progress(self.name, "done", 1.0))
        return [artifact.derive(kind=TFLITE, name="compressed", step="compress", data=out, info=info)]
