"""Strip what TFLM never reads from a .tflite: tensor names, signatures, converter metadata.

TFLM addresses tensors by index, so names (often 80+ characters each, "model/layer/Conv2D;...")
are pure flash cost. Offline memory plans and other metadata that runtimes read are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.artifact import TFLITE
from core.params import param
from core.steps.base import Context, Progress, Step

# Metadata a runtime reads; everything else is the converter's bookkeeping.
KEEP_METADATA = {b"OfflineMemoryAllocation"}


@dataclass
class StripParams:
    names: bool = param(True, "drop tensor and subgraph names (TFLM addresses tensors by index)")
    signatures: bool = param(True, "drop signature definitions")
    metadata: bool = param(True, "drop converter metadata (offline memory plans are kept)")
    shapes: bool = param(True, "drop shape signatures (LiteRT's dynamic batch; TFLM reads the plain shapes) and "
                         "the converter's empty buffer per activation (they share the empty buffer 0)")


def strip(data: bytes, names=True, signatures=True, metadata=True, shapes=True) -> bytes:
    from core.analysis.tflite_reader import read_model
    from core.analysis.tflite_writer import drop_unused, to_bytes

    model = read_model(data)
    if names:
        for sg in model.subgraphs:
            sg.name = None
            for t in sg.tensors:
                t.name = b""
    if signatures:
        model.signatureDefs = []
    if metadata and model.metadata:
        kept = []
        for m in model.metadata:
            if m.name in KEEP_METADATA:
                kept.append(m)
            else:
                model.buffers[m.buffer].data = None  # keep the index valid, drop the bytes
        model.metadata = kept
        model.description = None
    if shapes and len(model.subgraphs) == 1:
        for t in model.subgraphs[0].tensors:
            t.shapeSignature = None
            data = model.buffers[t.buffer].data if t.buffer else None
            if t.buffer and (data is None or len(data) == 0):
                t.buffer = 0
        from core.analysis.offline_plan import read_plan

        drop_unused(model, tensors=read_plan(model) is None)  # a plan is indexed by tensor
    return to_bytes(model)


class StripStep(Step):
    name = "strip"
    title = "Strip names and metadata"
    takes = TFLITE
    gives = TFLITE
    Params = StripParams

    def run(self, artifact, ctx: Context) -> list:
        p = self.params
        out = strip(artifact.data, p.names, p.signatures, p.metadata, p.shapes)
        ctx.log(f"strip: {len(artifact.data):,} -> {len(out):,} bytes")
        ctx.progress(Progress(self.name, "done", 1.0))
        return [artifact.derive(kind=TFLITE, name="stripped", step="strip", data=out,
                                info={"bytes_saved": len(artifact.data) - len(out)})]
