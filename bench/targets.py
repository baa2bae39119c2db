"""The models of ../shared/models on every emulated Cortex-M and kernel set: exact instructions per
inference, the Cortex-M4 cycle estimate where there is a model, the arena TFLM uses there against
the host's, outputs against the host TFLM, and what one measurement costs after the first build.

    python bench/targets.py

Writes bench/results/targets.md. Builds missing TFLM libraries first (about 5-7 min per CPU).
"""

import sys
import time
from pathlib import Path

import numpy as np
from _table import machine, markdown, write

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MODELS = ["seed_cnn_fashion_int8.tflite", "kws_ref_model.tflite", "ad01_int8.tflite", "pretrainedResnet_quant.tflite"]


def main() -> int:
    from core.errors import TinyOptError
    from core.target.build import firmware
    from core.target.measure import run, sample_inputs
    from core.target.targets import KERNELS, TARGETS
    from core.measure.tflm_check import check_tflm, tflm_outputs

    shared = ROOT.parent / "shared" / "models"
    rows, builds = [], []
    for t in TARGETS.values():
        for kernels in KERNELS:
            started = time.monotonic()
            built = firmware(t, kernels)
            builds.append([t.title, kernels, f"{time.monotonic() - started:.0f}", built.info["objects"],
                           f"{built.info['library_bytes']:,}"])
    for name in MODELS:
        data = (shared / name).read_bytes()
        x = sample_inputs(data, 2)
        host_arena = check_tflm(data).arena_total
        host = tflm_outputs(data, x)
        for t in TARGETS.values():
            for kernels in KERNELS:
                try:
                    r = run(data, x, firmware(t, kernels))
                except TinyOptError as exc:
                    rows.append([name, t.name, kernels, "does not run: " + str(exc)[:80], "", "", "", "", ""])
                    continue
                same = np.array_equal(r.outputs[0].reshape(host.shape), host)
                est = "-" if r.ms_estimate is None else f"~{r.cycles_estimate:,} / ~{r.ms_estimate:.2f} ms"
                rows.append([name, t.name, kernels, f"{r.instructions:,}", est, f"{r.arena_used:,}",
                             f"{host_arena:,}", "yes" if same else "NO", f"{r.seconds:.2f}"])
    text = (f"# Emulated Cortex-M targets\n\n{machine()}; TFLM {builds and firmware(next(iter(TARGETS.values())), 'cmsis-nn').info['tflite_micro_commit'][:12]}, "
            "arm-none-eabi-gcc 12.2, QEMU 7.2 with the project's instruction-counting plugin.\n\n"
            "Instructions are exact (two random inputs; the first's Invoke, operator hooks included). "
            "Cycles and ms are the Cortex-M4 timing-table estimate at the target's typical clock (Cortex-M4F "
            "only; no honest model for the M7's dual issue or the M55's beats). 'same' compares the "
            "target's outputs with the host TFLM's, bit for bit. 'QEMU s' is the emulation's wall time "
            "for both inputs.\n\n"
            + markdown(["model", "target", "kernels", "instructions", "cycles / ms (estimate)", "arena on target",
                        "arena on host", "same", "QEMU s"], rows)
            + "\n\n## Builds (this run; 0 s when cached)\n\n"
            + markdown(["CPU", "kernels", "seconds", "objects", "library bytes"], builds) + "\n")
    write("targets.md", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
