"""What the user set up in the window, as plain data (Qt-free).

The model, its data and scaling, the task, the device and its emulated target, and the sequence
with every parameter. The setup panel's widgets edit it (app/setup_panel.py); every recipe the
window runs, searches, exports or saves is read from it; an opened recipe is written into it; a
finished run writes back what it recorded (the input range it detected), so Save recipe after a
run gives the run's own recipe.json, field for field.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from core.choices import DEFAULT_DATASET
from core.recipe import REFERENCE, Recipe


@dataclass
class Setup:
    model: str = REFERENCE  # a model file, or "reference"
    trust_model_code: bool = False  # the user's grant for this model, never from a recipe
    data: str | None = DEFAULT_DATASET  # None: no data
    label_column: str | None = None  # a CSV's label column, when not the one detected
    input_range: list | None = None  # chosen [low, high]; None: detected
    input_norm: dict | None = None  # chosen mean/std instead of a range
    task: str | None = None  # None: detected
    device: object = None  # core.devices.Device: the budgets and the CPU
    target: str = "none"  # the emulated core variants are measured on
    footprint_target: str = "none"  # without one: the built core estimating the device's footprint
    kernels: str = "cmsis-nn"
    steps: list = field(default_factory=list)  # the sequence: [{"name", "params"}], every parameter
    base: Recipe = field(default_factory=Recipe)  # the last recipe opened: fields with no editor here
    recorded: dict = field(default_factory=dict)  # what the last run of this model recorded in its recipe

    def recipe(self) -> Recipe:
        """The recipe the window shows (fields with no editor, e.g. seed and latency runs, from the
        last recipe opened)."""
        chosen = self.input_range is not None or self.input_norm is not None
        return dataclasses.replace(
            self.base, model=self.model, data=self.data, label_column=self.label_column, task=self.task,
            input_range=list(self.input_range) if self.input_range is not None else
            (None if chosen else self.recorded.get("input_range")),
            input_norm=self.input_norm, target=self.target, kernels=self.kernels,
            footprint_target=self.footprint_target if self.target == "none" else "none",
            clock_mhz=self.device.clock_mhz if self.target != "none" and self.device is not None else 0,
            npu=self.device.npu if self.device is not None and self.device.npu else "none",
            npu_clock_mhz=self.device.npu_clock_mhz if self.device is not None and self.device.npu else 0,
            steps=[dict(s) for s in self.steps])

    def apply(self, recipe: Recipe) -> None:
        """Take every field of an opened recipe (the device is chosen from its target by the panel)."""
        self.base = recipe
        self.model, self.data, self.label_column, self.task = recipe.model, recipe.data, recipe.label_column, recipe.task
        self.input_range = list(recipe.input_range) if recipe.input_range is not None else None
        self.input_norm = recipe.input_norm
        self.target, self.kernels = recipe.target, recipe.kernels
        self.footprint_target = recipe.footprint_target
        self.steps = [dict(s) for s in recipe.steps]
        self.recorded = {}

    def loaded(self, model: str, trust_model_code: bool) -> None:
        """A new model is shown: what a run recorded for the last one no longer applies."""
        if model != self.model:
            self.recorded = {}
        self.model, self.trust_model_code = model, trust_model_code

    def ran(self, recipe: dict) -> None:
        """A finished run's recipe as run: keep what it recorded (the detected input range)."""
        if recipe.get("model") == self.model and recipe.get("input_range") is not None:
            self.recorded["input_range"] = list(recipe["input_range"])
