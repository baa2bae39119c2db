"""`Artifact`: one model in one form (a Keras model object or TFLite flatbuffer bytes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Form(StrEnum):
    """The form a model is in. A StrEnum: it prints and serialises as "keras" / "tflite"."""

    KERAS = "keras"
    TFLITE = "tflite"


KERAS = Form.KERAS
TFLITE = Form.TFLITE


@dataclass(frozen=True)
class Artifact:
    """A model and where it came from. Steps return new artifacts and never mutate their input.

    Attributes
    ----------
    kind : str
        ``"keras"`` or ``"tflite"``.
    model : object
        The ``tf_keras.Model`` for Keras artifacts, else None.
    data : bytes
        The flatbuffer for TFLite artifacts, else None.
    name : str
        Short name used for files and table rows (``"original"``, ``"int8"``...).
    source : str
        The file the chain started from (or a description such as ``"reference CNN"``).
    history : tuple of str
        The steps applied so far, in order, each as a short description.
    info : dict
        What each step measured about its result (e.g. per-layer sparsity), keyed by step name;
        inherited by derived artifacts so a variant carries the story of its whole chain.
    """

    kind: str
    name: str
    source: str
    model: Any = None
    data: bytes | None = None
    history: tuple[str, ...] = field(default_factory=tuple)
    info: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        if self.kind == KERAS and self.model is None:
            raise ValueError("a Keras artifact needs a model")
        if self.kind == TFLITE and not self.data:
            raise ValueError("a TFLite artifact needs flatbuffer bytes")
        if self.kind not in (KERAS, TFLITE):
            raise ValueError(f"unknown artifact kind {self.kind!r}")
        object.__setattr__(self, "kind", Form(self.kind))

    @property
    def is_keras(self) -> bool:
        return self.kind == KERAS

    @property
    def is_tflite(self) -> bool:
        return self.kind == TFLITE

    def derive(self, *, kind: str, name: str, step: str, model: Any = None, data: bytes | None = None,
               info: dict | None = None):
        """A new artifact produced by `step` from this one; `info` is what the step measured."""
        merged = dict(self.info)
        merged[step.split(":")[0]] = dict(info or {})  # recorded even when empty: steps ask `applied`
        return Artifact(kind=kind, name=name, source=self.source, model=model, data=data,
                        history=self.history + (step,), info=merged)

    def applied(self, step_name: str) -> bool:
        """True when `step_name` (e.g. "prune") was applied somewhere in this artifact's chain."""
        return step_name in self.info

    def __repr__(self) -> str:
        size = f", {len(self.data)} B" if self.data else ""
        return f"Artifact({self.kind}, {self.name!r}{size}, history={list(self.history)})"
