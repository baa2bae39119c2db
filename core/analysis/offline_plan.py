"""Offline memory plans: explicit arena offsets that TFLM honours, checked before they are written.

TFLM does not check an offline plan: overlapping live tensors run and give wrong outputs without
any error. So every plan is verified here (no two buffers alive at the same time overlap), and a
plan that fails is refused, never written.

Metadata format (TFLM's "OfflineMemoryAllocation"): little-endian int32 [version 0, number of
subgraphs, number of tensors in all subgraphs, one offset per tensor]; -1 leaves a tensor to the
runtime (constants, variables, other subgraphs).
"""

from __future__ import annotations

import struct

from core.analysis.placement import ALIGN, align_down, first_fit, live_together
from core.analysis.planner import arena_head, greedy_offsets
from core.errors import ConversionError

METADATA_NAME = b"OfflineMemoryAllocation"


def overlaps(buffers, offsets) -> list[tuple[int, int]]:
    """Pairs of tensors alive at the same time whose byte ranges intersect."""
    bad = []
    items = sorted(zip(buffers, offsets), key=lambda bo: bo[1])
    for i, (a, oa) in enumerate(items):
        for b, ob in items[i + 1:]:
            if ob >= oa + a.size:
                break  # sorted by offset: nothing further can intersect `a`
            if live_together(a, b):
                bad.append((a.tensor, b.tensor))
    return bad


def verify(buffers, offsets) -> None:
    if any(o < 0 or o != align_down(o) for o in offsets):
        raise ConversionError("Offline memory plan refused: offsets must be non-negative and 16-byte aligned.")
    bad = overlaps(buffers, offsets)
    if bad:
        a, b = bad[0]
        raise ConversionError(f"Offline memory plan refused: tensors {a} and {b} are alive at the same "
                              f"time and overlap ({len(bad)} overlapping pair(s)). TFLM would run it and "
                              "give wrong outputs.")


def _place(buffers, order) -> list[int]:
    """First fit in `order`, over the buffers already placed that are alive at the same time."""
    offsets = [0] * len(buffers)
    placed: list = []
    for i in order:
        offsets[i] = first_fit(buffers[i], sorted(placed), buffers)
        placed.append((offsets[i], i))
    return offsets


def _fits(buffers, placed, i, limit):
    """Lowest and highest offsets (16-aligned, below `limit`) where buffer i fits, or None."""
    b = buffers[i]
    busy = sorted((off, off + buffers[j].size) for off, j in placed if live_together(b, buffers[j]))
    gaps, cursor = [], 0
    for lo, hi in busy:
        if lo - cursor >= b.size:
            gaps.append((cursor, lo))
        cursor = max(cursor, hi)
    if limit - cursor >= b.size:
        gaps.append((cursor, limit))
    if not gaps:
        return None
    low = gaps[0][0]
    high = align_down(gaps[-1][1] - b.size)
    return low, max(high, gaps[-1][0])


def _two_sided(buffers, limit: int, max_nodes: int = 20_000) -> list[int] | None:
    """Place buffers in order of creation at the bottom or the top of a `limit`-byte arena.

    A depth-first search over the two choices per buffer (the side away from its largest live
    neighbour first). It solves chains that widen and narrow, where size-ordered greedy fragments.
    """
    order = sorted(range(len(buffers)), key=lambda i: (buffers[i].first, -buffers[i].size))
    offsets = [0] * len(buffers)
    placed: list = []
    nodes = 0

    def dfs(k: int) -> bool:
        nonlocal nodes
        if k == len(order):
            return True
        nodes += 1
        if nodes > max_nodes:
            return False
        i = order[k]
        fit = _fits(buffers, placed, i, limit)
        if fit is None:
            return False
        low, high = fit
        live = [(buffers[j].size, off) for off, j in placed if live_together(buffers[i], buffers[j])]
        first_high = bool(live) and max(live)[1] < limit / 2
        for offset in ([high, low] if first_high else [low, high]):
            offsets[i] = offset
            placed.append((offset, i))
            if dfs(k + 1):
                return True
            placed.pop()
            if high == low:
                break
        return False

    return offsets if dfs(0) else None


def best_offsets(buffers, lower_bound: int | None = None) -> tuple[list[int], str]:
    """The lowest-head plan among TFLM's own, a few first-fit orders and a two-sided search."""
    idx = range(len(buffers))
    candidates = {
        "tflm-greedy": greedy_offsets(buffers),
        "size, then start": _place(buffers, sorted(idx, key=lambda i: (-buffers[i].size, buffers[i].first))),
        "start time": _place(buffers, sorted(idx, key=lambda i: (buffers[i].first, -buffers[i].size))),
        "lifetime length": _place(buffers, sorted(idx, key=lambda i: (-(buffers[i].last - buffers[i].first),
                                                                      -buffers[i].size))),
        "size x lifetime": _place(buffers, sorted(idx, key=lambda i: -buffers[i].size
                                                   * (buffers[i].last - buffers[i].first + 1))),
    }
    best = min(arena_head(buffers, o) for o in candidates.values())
    if lower_bound is not None and lower_bound < best and len(buffers) <= 200:
        limit = lower_bound
        while limit < best:  # the first arena size, from the bound up, where a two-sided plan fits
            found = _two_sided(buffers, limit)
            if found is not None:
                candidates["two-sided search"] = found
                break
            limit += max(ALIGN, align_down((best - lower_bound) // 8))
    name = min(candidates, key=lambda k: (arena_head(buffers, candidates[k]), k != "tflm-greedy"))
    return candidates[name], name


def metadata_bytes(model, offsets_by_tensor: dict) -> bytes:
    counts = [len(sg.tensors or []) for sg in model.subgraphs]
    values = [0, len(model.subgraphs), sum(counts)]
    values += [offsets_by_tensor.get(i, -1) for i in range(counts[0])]
    values += [-1] * sum(counts[1:])
    return struct.pack(f"<{len(values)}i", *values)


def read_plan(model) -> list[int] | None:
    """Offsets from an existing OfflineMemoryAllocation entry, or None."""
    for m in model.metadata or []:
        if m.name == METADATA_NAME:
            raw = bytes(model.buffers[m.buffer].data)
            values = struct.unpack(f"<{len(raw) // 4}i", raw)
            return list(values[3:3 + values[2]])
    return None


def write_plan(model, buffers, offsets) -> None:
    """Verify, then store the plan in `model` (a flatbuffer object model), replacing any earlier one."""
    from tensorflow.lite.python import schema_py_generated as schema

    verify(buffers, offsets)
    data = metadata_bytes(model, {t: o for b, o in zip(buffers, offsets) for t in (b.tensor, *b.also)})
    for m in model.metadata or []:
        if m.name == METADATA_NAME:
            model.buffers[m.buffer].data = bytearray(data)
            return
    buf = schema.BufferT()
    buf.data = bytearray(data)
    model.buffers.append(buf)
    meta = schema.MetadataT()
    meta.name = METADATA_NAME
    meta.buffer = len(model.buffers) - 1
    model.metadata = (model.metadata or []) + [meta]
