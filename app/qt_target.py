"""The Target tab: instructions per operator on the emulated Cortex-M, a baseline and the selected
variant side by side, operators matched by what they compute (core.analysis.match), with MACs per
instruction (how close each operator comes to what its kernel can do) and the CMSIS-NN kernel each
ran (counted by the QEMU plugin at the kernels' entry points). For an Ethos-U device, the
selected variant's operators where Vela places them: NPU cycles (Vela's estimate) beside the same
operators' instructions on the emulated core (exact), and why each CPU operator is not on the NPU."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.qt_memory import ORIGINAL, VARIANT
from app.qt_opbars import OpBars, OpRow

NO_FIGURES = ("No target figures for this variant (Keras models run on TFLM as .tflite; choose a device "
              "with an emulated core).")


class TargetWidget(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.caption = QLabel("Choose a device with an emulated core (e.g. nRF52840: Cortex-M4F) and run: every "
                              "TFLM-runnable variant is measured on it.")
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        self.bars = OpBars(["Instructions per operator on the target (exact, one inference)"])
        layout.addWidget(self.bars, 1)
        self.hover = QLabel("")
        self.hover.setWordWrap(True)
        self.bars.hovered.connect(self.hover.setText)
        layout.addWidget(self.hover)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        layout.addWidget(self.detail)
        self.npu_caption = QLabel("")
        self.npu_caption.setWordWrap(True)
        layout.addWidget(self.npu_caption)
        self.npu_bars = OpBars(["Core instructions (exact)", "NPU cycles (Vela estimate)"])
        self.npu_bars.hovered.connect(self.hover.setText)
        layout.addWidget(self.npu_bars, 1)
        self.npu_caption.hide()
        self.npu_bars.hide()
        self.rows = []  # (status, baseline OpCost or None, variant OpCost or None)

    def setPayloads(self, baseline, variant) -> None:
        """Draw two app.jobs.VariantPayload (either may be None or have no target figures)."""
        from core.analysis.match import Row, channels_note, match_ops

        self.rows = []
        self.hover.setText("")
        self._show_npu(variant if variant is not None else baseline)
        have = [p for p in (baseline, variant) if p is not None and p.metrics.target is not None]
        if not have:
            note = next((p.metrics.target_note for p in (variant, baseline) if p is not None and p.metrics.target_note), "")
            self.caption.setText(note or NO_FIGURES)
            self.detail.setText("")
            self.bars.clear()
            return
        if len(have) == 2 and baseline.memory is not None and variant.memory is not None:
            matched = match_ops(baseline.memory.ops, variant.memory.ops)
        else:
            only = have[-1]
            matched = [Row(None, i) if only is variant else Row(i, None) for i in range(len(only.metrics.target.ops))]
        sides = [p if p is not None and p.metrics.target is not None else None for p in (baseline, variant)]
        b_ops, v_ops = ([] if p is None else p.metrics.target.ops for p in sides)
        both = len(have) == 2 and baseline.memory is not None and variant.memory is not None
        notes = []
        for row in matched:
            b = b_ops[row.original] if row.original is not None and row.original < len(b_ops) else None
            v = v_ops[row.variant] if row.variant is not None and row.variant < len(v_ops) else None
            if b is not None or v is not None:
                self.rows.append((row.status, b, v))
                notes.append(channels_note(baseline.memory.ops[row.original], variant.memory.ops[row.variant])
                             if both and row.original is not None and row.variant is not None else "")
        drawn = [k for k, p in enumerate(sides) if p is not None]
        series = [((baseline, variant)[k].name, (ORIGINAL, VARIANT)[k]) for k in drawn]
        totals = [max(p.metrics.target.instructions, 1) if p is not None else 1 for p in sides]
        self.bars.setRows([_row(status, (b, v), drawn, sides, totals, note)
                           for (status, b, v), note in zip(self.rows, notes)], series)
        self._describe(*sides)
        if variant is not None and sides[1] is None:  # drawn: the baseline only; say why
            note = variant.metrics.target_note or "it was not run on the target"
            self.caption.setText(f"{variant.name}: no target run ({note}). " + self.caption.text())

    def _describe(self, baseline, variant) -> None:
        """Both sides' totals and the costliest operators; each side may be None (no target run)."""
        parts = []
        for p in (baseline, variant):
            if p is None:
                continue
            t = p.metrics.target
            est = f", ~{t.ms_estimate:.2f} ms at {t.clock_mhz} MHz (estimate)" if t.ms_estimate is not None else ""
            parts.append(f"{p.name}: {t.instructions:,} instructions{est}, arena {t.arena_used:,} B on "
                         f"{t.target} ({t.kernels})" + ("" if t.matches_host is not False else f"; {t.host_difference}")
                         + _firmware_text(p.metrics))
        if baseline is not None and variant is not None and variant.metrics.target.instructions:
            parts.append(f"{baseline.metrics.target.instructions / variant.metrics.target.instructions:.2f}x "
                         "fewer instructions")
        self.caption.setText("; ".join(parts))
        t = (variant or baseline).metrics.target
        heavy = sorted(t.ops, key=lambda op: -op.instructions)[:4]
        self.detail.setText("Costliest operators: " + ", ".join(
            f"{op.op} #{op.index} {op.instructions / max(t.instructions, 1) * 100:.0f}%"
            + (f" ({op.macs_per_instruction:.2f} MACs/instr)" if op.macs_per_instruction else "")
            + (f" in {op.kernel.split(',')[0]}" if getattr(op, "kernel", "") else "") for op in heavy)
            + f". {t.estimate_model}")


    def _show_npu(self, payload) -> None:
        """Where Vela puts each operator of `payload`, beside its instructions on the emulated core."""
        r = getattr(payload.metrics, "npu", None) if payload is not None else None
        self.npu_caption.setVisible(r is not None)
        self.npu_bars.setVisible(r is not None)
        if r is None:
            self.npu_bars.clear()
            return
        on = payload.metrics.target
        cost = {op.index: op.instructions for op in on.ops} if on is not None else {}
        rows = []
        for o in r.ops:
            where = o.target  # the reason is in the hover text: labels stay short
            detail = (f"#{o.index} {o.op} on the {o.target}: " + (f"{o.cycles:,} NPU cycles, {o.macs:,} MACs"
                      if o.target == "NPU" else f"{o.reason} → {o.advice}")
                      + (f"; {cost[o.index]:,} instructions on the emulated {on.target}" if o.index in cost else ""))
            rows.append(OpRow(f"#{o.index} {o.op} · {where}", detail,
                              [[cost.get(o.index)], [o.cycles if o.target == "NPU" else None]]))
        self.npu_bars.setRows(rows, [(payload.name, VARIANT)])
        cpu = (f"; the {len(r.cpu_ops)} CPU operators take {r.cpu_instructions_measured:,} instructions on the "
               f"emulated {on.target}" if r.cpu_instructions_measured is not None and on is not None else "")
        self.npu_caption.setText(
            f"{payload.name} on {r.npu}: {len(r.npu_ops)} operator(s) on the NPU, {len(r.cpu_ops)} on the CPU; "
            f"{r.npu_cycles:,} NPU cycles, {r.total_cycles:,} with memory, ~{r.inference_ms:.3f} ms at "
            f"{r.clock_hz / 1e6:g} MHz; SRAM {r.sram_bytes:,} B, flash {r.flash_bytes:,} B{cpu}. {r.label}: nothing "
            "here emulates the NPU.")


def _row(status, ops, drawn, sides, totals, note: str = "") -> OpRow:
    op = ops[1] or ops[0]
    label = f"#{op.index} {op.op}" if status == "matched" else f"{status}: #{op.index} {op.op}"
    label += f" {note}" if note else ""
    parts = []
    for k in drawn:
        o = ops[k]
        if o is None:
            parts.append(f"{sides[k].name}: no such operator")
            continue
        parts.append(f"{sides[k].name}: op {o.index} {o.op}, {o.instructions:,} instructions "
                     f"({o.instructions / totals[k] * 100:.1f}%)"
                     + (f", {o.macs:,} MACs, {o.macs_per_instruction:.2f} MACs/instr" if o.macs_per_instruction else "")
                     + (f"; ran {o.kernel}" if getattr(o, "kernel", "") else ""))
    detail = ("" if status == "matched" else f"[{status}] ") + "   |   ".join(parts)
    return OpRow(label, detail, [[None if ops[k] is None else ops[k].instructions for k in drawn]])


def _firmware_text(m) -> str:
    """', firmware 122,765 B flash / 15,452 B RAM' where the footprint was measured."""
    fp = getattr(m, "footprint", None)
    return "" if fp is None else f", firmware {fp.flash_total:,} B flash / {fp.ram_total:,} B RAM"
