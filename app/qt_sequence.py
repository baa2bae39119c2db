"""The sequence panel: one checkable box per registered step, its parameters editable beside it.

Built from core.steps.REGISTRY and each step's parameter dataclass, so new steps appear without
changes here. `recipeSteps()` gives the recipe's step list; `sequenceChanged` fires on any edit.
"""

from __future__ import annotations

import dataclasses
import json

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLineEdit,
                               QListWidget, QListWidgetItem, QSpinBox, QVBoxLayout, QWidget)
from PySide6.QtCore import Qt


class _StepBox(QGroupBox):
    changed = Signal()

    def __init__(self, cls, parent=None):
        super().__init__(f"{cls.title}  ({cls.name}: {cls.takes} → {cls.gives})", parent)
        self.cls = cls
        self.setCheckable(True)
        self.setChecked(False)
        self._editors = {}
        form = QFormLayout(self)
        defaults = cls.Params()
        for f in dataclasses.fields(cls.Params):
            editor = self._editor(f.name, getattr(defaults, f.name))
            self._editors[f.name] = editor
            form.addRow(f.name.replace("_", " "), editor)
        self.toggled.connect(self._on_toggled)
        self.showParams(False)

    def showParams(self, on: bool) -> None:
        # Only switched-on steps show their parameters: the list stays short enough to read.
        for editor in self._editors.values():
            editor.setVisible(on)
            label = self.layout().labelForField(editor)
            if label is not None:
                label.setVisible(on)

    def _on_toggled(self, on: bool) -> None:
        self.showParams(on)
        self.changed.emit()

    def _editor(self, name, value):
        if self.cls.name == "quantize" and name == "modes":
            from core.steps.quantize import MODES

            w = QListWidget()
            for mode, title in MODES.items():
                item = QListWidgetItem(f"{mode} — {title}")
                item.setData(Qt.UserRole, mode)
                item.setCheckState(Qt.Checked if mode in value else Qt.Unchecked)
                w.addItem(item)
            w.setMaximumHeight(6 * 20)
            w.itemChanged.connect(lambda _: self.changed.emit())
            return w
        if isinstance(value, bool):
            w = QCheckBox()
            w.setChecked(value)
            w.toggled.connect(lambda _: self.changed.emit())
        elif isinstance(value, int):
            w = QSpinBox()
            w.setRange(-1, 10_000_000)
            w.setValue(value)
            w.valueChanged.connect(lambda _: self.changed.emit())
        elif isinstance(value, float):
            w = QDoubleSpinBox()
            w.setDecimals(6 if 0 < abs(value) < 0.01 else 3)
            w.setRange(0.0, 1000.0)
            w.setSingleStep(0.05 if value <= 1 else 1)
            w.setValue(value)
            w.valueChanged.connect(lambda _: self.changed.emit())
        else:  # str, list, dict: edited as text (JSON for containers)
            w = QLineEdit(value if isinstance(value, str) else json.dumps(value))
            w.textEdited.connect(lambda _: self.changed.emit())
        return w

    def params(self) -> dict:
        out = {}
        defaults = self.cls.Params()
        for name, w in self._editors.items():
            default = getattr(defaults, name)
            if isinstance(w, QListWidget):
                out[name] = [w.item(i).data(Qt.UserRole) for i in range(w.count())
                             if w.item(i).checkState() == Qt.Checked]
            elif isinstance(w, QCheckBox):
                out[name] = w.isChecked()
            elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
                out[name] = w.value()
            elif isinstance(default, str):
                out[name] = w.text()
            else:
                try:
                    out[name] = json.loads(w.text() or "null")
                except ValueError:
                    out[name] = w.text()  # the engine's validation names the bad value
        return out

    def setParams(self, params: dict) -> None:
        for name, value in params.items():
            w = self._editors.get(name)
            if w is None:
                continue
            w.blockSignals(True)
            if isinstance(w, QListWidget):
                for i in range(w.count()):
                    w.item(i).setCheckState(Qt.Checked if w.item(i).data(Qt.UserRole) in value else Qt.Unchecked)
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
                w.setValue(value)
            else:
                w.setText(value if isinstance(value, str) else json.dumps(value))
            w.blockSignals(False)


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

    def setRecipeSteps(self, steps: list[dict]) -> None:
        """Check and fill the boxes for `steps` (a recipe's list); uncheck the others."""
        by_name = {s["name"]: s.get("params", {}) for s in steps}
        for name, box in self._boxes.items():
            box.blockSignals(True)
            fresh = dataclasses.asdict(box.cls.Params())
            box.setParams({**fresh, **by_name.get(name, {})})
            box.setChecked(name in by_name)
            box.showParams(name in by_name)
            box.blockSignals(False)
        self.sequenceChanged.emit()
