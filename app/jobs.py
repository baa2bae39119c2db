"""The engine jobs the window runs, as top-level functions `fn(ctx, emit, *args)`. Qt-free.

They run in the engine process (app/worker.py) and only call the engine's `Session`
(core/session.py), which lives there between jobs: a run uses the model the load job loaded, and
an export takes its variant from the finished run. They return plain, picklable data: no Keras
objects cross back to the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_session = None  # core.session.Session of this engine process


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


def load(ctx, emit, path: str | None, trust_model_code: bool = False) -> LoadedModel:
    """Load `path` (None: the reference CNN, trained on first use and cached)."""
    global _session
    from core.measure.evaluation import model_bytes
    from core.model.info import model_io
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
               + (f"; {note}" if note else ""))
    layers = [layer.name for layer in kernel_layers(art.model)] if art.is_keras else []
    try:
        io = model_io(art)
        input_shape, value_range = io.input_shape, io.value_range
    except Exception:  # a model LiteRT cannot open still loads; the picker then offers everything
        input_shape, value_range = None, None
    _session = session  # only a model that loaded replaces the one the window shows
    return LoadedModel(path or REFERENCE, art.kind, raw, name if art.is_tflite else Path(name).stem + ".h5",
                       memory, summary, trust_model_code, layers, input_shape, value_range)


def run(ctx, emit, recipe_dict: dict, trust_model_code: bool = False) -> dict:
    """Run a recipe, emitting a VariantPayload per evaluated variant; return the run's summary."""
    global _session
    from core.recipe import Recipe
    from core.session import Session

    recipe = Recipe.from_dict(recipe_dict)
    if _session is None:  # a new engine (after a crash): load from the recipe
        _session = Session(recipe, trust_model_code=trust_model_code)
    _session.recipe, _session.trust_model_code = recipe, trust_model_code

    def on_variant(v):
        art = v.artifact
        emit(VariantPayload(v.name, v.metrics, art if art.is_tflite else None,
                            _session.memory(art)[0] if art.is_tflite else None, v.preview))

    result = _session.run(ctx, on_variant=on_variant)
    return {"cancelled": result.cancelled, "failures": result.failures, "labels": _session.labels,
            "task": result.task, "preview": result.preview}


def preview(ctx, emit, recipe_dict: dict):
    """The samples a run of this recipe evaluates on (core.measure.preview.Preview), for the Data tab."""
    from core.recipe import Recipe

    if _session is None:
        return None
    _session.recipe = Recipe.from_dict(recipe_dict)
    return _session.preview(ctx)


def export(ctx, emit, name: str, out_dir, prefix, make_zip, overwrite, target=None, kernels="cmsis-nn",
           verify=False):
    """Package variant `name` of the finished run (nothing is re-run); with `target`, sized on that
    emulated Cortex-M, and with `verify` built with its own Makefile and run there. Returns
    (package path, verification message or "")."""
    from core.errors import ExportError

    if _session is None:
        raise ExportError("The engine restarted since this run: run the sequence again to export.")
    path = _session.export(name, out_dir, prefix=prefix, make_zip=make_zip, overwrite=overwrite,
                           progress=ctx.log, target=target, kernels=kernels)
    if not (verify and target):
        return str(path), ""
    check = _session.verify(path, target, kernels, progress=ctx.log)
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


def search(ctx, emit, recipe_dict: dict, trials: int, objectives: list, budget: tuple, out_dir: str,
           epochs: int = 1, resume: bool = False, trust_model_code: bool = False) -> dict:
    """Run (or resume) a search from the window (core/search/run.py), emitting a TrialPayload per
    trial. Cancel ends it after the running trial: every finished trial is kept."""
    global _session
    from core.recipe import Recipe
    from core.search import Budget, Outcome, note, outcome
    from core.search import search as run_search
    from core.session import Session
    from core.steps.base import Context

    base = Recipe.from_dict(recipe_dict)
    if _session is None:
        _session = Session(base, trust_model_code=trust_model_code)
    import datetime

    started = datetime.datetime.now()
    _session.found = {}  # the last search's trials only: a long session does not grow with every search
    made, originals, sent_original = {}, {}, []

    def on_variant(number, run):
        import dataclasses

        from core.runner import Variant

        v, name = run.variants[-1], f"trial-{number}-{run.variants[-1].name}"  # unique in the session
        v = Variant(dataclasses.replace(v.artifact, name=name), dataclasses.replace(v.metrics, name=name), v.preview)
        _session.found[name] = (v, run.variants[0].metrics, run.recipe)
        if not sent_original:
            o = run.variants[0]
            sent_original.append(number)
            originals[number] = VariantPayload(o.name, o.metrics, o.artifact if o.artifact.is_tflite else None,
                                               _session.memory(o.artifact)[0] if o.artifact.is_tflite else None,
                                               o.preview)
        made[number] = VariantPayload(name, v.metrics, v.artifact, _session.memory(v.artifact)[0], v.preview)

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
    inner = Context(seed=base.seed, progress=ctx.progress, log=ctx.log)
    result = run_search(base, out_dir, trials=trials, objectives=objectives, budget=Budget(*budget),
                        epochs=epochs, resume=resume, ctx=inner, trust_model_code=trust_model_code,
                        on_trial=on_trial, on_variant=on_variant, should_stop=lambda: ctx.cancel.cancelled)
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
