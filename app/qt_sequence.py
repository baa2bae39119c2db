"""The sequence panel: one checkable box per registered step, its parameters editable beside it.

Built from core.steps.REGISTRY and each step's parameter descriptions (core.params): a check box
for a flag, a spin box with the allowed range for a number, a combo box for a choice, a checkable
list for a set of choices or of the model's layers. New steps and parameters appear without
changes here. `recipeSteps()` gives the recipe's step list; `sequenceChanged` fires on any edit.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QListWidget, QListWidgetItem, QSpinBox, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

ROW_HEIGHT = 20


class _Editor:
    """One parameter's widget, reading and writing plain recipe values."""

    def __init__(self, param, changed):
        self.param = param
        self.widget = self._make(param, changed)
        tip = f"{param.help}\nAllowed: {param.range_text()}.\nDefault: {param.default!r}."
        self.widget.setToolTip(tip)
        self.set(param.default)

    @staticmethod
    def _make(p, changed):
        if p.kind == "bool":
            w = QCheckBox()
            w.toggled.connect(changed)
        elif p.kind == "int":
            w = QSpinBox()
            low = min([p.min, *p.special]) if p.special else p.min
            w.setRange(int(low), int(p.max))
            if p.special and min(p.special) < p.min:
                w.setSpecialValueText(str(p.special[min(p.special)]))
            w.valueChanged.connect(changed)
        elif p.kind == "float":
            w = QDoubleSpinBox()
            small = p.min is not None and 0 < p.min < 1e-2
            w.setDecimals(7 if small else 3)
            w.setRange(float(p.min), float(p.max) - (0.001 if p.max_exclusive else 0))
            w.setStepType(QDoubleSpinBox.AdaptiveDecimalStepType)
            w.setSingleStep(1e-4 if small else 0.05 if p.max <= 1 else 1)
            w.valueChanged.connect(changed)
        elif p.kind == "choice":
            w = QComboBox()
            w.addItems([str(c) for c in p.choices])
            w.currentIndexChanged.connect(changed)
        elif p.kind in ("choices", "layers"):
            w = QListWidget()
            for value in p.choices:
                _check_item(w, str(value), False, title=p.labels.get(value, ""))
            w.itemChanged.connect(changed)
        elif p.kind == "layer_values":
            w = QTableWidget(0, 2)
            w.setHorizontalHeaderLabels(["layer", p.unit or "value"])
            w.verticalHeader().hide()
            w.horizontalHeader().setStretchLastSection(True)
            w.itemChanged.connect(changed)
            w.changed = changed
        else:
            raise AssertionError(p.kind)
        if p.unit and isinstance(w, (QSpinBox, QDoubleSpinBox)):
            w.setSuffix(f" {p.unit}")
        return w

    def get(self):
        w, p = self.widget, self.param
        if p.kind == "bool":
            return w.isChecked()
        if p.kind in ("int", "float"):
            return w.value()
        if p.kind == "choice":
            return w.currentText()
        if p.kind in ("choices", "layers"):
            return [w.item(i).data(Qt.UserRole) for i in range(w.count())
                    if w.item(i).checkState() == Qt.Checked]
        values = {}
        for row in range(w.rowCount()):
            item = w.item(row, 0)
            if item.checkState() == Qt.Checked:
                values[item.data(Qt.UserRole)] = w.cellWidget(row, 1).value()
        return values

    def set(self, value) -> None:
        w, p = self.widget, self.param
        w.blockSignals(True)
        if p.kind == "bool":
            w.setChecked(bool(value))
        elif p.kind in ("int", "float"):
            w.setValue(value)
        elif p.kind == "choice":
            w.setCurrentText(str(value))
        elif p.kind in ("choices", "layers"):
            chosen = [value] if isinstance(value, str) else list(value or [])
            known = {w.item(i).data(Qt.UserRole) for i in range(w.count())}
            for name in chosen:
                if name not in known:  # e.g. a recipe's layer this model does not have
                    _check_item(w, name, True, missing=p.kind == "layers")
            for i in range(w.count()):
                w.item(i).setCheckState(Qt.Checked if w.item(i).data(Qt.UserRole) in chosen else Qt.Unchecked)
            rows = min(8, max(w.count(), 1))
            w.setFixedHeight(rows * max(w.sizeHintForRow(0), ROW_HEIGHT) + 2 * w.frameWidth() + 2)
        else:
            self._fill_table(dict(value or {}), self._table_names())
        w.blockSignals(False)

    def setLayers(self, names: list[str]) -> None:
        """Offer the model's layers (for layer lists): what was chosen stays chosen."""
        if self.param.kind == "layers":
            chosen = self.get()
            self.widget.blockSignals(True)
            self.widget.clear()
            for name in names:
                _check_item(self.widget, name, False)
            self.widget.blockSignals(False)
            self.set(chosen)
        elif self.param.kind == "layer_values":
            self._fill_table(self.get(), names)

    def _table_names(self) -> list[str]:
        w = self.widget
        return [w.item(r, 0).data(Qt.UserRole) for r in range(w.rowCount())]

    def _fill_table(self, values: dict, names: list[str]) -> None:
        w, p = self.widget, self.param
        w.blockSignals(True)
        names = list(names) + [n for n in values if n not in names]
        w.setRowCount(len(names))
        for row, name in enumerate(names):
            item = QTableWidgetItem(name)
            item.setData(Qt.UserRole, name)
            item.setFlags(Qt.ItemIsUserCheckable | Qt.ItemIsEnabled)
            item.setCheckState(Qt.Checked if name in values else Qt.Unchecked)
            w.setItem(row, 0, item)
            spin = QDoubleSpinBox()
            spin.setDecimals(3)
            spin.setRange(float(p.min), float(p.max) - (0.001 if p.max_exclusive else 0))
            spin.setSingleStep(0.05)
            spin.setValue(values.get(name, 0.5))
            spin.valueChanged.connect(w.changed)
            w.setCellWidget(row, 1, spin)
        rows = min(6, max(len(names), 1))
        w.resizeRowsToContents()
        w.setFixedHeight(rows * max(w.rowHeight(0) if names else 0, 26) + w.horizontalHeader().height()
                         + 2 * w.frameWidth() + 2)
        w.blockSignals(False)


def _check_item(w: QListWidget, value: str, checked: bool, missing: bool = False, title: str = "") -> None:
    item = QListWidgetItem(value + (f" — {title}" if title else "") + ("  (not in this model)" if missing else ""))
    item.setData(Qt.UserRole, value)
    item.setToolTip(item.text())
    item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
    item.setCheckState(Qt.Checked if checked else Qt.Unchecked)
    w.addItem(item)


class _StepBox(QGroupBox):
    changed = Signal()

    def __init__(self, cls, parent=None):
        super().__init__(f"{cls.title}  ({cls.name}: {cls.takes} → {cls.gives})", parent)
        self.cls = cls
        self.setCheckable(True)
        self.setChecked(False)
        self.editors = {}
        form = QFormLayout(self)
        for p in cls.describe():
            editor = _Editor(p, lambda *_: self.changed.emit())
            self.editors[p.name] = editor
            form.addRow(p.name.replace("_", " "), editor.widget)
            form.labelForField(editor.widget).setToolTip(p.help)
        self.toggled.connect(self._on_toggled)
        self.showParams(False)

    def showParams(self, on: bool) -> None:
        # Only switched-on steps show their parameters: the list stays short enough to read.
        for editor in self.editors.values():
            editor.widget.setVisible(on)
            label = self.layout().labelForField(editor.widget)
            if label is not None:
                label.setVisible(on)

    def _on_toggled(self, on: bool) -> None:
        self.showParams(on)
        self.changed.emit()

    def params(self) -> dict:
        return {name: e.get() for name, e in self.editors.items()}

    def setParams(self, params: dict) -> None:
        for name, value in params.items():
            if name in self.editors:
                self.editors[name].set(value)

    def setLayers(self, names: list[str]) -> None:
        for e in self.editors.values():
            e.setLayers(names)


class SequenceWidget(QWidget):
    """Every component as a checkable box, in the order a sequence applies them."""

    sequenceChanged = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        from core.steps import REGISTRY

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._boxes = {}
        for name, cls in REGISTRY.items():
            box = _StepBox(cls)
            box.changed.connect(self.sequenceChanged.emit)
            self._boxes[name] = box
            layout.addWidget(box)
        layout.addStretch(1)

    def box(self, name: str) -> _StepBox:
        return self._boxes[name]

    def recipeSteps(self) -> list[dict]:
        return [{"name": n, "params": b.params()} for n, b in self._boxes.items() if b.isChecked()]

    def setLayers(self, names: list[str]) -> None:
        """The loaded model's layer names, offered by every layer-list parameter."""
        for box in self._boxes.values():
            box.blockSignals(True)
            box.setLayers(names)
            box.blockSignals(False)

    def setParamEverywhere(self, name: str, value) -> None:
        """Set parameter `name` on every step that has one (e.g. calibration, from the setup panel)."""
        for box in self._boxes.values():
            if name in box.editors:
                box.editors[name].set(value)
        self.sequenceChanged.emit()

    def paramValue(self, name: str):
        """The value of parameter `name` in the first step that has one (None: no step has it)."""
        return next((b.editors[name].get() for b in self._boxes.values() if name in b.editors), None)

    def blockTraining(self, reason: str) -> None:
        """Grey out the steps that train a Keras model (with `reason` as their tooltip), or, with
        reason '', make them available again."""
        for box in self._boxes.values():
            if box.cls.takes == box.cls.gives == "keras":
                if reason:
                    box.setChecked(False)
                box.setEnabled(not reason)
                box.setToolTip(f"Not available for this model: {reason}." if reason else "")

    def setRecipeSteps(self, steps: list[dict]) -> None:
        """Check and fill the boxes for `steps` (a recipe's list); uncheck the others."""
        by_name = {s["name"]: s.get("params", {}) for s in steps}
        for name, box in self._boxes.items():
            box.blockSignals(True)
            fresh = {p.name: p.default for p in box.cls.describe()}
            box.setParams({**fresh, **by_name.get(name, {})})
            box.setChecked(name in by_name)
            box.showParams(name in by_name)
            box.blockSignals(False)
        self.sequenceChanged.emit()
