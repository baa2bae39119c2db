"""Step parameters that describe themselves: type, default, choices or range, unit, one-line help.

A step's parameter dataclass declares each field with `param(...)`; everything else derives from
that one description: strict validation of recipes (JSON types, ranges), the CLI's `name:value`
text, the window's editors and a search space. `describe(Params)` lists the descriptions.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from core.errors import SequenceError

# Kinds of parameter. "choices" is a list of distinct values from `choices`; "layers" a list of
# layer names of the model; "layer_values" maps layer names to a number in [min, max].
KINDS = ("bool", "int", "float", "choice", "choices", "layers", "layer_values")


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    default: Any
    help: str
    choices: tuple = ()
    min: float | None = None
    max: float | None = None
    max_exclusive: bool = False  # e.g. sparsity below 1
    unit: str = ""
    special: dict = dataclasses.field(default_factory=dict)  # value -> meaning (e.g. {0: "auto"})
    labels: dict = dataclasses.field(default_factory=dict)  # choice -> title shown beside it

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["choices"] = list(self.choices)
        d["special"] = {str(k): v for k, v in self.special.items()}
        return d

    def range_text(self) -> str:
        if self.kind in ("choice", "choices"):
            return "one of " + ", ".join(map(str, self.choices)) if self.kind == "choice" \
                else "a list of " + ", ".join(map(str, self.choices))
        if self.kind == "bool":
            return "true or false"
        if self.kind == "layers":
            return "a list of layer names"
        lo, hi = _fmt(self.min), _fmt(self.max)
        text = f"from {lo} to {'below ' if self.max_exclusive else ''}{hi}" + (f" {self.unit}" if self.unit else "")
        if self.special:
            text += " (" + ", ".join(f"{_fmt(k)}: {v}" for k, v in self.special.items()) + ")"
        return text


def param(default, help: str, *, kind: str | None = None, choices=(), min=None, max=None,
          max_exclusive=False, unit="", special=None, labels=None):
    """A dataclass field carrying its `Param` description (the name is filled in by `describe`)."""
    kind = kind or {bool: "bool", int: "int", float: "float", str: "choice"}.get(type(default))
    if kind not in KINDS:
        raise TypeError(f"param(): give kind= for a default of type {type(default).__name__}")
    meta = {"param": dict(kind=kind, default=default, help=help, choices=tuple(choices), min=min,
                          max=max, max_exclusive=max_exclusive, unit=unit, special=dict(special or {}),
                          labels=dict(labels or {}))}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def describe(params_cls) -> list[Param]:
    """The descriptions of a parameter dataclass's fields, in declaration order."""
    out = []
    for f in dataclasses.fields(params_cls):
        meta = f.metadata.get("param")
        if meta is None:
            raise TypeError(f"{params_cls.__name__}.{f.name} is not declared with param()")
        out.append(Param(f.name, **meta))
    return out


def build(step: str, params_cls, values: dict):
    """An instance of `params_cls` from `values`, every value checked against its description."""
    if not isinstance(values, dict):
        raise SequenceError(f"Step '{step}': parameters must be an object (name: value), "
                            f"not {type(values).__name__}.")
    specs = {p.name: p for p in describe(params_cls)}
    unknown = sorted(set(values) - set(specs), key=str)
    if unknown:
        raise SequenceError(f"Step '{step}': unknown parameter(s) {', '.join(map(str, unknown))}. "
                            f"Its parameters are: {', '.join(specs)}.")
    return params_cls(**{k: check(step, specs[k], v) for k, v in values.items()})


def check(step: str, p: Param, value):
    """`value` if it has the type and range `p` allows (ints accepted for floats); else SequenceError."""
    where = f"Step '{step}', parameter '{p.name}'"
    if p.kind == "bool":
        if not isinstance(value, bool):
            raise SequenceError(f"{where}: must be true or false (a JSON boolean), not {value!r}.")
        return value
    if p.kind in ("int", "float"):
        ok = isinstance(value, int) if p.kind == "int" else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok or (isinstance(value, float) and not math.isfinite(value)):
            what = "a whole number" if p.kind == "int" else "a number"
            raise SequenceError(f"{where}: must be {what} {p.range_text()}, not {value!r}.")
        _in_range(where, p, value)
        return float(value) if p.kind == "float" else value
    if p.kind == "choice":
        if not isinstance(value, str) or value not in p.choices:
            raise SequenceError(f"{where}: must be {p.range_text()}, not {value!r}.")
        return value
    if p.kind == "choices":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or \
                any(not isinstance(v, str) or v not in p.choices for v in items):
            raise SequenceError(f"{where}: must be {p.range_text()} (at least one), not {value!r}.")
        return list(dict.fromkeys(items))
    if p.kind == "layers":
        if not isinstance(value, list) or any(not isinstance(v, str) or not v for v in value):
            raise SequenceError(f"{where}: must be a list of layer names, not {value!r}.")
        return list(value)
    if p.kind == "layer_values":
        if not isinstance(value, dict):
            raise SequenceError(f"{where}: must map layer names to numbers, not {value!r}.")
        for k, v in value.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise SequenceError(f"{where}: layer '{k}' needs a number {p.range_text()}, not {v!r}.")
            _in_range(f"{where}, layer '{k}'", p, v)
        return {str(k): float(v) for k, v in value.items()}
    raise AssertionError(p.kind)


def parse_text(step: str, p: Param, text: str):
    """A value typed on the command line (`prune:epochs=2`), converted by the description."""
    t = text.strip()
    try:
        if p.kind == "bool":
            lowered = t.lower()
            if lowered not in ("true", "false", "yes", "no", "1", "0", "on", "off"):
                raise ValueError
            value = lowered in ("true", "yes", "1", "on")
        elif p.kind == "int":
            value = int(t)
        elif p.kind == "float":
            value = float(t)
        elif p.kind in ("choices", "layers"):
            value = [v.strip() for v in t.split("+") if v.strip()]
        elif p.kind == "layer_values":
            value = {k.strip(): float(v) for k, v in (item.split("=", 1) for item in t.split("+") if item)}
        else:
            value = t
    except ValueError:
        raise SequenceError(f"Step '{step}', parameter '{p.name}': '{text}' is not "
                            f"{p.range_text()}.") from None
    return check(step, p, value)


def _in_range(where: str, p: Param, v) -> None:
    if v in p.special:
        return
    low_bad = p.min is not None and v < p.min
    high_bad = p.max is not None and (v >= p.max if p.max_exclusive else v > p.max)
    if low_bad or high_bad:
        raise SequenceError(f"{where}: {v!r} is out of range; allowed {p.range_text()}.")


def _fmt(v) -> str:
    if v is None:
        return "any"
    if isinstance(v, float) and (abs(v) < 1e-3 or abs(v) >= 1e5) and v != 0:
        return f"{v:g}"
    return f"{v:,}" if isinstance(v, int) else f"{v:g}"
