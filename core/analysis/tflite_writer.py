"""Serialize a TFLite object model back to bytes with the 16-byte buffer alignment TFLM needs.

The Python flatbuffers builder ignores the schema's `force_align`, so rewritten models go through
the aligner that ships with tflite_micro (it unpacks and repacks with the C++ builder).
"""

from __future__ import annotations

import os

from core.probes.isolation import temp_dir


def to_bytes(model) -> bytes:
    """Bytes of `model` (a flatbuffer_utils object model), buffers aligned to 16 bytes."""
    from tensorflow.lite.tools import flatbuffer_utils
    from tflite_micro.tensorflow.lite.micro.tools import tflite_flatbuffer_align_wrapper as aligner

    raw = bytes(flatbuffer_utils.convert_object_to_bytearray(model))
    with temp_dir("align") as tmp:
        src, dst = os.path.join(tmp, "in.tflite"), os.path.join(tmp, "out.tflite")
        with open(src, "wb") as f:
            f.write(raw)
        aligner.align_tflite_model(src, dst)
        with open(dst, "rb") as f:
            return f.read()


def drop_unused(model, tensors: bool = True):
    """Drop the tensors no operator or graph edge uses any more (unless `tensors` is False: an
    offline memory plan indexes them), and the buffers no tensor or metadata entry points at
    (buffer 0, the empty sentinel, stays first)."""
    sg = model.subgraphs[0]
    used = {t for op in sg.operators for t in list(op.inputs) + list(op.outputs) if t >= 0}
    used |= set(sg.inputs) | set(sg.outputs)
    keep = sorted(used) if tensors else list(range(len(sg.tensors)))
    remap = {old: new for new, old in enumerate(keep)}
    sg.tensors = [sg.tensors[i] for i in keep]
    for op in sg.operators:
        op.inputs = [remap[t] if t >= 0 else t for t in op.inputs]
        op.outputs = [remap[t] for t in op.outputs]
    sg.inputs, sg.outputs = [remap[t] for t in sg.inputs], [remap[t] for t in sg.outputs]
    for sd in model.signatureDefs or []:
        for tm in list(sd.inputs or []) + list(sd.outputs or []):
            tm.tensorIndex = remap[tm.tensorIndex]
    refs = {0} | {t.buffer for s in model.subgraphs for t in s.tensors}
    refs |= {m.buffer for m in model.metadata or []}
    order = sorted(refs)
    bmap = {old: new for new, old in enumerate(order)}
    model.buffers = [model.buffers[i] for i in order]
    for s in model.subgraphs:
        for t in s.tensors:
            t.buffer = bmap[t.buffer]
    for m in model.metadata or []:
        m.buffer = bmap[m.buffer]
    return model
