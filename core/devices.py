"""Common MCU boards: memory budgets (RAM for the TFLM arena, flash for the model), CPU and clock,
the emulated target that stands for the CPU (None where QEMU has no such core), and the Ethos-U
NPU beside it, if any (core/npu/configs.py: Vela's configuration, at the board's NPU clock). Qt-free."""

from __future__ import annotations

from dataclasses import dataclass

KB = 1024


@dataclass(frozen=True)
class Device:
    name: str
    ram: int  # bytes available to the tensor arena (the whole SRAM: leave room for the rest)
    flash: int
    cpu: str = ""  # e.g. "Cortex-M4F @ 64 MHz"
    target: str | None = None  # core.target.targets name measured for it, None: not emulated
    clock_mhz: int = 0
    npu: str = ""  # core.npu.configs name, e.g. "ethos-u55-128"; "" for none
    npu_clock_mhz: int = 0  # 0: the Arm configuration's clock

    def npu_config(self):
        """The board's NPU as Vela compiles for it (None without one)."""
        from core.npu.configs import find_npu

        return find_npu(self.npu, self.npu_clock_mhz, self.name.split(" (")[0]) if self.npu else None

    @property
    def target_text(self) -> str:
        if self.target:
            text = f"{self.cpu}: measured on an emulated {self.target} (QEMU)"
        else:
            text = f"{self.cpu}: no emulated core for it; host figures only" if self.cpu else "host figures only"
        if self.npu:
            text += f"; {self.npu_config().title}: Vela's estimates (nothing here emulates the NPU)"
        return text

    def fits(self, flash_bytes: int | None, arena_bytes: int | None) -> tuple[bool, str]:
        problems = []
        if arena_bytes is not None and arena_bytes > self.ram:
            problems.append(f"arena {arena_bytes:,} B > RAM {self.ram:,} B")
        if flash_bytes is not None and flash_bytes > self.flash:
            problems.append(f"model {flash_bytes:,} B > flash {self.flash:,} B")
        return not problems, "; ".join(problems)


def find(name: str) -> Device:
    """The device whose name contains `name` (case-insensitive); an error lists the choices."""
    from core.errors import TargetError, setting

    hits = [d for d in DEVICES if name.lower() in d.name.lower()]
    if len(hits) != 1:
        raise TargetError(f"Device '{name}' {'matches several' if hits else 'is unknown'}; devices: "
                           + "; ".join(d.name for d in DEVICES) + f". Or give {setting('device_budget')}.")
    return hits[0]


DEVICES = [
    Device("Cortex-M0+ (32 KB RAM / 256 KB flash)", 32 * KB, 256 * KB, "Cortex-M0+ @ 48 MHz", None, 48),
    Device("Arduino Nano 33 BLE / nRF52840 (256 KB / 1 MB)", 256 * KB, 1024 * KB, "Cortex-M4F @ 64 MHz",
           "cortex-m4f", 64),
    Device("STM32F746 (320 KB / 1 MB)", 320 * KB, 1024 * KB, "Cortex-M7 @ 216 MHz", "cortex-m7", 216),
    Device("ESP32-S3 (512 KB / 8 MB)", 512 * KB, 8 * 1024 * KB, "Xtensa LX7 @ 240 MHz", None, 240),
    Device("Raspberry Pi Pico / RP2040 (264 KB / 2 MB)", 264 * KB, 2 * 1024 * KB, "Cortex-M0+ @ 133 MHz",
           None, 133),
    Device("STM32L4R5 (640 KB / 2 MB)", 640 * KB, 2 * 1024 * KB, "Cortex-M4F @ 120 MHz", "cortex-m4f", 120),
    Device("Cortex-M55 board (512 KB / 2 MB)", 512 * KB, 2 * 1024 * KB, "Cortex-M55 @ 400 MHz", "cortex-m55", 400),
    # Boards with an Arm Ethos-U NPU: the CPU part of a model is measured on the emulated M55 where
    # the board has one; the NPU part is Vela's estimate at the board's NPU clock.
    Device("Alif Ensemble E7, HP core (Cortex-M55 + Ethos-U55-256; 4 MB SRAM0 / 5.5 MB MRAM)", 4 * 1024 * KB,
           5632 * KB, "Cortex-M55 @ 400 MHz", "cortex-m55", 400, "ethos-u55-256", 400),
    Device("Himax WE2 (Cortex-M55 + Ethos-U55-64; 2 MB SRAM / 16 MB flash)", 2 * 1024 * KB, 16 * 1024 * KB,
           "Cortex-M55 @ 400 MHz", "cortex-m55", 400, "ethos-u55-64", 400),
    Device("Arm Corstone-300 / MPS3 AN547 (Cortex-M55 + Ethos-U55-128; 4 MB / 4 MB)", 4 * 1024 * KB,
           4 * 1024 * KB, "Cortex-M55 @ 32 MHz", "cortex-m55", 32, "ethos-u55-128"),
    Device("Renesas RA8P1 (Cortex-M85 @ 1 GHz + Ethos-U55-256; 2 MB SRAM / 1 MB MRAM)", 2 * 1024 * KB,
           1024 * KB, "Cortex-M85 @ 1000 MHz", None, 1000, "ethos-u55-256", 500),
    Device("Arm Corstone-320 (Cortex-M85 + Ethos-U85-256; 4 MB / 4 MB)", 4 * 1024 * KB, 4 * 1024 * KB,
           "Cortex-M85", None, 0, "ethos-u85-256"),
]
