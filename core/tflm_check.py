"""Does a model run on the real TFLM runtime, and how much arena does it need?

The check runs `core.tflm_probe` in a child process: TFLM aborts the process on some models, and
we report that as "not runnable" with the op and the reason instead of dying with it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

TIMEOUT_S = 120


@dataclass
class TflmResult:
    """Outcome of loading and invoking a model on TFLM (RecordingMicroAllocator figures)."""

    runs: bool
    reason: str = ""
    arena_total: int | None = None
    arena_head: int | None = None
    arena_tail: int | None = None
    arena_verified: int | None = None  # smallest size (16-byte steps from the total) that worked

    def to_dict(self) -> dict:
        return asdict(self)


def check_tflm(data: bytes, *, timeout: float = TIMEOUT_S) -> TflmResult:
    """Load and invoke `data` on TFLM in a child process and report the arena it used."""
    with tempfile.TemporaryDirectory(prefix="tinyopt-tflm-") as tmp:
        model = Path(tmp) / "model.tflite"
        model.write_bytes(data)
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        try:
            proc = subprocess.run([sys.executable, "-m", "core.tflm_probe", str(model)],
                                  capture_output=True, timeout=timeout, env=env, cwd=tmp)
        except subprocess.TimeoutExpired:
            return TflmResult(False, f"TFLM did not finish within {timeout:.0f} s.")
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        return TflmResult(False, _crash_reason(proc.returncode, err, data))
    try:
        res = json.loads(out[out.index("{"):])
    except ValueError:
        return TflmResult(False, "TFLM check produced no result: " + _last_lines(err or out))
    if not res.get("runs"):
        return TflmResult(False, _failure_reason(res.get("log", ""), res.get("error", ""), data))
    return TflmResult(True, "", res.get("arena_total"), res.get("arena_head"),
                      res.get("arena_tail"), res.get("arena_verified"))


def _crash_reason(code: int, err: str, data: bytes) -> str:
    sig = -code if code < 0 else None
    what = f"signal {signal.Signals(sig).name}" if sig and sig in signal.Signals._value2member_map_ \
        else f"exit code {code}"
    detail = _failure_reason(err, "", data)
    return f"TFLM aborted the process ({what}). {detail}".strip()


_NODE = re.compile(r"Node (\w+) \(number (\d+)\w*\) failed to (prepare|invoke)")
_MISSING = re.compile(r"Didn't find op for builtin opcode '(\w+)'")


def _failure_reason(log: str, error: str, data: bytes) -> str:
    if "Hybrid models are not supported" in log:
        return ("Hybrid model: float activations with int8 weights (dynamic-range quantization) "
                "are not supported by TFLM; use integer-only or full-integer quantization.")
    m = _MISSING.search(log)
    if m:
        return f"TFLM has no kernel for op {m.group(1)}."
    m = _NODE.search(log)
    if m:
        lines = _meaningful(log)
        cause = next((ln for ln in lines if "failed to" not in ln), "")
        return f"Op {m.group(1)} (node {m.group(2)}) failed to {m.group(3)} on TFLM" + \
            (f": {cause}" if cause else ".")
    text = _last_lines(log) or error
    return f"TFLM could not run the model: {text}" if text else "TFLM could not run the model."


def _meaningful(log: str) -> list[str]:
    skip = ("RecordingMicroAllocator", "WARNING", "absl::")
    return [ln.strip() for ln in log.splitlines() if ln.strip() and not ln.startswith(skip)]


def _last_lines(log: str, n: int = 2) -> str:
    return " ".join(_meaningful(log)[-n:])[:400]
