"""TFLM's GreedyMemoryPlanner, reproduced so that our predicted arena head equals TFLM's.

As in TFLM: offline-planned buffers keep their offsets and come first; the others are taken in
descending size with a stable sort over the order they were added in reverse (TFLM fills its
sorted array from the tail), and each goes at the lowest offset, walking the placed buffers that
are alive at the same time in offset order, where the gap to the next one is large enough.
"""

from __future__ import annotations

from core.analysis.placement import first_fit

ONLINE = -1


def greedy_offsets(buffers, offline: dict | None = None) -> list[int]:
    """Offsets for `buffers` (objects with size, first, last), in the same order."""
    offline = offline or {}
    fixed = [i for i, b in enumerate(buffers) if offline.get(b.tensor, ONLINE) != ONLINE]
    online = [i for i, b in enumerate(buffers) if offline.get(b.tensor, ONLINE) == ONLINE][::-1]
    online.sort(key=lambda i: -buffers[i].size)  # Python's sort is stable, like TFLM's
    fixed_set = set(fixed)
    offsets = [0] * len(buffers)
    placed: list = []  # (offset, index), kept sorted by offset
    for i in fixed + online:
        b = buffers[i]
        offset = offline[b.tensor] if i in fixed_set else first_fit(b, placed, buffers)
        offsets[i] = offset
        _insert(placed, offset, i)
    return offsets


def _insert(placed: list, offset: int, i: int) -> None:
    # After entries with the same offset, as TFLM's linked-list insertion does.
    lo, hi = 0, len(placed)
    while lo < hi:
        mid = (lo + hi) // 2
        if placed[mid][0] <= offset:
            lo = mid + 1
        else:
            hi = mid
    placed.insert(lo, (offset, i))


def arena_head(buffers, offsets) -> int:
    return max((o + b.size for b, o in zip(buffers, offsets)), default=0)
