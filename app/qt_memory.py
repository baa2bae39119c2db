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
        self._budget = None
        for plot in (self._flash, self._ram, self._timeline):
            plot.scene().sigMouseMoved.connect(lambda pos, plot=plot: self._on_mouse_moved(pos, plot))

    def setReports(self, original, variant, names=("original", "variant")) -> None:
        """Draw `original` and `variant` (core.analysis.memory.MemoryReport or None)."""
        self._reports = (original, variant)
        self._names = names
        for plot in (self._flash, self._ram, self._timeline):
            plot.clear()
        shown = [(r, n, c, k) for k, (r, n, c) in enumerate(zip((original, variant), names, (ORIGINAL, VARIANT)))
                 if r is not None]
        if not shown:
            self._caption.setText("No per-layer data: this variant is a Keras model (see its .tflite variants).")
            return
        width = 0.8 / len(shown)
        for r, name, color, k in shown:
            x = np.arange(len(r.ops)) + (k - (len(shown) - 1) / 2) * width if len(shown) > 1 else np.arange(len(r.ops))
            self._flash.addItem(pg.BarGraphItem(x=x, height=[o.flash_bytes for o in r.ops], width=width,
                                                brush=pg.mkBrush(*color), name=name))
            self._ram.addItem(pg.BarGraphItem(x=x, height=[o.ram_bytes for o in r.ops], width=width,
                                              brush=pg.mkBrush(*color), name=name))
            self._timeline.plot(np.arange(len(r.timeline)), r.timeline, pen=pg.mkPen(color, width=2),
                                symbol="o", symbolSize=5, symbolBrush=color, name=f"{name} (peak {r.peak_bytes:,} B)")
            peak_x = next((i for i, o in enumerate(r.ops) if o.index == r.peak_op), 0)
            self._timeline.addItem(pg.ScatterPlotItem([peak_x], [r.peak_bytes], size=14, symbol="star",
                                                      brush=pg.mkBrush(220, 50, 50)))
        ref = variant or original
        ticks = [[(i, f"{i} {o.op_type}") for i, o in enumerate(ref.ops)]]
        for plot in (self._flash, self._ram, self._timeline):
            plot.getAxis("bottom").setTicks(ticks)
        self._draw_budget()
        r = variant or original
        self._caption.setText(
            f"{names[1] if variant else names[0]}: {len(r.ops)} operators, flash {r.total_flash:,} B, "
            f"peak RAM {r.peak_bytes:,} B, TFLM head {r.predicted_head:,} B (lower bound {r.lower_bound:,} B)"
            + (f"; {r.notes[0]}" if r.notes else ""))

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
        """Show the operator under the pointer (any of the three plots) with its numbers."""
        r = self._reports[1] or self._reports[0]
        if r is None or not plot.sceneBoundingRect().contains(pos):
            return
        x = plot.plotItem.vb.mapSceneToView(pos).x()
        i = int(round(x))
        if 0 <= i < len(r.ops):
            o = r.ops[i]
            self._hover.setText(f"op {o.index} {o.op_type} → {'x'.join(map(str, o.output_shape))}: "
                                f"MACs {o.macs if o.macs is not None else '?'}, flash {o.flash_bytes:,} B, "
                                f"RAM live {o.ram_bytes:,} B")
