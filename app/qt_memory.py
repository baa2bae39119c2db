"""Per-layer memory (pyqtgraph): flash and RAM bars of the original and the selected variant, and
the memory timeline with its peak and the device's RAM budget."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.qt_opbars import CountAxis, OpBars, OpRow

ORIGINAL, VARIANT = (120, 120, 120), (66, 133, 244)


class MemoryWidget(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        layout = QVBoxLayout(self)
        self._caption = QLabel("Load a model to see its per-layer memory.")
        self._caption.setWordWrap(True)
        layout.addWidget(self._caption)
        self.bars = OpBars(["Flash per operator (weights, bytes)", "RAM per operator (live activations, bytes)"],
                           rest=("sum", "max"))
        layout.addWidget(self.bars, 2)
        self._timeline = pg.PlotWidget(title="Memory timeline (live bytes while each operator runs, "
                                             "by position in the graph)", axisItems={"left": CountAxis("left")})
        self._timeline.getAxis("left").setWidth(64)  # room for "800k" whatever the data
        self._timeline.showGrid(y=True, alpha=0.3)
        self._timeline.addLegend(offset=(-10, 10))
        layout.addWidget(self._timeline, 1)
        self._timeline.setVisible(False)  # until there is a model: a budget line alone says nothing
        self._hover = QLabel("")
        self._hover.setWordWrap(True)
        layout.addWidget(self._hover)
        self.bars.hovered.connect(self._hover.setText)
        self._reports = (None, None)
        self._names = ("original", "variant")
        self._rows = []
        self._budget = None
        self._timeline.scene().sigMouseMoved.connect(self._on_timeline_moved)

    def setReports(self, original, variant, names=("original", "variant")) -> None:
        """Draw `original` and `variant` (core.analysis.memory.MemoryReport or None), their
        operators matched by what they compute (core.analysis.match), never by position."""
        from core.analysis.match import Row, match_ops

        self._reports = (original, variant)
        self._names = names
        self._timeline.clear()
        self._hover.setText("")
        self._timeline.setVisible(original is not None or variant is not None)
        if original is None and variant is None:
            self._rows = []
            self.bars.clear()
            self._caption.setText("No per-layer data: this variant is a Keras model (see its .tflite variants).")
            return
        if original is not None and variant is not None:
            self._rows = match_ops(original.ops, variant.ops)
        else:
            only = original or variant
            self._rows = [Row(i, None) if variant is None else Row(None, i) for i in range(len(only.ops))]
        drawn = [k for k, r in enumerate((original, variant)) if r is not None]
        self.bars.setRows([self._bar_row(row, drawn) for row in self._rows],
                          [(names[k], (ORIGINAL, VARIANT)[k]) for k in drawn])
        for k in drawn:
            r = (original, variant)[k]
            rows = [(x, row.original if k == 0 else row.variant) for x, row in enumerate(self._rows)]
            rows = [(x, i) for x, i in rows if i is not None]
            color = (ORIGINAL, VARIANT)[k]
            self._timeline.plot([x for x, _ in rows], [r.timeline[i] for _, i in rows], pen=pg.mkPen(color, width=2),
                                symbol="o", symbolSize=4, symbolBrush=color,
                                name=f"{names[k]} (peak {r.peak_bytes:,} B)")
            peak_x = next((x for x, i in rows if r.ops[i].index == r.peak_op), 0)
            self._timeline.addItem(pg.ScatterPlotItem([peak_x], [r.peak_bytes], size=14, symbol="star",
                                                      brush=pg.mkBrush(220, 50, 50)))
        # Names under the timeline only while they fit; else positions (the bars above name them).
        ticks = [(x, self._tick(row)) for x, row in enumerate(self._rows)] if len(self._rows) <= 16 else None
        self._timeline.getAxis("bottom").setTicks([ticks] if ticks else None)
        self._draw_budget()
        r = variant or original
        both = len(drawn) == 2
        changed = [row.status for row in self._rows if row.status != "matched"]
        counts = ", ".join(f"{changed.count(s)} {s}" for s in ("added", "removed", "replaced") if s in changed)
        self._caption.setText(
            f"{names[1] if variant else names[0]}: {len(r.ops)} operators"
            + (f" ({counts} against {names[0]})" if both and counts else "")
            + f", flash {r.total_flash:,} B, peak RAM {r.peak_bytes:,} B, TFLM head {r.predicted_head:,} B "
            f"(lower bound {r.lower_bound:,} B)" + (f"; {r.notes[0]}" if r.notes else ""))

    def _bar_row(self, row, drawn) -> OpRow:
        ops = [r.ops[i] if r is not None and i is not None else None
               for r, i in zip(self._reports, (row.original, row.variant))]
        op = ops[1] or ops[0]
        return OpRow(f"#{op.index} {self._tick(row)}", self._describe(row),
                     [[None if ops[k] is None else ops[k].flash_bytes for k in drawn],
                      [None if ops[k] is None else ops[k].ram_bytes for k in drawn]])

    def _tick(self, row) -> str:
        from core.analysis.match import channels_note

        original, variant = self._reports
        if row.status == "added":
            return f"+{variant.ops[row.variant].op_type}"
        if row.status == "removed":
            return f"−{original.ops[row.original].op_type}"
        op = (variant or original).ops[row.variant if variant is not None else row.original]
        if row.status == "replaced":
            return f"{original.ops[row.original].op_type}→{op.op_type}"
        if original is not None and variant is not None:
            note = channels_note(original.ops[row.original], variant.ops[row.variant])
            return f"{op.op_type} {note}" if note else op.op_type
        return op.op_type

    def rowStatus(self) -> list[tuple[str, str | None, str | None]]:
        """(status, original op type, variant op type) per matched row in graph order, for tests and tooltips."""
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

    def hoverGraphRow(self, x: int) -> str:
        """Show and return what matched row `x` (graph order) holds on both sides."""
        self._hover.setText(self._describe(self._rows[x]))
        return self._hover.text()

    def _describe(self, row) -> str:
        parts = []
        for report, i, name in zip(self._reports, (row.original, row.variant), self._names):
            if report is None or i is None:
                continue
            o = report.ops[i]
            parts.append(f"{name}: op {o.index} {o.op_type} → {'x'.join(map(str, o.output_shape))}: "
                         f"MACs {o.macs if o.macs is not None else '?'}, flash {o.flash_bytes:,} B, "
                         f"RAM live {o.ram_bytes:,} B")
        return ("" if row.status == "matched" else f"[{row.status}] ") + "   |   ".join(parts)

    def _on_timeline_moved(self, pos) -> None:
        if not self._rows or not self._timeline.sceneBoundingRect().contains(pos):
            return
        x = int(round(self._timeline.plotItem.vb.mapSceneToView(pos).x()))
        if 0 <= x < len(self._rows):
            self.hoverGraphRow(x)
