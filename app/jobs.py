"""The engine calls the GUI runs in the background: plain functions of a core Context. Qt-free.

They only call core; each returns plain data the window shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class LoadedModel:
    artifact: object
    path: str  # file path, or "reference"
    display_bytes: bytes  # what Netron shows
    display_name: str
    memory: object  # MemoryReport of the model (a float32 conversion for Keras models)
    summary: str


@dataclass
class VariantPayload:
    variant: object  # core.runner.Variant
    memory: object  # MemoryReport or None (Keras variants)


def load(path: str | None, trust_model_code: bool = False):
    """A job loading `path` (None: the reference CNN, trained on first use and cached)."""

    def job(ctx):
        from core.tf_env import tf, tfmot

        tf()  # TensorFlow enters the process here, off the GUI thread (the graph view waits for it)
        # Heavy first-time imports and parsing hold Python's GIL for a long time; do them now, not
        # while a run is on (the window must never stall then).
        tfmot()
        import ai_edge_litert.interpreter  # noqa: F401

        from core.data import load_dataset

        load_dataset("mnist-5k")
        from core.evaluation import model_bytes
        from core.loading import load_model
        from core.recipe import REFERENCE, Recipe
        from core.runner import reference_model

        if path is None:
            art = reference_model(Recipe(), ctx)
            name = "reference_cnn.h5"
        else:
            art = load_model(path, trust_model_code=trust_model_code)
            name = Path(path).name if not Path(path).is_dir() else Path(path).name + ".pb"
        memory, note = _memory_of(art)
        params = art.model.count_params() if art.is_keras else None
        summary = (f"{art.kind.upper()} model, {len(model_bytes(art)):,} bytes"
                   + (f", {params:,} parameters" if params else "") + note)
        shown = art.data if art.is_tflite else model_bytes(art)
        return LoadedModel(art, path or REFERENCE, shown, name if art.is_tflite else Path(name).stem + ".h5",
                           memory, summary)

    return job


def _memory_of(art):
    from core.analysis.memory import analyze_memory

    if art.is_tflite:
        return analyze_memory(art.data), ""
    from core.steps.quantize import convert

    try:
        return analyze_memory(convert(art.model, "float32")), "; per-layer memory of its float32 .tflite"
    except Exception as exc:  # the converter may refuse a model that still runs in Keras
        return None, f"; no per-layer memory ({str(exc).splitlines()[0][:120]})"


def run(recipe, original, on_payload):
    """A job running `recipe` on the loaded `original`, reporting each evaluated variant."""

    def job(ctx):
        from core.analysis.memory import analyze_memory
        from core.runner import run_recipe

        def on_variant(v):
            memory = analyze_memory(v.artifact.data) if v.artifact.is_tflite else None
            on_payload(VariantPayload(v, memory))

        return run_recipe(recipe, ctx, original=original, on_variant=on_variant)

    return job


def export(artifact, out_dir, prefix, make_zip, overwrite, recipe, metrics, original_metrics, labels):
    def job(ctx):
        from core.export import export_package

        return export_package(artifact, out_dir, prefix=prefix, make_zip=make_zip, overwrite=overwrite,
                              recipe=recipe, metrics=metrics, original_metrics=original_metrics,
                              labels=labels, progress=ctx.log)

    return job
