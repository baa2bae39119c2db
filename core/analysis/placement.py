"""The three primitives every arena planner here shares: TFLM's 16-byte rounding, "alive at the
same time", and first-fit placement among the buffers already placed. TFLM's greedy planner
(planner.py) and the offline plans (offline_plan.py) both build on these, so they cannot drift."""

from __future__ import annotations

ALIGN = 16  # TFLM aligns every arena buffer to 16 bytes


def align_up(n: int, align: int = ALIGN) -> int:
    return (n + align - 1) // align * align


def align_down(n: int, align: int = ALIGN) -> int:
    return n // align * align


def live_together(a, b) -> bool:
    """True when buffers `a` and `b` (objects with first, last) are alive in a common scope."""
    return a.first <= b.last and b.first <= a.last


def first_fit(buffer, placed, buffers) -> int:
    """Lowest offset for `buffer`, walking `placed` ((offset, index) pairs sorted by offset) and
    skipping buffers not alive at the same time: the gap before a live neighbour must hold it."""
    offset = 0
    for off, j in placed:
        other = buffers[j]
        if not live_together(buffer, other):
            continue
        if off - offset >= buffer.size:
            break
        offset = max(offset, off + other.size)
    return offset
