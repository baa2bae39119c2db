"""Small helpers shared by the bench scripts: Markdown tables and result files."""

from __future__ import annotations

import platform
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def markdown(head: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def machine() -> str:
    import os

    return (f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}")


def write(name: str, text: str) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / name
    path.write_text(text)
    print(text)
    print(f"\n(written to {path})")
    return path
