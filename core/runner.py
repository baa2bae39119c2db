"""Run a recipe: load, adapt data, apply the sequence, evaluate every variant.

The GUI worker and the CLI both call `run_recipe`; results arrive through callbacks so `core`
stays silent. A cancelled run returns the variants finished so far.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.measure import preview
from core.artifact import Artifact
from core.data import Dataset, adapt, load_dataset
from core.errors import Cancelled, DataError, TinyOptError, setting
from core.measure.evaluation import Metrics, evaluate_outputs
from core.model.loading import load_model
from core.model.info import model_io
from core.model.onnx_import import check_on_data, training_block
from core.recipe import REFERENCE, Recipe
from core.steps.base import Context, Progress


@dataclass
class Variant:
    """One row of the comparison: a model and its metrics."""

    artifact: Artifact
    metrics: Metrics
    preview: list = field(default_factory=list)  # predictions on the preview samples (core.measure.preview)

    @property
    def name(self) -> str:
        return self.artifact.name if self.artifact is not None else self.metrics.name


@dataclass
class RunResult:
    recipe: Recipe
    dataset: Dataset | None
    variants: list = field(default_factory=list)
    cancelled: bool = False
    timings: list = field(default_factory=list)  # (what, seconds): loading, each step, evaluation
    failures: list = field(default_factory=list)  # (branch, message): a branch that failed, others went on
    input_range: tuple | None = None  # what the inputs were scaled to (the recipe's, or detected)
    task: str | None = None  # what the run scored (the recipe's, or detected)
    preview: object = None  # core.measure.preview.Preview of the evaluation inputs


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tinyopt"


def reference_model(recipe: Recipe, ctx: Context) -> Artifact:
    """Train the reference CNN on the recipe's data, or reuse the one trained before."""
    from core.model.reference import save_keras, train_reference

    if recipe.data is None:
        raise DataError("The reference CNN is trained on a dataset: choose one (e.g. mnist-5k), or "
                        "open your own model to run without data.")
    path = cache_dir() / f"reference_cnn_{Path(recipe.data).stem}_seed{recipe.seed}_e{recipe.reference_epochs}.h5"
    if path.exists():
        ctx.log(f"reusing the reference CNN trained before: {path}")
        art = load_model(path)
    else:
        ctx.progress(Progress("reference", f"training the reference CNN on {recipe.data}", None))
        art = train_reference(recipe.data, epochs=recipe.reference_epochs, seed=recipe.seed)
        save_keras(art.model, path)
        ctx.log(f"trained the reference CNN; saved to {path}")
    return dataclasses.replace(art, source=reference_source(recipe))


def reference_source(recipe: Recipe) -> str:
    """What a reference CNN artifact says it is: one per dataset, seed and epoch count."""
    return f"reference CNN ({recipe.data}, seed {recipe.seed}, {recipe.reference_epochs} epochs)"


SYNTHETIC_SAMPLES = 64


def detect_task(original: Artifact, dataset=None) -> str:
    from core.measure.tasks import detect

    try:
        return detect(model_io(original), dataset)
    except Exception:  # LiteRT cannot open it: figures that need outputs are not measured anyway
        return "classification"


def input_range(recipe: Recipe, original: Artifact) -> tuple:
    """The range the model's inputs are scaled to: the recipe's, else detected from the model
    (a leading Rescaling(1/255) means 0..255), else 0..1."""
    if recipe.input_range is not None:
        return tuple(recipe.input_range)
    try:
        return tuple(model_io(original).value_range)
    except Exception:  # LiteRT cannot open it: the usual image range
        return (0.0, 1.0)


def synthetic_inputs(original: Artifact, seed: int, value_range: tuple = (0.0, 1.0), norm: dict | None = None):
    """Inputs drawn uniformly from the model's input range (or from 0..1, then normalized), for
    fidelity when there is no data: an array, or one per input; None when a shape is not fixed."""
    from core.model.info import draw_scaled

    return draw_scaled(original, SYNTHETIC_SAMPLES, seed, value_range, norm)


def describe_scaling(recipe: Recipe, original: Artifact) -> str:
    """How inputs are scaled, for the log and the report: the recipe's choice or what was detected."""
    if recipe.input_norm is not None:
        return f"(x - mean) / std with mean {recipe.input_norm['mean']}, std {recipe.input_norm['std']} on 0..1 data"
    lo, hi = input_range(recipe, original)
    if recipe.input_range is not None:
        return f"{lo:g}..{hi:g} (chosen)"
    try:
        source = model_io(original).range_source
    except Exception:  # LiteRT cannot open it
        source = "default for images"
    return f"{lo:g}..{hi:g} (detected: {source})"


def expected_kind(model: str) -> str:
    """The artifact kind a recipe's model will load as (by name, before loading it)."""
    return "tflite" if str(model).lower().endswith(".tflite") else "keras"


def prepare(recipe: Recipe, ctx: Context, original: Artifact | None = None, *,
            trust_model_code: bool = False):
    """Load the model and the dataset adapted to it. `trust_model_code` is the user's run-time
    grant (never a recipe's): it lets a model with Lambda layers run their code."""
    if original is None:
        if recipe.model == REFERENCE:
            original = reference_model(recipe, ctx)
        else:
            original = load_model(recipe.model, trust_model_code=trust_model_code,
                                  progress=lambda message: ctx.progress(Progress("load", message, None)))
    ds = None
    if recipe.data is not None:
        io = model_io(original)
        if io.multi_input:
            raise DataError(f"Model '{Path(original.source).name}' takes {len(io.input_shapes)} inputs "
                            f"{list(io.input_shapes)}; datasets serve single-input models. Run it with no "
                            f"data ({setting('no_data')}): every figure but accuracy is measured, and fidelity per "
                            "output on inputs drawn from each input's range.")
        ds = adapt(load_dataset(recipe.data, seed=recipe.seed, input_shape=io.input_shape,
                                label_column=recipe.label_column), io.input_shape,
                   io.num_outputs, value_range=input_range(recipe, original), norm=recipe.input_norm,
                   model_name=f"model '{Path(original.source).name}'", task=recipe.task)
    return original, ds


SYNTHETIC_NOTE = "Calibrated on synthetic inputs (no data was given): its accuracy on real inputs is unknown."


def calibration_of(art: Artifact) -> str:
    """What the integer conversion in this variant's history calibrated on ("" when none did):
    steps after the conversion inherit its record (Artifact.derive)."""
    found = art.info.get("quantize", {}).get("calibration", "")
    return "" if found == "none" else found


def target_firmware(recipe: Recipe, ctx: Context):
    """The recipe's target runner, building TFLM for it first if needed (progress and cancel
    through `ctx`; minutes the first time, then cached)."""
    from core.target.build import firmware
    from core.target.targets import get

    t = get(recipe.target)
    built = firmware(t, recipe.kernels, cancel=lambda: ctx.cancel.cancelled,
                   progress=lambda f, text: ctx.progress(Progress("target", text, f)))
    ctx.log(f"target: {t.title} on QEMU {t.machine}, {recipe.kernels} kernels, TFLM "
            f"{built.info.get('tflite_micro_commit', '?')[:12]}, {built.info.get('compiler', '')}")
    return built


def _stand_in(recipe: Recipe, ctx: Context):
    """For a device without an emulated core: the recipe's stand-in core, if it is already built
    (its footprint estimates the device's; nothing is built for it). None otherwise."""
    if recipe.footprint_target == "none":
        return None
    from core.target.build import built
    from core.target.targets import get

    found = built(get(recipe.footprint_target), recipe.kernels)
    ctx.log(f"firmware footprint: estimated with the {recipe.footprint_target} build ({recipe.kernels})"
            if found is not None else f"firmware footprint: not estimated: {recipe.footprint_target} "
            f"({recipe.kernels}) is not built yet (tinyopt target --target {recipe.footprint_target} builds it)")
    return found


def preview_of(recipe: Recipe, ctx: Context, original: Artifact | None = None, *,
               trust_model_code: bool = False):
    """The preview of the inputs `run_recipe` would evaluate on (the test split or synthetic)."""
    original, ds = prepare(recipe, ctx, original, trust_model_code=trust_model_code)
    if ds is not None:
        return preview.take(ds, None, "test split")
    probe = synthetic_inputs(original, recipe.seed, input_range(recipe, original), recipe.input_norm)
    return preview.take(None, probe, "synthetic (no data)")


def run_recipe(recipe: Recipe, ctx: Context | None = None, *, original: Artifact | None = None,
               on_variant=lambda v: None, tflm: bool = True, trust_model_code: bool = False,
               prefixes=None, evaluate_steps: bool = True) -> RunResult:
    """Apply `recipe` and evaluate the original and every variant it produces.

    Parameters
    ----------
    original : Artifact, optional
        An already loaded model (the GUI passes the one it shows); otherwise `recipe.model` is loaded.
    on_variant : callable
        Called with each `Variant` as soon as it is evaluated (the original first).
    prefixes : core.search.prefixes.Prefixes, optional
        Fine-tuned prefixes kept from earlier runs of the same model (the search passes one).
    evaluate_steps : bool
        False: evaluate the original and the last step's variants only (the search needs no more).
    """
    ctx = ctx or Context()
    ctx.seed = recipe.seed  # the recipe's seed, whoever made the context (the window's engine too)
    sequence = recipe.sequence()
    result = RunResult(recipe, None)
    clock = time.perf_counter()

    def lap(what: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        result.timings.append((what, now - clock))
        clock = now

    # Refuse an impossible order before spending time on loading or training.
    sequence.validate(original.kind if original is not None else expected_kind(recipe.model))
    try:
        original, ds = prepare(recipe, ctx, original, trust_model_code=trust_model_code)
        sequence.validate(original.kind)
        ctx.dataset = ds
        result.dataset = ds
        if "onnx" in original.info and ds is not None:
            diff = check_on_data(original, ds.x_test)
            ctx.log(f"ONNX conversion on your data: max |diff| against onnxruntime {diff:.2g} "
                    f"({min(32, len(ds.x_test))} test samples)")
        lap("load model and data")

        task = recipe.task or detect_task(original, ds)
        ctx.task = task
        ctx.log(f"task: {task}" + ("" if recipe.task else " (detected from the model's input and output)"))
        # Fidelity inputs: the test split, or without data samples drawn from the input's range.
        scale = input_range(recipe, original)
        ctx.input_range = result.input_range = scale
        ctx.input_norm = recipe.input_norm
        ctx.log(f"input scaling: {describe_scaling(recipe, original)}")
        probe, label = (None, "test split") if ds is not None else (
            synthetic_inputs(original, recipe.seed, scale, recipe.input_norm), "synthetic (no data)")
        result.task, result.preview = task, preview.take(ds, probe, label)
        x_eval = probe if probe is not None else (ds.x_test if ds is not None else None)
        labels = list(getattr(ds, "labels", None) or [])
        reference = {}
        target = target_firmware(recipe, ctx) if tflm and recipe.target != "none" else None
        ctx.firmware = target  # steps that measure candidates (channels to a budget) use the same core
        stand_in = _stand_in(recipe, ctx) if tflm and target is None else None
        npu = None
        if tflm and recipe.npu != "none":
            from core.npu.configs import find_npu

            npu = find_npu(recipe.npu, recipe.npu_clock_mhz)
            ctx.log(f"NPU: {npu.title}, compiled with Vela (its estimates; nothing here emulates the NPU)")

        def emit(art: Artifact) -> Artifact:
            ctx.progress(Progress("evaluate", f"evaluating {art.name}", None))
            metrics, outputs = evaluate_outputs(art, ds, inputs=probe, reference=reference.get("outputs"),
                                                inputs_label=label, latency_runs=recipe.latency_runs, tflm=tflm,
                                                task=task, target=target, clock_mhz=recipe.clock_mhz,
                                                footprint_on=stand_in)
            if not reference:
                reference["outputs"] = outputs  # the original's: every variant is compared with it
            metrics.calibration = calibration_of(art)
            if npu is not None:
                from core.npu.measure import measure

                measure(metrics, art, npu)
            if metrics.calibration == "synthetic":
                metrics.notes.insert(0, SYNTHETIC_NOTE)
            v = Variant(art, metrics, preview.predictions(task, x_eval, outputs, labels))
            result.variants.append(v)
            on_variant(v)
            lap(f"evaluate {art.name}")
            return art

        heads = [emit(original)]
        steps = list(sequence)
        for index, step in enumerate(steps):
            ctx.cancel.check()
            new_heads = []
            last = index == len(steps) - 1
            for head in heads:
                try:
                    if step.takes == step.gives == "keras" and training_block(head.info.get("onnx")):
                        from core.errors import SequenceError

                        raise SequenceError(
                            f"{step.title}: {Path(head.source).name} was converted from ONNX, but "
                            f"{training_block(head.info['onnx'])}. Quantize, graph, strip and compress work on it.")
                    if prefixes is not None and len(heads) == 1 and step.takes == step.gives == "keras":
                        outs = prefixes.run(step, head, ctx, prefixes.key(recipe, index))
                    else:
                        outs = step.run(head, ctx)
                except TinyOptError as exc:
                    if len(heads) == 1 and not result.variants[1:]:
                        raise  # nothing else to show: the user needs the error itself
                    # One branch of a fan-out failed (say, compressing a hybrid model): report it and
                    # keep the others.
                    result.failures.append((f"{head.name} -> {step.name}", str(exc)))
                    ctx.log(f"{step.name} on {head.name} failed: {exc}")
                    continue
                lap(f"{step.name} on {head.name}")
                for out in outs:
                    name = out.name if head.name == "original" else f"{head.name}+{out.name}"
                    out = dataclasses.replace(out, name=name)
                    new_heads.append(emit(out) if evaluate_steps or last else out)
                    ctx.cancel.check()
            heads = new_heads
    except Cancelled:
        result.cancelled = True
    return result
