"""Child-process entry that runs a model on the real TFLM interpreter and prints JSON.

``python -m core.probes.tflm_probe MODEL LOG`` measures: loads at a large arena, invokes on zeros and
prints the RecordingMicroAllocator figures. ``... --verify START`` finds the smallest arena, in
16-byte steps from START, at which the model loads and invokes; it prints each size before trying
it, because a too-small arena can make TFLM abort the process (the parent then resumes above it).
``... --outputs IN.npz OUT.npz`` invokes once per sample of IN (array "x") and saves the outputs.

It lives in its own process because TFLM aborts on some models and arenas, and neither the CLI nor
the GUI may die with it. Imports neither TensorFlow nor Qt.
"""

from __future__ import annotations

import json
import os
import re
import sys

# The measuring arena; TINYOPT_TFLM_ARENA overrides it (to check a device's exact budget).
LARGE_ARENA = int(os.environ.get("TINYOPT_TFLM_ARENA", 32 * 1024 * 1024))
MIN_ARENA = 1024  # below ~464 bytes TFLM crashes instead of failing
VERIFY_STEPS = 512
_ALLOC = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")


def _input_count(data: bytes) -> int:
    from tflite_micro.python.tflite_micro import runtime

    return len(runtime.convert_bytearray_to_object(bytearray(data)).subgraphs[0].inputs)


def _run(data: bytes, arena: int, n_inputs: int):
    import numpy as np
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(data, arena_size=arena)
    for i in range(n_inputs):
        d = interp.get_input_details(i)
        interp.set_input(np.zeros(d["shape"], dtype=d["dtype"]), i)
    interp.invoke()
    return interp


def _capture(log_path: str):
    """Send C++ output (fd 1 and 2) to `log_path`; return a function that restores them."""
    log = open(log_path, "w+b")
    saved = os.dup(1), os.dup(2)
    sys.stdout.flush()
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)

    def restore():
        sys.stdout.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        log.close()

    return restore


def measure(data: bytes, log_path: str) -> dict:
    """Load at a large arena, invoke, and read the allocations TFLM reports."""
    result: dict = {"runs": False}
    restore = _capture(log_path)
    try:
        interp = _run(data, LARGE_ARENA, _input_count(data))
        interp.print_allocations()
        result["runs"] = True
    except Exception as exc:  # TFLM raises RuntimeError with a status; the log says why
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        restore()
    with open(log_path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    result["log"] = text[-4000:]
    result.update({f"arena_{k}": int(v) for k, v in _ALLOC.findall(text)})
    return result


def verify(data: bytes, start: int, log_path: str, out) -> int | None:
    """Smallest arena >= `start` (16-byte steps) that loads and invokes; prints each try to `out`."""
    n_inputs = _input_count(data)
    size = max(MIN_ARENA, (start + 15) // 16 * 16)
    restore = _capture(log_path)
    try:
        for _ in range(VERIFY_STEPS):
            out.write(f"try {size}\n")
            out.flush()
            try:
                _run(data, size, n_inputs)
                return size
            except Exception:
                size += 16
        return None
    finally:
        restore()


def outputs(data: bytes, inputs_path: str, outputs_path: str, log_path: str) -> None:
    """Invoke once per sample in `inputs_path` (.npz, array "x") and save the outputs as "y"."""
    import numpy as np

    xs = np.load(inputs_path)["x"]
    restore = _capture(log_path)
    try:
        interp = _run(data, LARGE_ARENA, 0)
        ys = []
        for x in xs:
            interp.set_input(x[None], 0)
            interp.invoke()
            ys.append(interp.get_output(0)[0].copy())
    finally:
        restore()
    np.savez(outputs_path, y=np.stack(ys))


def main(argv=None) -> int:
    from core.probes.isolation import PROBE_MEMORY, die_with_parent

    die_with_parent(PROBE_MEMORY)
    argv = [""] + list(sys.argv[1:] if argv is None else argv)
    model, log_path = argv[1], argv[2]
    with open(model, "rb") as f:
        data = f.read()
    out = os.fdopen(os.dup(1), "w")  # our own stdout, kept apart from TFLM's C++ output
    if len(argv) > 5 and argv[3] == "--outputs":
        outputs(data, argv[4], argv[5], log_path)
        out.write(json.dumps({"outputs": argv[5]}) + "\n")
    elif len(argv) > 4 and argv[3] == "--verify":
        out.write(json.dumps({"verified": verify(data, int(argv[4]), log_path, out)}) + "\n")
    else:
        out.write(json.dumps(measure(data, log_path)) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
