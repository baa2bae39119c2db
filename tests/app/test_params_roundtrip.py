"""Every step parameter, set to a value other than its default, survives the window's editor, the
CLI's `name:key=value` form and a recipe file unchanged: all three derive from one description."""

import json

import pytest

from core.params import Param
from core.steps import REGISTRY


def _other_value(p: Param):
    if p.kind == "bool":
        return not p.default
    if p.kind == "int":
        return int(p.max) if p.default != p.max else int(p.min)
    if p.kind == "float":
        high = p.max - 0.25 * (p.max - p.min) if p.max_exclusive else p.max
        return round(float(high if p.default != high else p.min), 3)
    if p.kind == "choice":
        return p.choices[-1] if p.default != p.choices[-1] else p.choices[0]
    if p.kind == "choices":
        return list(p.choices[:2]) if list(p.choices[:2]) != p.default else list(p.choices[-2:])
    if p.kind == "layers":
        return ["conv2d", "dense"]
    if p.kind == "layer_values":
        return {"dense": 0.25}
    raise AssertionError(p.kind)


def _cli_text(p: Param, value) -> str:
    if p.kind in ("choices", "layers"):
        return "+".join(value)
    if p.kind == "layer_values":
        return "+".join(f"{k}={v}" for k, v in value.items())
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_each_parameter_round_trips_through_editor_cli_and_recipe(qtbot, tmp_path, name):
    from app.qt_sequence import _StepBox
    from core.recipe import Recipe
    from core.sequence import parse_steps

    cls = REGISTRY[name]
    box = _StepBox(cls)
    qtbot.addWidget(box)
    box.setLayers(["conv2d", "dense"])
    for p in cls.describe():
        if name == "prune" and p.name in ("initial_sparsity", "end_step", "begin_step"):
            continue  # constrained by other parameters; covered by their own tests
        value = _other_value(p)
        assert value != p.default, p.name
        box.setParams({p.name: value})  # the window
        assert box.params()[p.name] == value, f"{name}.{p.name} in the window's editor"
        (item,) = parse_steps(f"{name}:{p.name}={_cli_text(p, value)}")  # the command line
        assert item["params"][p.name] == value, f"{name}.{p.name} on the command line"
        path = tmp_path / "r.json"  # a recipe file
        Recipe(model="m.h5", steps=[{"name": name, "params": {p.name: value}}]).save(path)
        again = Recipe.load(path).steps[0]["params"][p.name]
        assert json.dumps(again) == json.dumps(value), f"{name}.{p.name} in a recipe"


def test_window_editors_stay_inside_the_described_range(qtbot):
    from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

    from app.qt_sequence import _StepBox

    box = _StepBox(REGISTRY["cluster"])
    qtbot.addWidget(box)
    spin = box.editors["clusters"].widget
    assert isinstance(spin, QSpinBox) and (spin.minimum(), spin.maximum()) == (2, 256)
    spin.setValue(10_000)
    assert box.params()["clusters"] == 256
    sparsity = _StepBox(REGISTRY["prune"]).editors["final_sparsity"].widget
    assert isinstance(sparsity, QDoubleSpinBox) and sparsity.maximum() < 1.0
