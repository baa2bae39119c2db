"""`Sequence`: an ordered list of steps, validated before anything runs."""

from __future__ import annotations

from core.errors import SequenceError
from core.steps import REGISTRY, Step

KIND_TITLE = {"keras": "a Keras model", "tflite": "a TFLite model"}


def make_step(name: str, params: dict | None = None) -> Step:
    """Build a registered step from its name and a dict of parameters."""
    cls = REGISTRY.get(name)
    if cls is None:
        raise SequenceError(f"Unknown step '{name}'. Available steps: {', '.join(sorted(REGISTRY))}.")
    if params is not None and not isinstance(params, dict):
        raise SequenceError(f"Step '{name}': parameters must be a mapping, not {type(params).__name__}.")
    return cls(**(params or {}))


class Sequence:
    """Ordered steps; `validate(kind)` refuses orders that cannot work, naming the fix."""

    def __init__(self, steps: list[Step]):
        self.steps = list(steps)

    @classmethod
    def from_dicts(cls, items: list[dict]) -> "Sequence":
        steps = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or "name" not in item:
                raise SequenceError(f"Step {i + 1} must be an object with a 'name' (and 'params').")
            steps.append(make_step(item["name"], item.get("params")))
        return cls(steps)

    def to_dicts(self) -> list[dict]:
        return [s.to_dict() for s in self.steps]

    def validate(self, input_kind: str) -> None:
        """Raise `SequenceError` if the steps cannot run in this order on an `input_kind` model."""
        kind = input_kind
        previous = "the loaded model"
        for i, step in enumerate(self.steps):
            if step.takes not in ("any", kind):
                if step.takes == "keras" and kind == "tflite":
                    fix = (f"Move '{step.name}' before the step that converts to TFLite"
                           if i else "Open the Keras model (.h5/.keras) instead of the .tflite")
                else:
                    fix = f"Add a step that produces {KIND_TITLE[step.takes]} before '{step.name}'"
                raise SequenceError(f"Step {i + 1} '{step.name}' needs {KIND_TITLE[step.takes]}, but "
                                    f"{previous} is {KIND_TITLE[kind]}. {fix}.")
            problem = step.check_order(self.steps[:i])
            if problem:
                raise SequenceError(f"Step {i + 1} '{step.name}': {problem}")
            if step.gives != "any":
                kind = step.gives
            previous = f"the output of '{step.name}'"

    def __len__(self):
        return len(self.steps)

    def __iter__(self):
        return iter(self.steps)

    def __repr__(self) -> str:
        return "Sequence(" + " -> ".join(s.name for s in self.steps) + ")"


def parse_steps(text: str) -> list[dict]:
    """Parse the CLI form ``quantize:int8,quantize:dynamic`` (or ``quantize:int8+dynamic``).

    Each comma-separated item is ``name[:value][:key=value...]``; a bare value sets the step's
    primary parameter (the modes of quantize, the sparsity of prune, the clusters of cluster). Adjacent quantize items become one
    quantize step producing one variant per mode, since quantization modes are alternatives.
    """
    items: list[dict] = []
    for raw in filter(None, (p.strip() for p in text.split(","))):
        name, *args = raw.split(":")
        params: dict = {}
        for a in args:
            if "=" in a:
                k, v = a.split("=", 1)
                params[k.strip()] = _value(v.strip())
            elif name == "quantize":
                params.setdefault("modes", []).extend(a.split("+"))
            elif getattr(REGISTRY.get(name), "primary", None):
                params[REGISTRY[name].primary] = _value(a)  # prune:0.8, cluster:16
            else:
                raise SequenceError(f"In '{raw}': give parameters as key=value (e.g. {name}:epochs=2).")
        if name == "quantize" and items and items[-1]["name"] == "quantize" and set(params) <= {"modes"}:
            items[-1]["params"].setdefault("modes", []).extend(params.get("modes", []))
            continue
        items.append({"name": name, "params": params})
    if not items:
        raise SequenceError("No steps given. Example: --steps quantize:int8,quantize:dynamic")
    return items


def _value(v: str):
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    return v
