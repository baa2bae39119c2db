"""Per-layer memory (pyqtgraph): flash and RAM bars of the original and the selected variant, and
the memory timeline with its peak and the device's RAM budget."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

ORIGINAL, VARIANT = (120, 120, 120), (66, 133, 244)


class MemoryWidget(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        layout = QVBoxLayout(self)
        self._caption = QLabel("Load a model to see its per-layer memory.")
        self._caption.setWordWrap(True)
        layout.addWidget(self._caption)
        self._flash = pg.PlotWidget(title="Flash per operator (weights, bytes)")
        self._ram = pg.PlotWidget(title="RAM per operator (live activations, bytes)")
        self._timeline = pg.PlotWidget(title="Memory timeline (live bytes while each operator runs)")
        for plot in (self._flash, self._ram, self._timeline):
            plot.getAxis("left").setWidth(64)  # room for "80000" whatever the data
            plot.showGrid(y=True, alpha=0.3)
            plot.addLegend(offset=(-10, 10))
            layout.addWidget(plot, 1)
        self._hover = QLabel("")
        layout.addWidget(self._hover)
        self._reports = (None, None)
        self._names = ("original", "variant")
        self._rows = []
        self._budget = None
        for plot in (self._flash, self._ram, self._timeline):
            plot.scene().sigMouseMoved.connect(lambda pos, plot=plot: self._on_mouse_moved(pos, plot))

    def setReports(self, original, variant, names=("original", "variant")) -> None:
        """Draw `original` and `variant` (core.analysis.memory.MemoryReport or None), their
        operators matched by what they compute (core.analysis.match), never by position."""
        from core.analysis.match import Row, match_ops

        self._reports = (original, variant)
        self._names = names
        for plot in (self._flash, self._ram, self._timeline):
            plot.clear()
        if original is None and variant is None:
            self._rows = []
            self._caption.setText("No per-layer data: this variant is a Keras model (see its .tflite variants).")
            return
        if original is not None and variant is not None:
            self._rows = match_ops(original.ops, variant.ops)
        else:
            only = original or variant
            self._rows = [Row(i, None) if variant is None else Row(None, i) for i in range(len(only.ops))]
        both = original is not None and variant is not None
        width = 0.4 if both else 0.8
        for k, (r, name, color) in enumerate(zip((original, variant), names, (ORIGINAL, VARIANT))):
            if r is None:
                continue
            rows = [(x, row.original if k == 0 else row.variant) for x, row in enumerate(self._rows)]
            rows = [(x, i) for x, i in rows if i is not None]
            xs = np.array([x for x, _ in rows], dtype=float) + ((k - 0.5) * width if both else 0)
            ops = [r.ops[i] for _, i in rows]
            self._flash.addItem(pg.BarGraphItem(x=xs, height=[o.flash_bytes for o in ops], width=width,
                                                brush=pg.mkBrush(*color), name=name))
            self._ram.addItem(pg.BarGraphItem(x=xs, height=[o.ram_bytes for o in ops], width=width,
                                              brush=pg.mkBrush(*color), name=name))
            line_x = [x for x, _ in rows]
            self._timeline.plot(line_x, [r.timeline[i] for _, i in rows], pen=pg.mkPen(color, width=2),
                                symbol="o", symbolSize=5, symbolBrush=color, name=f"{name} (peak {r.peak_bytes:,} B)")
            peak_x = next((x for x, i in rows if r.ops[i].index == r.peak_op), 0)
            self._timeline.addItem(pg.ScatterPlotItem([peak_x], [r.peak_bytes], size=14, symbol="star",
                                                      brush=pg.mkBrush(220, 50, 50)))
        ticks = [[(x, self._tick(row)) for x, row in enumerate(self._rows)]]
        for plot in (self._flash, self._ram, self._timeline):
            plot.getAxis("bottom").setTicks(ticks)
        self._draw_budget()
        r = variant or original
        changed = [row.status for row in self._rows if row.status != "matched"]
        counts = ", ".join(f"{changed.count(s)} {s}" for s in ("added", "removed", "replaced") if s in changed)
        self._caption.setText(
            f"{names[1] if variant else names[0]}: {len(r.ops)} operators"
            + (f" ({counts} against {names[0]})" if both and counts else "")
            + f", flash {r.total_flash:,} B, peak RAM {r.peak_bytes:,} B, TFLM head {r.predicted_head:,} B "
            f"(lower bound {r.lower_bound:,} B)" + (f"; {r.notes[0]}" if r.notes else ""))

    def _tick(self, row) -> str:
        original, variant = self._reports
        if row.status == "added":
            return f"+{variant.ops[row.variant].op_type}"
        if row.status == "removed":
            return f"−{original.ops[row.original].op_type}"
        op = (variant or original).ops[row.variant if variant is not None else row.original]
        if row.status == "replaced":
            return f"{original.ops[row.original].op_type}→{op.op_type}"
        return op.op_type

    def rowStatus(self) -> list[tuple[str, str | None, str | None]]:
        """(status, original op type, variant op type) per drawn row, for tests and tooltips."""
        original, variant = self._reports
        return [(row.status, original.ops[row.original].op_type if row.original is not None else None,
                 variant.ops[row.variant].op_type if row.variant is not None else None) for row in self._rows]

    def setBudget(self, ram_bytes: int | None, label: str = "") -> None:
        self._budget = (ram_bytes, label)
        self._draw_budget()

    def _draw_budget(self) -> None:
        if getattr(self, "_budget_line", None) is not None:
            self._timeline.removeItem(self._budget_line)
            self._budget_line = None
        if self._budget and self._budget[0]:
            self._budget_line = pg.InfiniteLine(pos=self._budget[0], angle=0,
                                                pen=pg.mkPen((200, 0, 0), style=pg.QtCore.Qt.DashLine),
                                                label=f"RAM budget {self._budget[0]:,} B", labelOpts={"position": 0.1})
            self._timeline.addItem(self._budget_line)

    def _on_mouse_moved(self, pos, plot) -> None:
        """Show the operator(s) under the pointer (any of the three plots) with their numbers."""
        if not self._rows or not plot.sceneBoundingRect().contains(pos):
            return
        x = int(round(plot.plotItem.vb.mapSceneToView(pos).x()))
        if not 0 <= x < len(self._rows):
            return
        row = self._rows[x]
        parts = []
        for report, i, name in zip(self._reports, (row.original, row.variant), self._names):
            if report is None or i is None:
                continue
            o = report.ops[i]
            parts.append(f"{name}: op {o.index} {o.op_type} → {'x'.join(map(str, o.output_shape))}: "
                         f"MACs {o.macs if o.macs is not None else '?'}, flash {o.flash_bytes:,} B, "
                         f"RAM live {o.ram_bytes:,} B")
        self._hover.setText(("" if row.status == "matched" else f"[{row.status}] ") + "   |   ".join(parts))
