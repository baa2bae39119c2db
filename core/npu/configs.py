"""Arm Ethos-U NPU configurations: Vela's accelerator, system and memory configuration for each
NPU, and the boards that carry one (their NPU clock replaces the Arm configuration's). Qt-free.

The system configurations are Arm's (Vela's config_files/Arm/vela.ini): an MCU-class U55 or U85
with the weights in off-chip flash and the tensor arena in SRAM (Shared_Sram); a U65 with DRAM
behind an SRAM cache (Dedicated_Sram), as Arm describes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import TargetError

ARM_INI = "Arm/vela.ini"


@dataclass(frozen=True)
class Npu:
    name: str  # e.g. "ethos-u55-128": Vela's --accelerator-config
    system_config: str  # a section of Arm's vela.ini
    memory_mode: str
    clock_mhz: int = 0  # 0: the system configuration's own clock
    board: str = ""  # whose clock it is, for the label

    @property
    def system_name(self) -> str:
        """The system configuration Vela is given: Arm's, or one made for the board's clock."""
        if not self.clock_mhz:
            return self.system_config
        return f"{self.system_config}_at_{self.clock_mhz}MHz"

    @property
    def title(self) -> str:
        mac = self.name.rsplit("-", 1)
        text = f"Ethos-{mac[0].split('-')[-1].upper()}-{mac[1]}, {self.system_config}, {self.memory_mode}"
        return text + (f", {self.clock_mhz} MHz" + (f" ({self.board})" if self.board else "") if self.clock_mhz else "")


NPUS = {n.name: n for n in (
    Npu("ethos-u55-64", "Ethos_U55_High_End_Embedded", "Shared_Sram"),
    Npu("ethos-u55-128", "Ethos_U55_High_End_Embedded", "Shared_Sram"),
    Npu("ethos-u55-256", "Ethos_U55_High_End_Embedded", "Shared_Sram"),
    Npu("ethos-u65-256", "Ethos_U65_High_End", "Dedicated_Sram"),
    Npu("ethos-u85-256", "Ethos_U85_SYS_Flash_High", "Shared_Sram"),
)}


def find_npu(name: str, clock_mhz: int = 0, board: str = "") -> Npu:
    base = NPUS.get(name.lower())
    if base is None:
        raise TargetError(f"NPU '{name}' is unknown; NPUs: {', '.join(NPUS)}.")
    if not clock_mhz:
        return base
    return Npu(base.name, base.system_config, base.memory_mode, clock_mhz, board)
