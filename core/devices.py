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
    def stand_in(self) -> str | None:
        """For a CPU with no emulated core: the built core whose TFLM code and RAM stand in for it
        (an estimate, labelled so): Helium's M55 for an M85, else the M4F."""
        if self.target or not self.cpu:
            return None
        return "cortex-m55" if "M85" in self.cpu else "cortex-m4f"

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
        """The model's bytes and its arena against the budgets (what `judge` falls back to)."""
        problems = []
        if arena_bytes is not None and arena_bytes > self.ram:
            problems.append(f"arena {arena_bytes:,} B > RAM {self.ram:,} B")
        if flash_bytes is not None and flash_bytes > self.flash:
            problems.append(f"model {flash_bytes:,} B > flash {self.flash:,} B")
        return not problems, "; ".join(problems)

    def judge(self, m) -> tuple[bool, str]:
        """Does variant `m` (core.measure.evaluation.Metrics) fit, all of it: the firmware's flash
        (model + the TFLM code it links) and RAM (arena + TFLM's own data + stack) where its
        footprint was measured; else the model's bytes and arena, and the reason says so."""
        fp = getattr(m, "footprint", None)
        if fp is None:
            on = getattr(m, "target", None)
            arena = on.arena_used if on is not None else (m.tflm.arena_total if m.tflm else None)
            fits, why = self.fits(m.size_bytes if m.kind == "tflite" else None, arena)
            basis = ("model bytes and arena only: the TFLM code and runtime RAM were not measured"
                     + (f" ({m.footprint_note})" if getattr(m, "footprint_note", "") else
                        " (choose a device with an emulated core)"))
            return fits, "; ".join(x for x in (why, basis) if x)
        problems = []
        if fp.flash_total > self.flash:
            problems.append(f"firmware flash {fp.flash_total:,} B (model {fp.model:,} + TFLM code {fp.code:,}) "
                            f"> flash {self.flash:,} B")
        if fp.ram_total > self.ram:
            problems.append(f"firmware RAM {fp.ram_total:,} B (arena {fp.arena:,} + runtime {fp.static_ram:,} + "
                            f"stack {fp.stack:,}) > RAM {self.ram:,} B")
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
