"""Cortex-M targets: TFLM with CMSIS-NN or reference kernels, built with arm-none-eabi-gcc from a
pinned source tree, run in QEMU with an instruction-counting plugin (Qt-free, like all of core)."""
