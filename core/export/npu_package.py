"""An export for an Ethos-U device: the CPU package's files with the model compiled by Vela (one
`ethos-u` custom operator per NPU part), `AddEthosU()` in the op resolver, the NPU driver started in
the example main, and a Makefile that compiles Arm's driver and TFLM's `ethos-u` operator from an
Ethos-U tree (../shared/ethos-u, or the user's copy).

Nothing here emulates the NPU, so the arena is an estimate (Vela's SRAM for the model's tensors plus
TFLM's persistent allocations measured for the CPU form) and says so; `verify_npu_package` builds and
links the package for the Cortex-M55 but cannot run it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from core.errors import ExportError

ENV = "TINYOPT_ETHOSU_TREE"
NPU_ADD = "AddEthosU"
# Corstone-300 (MPS3 AN547, Arm's FVP) has its Ethos-U55 here; a board's is in its reference manual.
DEFAULT_BASE = "0x48102000"
ARENA_MARGIN = 1024  # as core/export/package.py's
CMSIS_SHIM = "m-profile/cmsis_gcc_m.h"  # found through the Makefile's -I. (see npu_files)


def ethosu_root() -> Path | None:
    """The Ethos-U tree: $TINYOPT_ETHOSU_TREE, else ../shared/ethos-u beside the checkout."""
    given = os.environ.get(ENV)
    root = Path(given) if given else Path(__file__).resolve().parents[2].parent / "shared" / "ethos-u"
    return root if (root / "driver" / "src" / "ethosu_driver.c").is_file() else None


def npu_settings(artifact, npu, settings: dict, measured: tuple | None = None):
    """Compile the model with Vela for `npu` and put what the package needs in `settings`: the arena
    `measured` ((bytes used, where), from `measure_arena`), else Vela's estimate; Vela's report, with
    the compiled model."""
    from core.measure.tflm_check import check_tflm
    from core.npu.vela import compile_for

    if npu.memory_mode != "Shared_Sram":
        raise ExportError(f"Export for {npu.title}: only Shared_Sram configurations (the arena in SRAM, the "
                          "weights in flash: Ethos-U55 and U85 boards) are packaged so far.")
    report = compile_for(artifact.data, npu, artifact.name)
    tail = check_tflm(artifact.data).arena_tail or 0
    estimate = report.sram_bytes + tail
    size = (estimate + ARENA_MARGIN + 15) // 16 * 16
    settings.update(
        arena_measured=estimate, arena_margin=size - estimate, arena_size=size,
        arena_estimate=(f"an estimate: Vela's SRAM for the model's tensors ({report.sram_bytes:,} B) plus "
                        f"TFLM's persistent allocations of the CPU form ({tail:,} B, host TFLM); not measured, "
                        "as nothing here runs the NPU"),
        npu=npu.title, npu_label=report.label, npu_ops=len(report.npu_ops), cpu_ops=[o.op for o in report.cpu_ops],
        ethosu_arch=npu.name.split("-")[1])
    for key in ("arena_measured_on", "arena_target", "arena_used_on_target"):
        settings.pop(key, None)  # those were the CPU form's
    if measured is not None:
        used, where = measured
        size = (used + 16 + ARENA_MARGIN + 15) // 16 * 16
        settings.update(arena_measured=used + 16, arena_margin=size - used - 16, arena_size=size, arena_estimate="",
                        arena_measured_on=where, arena_used_on_target=used)
    return report


def npu_files(files: dict, report, settings: dict, prefix: str, provenance: str) -> dict:
    """`files` (the package's, as bytes) with the Vela-compiled model, its resolver, the NPU start
    and build."""
    from core.analysis.tflite_reader import op_names, read_model
    from core.export.c_source import main_example_cc, model_data_cc
    from core.export.op_resolver import op_resolver_header

    ops = op_names(read_model(report.compiled, "the Vela-compiled model"))
    text = {
        "model_data.cc": model_data_cc(prefix, report.compiled, provenance + f" Compiled by Vela {report.vela}."),
        "op_resolver.h": op_resolver_header(ops),
        "main_example.cc": _with_npu_start(main_example_cc(prefix, settings)),
        "Makefile": _with_npu_build(files["Makefile"].decode(), settings["ethosu_arch"]),
        "README.md": files["README.md"].decode() + _readme(report, settings),
        ARENA_MAIN: _arena_main(prefix),
    }
    text[CMSIS_SHIM] = ("// TFLM's copy of CMSIS-Core (third_party/cmsis) leaves out its M-profile part, which\n"
                        "// cmsis_gcc.h includes last. The Ethos-U driver needs only __WFE() and __SEV(), which\n"
                        "// cmsis_gcc.h defines itself, so this stand-in is empty. With a full CMSIS-Core, delete it.\n")
    out = dict(files, **{k: v.encode() for k, v in text.items()})
    out["model.tflite"] = report.compiled
    return out


ARENA_MAIN = "npu_arena_main.cc"


def _arena_main(prefix: str) -> str:
    return f"""// Checks the arena without the NPU: TFLM's AllocateTensors() plans every tensor and prepares the
// ethos-u operator, which does not touch the NPU until Invoke(). `make arena` runs it in QEMU (the
// Cortex-M55 without an NPU) and prints the bytes the model uses of kTensorArenaSize.
#include <cstdio>

#include "model_data.h"
#include "model_settings.h"
#include "op_resolver.h"
#include "tensorflow/lite/micro/micro_interpreter.h"

namespace {{
alignas(16) uint8_t tensor_arena[kTensorArenaSize];
}}

int main() {{
  static ModelOpResolver resolver;
  if (RegisterOps(resolver) != kTfLiteOk) {{
    printf("error the operators could not be registered\\n");
    return 3;
  }}
  tflite::MicroInterpreter interpreter(tflite::GetModel({prefix}), resolver, tensor_arena, kTensorArenaSize);
  if (interpreter.AllocateTensors() != kTfLiteOk) {{
    printf("error the model does not allocate in kTensorArenaSize = %d\\n", kTensorArenaSize);
    return 3;
  }}
  printf("ok arena %u of %d\\n", static_cast<unsigned>(interpreter.arena_used_bytes()), kTensorArenaSize);
  return 0;
}}
"""


def _with_npu_start(main: str) -> str:
    """The example main with the NPU driver started once before the first interpreter."""
    main = main.replace('#include "model_data.h"', '#include "ethosu_driver.h"\n#include "model_data.h"')
    start = f"""
#ifndef ETHOSU_BASE_ADDRESS
#define ETHOSU_BASE_ADDRESS {DEFAULT_BASE}  // Corstone-300 (MPS3 AN547); set your board's NPU base address
#endif

namespace {{
struct ethosu_driver npu_driver;
}}

// Route the NPU's interrupt here (its vector is board-specific: Corstone-300 uses IRQ 56).
extern "C" void ETHOSU_IRQHandler(void) {{ ethosu_irq_handler(&npu_driver); }}

// Starts the NPU driver once (non-secure, privileged: change for your board); kTfLiteOk when it runs.
TfLiteStatus StartNpu() {{
  static const bool started =
      ethosu_init(&npu_driver, reinterpret_cast<void*>(ETHOSU_BASE_ADDRESS), nullptr, 0, 0, 1) == 0;
  return started ? kTfLiteOk : kTfLiteError;
}}
"""
    main = main.replace("// Runs one inference:", start.lstrip("\n") + "\n// Runs one inference:", 1)
    return main.replace("  if (!registered) return kTfLiteError;\n",
                        "  if (!registered) return kTfLiteError;\n  if (StartNpu() != kTfLiteOk) return kTfLiteError;\n", 1)


def _with_npu_build(makefile: str, arch: str) -> str:
    import re

    root = ethosu_root()
    found = re.search(r"qemu-system-arm -M (\S+)", makefile)
    machine = found.group(1) if found else "mps3-an547"
    block = f"""
# Ethos-U: Arm's NPU driver and TFLM's ethos-u operator, compiled from an Ethos-U tree (the layout of
# TinyOpt's ../shared/ethos-u: driver/ and tflm_kernel/). TFLM's own kernels/ethosu.cc is an empty
# stand-in for the operator; the real one below is linked first, so the stand-in is never used.
ETHOSU_ROOT ?= {root or '/path/to/ethos-u'}
ETHOSU_ARCH ?= {arch}
ETHOSU_DRIVER := $(ETHOSU_ROOT)/driver
ETHOSU_KERNEL := $(ETHOSU_ROOT)/tflm_kernel/tensorflow/lite/micro/kernels/ethos_u/ethosu.cc
ETHOSU_DEVICE := $(if $(filter u85,$(ETHOSU_ARCH)),ethosu_device_u85.c,ethosu_device_u55_u65.c)
ETHOSU_FLAGS := -DETHOSU_ARCH=$(ETHOSU_ARCH) -DETHOSU$(subst u,,$(ETHOSU_ARCH)) -DETHOSU_LOG_SEVERITY=ETHOSU_LOG_WARN \\
	-I$(ETHOSU_DRIVER)/include
CXXFLAGS += $(ETHOSU_FLAGS)
CFLAGS += $(ETHOSU_FLAGS)
TFLM_OBJECTS := $(filter-out build/tflm/tensorflow/lite/micro/kernels/ethosu.cc.o,$(TFLM_OBJECTS))
APP += build/npu/ethosu.o build/npu/ethosu_driver.o build/npu/ethosu_pmu.o build/npu/ethosu_device.o

build/npu/ethosu.o: $(ETHOSU_KERNEL)
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c $< -o $@

build/npu/ethosu_device.o: $(ETHOSU_DRIVER)/src/$(ETHOSU_DEVICE)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

build/npu/%.o: $(ETHOSU_DRIVER)/src/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

# `make arena`: the model allocated without the NPU (npu_arena_main.cc), in QEMU: the arena it uses.
ARENA_APP := build/npu_arena_main.o build/model_data.o build/startup.o $(filter build/npu/%,$(APP))
build/arena.elf: $(ARENA_APP) $(TFLM_LIB) link.ld
	$(CXX) $(CPU_FLAGS) --specs=rdimon.specs -nostartfiles -T link.ld -Wl,--gc-sections $(ARENA_APP) $(TFLM_LIB) -lm -o $@

arena: build/arena.elf
	qemu-system-arm -M {machine} -nographic -monitor none -semihosting-config enable=on,target=native -kernel $<
"""
    if "\nall: build/model.elf" not in makefile:
        raise ExportError("The package's Makefile has no 'all' rule to add the NPU build before.")
    makefile = makefile.replace("\nall: build/model.elf", block + "\nall: build/model.elf", 1)
    return makefile.replace("#   make run                  run it in QEMU",
                            "#   (an Ethos-U build: `make run` needs the board or Arm's FVP; QEMU has no NPU)\n"
                            "#   make run                  run it in QEMU", 1)


def _readme(report, settings: dict) -> str:
    cpu = ", ".join(settings["cpu_ops"]) or "none"
    return f"""
## Ethos-U ({settings['npu']})

`model.tflite` and `model_data.cc` hold the model compiled by Vela {report.vela}: {len(report.npu_ops)}
operator(s) run on the NPU inside one `ethos-u` custom operator; on the CPU: {cpu}. `op_resolver.h`
registers it with `AddEthosU()`. `main_example.cc` starts Arm's NPU driver (`ethosu_init()` at
`ETHOSU_BASE_ADDRESS`, default {DEFAULT_BASE} for Corstone-300) and needs the NPU's interrupt routed to
`ETHOSU_IRQHandler()`. The Makefile compiles the driver and the operator from `ETHOSU_ROOT`
(`ETHOSU_ARCH={settings['ethosu_arch']}`). `make arena` allocates the model without the NPU in QEMU
(`npu_arena_main.cc`: TFLM prepares the ethos-u operator without touching the NPU) and prints the
arena it uses.

The arena (`kTensorArenaSize` = {settings['arena_size']:,} bytes) is {settings['arena_estimate'] or
    'measured: ' + settings['arena_measured_on'] + ', plus a margin'}.
Vela's figures: {report.npu_cycles:,} NPU cycles, {report.total_cycles:,} with memory, ~{report.inference_ms:.3f} ms
at {report.clock_hz / 1e6:g} MHz, SRAM {report.sram_bytes:,} B, flash {report.flash_bytes:,} B ({report.label}).

Running it needs the board or Arm's Corstone FVP: QEMU's mps3-an547 has the Cortex-M55 without the NPU.
"""


def measure_arena(folder, runner) -> tuple[int, int, int]:
    """Build the package in `folder` for the runner's Cortex-M, check the ethos-u operator and the
    driver are linked, and allocate its model in QEMU without the NPU (npu_arena_main.cc):
    (arena bytes used, kTensorArenaSize, image bytes). An ExportError says what failed."""
    from core.export.verify import TIMEOUT_S, _image_bytes
    from core.probes.isolation import temp_dir
    from core.target.targets import get

    root = ethosu_root()
    if root is None:
        raise ExportError(f"No Ethos-U tree to build the driver from: put it at ../shared/ethos-u or set {ENV}.")
    target = get(runner.target)
    with temp_dir("verify") as tmp:
        work = Path(tmp) / "package"
        shutil.copytree(folder, work)
        make = subprocess.run(["make", "-C", str(work), "-j2", "build/model.elf", "build/arena.elf",
                               f"TFLM_TREE={runner.info['tree']}", f"TFLM_LIB={runner.folder / 'libtflm.a'}",
                               f"KERNELS={runner.kernels}", f"ETHOSU_ROOT={root}"],
                              capture_output=True, text=True, timeout=TIMEOUT_S)
        if make.returncode != 0:
            raise ExportError(f"The NPU package does not build for {target.title}:\n{(make.stderr or make.stdout)[-1500:]}")
        elf = work / "build" / "model.elf"
        table = subprocess.run(["arm-none-eabi-nm", "-C", str(elf)], capture_output=True, text=True).stdout
        missing = [name for name in ("ethosu_init", "ethosu_reserve_driver", "tflite::Register_ETHOSU()")
                   if not any(name in line and line.split()[1] in "Tt" for line in table.splitlines()
                              if len(line.split()) > 2)]
        if missing:
            raise ExportError("The NPU package links without " + ", ".join(missing) + ": the ethos-u operator "
                              "or the driver is not in the image.")
        size = _image_bytes(elf)
        proc = subprocess.run(["qemu-system-arm", "-M", target.machine, "-nographic", "-monitor", "none",
                               "-semihosting-config", "enable=on,target=native", "-kernel",
                               str(work / "build" / "arena.elf")], cwd=work, capture_output=True, text=True,
                              timeout=TIMEOUT_S)
        said = proc.stdout.strip()
        if proc.returncode != 0 or not said.startswith("ok arena"):
            raise ExportError(f"The NPU package's model did not allocate on {target.title} (QEMU, without "
                              f"the NPU): {said or proc.stderr.strip()[-300:]}")
        used, declared = (int(v) for v in said.split()[2::2])
    return used, declared, size


def where_measured(runner) -> str:
    from core.target.targets import get

    t = get(runner.target)
    return (f"{t.title} with {runner.kernels} kernels (QEMU {t.machine}: AllocateTensors with the ethos-u "
            "operator, the NPU not invoked)")


def verify_npu_package(folder, runner) -> str:
    """Build and link the NPU package for the runner's Cortex-M and allocate its model there; it
    cannot run here, and the message says so."""
    from core.target.targets import get

    used, declared, size = measure_arena(folder, runner)
    return (f"Built for {get(runner.target).title} with the Ethos-U driver and TFLM's ethos-u operator linked "
            f"({size:,} B image). Allocated in QEMU without the NPU: the model uses {used:,} B of the "
            f"kTensorArenaSize {declared:,} B (measured). Not run: QEMU has no NPU; running it needs the "
            "board or Arm's Corstone FVP.")
