"""Vela's figures for a variant in a run: the recipe's NPU, beside what the emulated core measured."""

from __future__ import annotations

from pathlib import Path

from core.errors import TargetError


def measure(metrics, artifact, npu) -> None:
    """Set `metrics.npu` (Vela's report, without the compiled bytes) or `metrics.npu_note`."""
    from core.npu.vela import compile_for

    if not artifact.is_tflite:
        metrics.npu_note = "Keras model: Vela compiles .tflite variants"
        return
    if metrics.tflm is not None and not metrics.tflm.runs:
        metrics.npu_note = "does not run on TFLM, so not on the NPU's firmware either"
        return
    try:
        report = compile_for(artifact.data, npu, f"{Path(artifact.source).stem}_{artifact.name}")
    except TargetError as exc:
        metrics.npu_note = str(exc)
        return
    report.compiled = None  # a run keeps the figures; export compiles again
    if metrics.target is not None:
        report.cpu_instructions_measured = report.cpu_instructions(metrics.target)
    metrics.npu = report


def npu_cells(metrics) -> tuple[str, str]:
    """('est. NPU ms', 'NPU/CPU ops') for tables."""
    r = metrics.npu
    if r is None:
        return "-", "-"
    return f"{r.inference_ms:.3f}", f"{len(r.npu_ops)}/{len(r.cpu_ops)}"
