"""The programs a target build and run need, and what to install when one is missing."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache

from core.errors import TargetError, TinyOptError

PACKAGES = "gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm gcc"
PROGRAMS = {"arm-none-eabi-g++": "gcc-arm-none-eabi", "arm-none-eabi-gcc": "gcc-arm-none-eabi",
            "arm-none-eabi-ar": "binutils-arm-none-eabi", "arm-none-eabi-nm": "binutils-arm-none-eabi",
            "qemu-system-arm": "qemu-system-arm", "gcc": "gcc"}


def require(*names: str) -> dict:
    """Paths of `names` (default: every program); a missing one is an error saying what to install."""
    names = names or tuple(PROGRAMS)
    found = {n: shutil.which(n) for n in names}
    missing = [n for n, p in found.items() if p is None]
    if missing:
        raise TargetError(f"Cortex-M targets need {', '.join(missing)}, which this machine lacks. Install "
                           f"them with: sudo apt-get install {PACKAGES} (Debian/Ubuntu; `make setup-target` "
                           "does it), then try again.")
    return found


def available() -> bool:
    try:
        require()
        return True
    except TinyOptError:
        return False


@lru_cache(maxsize=None)
def version(program: str) -> str:
    """First line of `program --version` (recorded with every build)."""
    out = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=30)
    return (out.stdout or out.stderr).splitlines()[0].strip() if (out.stdout or out.stderr) else "unknown"
