"""Per-operator memory of a .tflite: flash (weights) and RAM (live activations), the timeline,
the peak, the lower bound, and the arena head TFLM's greedy planner will use.

Predicted head = our reproduction of TFLM's planner over TFLM's lifetimes; kernels' scratch buffers
(requested at run time by some kernels) are not modelled and are named in the notes when an op
known to request them is present. TFLM's tail (persistent memory: tensor structs, op data,
variables) depends on the build and is measured, not predicted: see core.tflm_check.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from core.analysis.graph import build_graph
from core.analysis.lifetimes import lifetimes, live_bytes
from core.analysis.macs import op_macs
from core.analysis.planner import arena_head, greedy_offsets

# Kernels that ask TFLM for scratch memory in the reference build.
SCRATCH_OPS = {"MEAN", "SUM", "REDUCE_MAX", "SVDF", "UNIDIRECTIONAL_SEQUENCE_LSTM"}


@dataclass
class OpMemory:
    index: int
    op_type: str
    name: str  # the first output tensor's name
    output_shape: list
    macs: int | None
    flash_bytes: int  # constant tensors first read by this op (each counted once)
    ram_bytes: int  # activations alive while it runs (16-byte aligned, as TFLM stores them)


@dataclass
class MemoryReport:
    ops: list
    timeline: list
    peak_bytes: int
    peak_op: int
    peak_tensors: list
    lower_bound: int
    predicted_head: int
    total_flash: int
    notes: list = field(default_factory=list)
    offsets: dict = field(default_factory=dict)  # tensor index -> planned offset

    @property
    def total_macs(self) -> int:
        return sum(op.macs or 0 for op in self.ops)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["offsets"] = {str(k): v for k, v in self.offsets.items()}
        d["total_macs"] = self.total_macs
        return d


def analyze_memory(data: bytes, label: str = "model", order: list | None = None) -> MemoryReport:
    """Per-operator memory of `data`, analysed once per set of bytes and order (core.cache)."""
    from core.cache import once

    return once("memory", data, (tuple(order) if order is not None else None,),
                lambda: analyze_graph(build_graph(data, label), order))


def analyze_graph(graph, order: list | None = None, offline: dict | None = None) -> MemoryReport:
    order = list(range(len(graph.ops))) if order is None else order
    buffers = lifetimes(graph, order)
    timeline = live_bytes(buffers, len(order))
    offsets = greedy_offsets(buffers, offline)
    head = arena_head(buffers, offsets)
    seen_const: set = set()
    ops = []
    for scope, i in enumerate(order, start=1):
        op = graph.ops[i]
        flash = 0
        for t in op.inputs:
            tensor = graph.tensors[t] if t >= 0 else None
            if tensor is not None and tensor.constant and tensor.buffer not in seen_const:
                seen_const.add(tensor.buffer)
                flash += tensor.bytes
        out = graph.tensors[op.outputs[0]] if op.outputs else None
        ops.append(OpMemory(i, op.type, out.name if out else "", list(out.shape) if out else [],
                            op_macs(op, graph), flash, timeline[scope - 1]))
    peak_pos = max(range(len(timeline)), key=timeline.__getitem__) if timeline else 0
    peak_scope = peak_pos + 1
    peak_tensors = [graph.tensors[b.tensor].name for b in buffers if b.first <= peak_scope <= b.last]
    notes = list(graph.notes)
    unknown = sorted({op.op_type for op in ops if op.macs is None})
    if unknown:
        notes.append(f"MACs not modelled for: {', '.join(unknown)} (counted as 0).")
    scratch = sorted({op.op_type for op in ops} & SCRATCH_OPS)
    if scratch:
        notes.append(f"{', '.join(scratch)} may request kernel scratch memory that TFLM adds to the head; "
                     "the predicted head leaves it out.")
    if any(t.variable for t in graph.tensors):
        notes.append("Variable tensors live in TFLM's persistent tail, not in the planned head.")
    total_flash = sum(graph.tensors[t].bytes for t in {t.index for t in graph.tensors if t.constant})
    return MemoryReport(ops, timeline, timeline[peak_pos] if timeline else 0, order[peak_pos] if order else 0,
                        peak_tensors, max(timeline, default=0), head, total_flash, notes,
                        {b.tensor: o for b, o in zip(buffers, offsets)})


def memory_table(report: MemoryReport) -> str:
    """The per-operator table `tinyopt analyze` prints, with the peak and the planner figures."""
    rows = [("#", "op", "output shape", "MACs", "flash B", "RAM live B")]
    for op in report.ops:
        mark = " <- peak" if op.index == report.peak_op else ""
        rows.append((str(op.index), op.op_type, "x".join(map(str, op.output_shape)) or "-",
                     "?" if op.macs is None else f"{op.macs:,}", f"{op.flash_bytes:,}",
                     f"{op.ram_bytes:,}{mark}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) if i in (0, 3, 4) else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    short = [n.split(";")[0] for n in report.peak_tensors]  # converter names join fused ops with ';'
    lines.append(f"Peak RAM: {report.peak_bytes:,} B at op {report.peak_op} ({', '.join(short)[:160]})")
    lines.append(f"Lower bound (largest live sum): {report.lower_bound:,} B; TFLM greedy planner head "
                 f"(predicted): {report.predicted_head:,} B"
                 + ("" if report.predicted_head == report.lower_bound else
                    f" ({report.predicted_head - report.lower_bound:,} B lost to placement)"))
    lines.append(f"Flash in weights and constants: {report.total_flash:,} B; MACs: {report.total_macs:,}")
    lines += report.notes
    return "\n".join(lines)
