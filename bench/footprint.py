"""The whole firmware footprint of the four shared models (issue 28): each linked with exactly its
operators against TFLM for the Cortex-M4F (CMSIS-NN and reference kernels) and the Cortex-M55
(CMSIS-NN with Helium), split by the link map, its stack measured on the emulated core.

    python bench/footprint.py

Writes bench/results/footprint.md, beside ST's published figures for a comparable small model.
"""

import sys
import time
from pathlib import Path

from _table import machine, markdown, write

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "models"
MODELS = ("seed_cnn_fashion_int8.tflite", "kws_ref_model.tflite", "ad01_int8.tflite", "pretrainedResnet_quant.tflite")
ST_CODE = round(37.86 * 1024)  # ST model zoo, HAR GMP wl24 int8, X-CUBE-AI 8.1: code 37.86 KiB
STRIP = "-DTF_LITE_STRIP_ERROR_STRINGS"  # TFLM without its error messages: a build of its own
BUILDS = (("cortex-m4f", "cmsis-nn", ()), ("cortex-m4f", "reference", ()), ("cortex-m55", "cmsis-nn", ()),
          ("cortex-m4f", "cmsis-nn", (STRIP,)))


def main() -> int:
    from core.target.build import firmware
    from core.target.footprint import measure
    from core.target.targets import get

    rows, splits, study, stripped = [], [], None, None
    for target, kernels, defines in BUILDS:
        fw = firmware(get(target), kernels, defines=defines)
        kernels += " (error strings stripped)" if defines else ""
        for name in MODELS:
            started = time.monotonic()
            fp = measure((SHARED / name).read_bytes(), fw)
            seconds = time.monotonic() - started
            if (target, kernels, name) == ("cortex-m4f", "cmsis-nn", MODELS[0]):
                study = fp
            if defines and name == MODELS[0]:
                stripped = fp
            top = sorted(((op, n) for op, n in fp.kernel_code.items()), key=lambda kv: -kv[1])
            rows.append([target, kernels, name, f"{fp.model:,}", f"{fp.framework:,}", f"{fp.kernels_total:,}",
                         f"{fp.runtime_library:,}", f"**{fp.flash_total:,}**", f"{fp.arena:,}", f"{fp.static_ram:,}",
                         f"{fp.stack:,}", f"**{fp.ram_total:,}**", f"{fp.image:,}", f"{seconds:.1f}"])
            splits.append(f"- {target} {kernels}, {name}: " + ", ".join(f"{op} {n:,}" for op, n in top)
                          + f"; TFLM static {fp.tflm_static:,}, interpreter+resolver {fp.runtime_objects:,}, "
                            f"C runtime static {fp.library_static:,}")
            print(" | ".join(rows[-1]), flush=True)
    text = ("# Whole firmware footprint (model + TFLM code, arena + runtime RAM)\n\n"
            f"{machine()}. Each model linked with exactly its operators (the export's op resolver) against "
            "the pinned TFLM (../shared/tflm) built by core/target/build.py: arm-none-eabi-gcc 12.2, -O2 "
            "kernels, -Os framework, -ffunction-sections and --gc-sections, TFLM's error strings kept (its "
            "default). Flash split by the link map: model data, TFLM framework, kernels (every operator's "
            "own bytes, measured by linking without it, and the kernel code several share), C runtime "
            "(newlib and libgcc functions TFLM calls; most of it is vsnprintf for TFLM's error messages). RAM: "
            "the arena TFLM used on that core, TFLM's static data plus the interpreter and resolver objects "
            "plus the C runtime's static data, and the deepest stack RunModel() (interpreter, "
            "AllocateTensors, one Invoke) reached, painted and read on QEMU. 'image' is the whole linked "
            "image with the measuring start-up and main (left out of the totals). 's' is the wall time of "
            "one measurement (compile of the op-set harness the first time, links, one emulated run). The "
            f"last four rows are TFLM built with {STRIP} (its error messages compiled out; the package "
            "must then be built the same way).\n\n"
            + markdown(["target", "kernels", "model", "model B", "framework B", "kernels B", "C runtime B",
                        "flash total B", "arena B", "static RAM B", "stack B", "RAM total B", "image B", "s"], rows)
            + "\n\nKernel code per operator (bytes):\n\n" + "\n".join(splits) + "\n\n"
            "## Beside ST's published figures\n\n"
            "ST's model zoo reports, for its HAR GMP wl24 int8 model with X-CUBE-AI 8.1 on an STM32 (Cortex-M4): "
            "weights 1.53 KiB, code 37.86 KiB, activations 4.73 KiB, runtime RAM 2.75 KiB. What differs in "
            "how each is measured: ST's 'code' is its own X-CUBE-AI runtime generated for that one model "
            "(no interpreter, no flatbuffer parsing, no error strings), from its own linker output; ours is "
            "TFLM's interpreter, allocator and flatbuffer reader plus the kernels of the model's operators "
            "and the C library pieces they call, from the GNU link map. ST's 'runtime RAM' is the runtime's "
            "static and stack needs as its tool states them; ours is TFLM's static data, the interpreter and "
            "resolver objects and the stack measured on the emulated core. Activations correspond to our "
            "arena, which also holds TFLM's persistent allocations (tensor and node structures). None of "
            "the four shared models is the HAR model: the study's CNN (23 KB of weights) is the nearest in "
            f"kind, and its TFLM code on the M4F with CMSIS-NN ({study.code:,} B) is {study.code / ST_CODE:.1f}x "
            f"ST's code figure ({ST_CODE:,} B); TFLM's framework ({study.framework:,} B) and the C runtime "
            f"({study.runtime_library:,} B) alone are {(study.framework + study.runtime_library) / ST_CODE:.1f}x it.\n")
    text += (f"\nWith TFLM's error strings stripped, the study CNN's firmware takes {stripped.flash_total:,} B of "
             f"flash instead of {study.flash_total:,} B ({stripped.flash_total / study.flash_total:.2f}x): the C runtime "
             f"falls from {study.runtime_library:,} B to {stripped.runtime_library:,} B and the framework from "
             f"{study.framework:,} B to {stripped.framework:,} B; TFLM's code is then {stripped.code / ST_CODE:.1f}x "
             "ST's figure.\n")
    write("footprint.md", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
