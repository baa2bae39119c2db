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
        raise SequenceError(f"Step '{name}': parameters must be an object (name: value), not {type(params).__name__}.")
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
    primary parameter (the modes of quantize, the sparsity of prune, the clusters of cluster), and
    values are read by each parameter's description. Adjacent items of a step whose primary
    parameter is a list of alternatives (quantize modes) merge into one step, one variant each.
    """
    from core.params import parse_text

    items: list[dict] = []
    for raw in filter(None, (p.strip() for p in text.split(","))):
        name, *args = raw.split(":")
        cls = REGISTRY.get(name.strip())
        if cls is None:
            raise SequenceError(f"Unknown step '{name}'. Available steps: {', '.join(sorted(REGISTRY))}.")
        specs = {p.name: p for p in cls.describe()}
        params: dict = {}
        for a in args:
            key, value = a.split("=", 1) if "=" in a else (cls.primary, a)
            if key is None:
                raise SequenceError(f"In '{raw}': give parameters as key=value (e.g. {name}:"
                                    f"{next(iter(specs), 'param')}=...).")
            key = key.strip()
            if key not in specs:
                raise SequenceError(f"In '{raw}': step '{cls.name}' has no parameter '{key}'. Its "
                                    f"parameters are: {', '.join(specs)}.")
            value = parse_text(cls.name, specs[key], value)
            if isinstance(value, list) and key in params:
                value = params[key] + value
            params[key] = value
        prev = items[-1] if items else None
        primary = specs.get(cls.primary) if cls.primary else None
        if prev and prev["name"] == cls.name and primary is not None and primary.kind == "choices" \
                and set(params) <= {cls.primary} and set(prev["params"]) <= {cls.primary}:
            merged = prev["params"].get(cls.primary, list(primary.default)) + params.get(cls.primary, [])
            prev["params"][cls.primary] = list(dict.fromkeys(merged))
            continue
        items.append({"name": cls.name, "params": params})
    if not items:
        raise SequenceError("No steps given. Example: --steps quantize:int8,quantize:dynamic")
    return items
