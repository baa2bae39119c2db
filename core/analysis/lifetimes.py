"""Which tensors live in the arena and when, exactly as TFLM's AllocationInfoBuilder marks them.

Time is TFLM's "allocation scope": 0 before the first op, i + 1 while op i runs. Graph inputs and
outputs are created at 0; an op's outputs at its scope; a tensor lives until the last op that reads
it, graph outputs until the end. Constants, variables and empty tensors are not planned. Sizes are
rounded up to TFLM's 16-byte buffer alignment.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.analysis.placement import align_up as aligned  # TFLM's 16-byte rounding


@dataclass
class Buffer:
    tensor: int
    size: int  # aligned bytes
    first: int
    last: int
    also: tuple = ()  # tensors placed at the same offset (RESHAPE outputs written in place)


def lifetimes(graph, order: list | None = None) -> list[Buffer]:
    """Planned buffers in tensor-index order (the order TFLM adds them), for ops run in `order`."""
    order = list(range(len(graph.ops))) if order is None else order
    first: dict = {}
    last: dict = {}

    def create(t, scope):
        first[t] = scope
        last[t] = scope

    for t in graph.inputs + graph.outputs:
        create(t, 0)
    scope = 0
    for i in order:
        scope += 1
        op = graph.ops[i]
        for t in op.outputs:
            create(t, scope)
        for t in op.inputs + op.outputs:
            if t >= 0 and t in first:
                last[t] = scope
    for t in graph.outputs:
        last[t] = scope
    out = []
    for t in graph.tensors:
        if t.index in first and not t.constant and not t.variable and t.bytes > 0:
            out.append(Buffer(t.index, aligned(t.bytes), first[t.index], last[t.index]))
    return out


def live_bytes(buffers: list[Buffer], n_ops: int) -> list[int]:
    """Bytes alive while each op runs (scope 1..n_ops)."""
    live = [0] * (n_ops + 2)
    for b in buffers:  # difference array: O(buffers + ops)
        live[b.first] += b.size
        live[b.last + 1] -= b.size
    total, out = 0, []
    for s in range(n_ops + 1):
        total += live[s]
        if s >= 1:
            out.append(total)
    return out


# Operators TFLM runs in place when output and input share an address (kernels/reshape.cc skips
# its memcpy then); TFLM's own planner never gives them one, an offline plan can.
IN_PLACE = {"RESHAPE"}


def merge_in_place(graph, buffers: list[Buffer], order: list | None = None) -> list[Buffer]:
    """`buffers` with each in-place operator's output folded into its input's buffer, where the
    input is read by nothing after it: one buffer, alive from the input's start to the output's end."""
    order = list(range(len(graph.ops))) if order is None else order
    by_tensor = {b.tensor: b for b in buffers}
    owner = {b.tensor: b.tensor for b in buffers}  # tensor -> the tensor whose buffer holds it
    scope = {i: k + 1 for k, i in enumerate(order)}
    for i in order:
        op = graph.ops[i]
        if op.type not in IN_PLACE or not op.inputs or not op.outputs:
            continue
        src, dst = op.inputs[0], op.outputs[0]
        if src not in owner or dst not in by_tensor or dst not in owner:
            continue
        host = by_tensor[owner[src]]
        if host.last != scope[i] or src in graph.outputs:
            continue  # the input is still read later (or must survive as a graph output)
        out = by_tensor.pop(dst)
        merged = Buffer(host.tensor, max(host.size, out.size), host.first, out.last,
                        host.also + (dst,) + out.also)
        by_tensor[host.tensor] = merged
        for t in (dst,) + out.also:
            owner[t] = host.tensor
    return [by_tensor[b.tensor] for b in buffers if b.tensor in by_tensor]
