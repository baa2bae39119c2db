"""The results table: one row per variant (original first), sortable; the selection drives the views."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from core.report import fidelity_cell, score_cell

COLUMNS = ["variant", "size B", "Δ size", "score", "Δ score (pt)", "fidelity", "latency", "runs on TFLM",
           "TFLM arena B", "firmware flash B", "firmware RAM B", "fits device", "NPU (Vela estimate)"]
FLASH_COLUMN, FITS_COLUMN, NPU_COLUMN = 9, 11, 12
BAD = QColor("#f4c7c3")


class _Item(QTableWidgetItem):
    """Sorts by the number it shows (kept in UserRole), not by its text."""

    def __init__(self, text: str, key=None):
        super().__init__(text)
        self.setData(Qt.UserRole, key if key is not None else text)
        self.setFlags(self.flags() & ~Qt.ItemIsEditable)

    def __lt__(self, other):
        a, b = self.data(Qt.UserRole), other.data(Qt.UserRole)
        try:
            return (a is None, a) < (b is None, b)
        except TypeError:
            return str(a) < str(b)


class ResultsWidget(QTableWidget):
    variantSelected = Signal(int)  # index into the variants list

    def __init__(self, variants=None, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setSortingEnabled(True)
        self.horizontalHeader().setSortIndicator(-1, Qt.AscendingOrder)  # run order until a click
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.itemSelectionChanged.connect(self._on_selection_changed)
        from app.variants import Variants

        self.variants = variants if variants is not None else Variants()  # the window's one list: shown here
        self.device = None
        self.setColumnHidden(NPU_COLUMN, True)  # shown for an NPU device, or variants with NPU figures

    def clearVariants(self) -> None:
        self.variants.clear()
        self.setRowCount(0)

    def addVariant(self, variant) -> None:
        """Add `variant` to the list and its row to the table."""
        self.variants.add(variant)
        self.setSortingEnabled(False)
        row = self.rowCount()
        self.insertRow(row)
        for col, item in enumerate(self._items(len(self.variants) - 1)):
            self.setItem(row, col, item)
        if getattr(variant.metrics, "npu", None) is not None:
            self.setColumnHidden(NPU_COLUMN, False)
        self.setSortingEnabled(True)
        if row == 0 or len(self.variants) == 2:
            self.selectRow(self.rowCount() - 1)

    def setDevice(self, device) -> None:
        self.device = device
        if device is not None and device.npu:
            self.setColumnHidden(NPU_COLUMN, False)
        self.setSortingEnabled(False)
        for row in range(self.rowCount()):
            index = self.item(row, 0).data(Qt.UserRole + 1)
            for col, item in enumerate(self._items(index)):
                self.setItem(row, col, item)
        self.setSortingEnabled(True)

    def selectedIndex(self) -> int | None:
        rows = self.selectionModel().selectedRows()
        return self.item(rows[0].row(), 0).data(Qt.UserRole + 1) if rows else None

    def selectIndex(self, index: int) -> None:
        """Select the row of variant `index`, wherever sorting put it."""
        for row in range(self.rowCount()):
            if self.item(row, 0).data(Qt.UserRole + 1) == index:
                self.selectRow(row)
                return

    def _on_selection_changed(self):
        index = self.selectedIndex()
        if index is not None:
            self.variantSelected.emit(index)

    def _items(self, index: int) -> list:
        m = self.variants[index].metrics
        base = self.variants[0].metrics
        t = m.tflm
        d_size = None if index == 0 else (m.size_bytes - base.size_bytes) / base.size_bytes * 100
        (_, score), (_, base_score) = m.primary, base.primary
        d_acc = None if index == 0 or score is None or base_score is None else (score - base_score) * 100
        runs = "-" if t is None else ("yes" if t.runs else "no")
        fp = m.footprint  # model + TFLM code, arena + runtime RAM: measured with an emulated core
        fits, why = (True, "")
        on = m.target  # the emulated target's figures, when the run measured them
        arena = on.arena_used if on is not None else (t.arena_total if t else None)
        if self.device is not None and m.kind == "tflite":
            fits, why = self.device.judge(m)
        synthetic = m.calibration == "synthetic"
        cells = [
            (m.name + ("  (synthetic calibration)" if synthetic else ""), m.name), (f"{m.size_bytes:,}", m.size_bytes),
            ("" if d_size is None else f"{d_size:+.1f}%", d_size),
            (score_cell(m), score),
            ("" if d_acc is None else f"{d_acc:+.2f}", d_acc),
            (fidelity_cell(m), m.fidelity.top1 if m.fidelity and m.fidelity.top1 is not None
             else m.fidelity.cos if m.fidelity else None),
            _latency_cell(m),
            (runs, runs), ("-" if not arena else f"{arena:,}", arena),
            ("-" if fp is None else f"{fp.flash_total:,}", fp.flash_total if fp else None),
            ("-" if fp is None else f"{fp.ram_total:,}", fp.ram_total if fp else None),
            ("-" if m.kind != "tflite" or self.device is None else ("yes" if fits else "no"), fits),
            _npu_cell(m),
        ]
        items = [_Item(text, key) for text, key in cells]
        items[0].setData(Qt.UserRole + 1, index)
        if m.fidelity is not None:
            items[5].setToolTip("Fidelity to the original: " + m.fidelity.summary())
        items[6].setToolTip(_latency_tip(m))
        if on is not None:
            items[8].setToolTip(f"Arena TFLM used on the emulated {on.target} ({on.kernels} kernels)"
                                + (f"; {t.arena_total:,} B on the host TFLM" if t and t.arena_total else ""))
        if t and not t.runs:
            items[7].setToolTip(t.reason)
            items[7].setBackground(QBrush(BAD))
        split = fp.split_text() if fp is not None else (m.footprint_note or "Firmware footprint: not measured "
                                                           "(measured for TFLM-runnable variants on an emulated core)")
        items[FLASH_COLUMN].setToolTip(split)
        items[FLASH_COLUMN + 1].setToolTip(split)
        items[FITS_COLUMN].setToolTip(why or ("Fits: " + split if fp is not None else ""))
        if not fits:
            for item in items:
                item.setBackground(QBrush(BAD))
        if m.notes:
            items[0].setToolTip("\n".join(m.notes))
        items[NPU_COLUMN].setToolTip(_npu_tip(m))
        return items


def _npu_cell(m) -> tuple[str, object]:
    r = getattr(m, "npu", None)
    if r is None:
        return "-", None
    return f"~{r.inference_ms:.3f} ms · {len(r.npu_ops)} NPU / {len(r.cpu_ops)} CPU ops", r.inference_ms


def _npu_tip(m) -> str:
    r = getattr(m, "npu", None)
    if r is None:
        return getattr(m, "npu_note", "")
    lines = [f"{r.label}: {r.npu_cycles:,} NPU cycles, {r.total_cycles:,} with memory at {r.clock_hz / 1e6:g} MHz; "
             f"SRAM {r.sram_bytes:,} B, flash {r.flash_bytes:,} B."]
    lines += [f"CPU: {o.op}: {o.reason} → {o.advice}" for o in r.cpu_ops]
    if r.cpu_instructions_measured is not None:
        lines.append(f"The CPU operators: {r.cpu_instructions_measured:,} instructions on the emulated core (exact).")
    return "\n".join(lines)


def _latency_cell(m) -> tuple[str, object]:
    """The target's instructions per inference (and the estimated time when there is a model),
    else the host's median latency, marked as the host's."""
    on = m.target
    if on is not None:
        ms = on.ms_estimate
        return (f"{on.instructions / 1e6:.2f} M instr" + (f" · ~{ms:.1f} ms" if ms is not None else ""),
                float(on.instructions))
    if m.latency_ms_median is None:
        return "-", None
    return f"{m.latency_ms_median:.3f} ms (host)", m.latency_ms_median


def _latency_tip(m) -> str:
    on, lines = m.target, []
    if on is not None:
        lines.append(f"{on.instructions:,} instructions per inference on the emulated {on.target} "
                     f"({on.kernels} kernels): exact, counted by QEMU.")
        lines.append(f"~{on.cycles_estimate:,} cycles, ~{on.ms_estimate:.2f} ms at {on.clock_mhz} MHz: "
                     f"{on.estimate_model}" if on.ms_estimate is not None else on.estimate_model)
        if on.matches_host is False:
            lines.append(on.host_difference)
    elif getattr(m, "target_note", ""):
        lines.append(m.target_note)
    if m.latency_ms_median is not None:
        lines.append(f"Host (x86, LiteRT): {m.latency_ms_median:.3f} ms median, {m.latency_ms_p90:.3f} ms p90.")
    return "\n".join(lines)
