"""The Target tab: instructions per operator on the emulated Cortex-M, a baseline and the selected
variant side by side, operators matched by what they compute (core.analysis.match), with MACs per
instruction (how close each operator comes to what its kernel can do)."""

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
        self.rows = []  # (status, baseline OpCost or None, variant OpCost or None)

    def setPayloads(self, baseline, variant) -> None:
        """Draw two app.jobs.VariantPayload (either may be None or have no target figures)."""
        from core.analysis.match import Row, channels_note, match_ops

        self.rows = []
        self.hover.setText("")
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
                         f"{t.target} ({t.kernels})" + ("" if t.matches_host is not False else f"; {t.host_difference}"))
        if baseline is not None and variant is not None and variant.metrics.target.instructions:
            parts.append(f"{baseline.metrics.target.instructions / variant.metrics.target.instructions:.2f}x "
                         "fewer instructions")
        self.caption.setText("; ".join(parts))
        t = (variant or baseline).metrics.target
        heavy = sorted(t.ops, key=lambda op: -op.instructions)[:4]
        self.detail.setText("Costliest operators: " + ", ".join(
            f"{op.op} #{op.index} {op.instructions / max(t.instructions, 1) * 100:.0f}%"
            + (f" ({op.macs_per_instruction:.2f} MACs/instr)" if op.macs_per_instruction else "") for op in heavy)
            + f". {t.estimate_model}")


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
                     + (f", {o.macs:,} MACs, {o.macs_per_instruction:.2f} MACs/instr" if o.macs_per_instruction else ""))
    detail = ("" if status == "matched" else f"[{status}] ") + "   |   ".join(parts)
    return OpRow(label, detail, [[None if ops[k] is None else ops[k].instructions for k in drawn]])
