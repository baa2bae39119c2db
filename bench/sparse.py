"""Pruned weights stored sparse on TFLM (the reference CNN, mnist-5k, 3 seeds): int8 against
prune 0.5 / 0.8 / 0.9 -> int8 -> strip -> compress, with flash, the arena and the instructions on the
emulated Cortex-M4F (CMSIS-NN, QEMU; the DECODE operators' own share apart) and accuracy.

    python bench/sparse.py

Writes bench/results/sparse.md. Goal (issue 24): prune 0.8 -> int8 -> compress at most 45 % of
plain int8's flash, running on the emulated Cortex-M4F with the host's outputs.
"""

import sys
import time
from pathlib import Path

from _table import machine, markdown, write

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SEEDS = (0, 1, 2)
Q = {"name": "quantize", "params": {"modes": ["int8"]}}
TAIL = [Q, {"name": "strip", "params": {}}, {"name": "compress", "params": {"storage": "auto"}}]


def sequences():
    rows = {"int8": [Q], "int8 → strip": [Q, {"name": "strip", "params": {}}]}
    for sparsity in (0.5, 0.8, 0.9):
        rows[f"prune {sparsity} → int8 → strip → compress"] = [
            {"name": "prune", "params": {"final_sparsity": sparsity, "epochs": 3}}, *TAIL]
    return rows


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
            base, v = result.variants[0].metrics, result.variants[-1]
            m, t = v.metrics, v.metrics.target
            decode = sum(op.instructions for op in t.ops if "DECODE" in op.op) if t else None
            comp = v.artifact.info.get("compress", {})
            storage = ", ".join(f"{x['storage']} {x['bytes']:,}→{x['stored']:,} B" for x in comp.get("tensors", [])) or "-"
            drop = (m.accuracy - base.accuracy) * 100
            figures.setdefault(label, []).append((m.size_bytes, t.arena_used if t else None, t.instructions if t else None,
                                                  drop, bool(t and t.matches_host)))
            rows.append([str(seed), label, f"{m.size_bytes:,}", f"{t.arena_used:,}" if t else "-",
                         f"{t.instructions:,}" if t else "-", f"{decode:,}" if decode is not None else "-",
                         "yes" if t and t.matches_host else "no", storage, f"{m.accuracy:.4f}", f"{drop:+.2f}",
                         f"{seconds:.0f}"])
            print(" | ".join(rows[-1]), flush=True)
    int8 = figures["int8"]
    summary = []
    for label, fs in figures.items():
        summary.append([label, f"{max(f[0] for f in fs):,}", f"{max(f[0] for f in fs) / max(x[0] for x in int8):.2f}",
                        f"{max(f[1] or 0 for f in fs):,}", f"{sum(f[2] or 0 for f in fs) / sum(x[2] for x in int8):.2f}x",
                        f"{min(f[3] for f in fs):+.2f} .. {max(f[3] for f in fs):+.2f}",
                        "yes" if all(f[4] for f in fs) else "no"])
    text = ("# Pruned weights stored sparse on TFLM (reference CNN)\n\n"
            f"{machine()}. mnist-5k, the reference CNN trained per seed; pruning fine-tunes 3 epochs (tfmot "
            "polynomial schedule); compress stores each weight tensor as a look-up table or sparse (a bit per "
            "weight and the non-zero ones), whichever is smaller. Flash is the file; the arena and instructions are "
            "measured on the emulated Cortex-M4F (CMSIS-NN kernels, QEMU, one inference), where the DECODE "
            "operators write the decoded weights into the arena every inference; 'DECODE instr' is their share. "
            "'equal' says whether the target's outputs equal the host TFLM's. Accuracy is on the test split "
            "against the float original.\n\n## Per seed\n\n"
            + markdown(["seed", "sequence", "flash B", "arena B (M4F)", "instructions (M4F)", "DECODE instr", "equal",
                        "storage", "accuracy", "Δ pt", "wall s"], rows)
            + "\n\n## Worst over the seeds\n\n"
            + markdown(["sequence", "flash B (max)", "of int8", "arena B (max)", "instructions vs int8",
                        "Δ pt (min .. max)", "outputs equal"], summary) + "\n")
    write("sparse.md", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
