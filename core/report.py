"""Reports of a run: the JSON written beside the variants and the text table the CLI prints."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import core
from core.npu.measure import npu_cells


def versions() -> dict:
    """Tool and library versions, for reports and exports."""
    from importlib import metadata

    out = {"tinyopt": core.__version__, "python": platform.python_version()}
    for dist in ("tensorflow", "tf-keras", "tensorflow-model-optimization", "ai-edge-litert",
                 "tflite-micro", "numpy", "ethos-u-vela", "onnx2tf"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def variant_rows(metrics: list) -> list[dict]:
    """Metrics as dicts with deltas against the first (original) variant."""
    if not metrics:
        return []
    base = metrics[0]
    rows = []
    for m in metrics:
        d = m.to_dict()
        d["delta_size_bytes"] = m.size_bytes - base.size_bytes
        d["size_ratio"] = m.size_bytes / base.size_bytes if base.size_bytes else None
        (_, score), (_, base_score) = m.primary, base.primary
        d["delta_accuracy"] = score - base_score if score is not None and base_score is not None else None
        rows.append(d)
    return rows


def report_dict(result) -> dict:
    ds = result.dataset
    return {
        "tool": versions(),
        "recipe": result.recipe.to_dict(),
        "recipe_hash": result.recipe.digest(),
        "dataset": None if ds is None else {
            "name": ds.name, "train": int(len(ds.x_train)), "test": int(len(ds.x_test)),
            "classes": ds.num_classes},
        "cancelled": result.cancelled,
        "variants": [dict(row, history=list(v.artifact.history), steps=_json_safe(v.artifact.info))
                     for row, v in zip(variant_rows([v.metrics for v in result.variants]), result.variants)],
        "failures": [{"branch": b, "error": e} for b, e in getattr(result, "failures", [])],
        "labels": list(getattr(ds, "labels", None) or []),
    }


def _json_safe(obj):
    """Step info as plain JSON (NumPy numbers become Python numbers)."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if hasattr(obj, "item"):
        return obj.item()
    return obj


def write_report(result, path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(report_dict(result), indent=2, sort_keys=True) + "\n")
    return path


def _fmt(v, spec="", none="-"):
    return none if v is None else format(v, spec)


def tflm_cell(m) -> str:
    if not m.tflm:
        return "n/a"
    if m.tflm.runs:
        return "yes"
    return "no: " + m.tflm.reason


def score_cell(m) -> str:
    """The task's headline figure: accuracy, or 'AUC 0.981' for anomaly detection; '-' unmeasured."""
    name, value = m.primary
    if value is None:
        return "-"
    return f"{value:.4f}" if name == "accuracy" else f"{name} {value:.4f}"


def fidelity_cell(m) -> str:
    """Top-1 agreement with the original for classifiers, else the cosine similarity; '-' for the
    original itself or when not measured."""
    f = getattr(m, "fidelity", None)
    if f is None:
        return "-"
    if f.top1 is not None:
        return f"top-1 {f.top1 * 100:.1f}%"
    return f"cos {f.cos:.4f}"


def target_cells(m) -> tuple[str, str, str]:
    """(instructions per inference, estimated ms, arena on the target); '-' when not measured."""
    t = getattr(m, "target", None)
    if t is None:
        return "-", "-", "-"
    ms = t.ms_estimate
    return f"{t.instructions:,}", "-" if ms is None else f"~{ms:.3f}", f"{t.arena_used:,}"


def table_text(head: list, rows: list, wide_last: int = 100) -> str:
    """Plain-text columns: the first and last left-aligned, the rest right-aligned; the last
    column (free text) is not padded."""
    cells = [[str(c) for c in r] for r in [head, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head) - 1)]
    lines = []
    for n, r in enumerate(cells):
        first = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(first + [r[-1][:wide_last]]).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * min(wide_last, max(len(r[-1]) for r in cells)))
    return "\n".join(lines)


def footprint_cells(m) -> tuple[str, str]:
    """(firmware flash, firmware RAM): model + TFLM code, arena + runtime RAM + stack; '-' unmeasured."""
    fp = getattr(m, "footprint", None)
    return ("-", "-") if fp is None else (f"{fp.flash_total:,}", f"{fp.ram_total:,}")


def fits_cell(m, device) -> str:
    """'yes', 'NO' (fit_problems says why) or '-' for Keras variants; '*' marks a judgement on
    the model's bytes and arena only (no footprint measured)."""
    if m.kind != "tflite":
        return "-"
    fits, _ = device.judge(m)
    fp = getattr(m, "footprint", None)
    return ("yes" if fits else "NO") + ("*" if fp is None else "~" if fp.note else "")


def fit_problems(metrics: list, device) -> list[str]:
    """One line per variant that does not fit `device`, saying what is over."""
    lines = []
    for m in metrics:
        if m.kind == "tflite":
            fits, why = device.judge(m)
            if not fits:
                lines.append(f"{m.name} does not fit {device.name}: {why}")
    return lines


def table(metrics: list, device=None) -> str:
    """A plain-text table, one row per variant, the original first. With a target, its measured
    instructions, estimated time and arena come first; host latency stays beside them; with a
    device (core.devices.Device), whether each variant fits it (firmware totals where measured)."""
    rows = variant_rows(metrics)
    on_target = any(getattr(m, "target", None) is not None or getattr(m, "target_note", "") for m in metrics)
    head = ["variant", "bytes", "Δ size", "gzip", "score", "Δ score", "fidelity"]
    on_fp = any(getattr(m, "footprint", None) is not None for m in metrics)
    head += ["instr", "est. ms", "target arena"] if on_target else []
    head += ["fw flash", "fw RAM"] if on_fp else []
    on_npu = any(getattr(m, "npu", None) is not None for m in metrics)
    head += ["NPU est. ms", "NPU/CPU ops"] if on_npu else []
    head += ["host ms p50", "ms p90", "TFLM arena"] + (["fits device"] if device else []) + ["TFLM"]
    body = []
    for m, r in zip(metrics, rows):
        body.append([
            m.name, f"{m.size_bytes:,}",
            "" if r is rows[0] else f"{r['size_ratio'] * 100:.1f}%",
            f"{m.gzip_bytes:,}", score_cell(m),
            "" if r is rows[0] or r["delta_accuracy"] is None else f"{r['delta_accuracy'] * 100:+.2f} pt",
            fidelity_cell(m), *(target_cells(m) if on_target else ()), *(footprint_cells(m) if on_fp else ()),
            *(npu_cells(m) if on_npu else ()),
            _fmt(m.latency_ms_median, ".3f"), _fmt(m.latency_ms_p90, ".3f"),
            _fmt(m.arena_total, ","), *([fits_cell(m, device)] if device else []), tflm_cell(m)])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    widths[-1] = min(widths[-1], 70)
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(head, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in body:
        *first, last = row
        text = "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in
                         enumerate(zip(first, widths)))
        lines.append(f"{text}  {last}")
    return "\n".join(lines)
