"""The four shared int8 models compiled by Vela for Ethos-U55-128, U55-256, U65-256 and U85-256:
operators on the NPU and on the CPU, NPU cycles, total cycles with memory, estimated time, SRAM,
flash (all Vela's estimates: nothing here emulates an NPU), beside the exact instructions of the
same model on the emulated Cortex-M55 (CMSIS-NN, QEMU) and of the operators Vela leaves on the CPU.

    python bench/npu.py

Writes bench/results/npu.md. The first run builds TFLM for the M55 (minutes).
"""

import sys
import time
from pathlib import Path

from _table import machine, markdown, write

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "models"
MODELS = ("seed_cnn_fashion_int8.tflite", "kws_ref_model.tflite", "ad01_int8.tflite", "pretrainedResnet_quant.tflite")
NPUS = ("ethos-u55-128", "ethos-u55-256", "ethos-u65-256", "ethos-u85-256")


READING = """
Reading it:
- The study's CNN (seed_cnn_fashion_int8, float I/O) leaves its QUANTIZE and DEQUANTIZE on the CPU
  ("unsupported DataType Float32"): 11,501 of its 395,182 M55 instructions. The int8-I/O form (PTQ mode
  int8) puts everything on the NPU.
- ad01 (a dense autoencoder) is bound by flash bandwidth on the U55/U85 configurations: 201,184 total
  cycles against 41,404 NPU cycles; the U65 with its weights in DRAM behind an SRAM cache is 3.5x faster.
- Against the M55 alone (1.8 M instructions for kws, 4.9 M for the ResNet), Vela's estimates are 20-40x
  fewer NPU cycles: an estimate against an exact count, and cycles against instructions, so only the
  order of magnitude is comparable.
"""


def main() -> int:
    from core.npu.configs import find_npu
    from core.npu.vela import compile_for, vela_version
    from core.target.build import firmware
    from core.target.measure import run, sample_inputs
    from core.target.targets import get

    m55 = firmware(get("cortex-m55"), "cmsis-nn")
    rows = []
    for name in MODELS:
        data = (SHARED / name).read_bytes()
        on_m55 = run(data, sample_inputs(data, 1, seed=0), m55)
        for npu_name in NPUS:
            npu = find_npu(npu_name)
            started = time.perf_counter()
            r = compile_for(data, npu, Path(name).stem)
            seconds = time.perf_counter() - started
            cpu = ", ".join(sorted({o.op for o in r.cpu_ops})) or "-"
            rows.append([name, npu_name, len(r.npu_ops), f"{len(r.cpu_ops)} ({cpu})", f"{r.npu_cycles:,}",
                         f"{r.total_cycles:,}", f"{r.inference_ms:.3f}", f"{r.sram_bytes:,}",
                         f"{r.flash_bytes:,}" if r.flash_bytes or not r.dram_bytes else f"{r.dram_bytes:,} (DRAM)",
                         f"{on_m55.instructions:,}", f"{r.cpu_instructions(on_m55):,}", f"{seconds:.2f}"])
            print(" | ".join(map(str, rows[-1])), flush=True)
    head = ["model", "NPU", "NPU ops", "CPU ops", "NPU cycles", "total cycles", "est. ms", "SRAM B", "flash B (U65: DRAM)",
            "M55 instructions (exact)", "of which CPU ops", "Vela s"]
    text = (f"# Ethos-U NPUs (Vela {vela_version()}) beside the emulated Cortex-M55\n\n{machine()}.\n\n"
            "Vela's configurations: U55 on Ethos_U55_High_End_Embedded, U65 on Ethos_U65_High_End, U85 on\n"
            "Ethos_U85_SYS_Flash_High (Arm's vela.ini); Shared_Sram (weights in flash, arena in SRAM) except the\n"
            "U65 (Dedicated_Sram). NPU cycles, total cycles (with the memory accesses Vela models), the time at\n"
            "the configuration's clock, SRAM and flash are Vela's estimates; Vela's README says they are for its\n"
            "own decisions, not accurate performance. 'M55 instructions' is one inference of the whole model on\n"
            "QEMU's Cortex-M55 with CMSIS-NN (exact); 'of which CPU ops' the operators Vela leaves to the CPU,\n"
            "from the same run's per-operator counts. 'Vela s' includes the child process's start.\n\n"
            + markdown(head, rows) + "\n" + READING)
    write("npu.md", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
