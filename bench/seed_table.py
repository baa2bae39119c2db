"""Reproduce the study's results table with our engine on real data, and go past it.

The reference CNN (Conv2D 12x3x3, MaxPool, Dense 10; 20,410 parameters) is trained on mnist-5k
with 3 seeds; every sequence runs on each, and the table shows sizes, accuracy (mean and spread),
host latency (LiteRT, batch 1, 200 timed runs after warm-up), TFLM deployability and arena.
A row whose component the engine does not have yet is printed as "not available".
Run: .venv/bin/python bench/seed_table.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._table import machine, markdown, write  # noqa: E402

MODES = ["dynamic", "float16", "full-int", "int8", "16x8"]
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "models"

STUDY = """\
The study's own published figures (its base CNN, full MNIST / Fashion-MNIST, one timed call):

| figure | study |
|---|---|
| base Keras .h5 (with optimizer state) | 271,400 B |
| float .tflite | 83,280 B |
| smallest (dynamic range) | 22,480-22,512 B (does not run on TFLM: hybrid ops) |
| integer-only (TFLM-deployable) | 23,208 B |
| "fastest" | 0.06 ms, a single timed call |
| accuracy of the base CNN | about 0.98 (MNIST), 0.89 (Fashion-MNIST) |

Where we differ and why: our data is mnist-5k (4,000 training images instead of 60,000), so the
float model reaches about 0.94 rather than 0.98; our .h5 is saved without optimizer state;
latency is the median and p90 of 200 batch-1 invocations after 20 warm-up runs, not a single call.
"""


def families():
    """(family label, steps) -> each run fans out over the PTQ modes; None = not available."""
    from core.presets import PRESETS
    from core.steps import REGISTRY

    q_all = {"name": "quantize", "params": {"modes": ["float32"] + MODES}}
    fams = [("PTQ", [q_all])]
    fams.append(("prune", [{"name": "prune", "params": {}}, q_all] if "prune" in REGISTRY else None))
    fams.append(("QAT", [{"name": "qat", "params": {}}, {"name": "quantize", "params": {"modes": ["int8"]}}]
                 if "qat" in REGISTRY else None))
    # The study replaced its convolution whatever the cost; our default guard would keep it.
    fams.append(("separable", [{"name": "separable", "params": {"max_drop": 100}}, q_all]
                 if "separable" in REGISTRY else None))
    fams.append(("graph", [{"name": "quantize", "params": {"modes": ["full-int", "int8", "16x8"]}},
                           {"name": "graph", "params": {}}] if "graph" in REGISTRY else None))
    for name in ("study-smallest", "study-accurate", "study-fastest", "smallest-tflm"):
        preset = PRESETS.get(name)
        ok = preset is not None and all(s["name"] in REGISTRY for s in preset.steps)
        fams.append((f"preset {name}", preset.steps if ok else None))
    return fams


def run_family(steps, seed: int, latency_runs: int):
    from core.recipe import Recipe
    from core.runner import run_recipe
    from core.steps.base import Context

    recipe = Recipe(model="reference", data="mnist-5k", steps=steps, seed=seed,
                    latency_runs=latency_runs)
    return run_recipe(recipe, Context(seed=seed))


def fmt_int(v):
    return "-" if v is None else f"{int(round(v)):,}"


def rows_from(results_by_seed: list, label: str, float_tflite_bytes: dict, float_acc: dict):
    """Aggregate the same variant over seeds into one table row."""
    by_name: dict = {}
    for seed, res in results_by_seed:
        for v in res.variants:
            by_name.setdefault(v.name, []).append((seed, v.metrics))
    rows = []
    for name, items in by_name.items():
        if label != "PTQ" and name == "original":
            continue
        ms = [m for _, m in items]
        accs = [m.accuracy for m in ms if m.accuracy is not None]
        d_acc = [m.accuracy - float_acc[s] for s, m in items if m.accuracy is not None and s in float_acc]
        size = statistics.mean(m.size_bytes for m in ms)
        ref = statistics.mean(float_tflite_bytes.values()) if float_tflite_bytes else None
        tflm = ms[0].tflm
        runs = "-" if not tflm else ("yes" if tflm.runs else "no: " + tflm.reason[:70])
        arena = tflm.arena_total if tflm else None
        lat = [m.latency_ms_median for m in ms if m.latency_ms_median is not None]
        p90 = [m.latency_ms_p90 for m in ms if m.latency_ms_p90 is not None]
        row_name = "float32 Keras" if name == "original" else (
            "float32 .tflite" if name == "float32" else f"{label}: {name}" if label != "PTQ" else name)
        rows.append([
            row_name, fmt_int(size), fmt_int(statistics.mean(m.gzip_bytes for m in ms)),
            "-" if not ref or ms[0].kind == "keras" else f"{(size - ref) / ref * 100:+.1f}%",
            "-" if not accs else f"{statistics.mean(accs):.4f} ± {(max(accs) - min(accs)) / 2:.4f}",
            "-" if not d_acc else f"{statistics.mean(d_acc) * 100:+.2f} pt",
            "-" if not lat else f"{statistics.median(lat):.4f}",
            "-" if not p90 else f"{statistics.median(p90):.4f}",
            runs, fmt_int(arena), macs_of(items[0][1], res_artifact(results_by_seed, name))])
    return rows


def res_artifact(results_by_seed, name):
    for _, res in results_by_seed:
        for v in res.variants:
            if v.name == name:
                return v.artifact
    return None


def macs_of(metrics, artifact) -> str:
    if artifact is None or not artifact.is_tflite:
        return "-"
    try:
        from core.analysis.memory import analyze_memory
    except ImportError:
        return "not available"
    rep = analyze_memory(artifact.data)
    total = sum(op.macs or 0 for op in rep.ops)
    return f"{total:,}"


HEAD = ["variant", "bytes", "gzip", "Δ size vs float .tflite", "accuracy (mean ± half-range)",
        "Δ acc vs float", "ms p50", "ms p90", "runs on TFLM", "TFLM arena", "MACs"]


def seed_table(seeds: int, latency_runs: int) -> tuple[str, dict]:
    all_rows, timings = [], {}
    float_tflite_bytes, float_acc = {}, {}
    for label, steps in families():
        if steps is None:
            all_rows.append([f"{label}", "not available"] + [""] * (len(HEAD) - 2))
            continue
        results = []
        t = time.perf_counter()
        try:
            for seed in range(seeds):
                res = run_family(steps, seed, latency_runs)
                results.append((seed, res))
                if label == "PTQ":
                    for v in res.variants:
                        if v.name == "float32":
                            float_tflite_bytes[seed] = v.metrics.size_bytes
                        if v.name == "original":
                            float_acc[seed] = v.metrics.accuracy
        except Exception as exc:  # a failing family must not hide the others
            all_rows.append([f"{label}", f"failed: {str(exc)[:120]}"] + [""] * (len(HEAD) - 2))
            continue
        timings[label] = time.perf_counter() - t
        all_rows.extend(rows_from(results, label, float_tflite_bytes, float_acc))
        if label == "preset smallest-tflm":
            timings["_smallest"] = smallest_summary(results, float_acc)
    return markdown(HEAD, all_rows), timings


def smallest_summary(results, float_acc) -> str:
    """The issue's target: <= 11,600 B, runs on TFLM, within 0.5 points; and what it costs in RAM."""
    lines = []
    for seed, res in results:
        best = res.variants[-1]
        plain = next((v for v in res.variants if v.name.endswith("int8")), None)  # before strip/LUT
        m, comp = best.metrics, best.artifact.info.get("compress", {})
        arena = m.tflm.arena_total if m.tflm else None
        plain_arena = plain.metrics.tflm.arena_total if plain and plain.metrics.tflm else None
        lines.append(f"| {seed} | {best.name} | {m.size_bytes:,} | "
                     f"{'yes' if m.tflm and m.tflm.runs else 'no'} | {m.accuracy:.4f} | "
                     f"{(m.accuracy - float_acc.get(seed, m.accuracy)) * 100:+.2f} pt | "
                     f"{fmt_int(plain_arena)} -> {fmt_int(arena)} | {fmt_int(comp.get('decoded_bytes'))} |")
    return ("| seed | variant | bytes | runs on TFLM | accuracy | Δ acc vs float Keras | TFLM arena "
            "(int8 -> compressed) | decoded weights in RAM |\n|---|---|---|---|---|---|---|---|\n"
            + "\n".join(lines))


def third_party_table(latency_runs: int) -> str:
    """Someone else's trained base CNN (Fashion-MNIST): sizes and memory always, accuracy if data."""
    from core.errors import DataError
    from core.data import load_dataset
    from core.recipe import Recipe
    from core.runner import run_recipe

    path = SHARED / "seed_cnn_fashion_base.h5"
    if not path.exists():
        return f"{path} is absent: table skipped."
    note = "accuracy on the Fashion-MNIST test split"
    data = "fashion-mnist"
    try:
        load_dataset("fashion-mnist")
    except DataError:
        data, note = "mnist-5k", ("accuracy: no data (Fashion-MNIST is not available locally); "
                                  "calibration used mnist-5k digits, same shape and range")
    res = run_recipe(Recipe(model=str(path), data=data, steps=[
        {"name": "quantize", "params": {"modes": ["float32"] + MODES}}], latency_runs=latency_runs))
    rows = []
    for v in res.variants:
        m = v.metrics
        t = m.tflm
        rows.append([v.name, f"{m.size_bytes:,}", f"{m.gzip_bytes:,}",
                     f"{m.accuracy:.4f}" if data == "fashion-mnist" and m.accuracy is not None else "no data",
                     f"{m.latency_ms_median:.4f}" if m.latency_ms_median else "-",
                     "-" if not t else ("yes" if t.runs else "no"),
                     fmt_int(t.arena_total) if t else "-"])
    return note + "\n\n" + markdown(["variant", "bytes", "gzip", "accuracy", "ms p50", "runs on TFLM",
                                     "TFLM arena"], rows)


def default_sequence_walltime() -> str:
    from core.recipe import Recipe
    from core.runner import run_recipe

    from core.presets import DEFAULT as steps

    t = time.perf_counter()
    res = run_recipe(Recipe(model="reference", data="mnist-5k", steps=steps, seed=0))
    total = time.perf_counter() - t
    rows = [[what, f"{s:.1f}"] for what, s in res.timings]
    return (f"Steps: {' -> '.join(s['name'] for s in steps)}; end to end {total:.1f} s "
            "(goal: within 180 s on 2 cores; the reference CNN is reused from the cache when present)\n\n"
            + markdown(["stage", "seconds"], rows))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--latency-runs", type=int, default=200)
    args = ap.parse_args()
    t0 = time.perf_counter()
    table, timings = seed_table(args.seeds, args.latency_runs)
    parts = [f"# Seed table: the study's reference CNN on mnist-5k ({args.seeds} seeds)\n",
             f"Measured {machine()}. Reproduce: `make bench` (or `.venv/bin/python bench/seed_table.py`).\n",
             table, "", STUDY,
             "## Our smallest TFLM-runnable model (preset smallest-tflm) and its RAM cost\n",
             "Target: <= 11,600 B (the study's best TFLM model: 23,208 B), within 0.5 accuracy points "
             "of the float model, outputs checked on TFLM.\n",
             timings.pop("_smallest", "not available"), "",
             "## Someone else's trained base CNN (../shared/models/seed_cnn_fashion_base.h5)\n",
             third_party_table(args.latency_runs), "",
             "## Wall time of the app's default sequence (reference CNN, mnist-5k)\n",
             default_sequence_walltime(), "",
             "Family wall times (all seeds): " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()),
             f"\nWhole script: {time.perf_counter() - t0:.0f} s."]
    write("seed_table.md", "\n".join(parts) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
