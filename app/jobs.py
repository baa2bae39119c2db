"""The engine jobs the window runs, as top-level functions `fn(ctx, emit, engine, *args)`. Qt-free.

They run in the engine process (app/worker.py) and only call the engine's `Session`
(core/session.py), which `engine.session` keeps between jobs (app/engine_process.py): a run uses
the model the load job loaded, and an export takes its variant from the finished run. They return
plain, picklable data: no Keras objects cross back to the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

@dataclass
class LoadedModel:
    path: str  # file path, or "reference"
    kind: str  # "keras" or "tflite"
    display_bytes: bytes  # what Netron shows
    display_name: str
    memory: object  # MemoryReport of the model (a float32 conversion for Keras models)
    summary: str
    trust_model_code: bool = False
    layers: list = None  # names of the layers with weights (for skip lists), Keras models only
    input_shape: tuple = None  # without the batch axis; None where unknown
    value_range: tuple = None  # the input range detected from the model
    training_block: str = ""  # why the training steps cannot change it (an ONNX model not rebuilt)


@dataclass
class VariantPayload:
    name: str
    metrics: object  # core.measure.evaluation.Metrics
    artifact: object  # core.artifact.Artifact for .tflite variants (exportable), else None
    memory: object  # MemoryReport or None (Keras variants)
    preview: list = None  # predictions on the preview samples (core.measure.preview)

    @property
    def is_tflite(self) -> bool:
        return self.artifact is not None


def load(ctx, emit, engine, path: str | None, trust_model_code: bool = False) -> LoadedModel:
    """Load `path` (None: the reference CNN, trained on first use and cached)."""
    from core.measure.evaluation import model_bytes
    from core.model.info import model_io
    from core.model.onnx_import import describe, training_block
    from core.recipe import REFERENCE, Recipe
    from core.session import Session
    from core.steps.training import kernel_layers

    session = Session(Recipe(model=path or REFERENCE), trust_model_code=trust_model_code)
    art = session.load(ctx=ctx)
    name = "reference_cnn.h5" if path is None else Path(path).name
    memory, note = session.memory(art)
    raw = model_bytes(art)
    params = art.model.count_params() if art.is_keras else None
    summary = (f"{art.kind.upper()} model, {len(raw):,} bytes" + (f", {params:,} parameters" if params else "")
               + (f"; {note}" if note else "") + (f"; {describe(art.info['onnx'])}" if "onnx" in art.info else ""))
    layers = [layer.name for layer in kernel_layers(art.model)] if art.is_keras else []
    try:
        io = model_io(art)
        input_shape, value_range = io.input_shape, io.value_range
    except Exception:  # a model LiteRT cannot open still loads; the picker then offers everything
        input_shape, value_range = None, None
    engine.session = session  # only a model that loaded replaces the one the window shows
    return LoadedModel(path or REFERENCE, art.kind, raw, name if art.is_tflite else Path(name).stem + ".h5",
                       memory, summary, trust_model_code, layers, input_shape, value_range,
                       training_block(art.info.get("onnx")))


def _session(engine, recipe_dict: dict, trust_model_code: bool = False):
    """The engine's session set to the window's recipe (a new engine, after a crash, loads from it)."""
    from core.recipe import Recipe
    from core.session import Session

    recipe = Recipe.from_dict(recipe_dict)
    if engine.session is None:
        engine.session = Session(recipe, trust_model_code=trust_model_code)
    engine.session.recipe, engine.session.trust_model_code = recipe, trust_model_code
    return engine.session


def _payload(session, v, name: str | None = None) -> VariantPayload:
    art = v.artifact
    return VariantPayload(name or v.name, v.metrics, art if art.is_tflite else None,
                          session.memory(art)[0] if art.is_tflite else None, v.preview)


def run(ctx, emit, engine, recipe_dict: dict, trust_model_code: bool = False) -> dict:
    """Run a recipe, emitting a VariantPayload per evaluated variant; return the run's summary,
    with the recipe as run (the input range it detected recorded in it: Save recipe writes that)."""
    session = _session(engine, recipe_dict, trust_model_code)
    result = session.run(ctx, on_variant=lambda v: emit(_payload(session, v)))
    return {"cancelled": result.cancelled, "failures": result.failures, "labels": session.labels,
            "task": result.task, "preview": result.preview, "recipe": session.recipe.to_dict()}


def preview(ctx, emit, engine, recipe_dict: dict):
    """The samples a run of this recipe evaluates on (core.measure.preview.Preview), for the Data tab."""
    if engine.session is None:
        return None
    return _session(engine, recipe_dict, engine.session.trust_model_code).preview(ctx)


def export(ctx, emit, engine, name: str, out_dir, prefix, make_zip, overwrite, target=None, kernels="cmsis-nn",
           verify=False):
    """Package variant `name` of the finished run (nothing is re-run); with `target`, sized on that
    emulated Cortex-M, and with `verify` built with its own Makefile and run there. Returns
    (package path, verification message or "")."""
    from core.errors import ExportError

    if engine.session is None:
        raise ExportError("The engine restarted since this run: run the sequence again to export.")
    path = engine.session.export(name, out_dir, prefix=prefix, make_zip=make_zip, overwrite=overwrite,
                                 progress=ctx.log, target=target, kernels=kernels)
    if not (verify and target):
        return str(path), ""
    check = engine.session.verify(path, target, kernels, progress=ctx.log)
    return str(path), check.message


@dataclass
class TrialPayload:
    """One finished search trial, for the Explore tab."""

    number: int
    state: object  # core.search.Outcome
    values: dict  # objective -> value (complete trials)
    feasible: bool
    violations: list
    steps: list  # the trial's recipe steps
    note: str  # why a trial made no variant
    variant: VariantPayload | None  # the trial's variant, added to the results table on request
    original: VariantPayload | None = None  # the original's row (the first complete trial only)
    original_accuracy: float | None = None
    earlier: bool = False  # finished before this search started (Resume)


def search(ctx, emit, engine, recipe_dict: dict, trials: int, objectives: list, budget: tuple, out_dir: str,
           epochs: int = 1, resume: bool = False, trust_model_code: bool = False) -> dict:
    """Run (or resume) a search from the window (Session.search), emitting a TrialPayload per
    trial. Cancel ends it after the running trial: every finished trial is kept."""
    import datetime

    from core.search import Budget, Outcome, note, outcome
    from core.steps.base import Context

    session = _session(engine, recipe_dict, trust_model_code)
    started = datetime.datetime.now()
    made, originals, sent_original = {}, {}, []

    def on_variant(name, number, run):
        if not sent_original:
            sent_original.append(number)
            originals[number] = _payload(session, run.variants[0])
        made[number] = _payload(session, session.found[name][0])

    def on_trial(t):
        what = outcome(t)
        if what is Outcome.SURPLUS:
            return
        attrs = t.user_attrs
        values = dict(zip(objectives, t.values)) if t.values else {}
        steps = attrs.get("recipe", {}).get("steps") or _drawn(t.params)
        emit(TrialPayload(t.number, what, values, not attrs.get("violations"), attrs.get("violations", []),
                          steps, note(t), made.pop(t.number, None), originals.pop(t.number, None),
                          attrs.get("original_accuracy"),
                          t.datetime_complete is not None and t.datetime_complete < started))

    # Its own cancel token: the window's Cancel stops the search between trials, never inside one.
    inner = Context(seed=session.recipe.seed, progress=ctx.progress, log=ctx.log)
    result = session.search(out_dir, trials=trials, objectives=objectives, budget=Budget(*budget), epochs=epochs,
                            resume=resume, ctx=inner, on_trial=on_trial, on_variant=on_variant,
                            should_stop=lambda: ctx.cancel.cancelled)
    best = result.best_for_device()
    return {"cancelled": ctx.cancel.cancelled, "front": [t.number for t in result.front],
            "best": best.number if best else None, "finished": len(result.trials), "invalid": result.invalid,
            "ruled_out": len(result.ruled_out), "unmeasured": result.unmeasured, "refused": result.refused,
            "failed": result.failed,
            "out": str(out_dir),
            "trials": [t.to_dict() for t in result.trials]}  # with those of earlier sessions (--resume)


def _drawn(params: dict) -> list:
    """The components a trial drew (for trials that never built a recipe)."""
    return [{"name": k, "params": {}} for k, v in params.items() if v is True]
