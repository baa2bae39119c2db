"""Does a model run on the real TFLM runtime, and how much arena does it need?

The check runs `core.probes.tflm_probe` in child processes: TFLM aborts the process on some models (and
on some too-small arenas), and we report that as "not runnable" with the op and the reason instead
of dying with it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from core.probes.isolation import describe_crash, run_probe, temp_dir

TIMEOUT_S = 120
VERIFY_RESTARTS = 8


@dataclass
class TflmResult:
    """Outcome of loading and invoking a model on TFLM (RecordingMicroAllocator figures)."""

    runs: bool
    reason: str = ""
    arena_total: int | None = None
    arena_head: int | None = None
    arena_tail: int | None = None
    arena_verified: int | None = None  # smallest size (16-byte steps up from the total) that worked

    def to_dict(self) -> dict:
        return asdict(self)


def _probe(model: Path, log: Path, *extra: str, timeout: float):
    proc = run_probe("core.probes.tflm_probe", "--tflm-probe", [str(model), str(log), *extra],
                     timeout=timeout, cwd=str(model.parent))
    crash_log = log.read_text("utf-8", "replace") if log.exists() else ""
    return proc, proc.stdout.decode("utf-8", "replace"), crash_log + proc.stderr.decode("utf-8", "replace")


def check_tflm(data: bytes, *, timeout: float = TIMEOUT_S, verify: bool = True) -> TflmResult:
    """Load and invoke `data` on TFLM in a child process and report the arena it used (measured
    once per set of bytes: core.cache).

    With `verify`, also find the smallest arena (from the reported total up, in 16-byte steps)
    at which the model really loads and invokes: that is the size to recommend.
    """
    from core.cache import once, peek

    if not verify:  # a verified result answers an unverified question too
        known = peek("tflm", data, (True, _arena_option()), runtime=RUNTIME)
        if known is not None:
            return known
    return once("tflm", data, (verify, _arena_option()), lambda: _check(data, timeout, verify), runtime=RUNTIME)


RUNTIME = "tflite-micro"


def _arena_option() -> str:
    return os.environ.get("TINYOPT_TFLM_ARENA", "")


def _check(data: bytes, timeout: float, verify: bool) -> TflmResult:
    with temp_dir("tflm") as tmp:
        model, log = Path(tmp) / "model.tflite", Path(tmp) / "tflm.log"
        model.write_bytes(data)
        try:
            proc, out, err = _probe(model, log, timeout=timeout)
        except subprocess.TimeoutExpired:
            return TflmResult(False, f"TFLM did not finish within {timeout:.0f} s.")
        if proc.returncode != 0:
            return TflmResult(False, _crash_reason(proc.returncode, err))
        try:
            res = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return TflmResult(False, "TFLM check produced no result: " + _last_lines(err))
        if not res.get("runs"):
            return TflmResult(False, _failure_reason(res.get("log", ""), res.get("error", "")))
        result = TflmResult(True, "", res.get("arena_total"), res.get("arena_head"),
                            res.get("arena_tail"))
        if verify and result.arena_total:
            result.arena_verified = _verify(model, log, result.arena_total, timeout)
    return result


def tflm_outputs(data: bytes, inputs, *, timeout: float = TIMEOUT_S):
    """Outputs of the real TFLM interpreter for each input sample (first input, first output).

    `inputs` must already have the model's input dtype and shape without the batch axis. Raises
    RuntimeError with TFLM's reason when the model does not run. Computed once per (bytes, inputs).
    """
    import numpy as np

    from core.cache import digest, once

    x = np.ascontiguousarray(inputs)
    key = (digest(x.tobytes()), x.dtype.str, x.shape, _arena_option())
    return once("tflm outputs", data, key, lambda: _outputs(data, x, timeout), runtime=RUNTIME).copy()


def _outputs(data: bytes, inputs, timeout: float):
    import numpy as np

    with temp_dir("tflm") as tmp:
        model, log = Path(tmp) / "model.tflite", Path(tmp) / "tflm.log"
        model.write_bytes(data)
        np.savez(Path(tmp) / "in.npz", x=np.asarray(inputs))
        proc, _, err = _probe(model, log, "--outputs", str(Path(tmp) / "in.npz"),
                              str(Path(tmp) / "out.npz"), timeout=timeout)
        if proc.returncode != 0 or not (Path(tmp) / "out.npz").exists():
            raise RuntimeError(_crash_reason(proc.returncode, err) if proc.returncode
                               else _failure_reason(err, ""))
        return np.load(Path(tmp) / "out.npz")["y"]


def loads_at(data: bytes, arena_size: int, *, timeout: float = TIMEOUT_S) -> bool:
    """True when TFLM loads and invokes the model with exactly `arena_size` bytes of arena."""
    from core.cache import once

    return once("tflm loads_at", data, (arena_size,), lambda: _loads_at(data, arena_size, timeout),
                runtime=RUNTIME)


def _loads_at(data: bytes, arena_size: int, timeout: float) -> bool:
    with temp_dir("tflm") as tmp:
        model, log = Path(tmp) / "model.tflite", Path(tmp) / "tflm.log"
        model.write_bytes(data)
        return _verify(model, log, arena_size, timeout) == arena_size


def _verify(model: Path, log: Path, start: int, timeout: float) -> int | None:
    for _ in range(VERIFY_RESTARTS):
        try:
            proc, out, _ = _probe(model, log, "--verify", str(start), timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        lines = out.strip().splitlines()
        if proc.returncode == 0 and lines:
            try:
                return json.loads(lines[-1]).get("verified")
            except ValueError:
                return None
        tried = [int(ln.split()[1]) for ln in lines if ln.startswith("try ")]
        if not tried:
            return None
        start = tried[-1] + 16  # TFLM aborted at that size: resume just above it
    return None


def _crash_reason(code: int, err: str) -> str:
    what = describe_crash(code)
    return f"TFLM aborted the process ({what}). {_failure_reason(err, '')}".strip()


_NODE = re.compile(r"Node (\w+) \(number (\d+)\w*\) failed to (prepare|invoke)")
_MISSING = re.compile(r"Didn't find op for builtin opcode '(\w+)'")


def _failure_reason(log: str, error: str) -> str:
    hybrid = ""
    if "Hybrid models are not supported" in log or re.search(r"FLOAT32 with filter type: INT8", log):
        hybrid = ("Hybrid model: float activations with int8 weights (dynamic-range quantization) "
                  "are not supported by TFLM; use integer-only or full-integer quantization. ")
    return hybrid + _op_reason(log, error)


def _op_reason(log: str, error: str) -> str:
    m = _MISSING.search(log)
    if m:
        return f"TFLM has no kernel for op {m.group(1)}."
    m = _NODE.search(log)
    if m:
        before = log[:m.start()].strip().splitlines()
        cause = before[-1].strip() if before else ""
        return f"Op {m.group(1)} (node {m.group(2)}) failed to {m.group(3)} on TFLM" + \
            (f": {cause}" if cause else ".")
    text = _last_lines(log) or error
    return f"TFLM could not run the model: {text}" if text else "TFLM could not run the model."


def _meaningful(log: str) -> list[str]:
    skip = ("RecordingMicroAllocator", "WARNING", "absl::")
    return [ln.strip() for ln in log.splitlines() if ln.strip() and not ln.startswith(skip)]


def _last_lines(log: str, n: int = 2) -> str:
    return " ".join(_meaningful(log)[-n:])[:400]
