"""Child-process entry that runs a model on the real TFLM interpreter and prints JSON.

Run as ``python -m core.tflm_probe MODEL.tflite``. It lives in its own process because TFLM aborts
the whole process on some models (e.g. a SOFTMAX with out-of-range quantization parameters), and
neither the CLI nor the GUI may die with it. Imports neither TensorFlow nor Qt.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile

LARGE_ARENA = 32 * 1024 * 1024
_ALLOC = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")


def _run(data: bytes, arena: int, invoke: bool = True):
    import numpy as np
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(data, arena_size=arena)
    if invoke:
        i = 0
        while True:
            try:
                d = interp.get_input_details(i)
            except Exception:
                break
            interp.set_input(np.zeros(d["shape"], dtype=d["dtype"]), i)
            i += 1
        interp.invoke()
    return interp


def probe(path: str) -> dict:
    with open(path, "rb") as f:
        data = f.read()
    # C++ logs go to fd 2 (and some to fd 1): capture both to read allocations and error text.
    log = tempfile.TemporaryFile(mode="w+b")
    saved = os.dup(2), os.dup(1)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(log.fileno(), 2)
    os.dup2(log.fileno(), 1)
    result: dict = {"runs": False}
    try:
        interp = _run(data, LARGE_ARENA)
        interp.print_allocations()
        result["runs"] = True
        sys.stdout.flush()
        log.flush()
        log.seek(0)
        sizes = {k: int(v) for k, v in _ALLOC.findall(log.read().decode("utf-8", "replace"))}
        log.seek(0, 2)
        if "total" in sizes:
            result["arena_verified"] = smallest_verified_arena(data, sizes["total"])
    except Exception as exc:  # TFLM raises RuntimeError with the status; the log says why
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        sys.stdout.flush()
        os.dup2(saved[0], 2)
        os.dup2(saved[1], 1)
    log.seek(0)
    text = log.read().decode("utf-8", "replace")
    result["log"] = text[-4000:]
    sizes = {k: int(v) for k, v in _ALLOC.findall(text)}
    result.update({f"arena_{k}": v for k, v in sizes.items()})
    return result


def smallest_verified_arena(data: bytes, total: int) -> int | None:
    """The reported total rounded to 16 bytes, grown until TFLM loads and invokes at that size."""
    size = max(1024, (total + 15) // 16 * 16)  # below ~464 bytes TFLM crashes instead of failing
    for _ in range(64):
        try:
            _run(data, size)
            return size
        except Exception:
            size += 16
    return None


def main() -> int:
    result = probe(sys.argv[1])
    sys.stdout.write(json.dumps(result))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
