"""TFLM weight compression (DECODE operators): look-up tables for clustered weights, sparse
storage for pruned ones, whichever is smaller per tensor.

- LUT (`tflite_micro.compression`): a tensor with at most 2**b distinct values per table is stored
  as b-bit indices plus the table. The table must follow the weights' quantization: per-channel
  weights need one table per channel (a per-tensor table on per-channel weights runs on TFLM but
  gives wrong outputs).
- Sparse (ours, core/analysis/sparse_weights.py; the package's pruning plugin is a stub): one bit
  per weight saying whether it is its zero point, then the others.
TFLM's DECODE op expands them at run time; outputs are compared with the uncompressed model on
TFLM and a mismatch is refused. Decoded weights live in RAM (the arena): the RAM added is reported.
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
STORAGE = ("auto", "lut", "sparse")
CHECK_SAMPLES = 64


@dataclass
class CompressParams:
    index_bits: int = param(0, "bits per stored weight index (TFLM's LUT holds 1 to 7)", min=1, max=7,
                            unit="bits", special={0: "the fewest that hold every table"})
    lut_mode: str = param("auto", "one table per tensor or per channel (auto follows the weights' "
                          "quantization)", choices=LUT_MODES)
    min_bytes: int = param(256, "smallest weight tensor worth encoding (smaller ones cost more than "
                           "they save)", min=0, max=1 << 24, unit="bytes")
    storage: str = param("auto", "how a weight tensor is stored: a look-up table (clustered weights), "
                         "sparse (pruned weights: a bit per weight and the non-zero ones), or auto: "
                         "whichever is smaller", choices=STORAGE)
    min_saving: int = param(64, "least flash a tensor's encoding must save to be used", min=0,
                            max=1 << 24, unit="bytes")


@dataclass
class Candidate:
    index: int
    name: str
    size: int
    bits: int  # LUT index bits (0 for sparse storage)
    per_channel_axis: int | None
    storage: str = "lut"  # or "sparse"
    stored: int = 0  # bytes the encoding takes (before the flatbuffer's padding)


def candidates(model, p: CompressParams) -> tuple[list[Candidate], list[str]]:
    """Constant int8/int16 weight tensors that an encoding makes smaller (the smaller of LUT and
    sparse storage, as `p.storage` allows), and why others were skipped."""
    from core.analysis.sparse_weights import stored_bytes
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
        if values.nbytes < p.min_bytes:
            skipped.append(f"{name}: {values.nbytes} bytes, smaller than min_bytes")
            continue
        q = t.quantization
        per_channel = q is not None and q.scale is not None and len(q.scale) > 1
        options, why = [], []
        if p.storage in ("auto", "lut"):
            lut, reason = _lut(values, q, per_channel, p)
            options += [lut] if lut else []
            why += [reason] if reason else []
        if p.storage in ("auto", "sparse"):
            axis = int(q.quantizedDimension) if per_channel else None
            zps = list(q.zeroPoint) if q is not None and q.zeroPoint is not None and len(q.zeroPoint) else [0]
            if axis is not None and axis not in (0, values.ndim - 1):
                why.append(f"sparse: channel axis {axis} (TFLM's decoder takes the first or last)")
            else:
                options.append(Candidate(i, name, values.nbytes, 0, axis, "sparse", stored_bytes(values, zps, axis)))
        best = min(options, key=lambda c: c.stored, default=None)
        if best is not None and values.nbytes - best.stored >= max(p.min_saving, 1):
            best.index, best.name = i, name
            found.append(best)
        else:
            saving = f"{values.nbytes} bytes; " + (f"{best.storage} would take {best.stored}" if best else
                                                   "; ".join(why))
            skipped.append(f"{name}: {saving}, not worth it (min_saving {p.min_saving} B)"
                           + (f"; {'; '.join(why)}" if best and why else ""))
    return found, skipped


def _lut(values, q, per_channel: bool, p: CompressParams):
    """(the LUT candidate, or None, and why not)."""
    if p.lut_mode == "per-channel" or (p.lut_mode == "auto" and per_channel):
        axis = int(q.quantizedDimension) if per_channel else 0
        tables = np.moveaxis(values, axis, 0).reshape(values.shape[axis], -1)
        distinct = max(np.unique(row).size for row in tables)
    else:
        axis, distinct, tables = None, np.unique(values).size, [values]
    bits = p.index_bits or max(1, math.ceil(math.log2(max(distinct, 2))))
    if distinct > 2 ** min(bits, 7):
        return None, f"lut: {distinct} distinct values per table, more than {2 ** min(bits, 7)} (cluster it first)"
    stored = math.ceil(values.size * bits / 8) + 16 + len(tables) * (2 ** bits) * values.itemsize
    return Candidate(0, "", values.nbytes, bits, axis, "lut", stored), ""


def compress(data: bytes, p: CompressParams) -> tuple[bytes, list[Candidate], list[str]]:
    """The model with each chosen tensor encoded and a DECODE before each of its readers."""
    from tflite_micro.tensorflow.lite.micro.compression import (compressor, constant_inputs, decode_insert, lut,
                                                                  model_editor, spec)

    from core.analysis.sparse_weights import encode
    from core.analysis.tflite_reader import read_model
    from core.analysis.tflite_writer import to_bytes

    model = read_model(data)
    found, skipped = candidates(model, p)
    if not found:
        return data, found, skipped
    editor = model_editor.read(data)
    results, kept = {}, []
    for c in found:
        tensor = editor.subgraphs[0].tensors[c.index]
        uses = constant_inputs.find_uses(editor.subgraphs[0], tensor)
        if uses:  # e.g. read by an op that must see the constant itself
            skipped.append(f"{c.name}: must stay constant ({'; '.join(u.describe() for u in uses)})")
            continue
        if c.storage == "lut":
            mode = spec.PerTensor() if c.per_channel_axis is None else spec.PerChannel(c.per_channel_axis)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                results[(0, c.index)] = lut.LutCompressor().compress(
                    tensor, spec.LookUpTableCompression(index_bitwidth=c.bits, mode=mode))
        else:
            t = model.subgraphs[0].tensors[c.index]
            values = np.asarray(tensor.array)
            zps = list(t.quantization.zeroPoint) if t.quantization is not None and t.quantization.zeroPoint \
                is not None and len(t.quantization.zeroPoint) else [0]
            bitmap, ancillary = encode(values, zps, c.per_channel_axis)
            results[(0, c.index)] = compressor.CompressionResult(encoded_data=bitmap, ancillary_data=ancillary)
        kept.append(c)
    if not results:
        return data, [], skipped
    decode_insert.insert_decode_operators(editor, results)
    return to_bytes(read_model(bytes(editor.build()))), kept, skipped


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
    title = "Weight compression for TFLM (look-up tables, sparse storage)"
    takes = TFLITE
    gives = TFLITE
    Params = CompressParams

    def check_order(self, previous):
        names = {s.name for s in previous}
        need = {"lut": ("cluster",), "sparse": ("prune",), "auto": ("cluster", "prune")}[self.params.storage]
        if not names & set(need):
            return {"lut": "LUT compression needs few distinct weight values: add 'cluster' (e.g. cluster:16) "
                           "before 'quantize'.",
                    "sparse": "sparse storage needs zeros to leave out: add 'prune' (e.g. prune:0.8) before "
                              "'quantize'.",
                    "auto": "compression needs clustered or pruned weights: add 'cluster' (e.g. cluster:16) or "
                            "'prune' (e.g. prune:0.8) before 'quantize'."}[self.params.storage]
        if not any(s.name == "quantize" for s in previous):
            return "compress a quantized model: add 'quantize:int8' before 'compress'."
        return None

    def run(self, artifact, ctx: Context) -> list:
        from core.measure.tflm_check import check_tflm, tflm_outputs

        ctx.progress(Progress(self.name, "encoding weights", 0.1))
        out, found, skipped = compress(artifact.data, self.params)
        for line in skipped:
            ctx.log(f"compress: skipped {line}")
        if not found:
            ctx.log("compress: no tensor benefits from an encoding; model unchanged")
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
                "Compression changed the model's outputs on TFLM (largest difference "
                f"{worst}); the encoding does not match how the weights are quantized. Use lut_mode=auto.")
        ctx.progress(Progress(self.name, "measuring RAM", 0.8))
        base, new = check_tflm(artifact.data), check_tflm(out)  # verified: evaluation reuses them
        decoded = sum(c.size for c in found)
        ram_added = (new.arena_total - base.arena_total) if base.runs and new.runs else None
        info = {"tensors": [{"name": c.name, "bytes": c.size, "storage": c.storage, "stored": c.stored,
                             "index_bits": c.bits, "per_channel_axis": c.per_channel_axis} for c in found],
                "skipped": skipped, "flash_saved": len(artifact.data) - len(out),
                "decoded_bytes": decoded, "arena_added": ram_added,
                "firmware": "build TFLM with USE_TFLM_COMPRESSION and add the DECODE op (AddDecode)"}
        for c in found:
            ctx.log(f"compress: {c.name}: {c.storage}, {c.size:,} -> {c.stored:,} bytes"
                    + (f" ({c.bits}-bit indices)" if c.storage == "lut" else ""))
        ctx.log(f"compress: {len(found)} tensor(s), {len(artifact.data):,} -> {len(out):,} bytes; "
                f"decoded weights take {decoded:,} bytes of RAM (arena +{ram_added if ram_added is not None else '?'})")
        ctx.progress(Progress(self.name, "done", 1.0))
        return [artifact.derive(kind=TFLITE, name="compressed", step="compress", data=out, info=info)]
