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
