"""Sparse weight storage for TFLM's DECODE operator (decode type 2, "prune"), written by us.

The format is what `kernels/decode_state_prune.cc` (pinned tree, ../shared/tflm) reads:
- the encoded tensor: one bit per element in memory order, most significant bit first within each
  byte (element i is bit 7 - i % 8 of byte i // 8), set where the element is not its zero point;
- the ancillary tensor: the 16-byte DECODE common metadata (byte 0: type 2, byte 1: version 1,
  byte 4: the prune version, 1), then the elements that are not their zero point, in memory order,
  in the tensor's own type (little-endian).
Each element's zero point is its channel's (the output tensor's quantization: axis 0, or the last
axis) or the tensor's single one. `decode` is the same walk in Python, to check us bit for bit.
"""

from __future__ import annotations

import numpy as np

HEADER = 16
DECODE_TYPE_PRUNE = 2
DCM_VERSION = 1
PRUNE_VERSION = 1


def zero_point_map(shape, zero_points, axis: int | None) -> np.ndarray:
    """Each element's zero point, broadcast to `shape`."""
    zps = np.atleast_1d(np.asarray(zero_points if zero_points is not None else 0, np.int64))
    if zps.size == 1 or axis is None:
        return np.full(shape, int(zps[0]), np.int64)
    view = [1] * len(shape)
    view[axis] = zps.size
    return np.broadcast_to(zps.reshape(view), shape)


def encode(values: np.ndarray, zero_points=0, axis: int | None = None) -> tuple[bytes, bytes]:
    """(encoded bitmap, ancillary bytes) for `values` (any integer or float array)."""
    if axis is not None and axis not in (0, values.ndim - 1):
        raise ValueError(f"TFLM's prune decoder takes the channel axis first or last, not {axis}")
    flat = np.ascontiguousarray(values).reshape(-1)
    keep = flat != zero_point_map(values.shape, zero_points, axis).reshape(-1).astype(flat.dtype)
    bitmap = np.packbits(keep, bitorder="big").tobytes()  # MSB first, zero-padded to whole bytes
    header = bytearray(HEADER)
    header[0], header[1], header[4] = DECODE_TYPE_PRUNE, DCM_VERSION, PRUNE_VERSION
    return bitmap, bytes(header) + flat[keep].astype(flat.dtype.newbyteorder("<")).tobytes()


def decode(bitmap: bytes, ancillary: bytes, shape, dtype, zero_points=0, axis: int | None = None) -> np.ndarray:
    """The tensor `encode` stored: what the decoder writes into the arena."""
    if ancillary[0] != DECODE_TYPE_PRUNE or ancillary[4] != PRUNE_VERSION:
        raise ValueError("not a prune DECODE ancillary tensor")
    n = int(np.prod(shape))
    keep = np.unpackbits(np.frombuffer(bitmap, np.uint8), bitorder="big")[:n].astype(bool)
    values = np.frombuffer(ancillary[HEADER:], np.dtype(dtype).newbyteorder("<"))
    if values.size != int(keep.sum()):
        raise ValueError(f"{values.size} stored values for {int(keep.sum())} set bits")
    out = zero_point_map(shape, zero_points, axis).reshape(-1).astype(dtype)
    out[keep] = values
    return out.reshape(shape)


def stored_bytes(values: np.ndarray, zero_points=0, axis: int | None = None) -> int:
    """Flash the sparse form takes (bitmap, header and values), before the flatbuffer's padding."""
    nonzero = int(np.count_nonzero(values != zero_point_map(values.shape, zero_points, axis)))
    return (values.size + 7) // 8 + HEADER + nonzero * values.itemsize
