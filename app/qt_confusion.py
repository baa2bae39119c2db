"""Confusion matrices of the original and the selected variant side by side (classifiers), or
the anomaly scores' figures (autoencoders): what changed class by class, not only on average."""

from __future__ import annotations

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

CHANGED = QColor("#f4c7c3")


class ConfusionWidget(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.caption = QLabel("Run a sequence on labelled data to compare classes.")
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        row = QHBoxLayout()
        self.tables = []
        for title in ("original", "variant"):
            box = QVBoxLayout()
            label = QLabel(title)
            table = QTableWidget()
            table.setEditTriggers(QTableWidget.NoEditTriggers)
            box.addWidget(label)
            box.addWidget(table, 1)
            row.addLayout(box, 1)
            self.tables.append((label, table))
        layout.addLayout(row, 1)

    def setMetrics(self, original, variant, labels=(), names=("original", "variant")) -> None:
        """Show `original` and `variant` (core.measure.evaluation.Metrics or None)."""
        for (label, table), m, name in zip(self.tables, (original, variant), names):
            label.setText(name)
            table.clear()
            table.setRowCount(0)
            table.setColumnCount(0)
            if m is not None and m.scores is not None and m.scores.confusion:
                self._fill(table, m.scores.confusion, list(labels),
                           other=(original if m is variant else None))
        m = variant or original
        if m is None or m.scores is None:
            self.caption.setText("No class figures: the model was run without labelled data.")
        elif m.task == "anomaly":
            s = m.scores
            auc = "no labels for ROC AUC" if s.auc is None else f"ROC AUC {s.auc:.4f}"
            self.caption.setText(f"{m.name}: anomaly detection; reconstruction error mean {s.score_mean:.4g}, "
                                 f"median {s.score_p50:.4g}, 95th percentile {s.score_p95:.4g}; {auc}.")
        elif m.scores.confusion:
            changed = self.changedCells(original, variant)
            self.caption.setText("Rows: true class, columns: predicted class. "
                                 + (f"{len(changed)} cell(s) differ from the original (red)." if variant
                                    and original else ""))
        else:
            self.caption.setText("No class figures: the data has no labels.")

    @staticmethod
    def changedCells(original, variant) -> list[tuple[int, int]]:
        if not (original and variant and original.scores and variant.scores and original.scores.confusion
                and variant.scores.confusion):
            return []
        a, b = original.scores.confusion, variant.scores.confusion
        return [(i, j) for i in range(min(len(a), len(b))) for j in range(min(len(a[i]), len(b[i])))
                if a[i][j] != b[i][j]]

    def _fill(self, table, confusion, labels, other=None) -> None:
        n = len(confusion)
        names = [labels[i] if i < len(labels) else str(i) for i in range(n)]
        table.setRowCount(n)
        table.setColumnCount(n)
        table.setHorizontalHeaderLabels(names)
        table.setVerticalHeaderLabels(names)
        peak = max(max(r) for r in confusion) or 1
        ref = other.scores.confusion if other is not None and other.scores else None
        for i in range(n):
            for j in range(n):
                value = confusion[i][j]
                item = QTableWidgetItem(str(value))
                if ref is not None and i < len(ref) and j < len(ref[i]) and ref[i][j] != value:
                    item.setBackground(QBrush(CHANGED))
                    item.setToolTip(f"original: {ref[i][j]}")
                elif value:
                    shade = 255 - int(120 * value / peak)
                    item.setBackground(QBrush(QColor(shade, shade, 255)))
                table.setItem(i, j, item)
        table.resizeColumnsToContents()
