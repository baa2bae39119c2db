"""The Cortex-M targets we build TFLM for and run in QEMU: CPU, compiler flags, emulated machine
and memory map, and the clock of the device class it stands for (for estimates only)."""

from __future__ import annotations

from dataclasses import dataclass

KERNELS = ("cmsis-nn", "reference")


@dataclass(frozen=True)
class Target:
    name: str  # e.g. "cortex-m4f"
    title: str  # for people: "Cortex-M4F (FPU, DSP)"
    cpu_flags: tuple  # arm-none-eabi-gcc flags selecting the core and its FPU
    machine: str  # qemu-system-arm -M
    code: tuple  # (origin, length) of the region code and read-only data are linked to (the
    # vector table is always at 0)
    data: tuple  # (origin, length) of the region data, bss, heap and stack use
    clock_mhz: int  # a typical device clock, for the time estimate
    fix_files: tuple = ()  # (file, extra flags): workarounds for this compiler and core
    timing: str | None = None  # the cycle model the plugin applies ("m4"), None: no honest model
    no_timing_why: str = ""


# Memory as QEMU 7.2 models it (each region checked with a test image): the vector table is at 0
# on all three (VTOR resets to 0; the an547 boots Secure, no SAU set-up needed); mps2 boards have
# 4 MB of SSRAM at 0 for code and 16 MB more for data (at 0x21000000 on the an386, 0x60000000 on
# the an500); the an547's code and data go to its DDR at 0x60000000.
TARGETS = {
    t.name: t for t in (
        Target("cortex-m4f", "Cortex-M4F (DSP, single-precision FPU)",
               ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"),
               "mps2-an386", (0x00000400, 0x003FFC00), (0x21000000, 0x01000000), 168, timing="m4"),
        Target("cortex-m7", "Cortex-M7 (DSP, double-precision FPU)",
               ("-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"),
               "mps2-an500", (0x00000400, 0x003FFC00), (0x60000000, 0x01000000), 480,
               no_timing_why="the Cortex-M7 issues two instructions per cycle and has caches; no "
                             "instruction-mix model of it is honest, so no cycle estimate is given"),
        Target("cortex-m55", "Cortex-M55 (Helium MVE)",
               ("-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"),
               "mps3-an547", (0x60000000, 0x01000000), (0x61000000, 0x01000000), 400,
               (("tensorflow/lite/micro/kernels/resize_nearest_neighbor.cc",
                 ("-fno-if-conversion", "-fno-if-conversion2")),),
               no_timing_why="Helium (MVE) instructions overlap in beats across the pipeline; no "
                             "instruction-mix model of it is honest, so no cycle estimate is given"),
    )
}


def get(name: str) -> Target:
    from core.errors import TargetError

    try:
        return TARGETS[name]
    except KeyError:
        raise TargetError(f"Unknown target '{name}'; targets: {', '.join(TARGETS)}.") from None
