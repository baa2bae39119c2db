"""`Recipe`: the plain JSON that the GUI and the CLI both run (model, dataset, steps, seed)."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.errors import SequenceError
from core.params import Param, check
from core.sequence import Sequence
from core.npu.configs import NPUS
from core.target.targets import KERNELS, TARGETS
from core.measure.tasks import TASKS

FORMAT = 1
REFERENCE = "reference"  # model value meaning "train (or reuse) the study's reference CNN"


# Numeric fields, described like step parameters (type, range) so a recipe is checked the same way.
FIELDS = {
    "seed": Param("seed", "int", 0, "seed for data splits, initialisation and fine-tuning", min=0,
                  max=2**31 - 1),
    "latency_runs": Param("latency_runs", "int", 200, "timed host invocations per variant (0: none)",
                          min=0, max=100_000),
    "reference_epochs": Param("reference_epochs", "int", 15, "epochs to train the reference CNN",
                              min=1, max=500, unit="epochs"),
    "target": Param("target", "choice", "none", "the emulated Cortex-M every TFLM-runnable variant is "
                    "measured on (none: the host only)", choices=("none", *TARGETS)),
    "kernels": Param("kernels", "choice", "cmsis-nn", "TFLM kernels on the target", choices=KERNELS),
    "footprint_target": Param("footprint_target", "choice", "none", "for a device without an emulated core: "
                              "the already-built core whose TFLM code and RAM estimate its firmware footprint",
                              choices=("none", *TARGETS)),
    "clock_mhz": Param("clock_mhz", "int", 0, "the device clock a time estimate assumes", min=0, max=5000,
                       unit="MHz", special={0: "the target's typical clock"}),
    "npu": Param("npu", "choice", "none", "the Ethos-U NPU every TFLM-runnable variant is compiled for with "
                 "Vela (its estimates; none: no NPU)", choices=("none", *NPUS)),
    "npu_clock_mhz": Param("npu_clock_mhz", "int", 0, "the NPU clock (a board's); 0: Vela's configuration's",
                           min=0, max=5000, unit="MHz", special={0: "Vela's configuration's clock"}),
}


@dataclass
class Recipe:
    """What to run. Never carries trust in model code: the user grants that at run time
    (`--trust-model-code`, or a confirmation in the window naming the file and the layer)."""

    model: str = REFERENCE
    data: str | None = "mnist-5k"  # None: no data
    label_column: str | None = None  # CSV data: the column holding the label (default: label/target/...)
    task: str | None = None  # classification or anomaly; None: detected from the model
    input_range: list | None = None  # [low, high] the inputs are scaled to; None: detected from the model
    input_norm: dict | None = None  # {"mean": [...], "std": [...]}: (x - mean) / std on 0..1 data instead
    steps: list = field(default_factory=list)
    seed: int = 0
    latency_runs: int = 200
    reference_epochs: int = 15
    target: str = "none"  # a core.target.targets name: measure variants on that emulated Cortex-M
    kernels: str = "cmsis-nn"
    footprint_target: str = "none"  # with target none: the built core standing in for the device's
    clock_mhz: int = 0  # 0: the target's typical clock
    npu: str = "none"  # a core.npu.configs name: compile variants with Vela for that Ethos-U
    npu_clock_mhz: int = 0

    def sequence(self) -> Sequence:
        return Sequence.from_dicts(self.steps)

    def to_dict(self) -> dict:
        """Every step with every parameter, defaults included: the file reproduces the run even if
        a later version changes a default."""
        d = asdict(self)
        try:
            d["steps"] = self.sequence().to_dicts()
        except SequenceError:
            pass  # an invalid recipe is saved as it is; loading it names the problem
        return {"format": FORMAT, **d}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def digest(self) -> str:
        """Short hash that identifies what this recipe produces."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]

    def save(self, path) -> Path:
        path = Path(path)
        path.write_text(self.to_json())
        return path

    @classmethod
    def from_dict(cls, d: dict, origin: str = "recipe") -> "Recipe":
        """A recipe from parsed JSON, checked strictly before anything runs: JSON types, ranges,
        unknown fields named, every step and parameter built from its description."""
        if not isinstance(d, dict):
            raise SequenceError(f"{origin}: a recipe is a JSON object, not {type(d).__name__}.")
        fmt = d.get("format", FORMAT)
        if fmt != FORMAT or isinstance(fmt, bool):
            raise SequenceError(f"{origin}: recipe format {fmt!r} is not supported (this version "
                                f"reads format {FORMAT}).")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known - {"format", LEGACY_TRUST}, key=str)
        if unknown:
            raise SequenceError(f"{origin}: unknown field(s) {', '.join(map(str, unknown))}; known fields "
                                f"are {', '.join(sorted(known))}.")
        if LEGACY_TRUST in d and not isinstance(d[LEGACY_TRUST], bool):
            raise SequenceError(f"{origin}: '{LEGACY_TRUST}' must be true or false, not "
                                f"{d[LEGACY_TRUST]!r}.")
        # Earlier versions stored trust_model_code; a shared file must not grant it, so it is read
        # (to refuse a malformed value) and dropped.
        values = {k: v for k, v in d.items() if k in known}
        model = values.get("model", REFERENCE)
        if not isinstance(model, str) or not model.strip():
            raise SequenceError(f"{origin}: 'model' must be a file path or \"{REFERENCE}\", not {model!r}.")
        data = values.get("data", cls.data)
        if data is not None and (not isinstance(data, str) or not data.strip()):
            raise SequenceError(f"{origin}: 'data' must be a dataset name, a file path, or null for no "
                                f"data, not {data!r}.")
        task = values.get("task")
        if task is not None and task not in TASKS:
            raise SequenceError(f"{origin}: 'task' must be one of {', '.join(TASKS)} or null (detected), "
                                f"not {task!r}.")
        rng = values.get("input_range")
        if rng is not None and not (isinstance(rng, list) and len(rng) == 2
                                    and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                            and math.isfinite(v) for v in rng) and rng[0] < rng[1]):
            raise SequenceError(f"{origin}: 'input_range' must be [low, high] with low < high (e.g. [0, 1], "
                                f"[-1, 1], [0, 255]) or null (detected), not {rng!r}.")
        norm = values.get("input_norm")
        if norm is not None:
            why = norm_problem(norm)
            if why:
                raise SequenceError(f"{origin}: 'input_norm' {why}; e.g. {{\"mean\": [0.5], \"std\": [0.25]}} "
                                    "or null.")
            if rng is not None:
                raise SequenceError(f"{origin}: give 'input_range' or 'input_norm', not both.")
        label = values.get("label_column")
        if label is not None and (not isinstance(label, str) or not label.strip()):
            raise SequenceError(f"{origin}: 'label_column' must be a column name or null, not {label!r}.")
        for name, spec in FIELDS.items():
            if name in values:
                values[name] = check_field(origin, spec, values[name])
        steps = values.get("steps", [])
        if not isinstance(steps, list):
            raise SequenceError(f"{origin}: 'steps' must be a list of steps, not {type(steps).__name__}.")
        recipe = cls(**values)
        try:  # builds every step: bad names and parameters fail here, before running
            recipe.steps = recipe.sequence().to_dicts()  # with every default filled in
        except SequenceError as exc:
            raise SequenceError(f"{origin}: {exc}") from None
        return recipe

    @classmethod
    def load(cls, path) -> "Recipe":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SequenceError(f"{path}: no such recipe file.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SequenceError(f"{path.name}: cannot read this recipe ({exc}).") from None
        try:
            d = json.loads(text, parse_constant=_no_constant)
        except (json.JSONDecodeError, RecursionError, ValueError) as exc:
            raise SequenceError(f"{path.name}: not valid JSON ({str(exc)[:200]}).") from None
        return cls.from_dict(d, path.name)


LEGACY_TRUST = "trust_model_code"


def check_field(origin: str, spec: Param, value):
    """A recipe field checked like a step parameter, the message naming the recipe file."""
    try:
        return check("recipe", spec, value)
    except SequenceError as exc:
        raise SequenceError(str(exc).replace("Step 'recipe', parameter", f"{origin}: field", 1)) from None


def parse_norm(text: str, origin: str = "input normalization") -> dict:
    """{"mean": [...], "std": [...]} from 'MEAN/STD' text, e.g. '0.5/0.25' or '0.485,0.456,0.406/0.229,0.224,0.225'."""
    try:
        mean, std = text.split("/")
        norm = {"mean": [float(v) for v in mean.split(",")], "std": [float(v) for v in std.split(",")]}
    except ValueError:
        raise SequenceError(f"{origin} '{text}': give MEAN/STD, one value or one per channel, e.g. 0.5/0.25 "
                            "or 0.485,0.456,0.406/0.229,0.224,0.225.") from None
    problem = norm_problem(norm)
    if problem:
        raise SequenceError(f"{origin} '{text}' {problem}.")
    return norm


def norm_problem(norm) -> str | None:
    """What is wrong with an input_norm value, or None."""
    if not isinstance(norm, dict) or set(norm) != {"mean", "std"}:
        return f"must be an object with 'mean' and 'std', not {norm!r}"
    lists = [norm["mean"], norm["std"]]
    if not all(isinstance(v, list) and 0 < len(v) <= 16 and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v)
            for v in lists):
        return "needs 'mean' and 'std' as lists of 1 to 16 finite numbers (one, or one per channel)"
    if len(norm["mean"]) != len(norm["std"]):
        return "needs as many 'std' values as 'mean' values"
    if any(x <= 0 for x in norm["std"]):
        return "needs every 'std' above 0"
    return None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")
