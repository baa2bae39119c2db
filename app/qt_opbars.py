"""Per-operator bar charts that stay readable from 5 to 300 operators.

One horizontal row per operator, its index and name on the left (long names elided, the full text
on hover), one or two models' bars side by side, in a scroll area at a fixed row height: a label
never overlaps its neighbour however many operators there are. Rows come in graph order or the
costliest first, where the costliest TOP are drawn and the rest combined into one row (summed, or
their largest where a sum means nothing, as for RAM live at one moment). Several panels (flash and
RAM, say) share the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QScrollArea, QToolTip, QVBoxLayout,
                               QWidget)

ROW_PX = 22  # one operator's row: room for a label in the default font
TOP = 25  # rows drawn when sorted by cost; the rest are summed into one
MANY = 40  # more operators than this open sorted by cost
LABEL_CHARS = 36  # longer labels are elided (the full text is on hover)
AXIS_PX = 48  # the value axis and the panel titles above the rows


@dataclass
class OpRow:
    label: str  # short, e.g. "#12 CONV_2D"
    detail: str  # the full text shown on hover
    values: list  # per panel, per series: a number or None (the model has no such operator)


class OpBars(QWidget):
    """`setRows(rows, series)`: series are (name, rgb) pairs, at most two; `rows[i].values[p][s]`
    is series s's value in panel p."""

    hovered = Signal(str)  # the detail of the row under the pointer

    def __init__(self, panels: list[str], rest: tuple = (), parent=None):
        super().__init__(parent)
        self.panels = list(panels)
        self.rest = [rest[p] if p < len(rest) else "sum" for p in range(len(self.panels))]  # "sum" or "max"
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.legend = QLabel("")
        self.legend.setTextFormat(Qt.RichText)
        bar.addWidget(self.legend, 1)
        self.order = QComboBox()
        self.order.addItem("in graph order", None)
        for p, title in enumerate(self.panels):
            self.order.addItem(f"costliest {TOP} by {_short(title)}, rest in one row", p)
        self.order.setToolTip("Graph order shows every operator (scroll); by cost shows the heaviest first.")
        self.order.activated.connect(self._on_order_chosen)
        bar.addWidget(self.order)
        layout.addLayout(bar)
        # One PlotWidget per panel side by side (a GraphicsLayoutWidget of PlotItems crashed the
        # process at exit with PySide6 6.11.3, about one exit in two; PlotWidgets do not).
        self.canvas = QWidget()
        row = QHBoxLayout(self.canvas)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.views, self.plots = [], []
        for p, title in enumerate(self.panels):
            view = pg.PlotWidget(title=title, axisItems={"top": CountAxis("top")})
            plot = view.getPlotItem()
            plot.invertY(True)
            plot.setMouseEnabled(False, False)
            plot.hideButtons()
            plot.setMenuEnabled(False)
            plot.showAxis("top")
            plot.hideAxis("bottom")
            plot.showGrid(x=True, alpha=0.3)
            if p:
                plot.hideAxis("left")
                plot.setYLink(self.plots[0])
            view.scene().sigMouseMoved.connect(lambda pos, view=view: self._on_mouse_moved(pos, view))
            row.addWidget(view, 1)
            self.views.append(view)
            self.plots.append(plot)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.canvas)
        layout.addWidget(self.scroll, 1)
        self.rows: list[OpRow] = []
        self.series: list = []
        self.shown: list[OpRow] = []  # the rows as drawn, top to bottom
        self._chosen = False  # the user picked an order: keep it across selections
        self.scroll.setVisible(False)  # until there are rows: an empty chart with bare axes says nothing
        self.order.setVisible(False)

    def setRows(self, rows: list[OpRow], series: list) -> None:
        self.rows, self.series = list(rows), list(series)
        if not self._chosen:
            self.order.setCurrentIndex(0 if len(rows) <= MANY else 1)
        self.scroll.setVisible(bool(rows))  # an empty chart with a bare axis says nothing
        self.order.setVisible(bool(rows))
        self.legend.setText("&nbsp;&nbsp;".join(
            f'<span style="color:rgb{tuple(color)}">■</span> {name}' for name, color in self.series)
            + (f"&nbsp;&nbsp;— {len(rows)} operators" if rows else ""))
        self._draw()

    def clear(self) -> None:
        self.setRows([], [])

    def _on_order_chosen(self, _index: int) -> None:
        self._chosen = True
        self._draw()

    def _arranged(self) -> list[OpRow]:
        panel = self.order.currentData()
        if panel is None or len(self.rows) <= TOP:
            rows = list(self.rows)
            if panel is not None:
                rows.sort(key=lambda r: -_cost(r, panel))
            return rows
        ranked = sorted(self.rows, key=lambda r: -_cost(r, panel))
        top, rest = ranked[:TOP], ranked[TOP:]
        combined = [[_combine((r.values[p][s] for r in rest), self.rest[p]) for s in range(len(self.series))]
                     for p in range(len(self.panels))]
        how = ", ".join(f"{_short(title)} {'summed' if how == 'sum' else 'at most'}"
                        for title, how in zip(self.panels, self.rest))
        detail = (f"{len(rest)} other operators ({how}): "
                  + ", ".join(r.label for r in sorted(rest, key=lambda r: -_cost(r, panel))[:12])
                  + (", …" if len(rest) > 12 else ""))
        return top + [OpRow(f"{len(rest)} others", detail, combined)]

    def _draw(self) -> None:
        self.shown = self._arranged()
        n = len(self.shown)
        both = len(self.series) == 2
        thick = 0.4 if both else 0.75
        for p, plot in enumerate(self.plots):
            plot.clear()
            for s, (_name, color) in enumerate(self.series):
                ys = [i for i, r in enumerate(self.shown) if r.values[p][s] is not None]
                if not ys:
                    continue
                y = np.array(ys, float) + ((s - 0.5) * thick if both else 0.0)
                widths = [float(self.shown[i].values[p][s]) for i in ys]
                plot.addItem(pg.BarGraphItem(x0=0, y=y, height=thick, width=widths, brush=pg.mkBrush(*color),
                                             pen=pg.mkPen(None)))
            plot.setYRange(-0.5, max(n, 1) - 0.5, padding=0)
            # The scale follows the operators drawn one by one; a combined row that goes past it
            # is clipped and carries its figure.
            each = self.shown[:-1] if self._combined() else self.shown
            top = max([0.0] + [float(v) for r in each for v in r.values[p] if v is not None]) * 1.05 or 1.0
            plot.setXRange(0, top, padding=0)
            if self._combined():
                values = [v for v in self.shown[-1].values[p] if v is not None]
                if values and max(values) > top:
                    text = pg.TextItem(" / ".join(f"{v:,.0f}" for v in values) + " ▶", color=(60, 60, 60),
                                       anchor=(1, 0.5))
                    text.setPos(top, n - 1)
                    plot.addItem(text)
        left = self.plots[0].getAxis("left")
        labels = [_elide(r.label) for r in self.shown]
        metrics = QFontMetrics(left.style.get("tickFont") or self.font())
        left.setWidth(min(260, max([40] + [metrics.horizontalAdvance(t) + 16 for t in labels])))
        left.setTicks([[(i, t) for i, t in enumerate(labels)], []])
        self.canvas.setMinimumHeight(n * ROW_PX + AXIS_PX)

    def _combined(self) -> bool:
        return self.order.currentData() is not None and len(self.rows) > TOP

    def rowAt(self, scene_pos, panel: int = 0) -> int | None:
        """The drawn row under a position in panel `panel`'s scene, or None."""
        plot = self.plots[panel]
        if not plot.sceneBoundingRect().contains(scene_pos):
            return None
        i = int(round(plot.vb.mapSceneToView(scene_pos).y()))
        return i if 0 <= i < len(self.shown) else None

    def hoverRow(self, i: int) -> str:
        """Show and return the full text of drawn row `i` (what hovering it shows)."""
        text = self.shown[i].detail
        for view in self.views:
            view.setToolTip(text)
        self.hovered.emit(text)
        return text

    def _on_mouse_moved(self, pos, view) -> None:
        i = self.rowAt(pos, self.views.index(view))
        if i is None:
            return
        text = self.hoverRow(i)
        if view.underMouse():
            QToolTip.showText(view.mapToGlobal(view.mapFromScene(pos)), text, view)


class CountAxis(pg.AxisItem):
    """Counts and bytes as 200k or 1.5M rather than 2e+05: exact figures are on hover."""

    def __init__(self, orientation):
        super().__init__(orientation)
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values, scale, spacing):
        return [_count(v * scale, spacing * scale) for v in values]


def _count(v: float, spacing: float = 0.0) -> str:
    """200k, 1.5M; exact digits when the ticks are closer than the suffix can tell apart."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= size and spacing >= size / 100:
            return f"{v / size:.4g}{suffix}"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _short(title: str) -> str:
    """'Flash per operator (weights, bytes)' -> 'flash'."""
    return title.split(" (")[0].split(" per ")[0].lower()


def _cost(row: OpRow, panel: int) -> float:
    return max([0.0] + [float(v) for v in row.values[panel] if v is not None])


def _combine(values, how: str) -> float | None:
    present = [float(v) for v in values if v is not None]
    return (sum(present) if how == "sum" else max(present)) if present else None


def _elide(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1] + "…"
