"""The Target tab: instructions per operator on the emulated Cortex-M, a baseline and the selected
variant side by side, operators matched by what they compute (core.analysis.match), with MACs per
instruction (how close each operator comes to what its kernel can do)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.qt_memory import ORIGINAL, VARIANT


class TargetWidget(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.caption = QLabel("Choose a device with an emulated core (e.g. nRF52840: Cortex-M4F) and run: every "
                              "TFLM-runnable variant is measured on it.")
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        self.plot = pg.PlotWidget(title="Instructions per operator on the target (exact, one inference)")
        self.plot.getAxis("left").setWidth(72)
        self.plot.showGrid(y=True, alpha=0.3)
        self.plot.addLegend(offset=(-10, 10))
        layout.addWidget(self.plot, 1)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        layout.addWidget(self.detail)
        self.rows = []  # (status, baseline OpCost or None, variant OpCost or None)

    def setPayloads(self, baseline, variant) -> None:
        """Draw two app.jobs.VariantPayload (either may be None or have no target figures)."""
        from core.analysis.match import Row, match_ops

        self.plot.clear()
        self.rows = []
        have = [p for p in (baseline, variant) if p is not None and p.metrics.target is not None]
        if not have:
            note = next((p.metrics.target_note for p in (variant, baseline) if p is not None and p.metrics.target_note), "")
            self.caption.setText(note or "No target figures for this variant (Keras models run on TFLM as .tflite; "
                                 "choose a device with an emulated core).")
            self.detail.setText("")
            return
        if len(have) == 2 and baseline.memory is not None and variant.memory is not None:
            matched = match_ops(baseline.memory.ops, variant.memory.ops)
        else:
            only = have[-1]
            matched = [Row(None, i) if only is variant else Row(i, None) for i in range(len(only.metrics.target.ops))]
        b_ops = baseline.metrics.target.ops if baseline is not None and baseline.metrics.target else []
        v_ops = variant.metrics.target.ops if variant is not None and variant.metrics.target else []
        for row in matched:
            b = b_ops[row.original] if row.original is not None and row.original < len(b_ops) else None
            v = v_ops[row.variant] if row.variant is not None and row.variant < len(v_ops) else None
            self.rows.append((row.status, b, v))
        both = bool(b_ops) and bool(v_ops)
        width = 0.4 if both else 0.8
        for k, (name, color) in enumerate(((baseline.name if baseline else "", ORIGINAL),
                                           (variant.name if variant else "", VARIANT))):
            points = [(x, r[1 + k]) for x, r in enumerate(self.rows) if r[1 + k] is not None]
            if not points:
                continue
            xs = np.array([x for x, _ in points], float) + ((k - 0.5) * width if both else 0)
            self.plot.addItem(pg.BarGraphItem(x=xs, height=[op.instructions for _, op in points], width=width,
                                              brush=pg.mkBrush(*color), name=name))
        ticks = [(x, (v or b).op if status == "matched" else f"{status}: {(v or b).op}")
                 for x, (status, b, v) in enumerate(self.rows)]
        self.plot.getAxis("bottom").setTicks([ticks])
        self._describe(baseline, variant)

    def _describe(self, baseline, variant) -> None:
        parts = []
        for p in (baseline, variant):
            if p is None or p.metrics.target is None:
                continue
            t = p.metrics.target
            est = f", ~{t.ms_estimate:.2f} ms at {t.clock_mhz} MHz (estimate)" if t.ms_estimate is not None else ""
            parts.append(f"{p.name}: {t.instructions:,} instructions{est}, arena {t.arena_used:,} B on "
                         f"{t.target} ({t.kernels})" + ("" if t.matches_host is not False else f"; {t.host_difference}"))
        b, v = (p.metrics.target if p is not None else None for p in (baseline, variant))
        if b is not None and v is not None and v.instructions:
            parts.append(f"{b.instructions / v.instructions:.2f}x fewer instructions")
        self.caption.setText("; ".join(parts))
        t = (variant or baseline).metrics.target
        heavy = sorted(t.ops, key=lambda op: -op.instructions)[:4]
        self.detail.setText("Costliest operators: " + ", ".join(
            f"{op.op} #{op.index} {op.instructions / max(t.instructions, 1) * 100:.0f}%"
            + (f" ({op.macs_per_instruction:.2f} MACs/instr)" if op.macs_per_instruction else "") for op in heavy)
            + f". {t.estimate_model}")
