"""The engine jobs the window runs, as top-level functions `fn(ctx, emit, *args)`. Qt-free.

They run in a child process (app/worker.py), call only core, and return plain, picklable data:
no Keras objects cross back to the window.
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


@dataclass
class VariantPayload:
    name: str
    metrics: object  # core.evaluation.Metrics
    artifact: object  # core.artifact.Artifact for .tflite variants (exportable), else None
    memory: object  # MemoryReport or None (Keras variants)

    @property
    def is_tflite(self) -> bool:
        return self.artifact is not None


def load(ctx, emit, path: str | None, trust_model_code: bool = False) -> LoadedModel:
    """Load `path` (None: the reference CNN, trained on first use and cached)."""
    from core.errors import LoadError, TinyOptError
    from core.evaluation import model_bytes
    from core.loading import load_model
    from core.recipe import REFERENCE, Recipe
    from core.runner import reference_model

    if path is None:
        art = reference_model(Recipe(), ctx)
        name = "reference_cnn.h5"
    else:
        art = load_model(path, trust_model_code=trust_model_code)
        name = Path(path).name
    try:
        memory, note = _memory_of(art)
    except TinyOptError:
        raise
    except Exception as exc:  # a bug of ours on an odd model: still name the file
        raise LoadError(f"{name}: the per-layer memory analysis failed ({type(exc).__name__}: "
                        f"{str(exc)[:200]}). Please report this with the file.") from exc
    params = art.model.count_params() if art.is_keras else None
    summary = (f"{art.kind.upper()} model, {len(model_bytes(art)):,} bytes"
               + (f", {params:,} parameters" if params else "") + note)
    shown = art.data if art.is_tflite else model_bytes(art)
    layers = []
    if art.is_keras:
        from core.steps.training import kernel_layers

        layers = [layer.name for layer in kernel_layers(art.model)]
    return LoadedModel(path or REFERENCE, art.kind, shown, name if art.is_tflite else Path(name).stem + ".h5",
                       memory, summary, trust_model_code, layers)


def _memory_of(art):
    from core.analysis.memory import analyze_memory

    if art.is_tflite:
        return analyze_memory(art.data), ""
    from core.steps.quantize import convert

    try:
        return analyze_memory(convert(art.model, "float32")), "; per-layer memory of its float32 .tflite"
    except Exception as exc:  # the converter may refuse a model that still runs in Keras
        return None, f"; no per-layer memory ({str(exc).splitlines()[0][:120]})"


def run(ctx, emit, recipe_dict: dict, trust_model_code: bool = False) -> dict:
    """Run a recipe, emitting a VariantPayload per evaluated variant; return the run's summary."""
    from core.analysis.memory import analyze_memory
    from core.recipe import Recipe
    from core.runner import run_recipe

    def on_variant(v):
        art = v.artifact
        emit(VariantPayload(v.name, v.metrics, art if art.is_tflite else None,
                            analyze_memory(art.data) if art.is_tflite else None))

    result = run_recipe(Recipe.from_dict(recipe_dict), ctx, on_variant=on_variant,
                        trust_model_code=trust_model_code)
    return {"cancelled": result.cancelled, "failures": result.failures,
            "labels": list(getattr(result.dataset, "labels", []) or [])}


def export(ctx, emit, artifact, out_dir, prefix, make_zip, overwrite, recipe_dict, metrics, original_metrics,
           labels):
    from core.export import export_package
    from core.recipe import Recipe

    recipe = Recipe.from_dict(recipe_dict) if recipe_dict else None
    return export_package(artifact, out_dir, prefix=prefix, make_zip=make_zip, overwrite=overwrite,
                          recipe=recipe, metrics=metrics, original_metrics=original_metrics,
                          labels=labels, progress=ctx.log)
