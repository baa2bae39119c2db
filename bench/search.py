"""The search against the presets, on the reference CNN with mnist-5k.

A 30-trial search (flash, RAM, accuracy; 1 fine-tuning epoch; Cortex-M0+ budget: 32 KB RAM,
256 KB flash; accuracy floor 1 pt below the original; its first trials are the presets' sequences)
and every preset run as it is. Both are
measured the same way (TFLM .tflite bytes, TFLM arena, test accuracy). The table gives the front,
its hypervolume next to the presets' (same reference point: the device's budget and an accuracy
of 0.80), which preset points the front dominates or equals, the best variant for the device, the
wall time and trials per hour, and how many trials reused a fine-tuned prefix.
Run: .venv/bin/python bench/search.py [--trials 30]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._table import machine, markdown, write  # noqa: E402

RAM, FLASH, FLOOR = 32 * 1024, 256 * 1024, 0.80  # the hypervolume's reference point
OBJECTIVES = ("flash", "ram", "accuracy")


def hypervolume(points: list[tuple], ref: tuple) -> float:
    """Exact volume dominated by `points` (to be minimised) inside the box up to `ref`: the grid
    of their coordinates, each cell counted once when some point dominates its lower corner."""
    pts = np.array([p for p in points if all(a < r for a, r in zip(p, ref))], dtype=float)
    if not len(pts):
        return 0.0
    axes = [np.unique(np.append(pts[:, d], ref[d])) for d in range(pts.shape[1])]
    lows = np.stack(np.meshgrid(*[a[:-1] for a in axes], indexing="ij"), -1).reshape(-1, pts.shape[1])
    sizes = np.stack(np.meshgrid(*[np.diff(a) for a in axes], indexing="ij"), -1).reshape(-1, pts.shape[1])
    covered = (pts[None, :, :] <= lows[:, None, :]).all(-1).any(-1)
    return float((sizes[covered].prod(-1)).sum())


def as_min(values: dict) -> tuple:
    return values["flash"], values["ram"], -values["accuracy"]


def preset_points() -> list[dict]:
    from core.presets import PRESETS
    from core.recipe import Recipe
    from core.runner import run_recipe
    from core.search import measure

    rows = []
    for preset in PRESETS.values():
        t = time.perf_counter()
        result = run_recipe(Recipe.from_dict({"model": "reference", "data": "mnist-5k", "latency_runs": 0,
                                              "steps": preset.steps}))
        seconds = time.perf_counter() - t
        for v in result.variants[1:]:
            m = v.metrics
            if m.kind != "tflite":
                continue
            values = {o: measure(m, o) for o in OBJECTIVES}
            rows.append({"preset": preset.id, "variant": v.name, "values": values,
                         "runs": bool(m.tflm and m.tflm.runs), "seconds": seconds})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=30)
    args = parser.parse_args()
    from core.recipe import Recipe
    from core.search import Budget, dominates, search

    out = Path(tempfile.mkdtemp(prefix="tinyopt-bench-search-"))
    base = Recipe.from_dict({"model": "reference", "data": "mnist-5k", "latency_runs": 0})
    from core.runner import prepare
    from core.steps.base import Context

    prepare(base, Context())  # the reference CNN trained and cached before the clock starts
    t = time.perf_counter()
    result = search(base, out, trials=args.trials, objectives=OBJECTIVES,
                    budget=Budget(ram=RAM, flash=FLASH, max_drop=1.0), epochs=1)
    wall = time.perf_counter() - t
    presets = preset_points()
    ref = (FLASH, RAM, -FLOOR)
    front = result.front
    hv_front = hypervolume([as_min(t.values) for t in front], ref)
    runnable = [p for p in presets if p["runs"] and p["values"]["ram"] is not None]
    hv_presets = hypervolume([as_min(p["values"]) for p in runnable], ref)

    def covered(values) -> str:
        for f in front:
            if all(f.values[o] == values[o] for o in OBJECTIVES):
                return f"equals trial {f.number}"
        for f in front:
            probe = type(f)(-1, values, True, [], {}, "", "")
            if dominates(f, probe, OBJECTIVES):
                return f"dominated by trial {f.number}"
        return "**not dominated**"

    from core.search import table

    rows_front = [[t.number, f"{t.values['flash']:,.0f}", f"{t.values['ram']:,.0f}", f"{t.values['accuracy']:.4f}",
                   f"{t.seconds:.1f}", t.reused, _steps(t.recipe["steps"])] for t in front]
    rows_presets = [[p["preset"], p["variant"], f"{p['values']['flash']:,.0f}",
                     "-" if p["values"]["ram"] is None else f"{p['values']['ram']:,.0f}",
                     f"{p['values']['accuracy']:.4f}",
                     covered(p["values"]) if p["runs"] and p["values"]["ram"] is not None else "does not run on TFLM"]
                    for p in presets]
    best = result.best_for_device()
    reused = [t for t in result.trials if t.reused]
    fresh = [t for t in result.trials if not t.reused]
    per_hour = len(result.trials) / wall * 3600 if wall else 0
    counted = len(result.trials) + result.invalid + len(result.ruled_out) + result.unmeasured + result.refused
    lines = [
        "# Search against the presets (reference CNN, mnist-5k)", "",
        f"Measured {machine()}. {args.trials} trials, objectives flash, RAM, accuracy; 1 fine-tuning epoch per "
        "training component; device Cortex-M0+ (32 KB RAM, 256 KB flash), accuracy floor 1 pt below the "
        "original. The search starts from the presets' sequences that lie in its space (at most a third of "
        "the trials, 1 epoch each, one integer PTQ mode); the presets' own points below are run as they are "
        "(their own epochs, every mode).", "",
        f"- Wall time: **{wall:.0f} s** for {counted} trials ({len(result.trials)} made a variant, "
        f"{result.invalid} invalid draws never run, {len(result.ruled_out)} ruled out before fine-tuning, "
        f"{result.refused} refused by a step, {result.unmeasured} not measurable (no TFLM arena: float16, "
        "dynamic range), "
        f"{result.failed} failed): **{per_hour:.0f} trials per hour** on 2 cores.",
        f"- Fine-tuned prefixes reused: {len(reused)} trials took {sum(t.reused for t in reused)} steps from "
        f"earlier ones; median trial {_median(reused)} with reuse, {_median(fresh)} without.",
        f"- Hypervolume (reference point: flash {FLASH:,} B, RAM {RAM:,} B, accuracy {FLOOR}; objectives in bytes "
        f"and accuracy): front **{hv_front:.4g}**, presets' TFLM-runnable points **{hv_presets:.4g}** "
        f"(ratio {hv_front / hv_presets:.3f}).",
        "- Best for the Cortex-M0+: " + (f"trial {best.number}, {_steps(best.recipe['steps'])}: "
                                         f"{best.values['flash']:,.0f} B flash, {best.values['ram']:,.0f} B arena, "
                                         f"accuracy {best.values['accuracy']:.4f}." if best else "none."), "",
        "## The front", "", markdown(["trial", "flash B", "arena B", "accuracy", "s", "reused steps", "sequence"],
                                     rows_front), "",
        "## The presets' points", "",
        markdown(["preset", "variant", "flash B", "arena B", "accuracy", "against the front"], rows_presets), "",
        "## Every trial", "", "```", table(result), "```", ""]
    write("search.md", "\n".join(lines))
    shutil.rmtree(out, ignore_errors=True)
    return 0


def _steps(steps) -> str:
    from core.search import describe

    return describe(steps)


def _median(trials) -> str:
    return f"{statistics.median(t.seconds for t in trials):.1f} s" if trials else "-"


if __name__ == "__main__":
    sys.exit(main())
