"""Channel pruning on the reference CNN (mnist-5k, 3 seeds): int8, smallest-tflm and channel-pruned
variants, with flash, the TFLM arena (on the emulated Cortex-M4F where the model runs there, else
the host's), instructions on the Cortex-M4F (CMSIS-NN), accuracy against the original's, and the
run's wall time.

    python bench/channels.py

Writes bench/results/channels.md. The goal (issue 23): flash <= 6,000 B and an arena <= 4,000 B
on the Cortex-M4F at most 0.5 points below the original, in under a third of int8's instructions.
"""

import sys
import time
from pathlib import Path

from _table import machine, markdown, write

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SEEDS = (0, 1, 2)
Q = {"name": "quantize", "params": {"modes": ["int8"]}}
STRIP = {"name": "strip", "params": {}}


def sequences():
    from core.presets import PRESETS

    return {
        "int8": [Q],
        "smallest-tflm": PRESETS["smallest-tflm"].steps,
        "channels 0.25 → int8 → strip": [{"name": "channels", "params": {"keep": 0.25, "epochs": 15}}, Q, STRIP],
        "channels 0.17 → int8 → strip": [{"name": "channels", "params": {"keep": 0.17, "epochs": 15}}, Q, STRIP],
        "fit-small (budget 8 KB / 4 KB)": PRESETS["fit-small"].steps,
        "fit 6,000 B / 4,000 B → qat → int8 → graph → strip": [
            {"name": "channels", "params": {"flash_budget": 6000, "arena_budget": 4000, "epochs": 15, "spatial": True}},
            *PRESETS["fit-small"].steps[1:]],
    }


def main() -> int:
    from core.recipe import Recipe
    from core.session import Session
    from core.steps.base import Context

    rows, figures = [], {}
    for seed in SEEDS:
        for label, steps in sequences().items():
            recipe = Recipe(model="reference", data="mnist-5k", seed=seed, latency_runs=0, target="cortex-m4f",
                            kernels="cmsis-nn", clock_mhz=64, steps=[dict(s) for s in steps])
            started = time.monotonic()
            result = Session(recipe).run(Context(seed=seed))
            seconds = time.monotonic() - started
            base, m = result.variants[0].metrics, result.variants[-1].metrics
            t = m.target
            arena = f"{t.arena_used:,}" if t else (f"{m.arena_total:,} (host)" if m.arena_total else "-")
            instr = f"{t.instructions:,}" if t else ("does not run there" if m.target_note else "-")
            drop = (m.accuracy - base.accuracy) * 100
            figures.setdefault(label, []).append((m.size_bytes, t.arena_used if t else None,
                                                  t.instructions if t else None, drop))
            rows.append([str(seed), label, f"{m.size_bytes:,}", arena, instr, f"{m.accuracy:.4f}",
                         f"{base.accuracy:.4f}", f"{drop:+.2f}", f"{seconds:.0f}"])
            print(" | ".join(rows[-1]), flush=True)
    summary = []
    int8_instr = [f[2] for f in figures["int8"]]
    for label, fs in figures.items():
        instr = [f[2] for f in fs if f[2]]
        ratio = (f"{sum(instr) / sum(int8_instr):.2f}x" if len(instr) == len(int8_instr) else "-")
        arenas = [f[1] for f in fs if f[1]]
        summary.append([label, f"{max(f[0] for f in fs):,}", f"{max(arenas):,}" if arenas else "-",
                        ratio, f"{min(f[3] for f in fs):+.2f} .. {max(f[3] for f in fs):+.2f}"])
    text = ("# Channel pruning on the reference CNN\n\n"
            f"{machine()}. mnist-5k (4,000 train / 1,000 test), the reference CNN trained per seed; every "
            "variant measured on the emulated Cortex-M4F (CMSIS-NN kernels, QEMU, exact instructions) and on "
            "the host TFLM (an arena marked 'host' did not run on the target). Channel pruning fine-tunes 15 "
            "epochs; the budget rows measure each round's candidates on the M4F and may crop empty input "
            "borders (spatial); the graph step picks the fastest exact form of the first convolution there. "
            "'wall s' is the whole run of the sequence (training the reference excluded, it is cached).\n\n"
            "## Per seed\n\n"
            + markdown(["seed", "sequence", "flash B", "arena B (M4F)", "instructions (M4F)", "accuracy",
                        "original", "Δ pt", "wall s"], rows)
            + "\n\n## Worst over the seeds\n\n"
            + markdown(["sequence", "flash B (max)", "arena B (max)", "instructions vs int8", "Δ pt (min .. max)"],
                       summary) + "\n")
    write("channels.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
