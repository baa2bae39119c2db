"""Memory budgets of common MCU boards (RAM for the TFLM arena, flash for the model). Qt-free."""

from __future__ import annotations

from dataclasses import dataclass

KB = 1024


@dataclass(frozen=True)
class Device:
    name: str
    ram: int  # bytes available to the tensor arena (the whole SRAM: leave room for the rest)
    flash: int

    def fits(self, flash_bytes: int | None, arena_bytes: int | None) -> tuple[bool, str]:
        problems = []
        if arena_bytes is not None and arena_bytes > self.ram:
            problems.append(f"arena {arena_bytes:,} B > RAM {self.ram:,} B")
        if flash_bytes is not None and flash_bytes > self.flash:
            problems.append(f"model {flash_bytes:,} B > flash {self.flash:,} B")
        return not problems, "; ".join(problems)


DEVICES = [
    Device("Cortex-M0+ (32 KB RAM / 256 KB flash)", 32 * KB, 256 * KB),
    Device("Arduino Nano 33 BLE / nRF52840 (256 KB / 1 MB)", 256 * KB, 1024 * KB),
    Device("STM32F746 (320 KB / 1 MB)", 320 * KB, 1024 * KB),
    Device("ESP32-S3 (512 KB / 8 MB)", 512 * KB, 8 * 1024 * KB),
    Device("Raspberry Pi Pico / RP2040 (264 KB / 2 MB)", 264 * KB, 2 * 1024 * KB),
    Device("STM32L4R5 (640 KB / 2 MB)", 640 * KB, 2 * 1024 * KB),
]
