"""Execution order with the smallest peak of live bytes (TFLM lifetimes).

Exact: a memoised search over the sets of executed ops (a graph's downsets), feasible for graphs
with a few parallel branches. Beyond `max_states` or `time_limit_s`, a greedy order (run the ready
op that leaves the fewest live bytes) is used and the result says it is a heuristic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from core.analysis.lifetimes import aligned


@dataclass
class OrderResult:
    order: list
    peak: int
    exact: bool
    states: int


class _Search:
    def __init__(self, graph, max_states: int, time_limit_s: float):
        self.g = graph
        n = len(graph.ops)
        self.n = n
        produced = graph.producer()
        consumers = graph.consumers()
        self.planned = {t.index: aligned(t.bytes) for t in graph.tensors
                        if not t.constant and not t.variable and t.bytes > 0}
        # predecessors of each op (through planned or unplanned non-constant tensors)
        self.preds = [0] * n
        for op in graph.ops:
            for t in op.inputs:
                if t >= 0 and t in produced:
                    self.preds[op.index] |= 1 << produced[t]
        self.outputs = set(graph.outputs)
        self.consumer_mask = {t: sum(1 << c for c in cs) for t, cs in consumers.items()}
        self.producer = produced
        self.inputs = [t for t in graph.inputs if t in self.planned]
        self.memo: dict = {}
        self.deadline = time.monotonic() + time_limit_s
        self.max_states = max_states

    def live_during(self, mask: int, op) -> int:
        """Bytes alive while `op` runs after the ops in `mask` have run."""
        after = mask | (1 << op.index)
        total = 0
        for t, size in self.planned.items():
            p = self.producer.get(t)
            if p is None:  # graph input (or never produced): alive from the start
                if t not in self.inputs and t not in self.outputs:
                    continue
                born = True
            else:
                born = (after >> p) & 1
            if not born:
                continue
            users = self.consumer_mask.get(t, 0)
            still_needed = (users & ~mask) != 0 or t in self.outputs
            just_made = p == op.index
            if still_needed or just_made:
                total += size
        return total

    def ready(self, mask: int):
        return [op for op in self.g.ops if not (mask >> op.index) & 1 and (self.preds[op.index] & ~mask) == 0]

    def best(self, mask: int) -> tuple[int, int]:
        """(peak, next op) for the rest of the run from `mask`."""
        full = (1 << self.n) - 1
        if mask == full:
            return 0, -1
        hit = self.memo.get(mask)
        if hit is not None:
            return hit
        if len(self.memo) > self.max_states or time.monotonic() > self.deadline:
            raise TimeoutError
        result = (1 << 62, -1)
        for op in self.ready(mask):
            here = self.live_during(mask, op)
            if here >= result[0]:
                continue
            rest, _ = self.best(mask | (1 << op.index))
            peak = max(here, rest)
            if peak < result[0]:
                result = (peak, op.index)
        self.memo[mask] = result
        return result

    def greedy(self) -> tuple[list, int]:
        mask, order, peak = 0, [], 0
        while len(order) < self.n:
            candidates = [(self.live_during(mask, op), op.index) for op in self.ready(mask)]
            # leave the fewest bytes alive afterwards; ties: the file's order
            here, i = min(candidates, key=lambda c: (self.live_during(mask | (1 << c[1]), self.g.ops[c[1]])
                                                     if len(order) + 1 < self.n else 0, c[1]))
            peak = max(peak, here)
            order.append(i)
            mask |= 1 << i
        return order, peak


EXACT_MAX_OPS = 60  # deeper searches would exceed the recursion limit and the time budget


def best_order(graph, *, max_states: int = 200_000, time_limit_s: float = 5.0) -> OrderResult:
    s = _Search(graph, max_states, time_limit_s)
    if s.n > EXACT_MAX_OPS:
        order, peak = s.greedy()
        return OrderResult(order, peak, False, 0)
    try:
        peak, _ = s.best(0)
        order, mask = [], 0
        while len(order) < s.n:
            _, nxt = s.memo[mask] if mask in s.memo else s.best(mask)
            order.append(nxt)
            mask |= 1 << nxt
        return OrderResult(order, peak, True, len(s.memo))
    except (TimeoutError, RecursionError):
        order, peak = s.greedy()
        return OrderResult(order, peak, False, len(s.memo))
