"""What every step shares: the run context, the cancel token, and the `Step` base class."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from core.errors import Cancelled


class CancelToken:
    """Set from any thread (or process: pass a multiprocessing Event); checked by steps between
    batches and between steps."""

    def __init__(self, event=None):
        self._event = event if event is not None else threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise `Cancelled` when cancellation was requested."""
        if self._event.is_set():
            raise Cancelled("Cancelled by the user.")


@dataclass
class Progress:
    """One progress report. `fraction` is of the current step (0..1) or None when unknown."""

    step: str
    message: str
    fraction: float | None = None


@dataclass
class Context:
    """What a step may use besides its input: data, progress and log callbacks, cancel token."""

    dataset: Any = None  # core.data.Dataset, already adapted to the model's input
    seed: int = 0
    progress: Callable[[Progress], None] = lambda p: None
    log: Callable[[str], None] = lambda line: None
    cancel: CancelToken = field(default_factory=CancelToken)
    input_range: tuple | None = None  # what the model's inputs are scaled to (None: the model's own)
    input_norm: dict | None = None  # {"mean", "std"} the inputs are normalized with instead
    task: str = "classification"  # core.measure.tasks: what fine-tuning optimizes
    firmware: Any = None  # core.target.build.Firmware the run measures on (an emulated core), or None


class Step:
    """A named component with a parameter dataclass.

    Subclasses set `name`, `takes` and `gives` (``"keras"`` or ``"tflite"``), `Params`, and implement
    `run_one`. A step may fan out: `outputs()` lists the variant names it will produce, and `run`
    returns one artifact per name (the quantize step produces one per PTQ mode).
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    takes: ClassVar[str] = ""
    gives: ClassVar[str] = ""
    primary: ClassVar[str | None] = None  # the parameter a bare CLI value sets (prune:0.8)

    @dataclass
    class Params:
        pass

    def __init__(self, params: Any = None, **kwargs):
        if params is None:
            from core.params import build

            params = build(self.name, self.Params, kwargs)  # types and ranges from the descriptions
        self.params = params
        self.validate_params()

    @classmethod
    def describe(cls) -> list:
        """Each parameter's description (core.params.Param): type, default, range, unit, help."""
        from core.params import describe

        return describe(cls.Params)

    def validate_params(self) -> None:
        """Raise `SequenceError` for combinations of parameters that cannot work (each value's type
        and range are already checked against its description)."""

    def check_order(self, previous: list["Step"]) -> str | None:
        """A problem with running this step after `previous` (message naming the fix), or None.

        Kind mismatches (Keras vs TFLite) are checked by `Sequence.validate`; this hook is for
        rules a step owns, e.g. compression needing a clustered model.
        """
        return None

    def outputs(self) -> list[str]:
        return [self.name]

    def run(self, artifact, ctx: Context) -> list:
        """Return one new artifact per name in `outputs()`; the input artifact is untouched."""
        raise NotImplementedError

    def to_dict(self) -> dict:
        return {"name": self.name, "params": dataclasses.asdict(self.params)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params})"
