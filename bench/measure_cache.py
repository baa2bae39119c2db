"""How often the same model bytes are measured: TFLM probes and memory analyses in the default
sequence (smallest-tflm on the reference CNN), and its wall time.

    python bench/measure_cache.py

Writes bench/results/measure_cache.md. Each TFLM probe is a child process (~0.3-1 s).
"""

import sys
import time
from pathlib import Path

from _table import machine, markdown, write

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    import core.analysis.memory as memory
    import core.measure.tflm_check as tflm_check
    from core.presets import DEFAULT
    from core.recipe import Recipe
    from core.runner import run_recipe
    from core.steps.base import Context

    counts = {"probes": 0, "analyses": 0}
    probe, analyze = tflm_check._probe, memory.analyze_graph

    def counted_probe(*a, **k):
        counts["probes"] += 1
        return probe(*a, **k)

    def counted_analyze(*a, **k):
        counts["analyses"] += 1
        return analyze(*a, **k)

    tflm_check._probe, memory.analyze_graph = counted_probe, counted_analyze
    recipe = Recipe(steps=[dict(s) for s in DEFAULT])
    run_recipe(recipe, Context(seed=0))  # trains or reuses the cached reference CNN first
    try:
        from core.cache import clear
    except ImportError:  # a checkout from before the measurement cache
        def clear():
            pass
    rows = []
    clear()
    for what in ("first run in a session", "the same run again in that session"):
        counts.update(probes=0, analyses=0)
        started = time.perf_counter()
        result = run_recipe(recipe, Context(seed=0))
        wall = time.perf_counter() - started
        rows.append([what, len(result.variants), counts["probes"], counts["analyses"], f"{wall:.1f}"])
    table = markdown(["smallest-tflm on the reference CNN", "variants", "TFLM probes", "memory analyses",
                      "wall s"], rows)
    write("measure_cache.md", f"# Measurements per run ({machine()})\n\n{table}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
