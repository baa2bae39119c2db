"""The package's build for a Cortex-M: a Makefile that compiles the package's own sources (and,
unless given a prebuilt library, TFLM from a source tree) for the chosen CPU, a bare-metal start,
a linker script and a verification main that runs one inference in QEMU through semihosting."""

from __future__ import annotations

from core.export.c_source import CTYPES
from core.target.build import CMSIS_DEFINES, CXX_FLAGS, C_FLAGS, DEFINES, FIRMWARE, HEAP, STACK
from core.target.targets import Target
from core.target.tree import INCLUDES, REPLACED, UNUSED



def makefile(target: Target, kernels: str, tree_root: str, machine: str) -> str:
    includes = " ".join(f"-I$(TFLM_TREE)/{d}" if d != "." else "-I$(TFLM_TREE)" for d in INCLUDES)
    return f"""# Builds this model for {target.title} against a TensorFlow Lite Micro source tree.
#   make                      firmware build/model.elf (TFLM compiled from TFLM_TREE on first use)
#   make TFLM_LIB=path/libtflm.a   link a TFLM library already built for this CPU instead
#   make run                  run it in QEMU ({machine}): reads input.bin, writes output.bin
#   make size                 the image's sections (build/model.map: where each byte came from)
# Needs arm-none-eabi-gcc with newlib (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi
# libstdc++-arm-none-eabi-newlib) and qemu-system-arm for `make run`. See README.md.
TFLM_TREE ?= {tree_root}
KERNELS ?= {kernels}
CPU_FLAGS ?= {' '.join(target.cpu_flags)}
CXX := arm-none-eabi-g++
CC := arm-none-eabi-gcc
AR := arm-none-eabi-ar
DEFINES := {' '.join(DEFINES)}
ifeq ($(KERNELS),cmsis-nn)
DEFINES += {' '.join(CMSIS_DEFINES)}
endif
INCLUDES := -I. {includes}
CXXFLAGS := $(CPU_FLAGS) -O2 {' '.join(CXX_FLAGS)} $(DEFINES) $(INCLUDES)
CFLAGS := $(CPU_FLAGS) -O2 {' '.join(C_FLAGS)} $(DEFINES) $(INCLUDES)

KDIR := $(TFLM_TREE)/tensorflow/lite/micro/kernels
REPLACED := {' '.join(REPLACED)}
REFERENCE_KERNELS := $(patsubst %,$(KDIR)/%.cc,$(REPLACED))
UNUSED := $(addprefix %/,{' '.join(UNUSED)})
FRAMEWORK := $(filter-out $(REFERENCE_KERNELS) $(UNUSED),$(shell find $(TFLM_TREE)/tensorflow -name '*.cc' -not -path '*/cmsis_nn/*'))
ifeq ($(KERNELS),cmsis-nn)
KERNEL_SOURCES := $(wildcard $(KDIR)/cmsis_nn/*.cc) $(shell find $(TFLM_TREE)/third_party/cmsis_nn/Source -name '*.c')
else
KERNEL_SOURCES := $(REFERENCE_KERNELS)
endif
TFLM_OBJECTS := $(patsubst $(TFLM_TREE)/%,build/tflm/%.o,$(FRAMEWORK) $(KERNEL_SOURCES))
TFLM_LIB ?= build/libtflm.a

APP := build/main_example.o build/model_data.o build/verify_main.o build/startup.o

all: build/model.elf

build/tflm/%.cc.o: $(TFLM_TREE)/%.cc
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c $< -o $@
{_fixes(target)}
build/tflm/%.c.o: $(TFLM_TREE)/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

build/libtflm.a: $(TFLM_OBJECTS)
	$(AR) rcs $@ $^

build/%.o: %.cc model_settings.h op_resolver.h model_data.h
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c $< -o $@

build/startup.o: startup.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

build/model.elf: $(APP) $(TFLM_LIB) link.ld
	$(CXX) $(CPU_FLAGS) --specs=rdimon.specs -nostartfiles -T link.ld -Wl,--gc-sections -Wl,-Map=build/model.map,--cref $(APP) $(TFLM_LIB) -lm -o $@

size: build/model.elf
	arm-none-eabi-size -A $<

run: build/model.elf
	qemu-system-arm -M {machine} -nographic -monitor none -semihosting-config enable=on,target=native -kernel $<

clean:
	rm -rf build

.PHONY: all run size clean
"""


def _fixes(target: Target) -> str:
    """Per-file flags that work around this compiler on this core (e.g. MVE if-conversion)."""
    return "".join(f"\nbuild/tflm/{name}.o: CXXFLAGS += {' '.join(extra)}\n" for name, extra in target.fix_files)


def link_script(target: Target) -> str:
    script = (FIRMWARE / "link.ld.in").read_text()
    for key, value in {"CODE_ORIGIN": hex(target.code[0]), "CODE_LENGTH": hex(target.code[1]),
                       "DATA_ORIGIN": hex(target.data[0]), "DATA_LENGTH": hex(target.data[1]),
                       "HEAP": hex(HEAP), "STACK": hex(STACK)}.items():
        script = script.replace(f"@{key}@", value)
    return script.replace("generated per target by core/target/build.py", f"for {target.title} (QEMU {target.machine})")


def startup_c() -> str:
    return (FIRMWARE / "startup.c").read_text()


def verify_main_cc(settings: dict) -> str:
    in_t = CTYPES.get(settings["input"]["dtype"], "int8_t")
    out_t = CTYPES.get(settings["output"]["dtype"], "int8_t")
    return f"""// Runs one inference on a Cortex-M (or QEMU with semihosting): reads input.bin
// (kInputElements values), writes output.bin (kOutputElements values), prints the top class.
#include <cstdint>
#include <cstdio>

#include "model_settings.h"
#include "tensorflow/lite/c/common.h"

TfLiteStatus RunModel(const {in_t}* input, {out_t}* output);
int TopClass(const {out_t}* output);

int main() {{
  static {in_t} input[kInputElements];
  static {out_t} output[kOutputElements];
  FILE* in = fopen("input.bin", "rb");
  if (!in || fread(input, sizeof input[0], kInputElements, in) != static_cast<size_t>(kInputElements)) {{
    printf("error cannot read %d input values from input.bin\\n", kInputElements);
    return 2;
  }}
  fclose(in);
  if (RunModel(input, output) != kTfLiteOk) {{
    printf("error the model did not load or run with kTensorArenaSize = %d\\n", kTensorArenaSize);
    return 3;
  }}
  FILE* out = fopen("output.bin", "wb");
  if (!out) return 2;
  fwrite(output, sizeof output[0], kOutputElements, out);
  fclose(out);
  printf("ok top %d\\n", TopClass(output));
  return 0;
}}
"""


def readme(target: Target, kernels: str, tree_root: str, commit: str, settings: dict, prefix: str) -> str:
    return f"""# {settings.get('package', 'model')}: TFLM package for {target.title}

Files: `model.tflite` (the model), `model_data.cc`/`.h` (it as a C array, `{prefix}`), `op_resolver.h`
(exactly the operators it uses), `model_settings.h` (arena size, input and output shapes and
quantization), `main_example.cc` (`RunModel()` and `TopClass()`), `report.html`/`report.json`
(what was measured), `recipe.json` (how it was made).

## Build for {target.title}

`Makefile` compiles the package's sources and TFLM for `{' '.join(target.cpu_flags)}` with
{kernels} kernels, from a TFLM source tree made with TFLM's `create_tflm_tree.py` (with
`OPTIMIZED_KERNEL_DIR=cmsis_nn`; this package was made against tflite-micro commit {commit}):

```
make TFLM_TREE=/path/to/tflm        # build/model.elf; TFLM is compiled once (several minutes)
make TFLM_LIB=/path/to/libtflm.a    # or link a TFLM library already built for this CPU
make run                            # runs it in QEMU: input.bin in, output.bin out
```

`startup.c`, `link.ld` and `verify_main.cc` make a bare-metal image for QEMU's `{target.machine}`; in
your firmware keep `main_example.cc`, `model_data.cc` and the headers, and use your board's start-up
code. The same compile defines must be used for TFLM and for these files (see `DEFINES` in the
Makefile): they change TFLM's data structures.

## Arena

`kTensorArenaSize` = {settings['arena_size']:,} bytes: {settings['arena_measured']:,} measured ({settings.get('arena_measured_on', 'host TFLM')})
plus a {settings['arena_margin']:,}-byte margin. The model was checked to load at both sizes.
""" + _footprint_readme(settings.get("footprint"))


def _footprint_readme(fp: dict | None) -> str:
    """How much flash and RAM the whole firmware takes, and how to check it with your toolchain."""
    if not fp:
        return ""
    return f"""
## Firmware footprint

Measured on {fp['target']} with {fp['kernels']} kernels (the model linked with exactly its operators, the
same flags as this Makefile; the stack painted and read after one inference in QEMU):

| flash | bytes | | RAM | bytes |
|---|---|---|---|---|
| model data | {fp['model']:,} | | arena (kTensorArenaSize) | {fp['arena']:,} |
| TFLM framework | {fp['framework']:,} | | TFLM static data | {fp['tflm_static']:,} |
| kernels | {fp['kernels_total']:,} | | interpreter and op resolver | {fp['runtime_objects']:,} |
| C runtime (newlib, libgcc) | {fp['runtime_library']:,} | | C runtime static data | {fp['library_static']:,} |
| | | | stack (deepest, RunModel) | {fp['stack']:,} |
| **total** | **{fp['flash_total']:,}** | | **total** | **{fp['ram_total']:,}** |

Your start-up code, main and drivers come on top (the measuring harness's own {fp['harness']:,} B are left
out). To see the same split with your toolchain: `make size` prints the image's sections, and
`build/model.map` (written by the link, with `--cref`) names the object every byte came from:
sum the `libtflm.a(...)` members for TFLM, `model_data.o` for the model. This package's `verify_main.cc`
reads files through semihosting with `printf`, so its image is larger than your firmware's will be.
Most of the C runtime is newlib's `vsnprintf`, pulled in by TFLM's error messages: building TFLM and
this package with `-DTF_LITE_STRIP_ERROR_STRINGS` drops most of it with the messages (measured on the
Cortex-M4F with CMSIS-NN: 41-45 KB less flash for each of TinyOpt's four reference models).
"""
