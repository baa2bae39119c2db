"""Child-process entry for the first contact of LiteRT with a model file.

``python -m core.probes.litert_probe MODEL`` builds the LiteRT interpreter, allocates its tensors and
invokes it once on zeros, then prints one JSON line: ``{"verified": bool, "runs": bool, "error": str}``.
A damaged file that passes the flatbuffer verifier can crash LiteRT (a bad zero point, a huge
scale); here that costs this process only, and the parent names the file. Imports neither
TensorFlow nor Qt.
"""

from __future__ import annotations

import json
import os
import sys

from core.probes.isolation import PROBE_MEMORY, die_with_parent


def probe(data: bytes) -> dict:
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    try:
        interp = Interpreter(model_content=data)
    except ValueError as exc:
        text = str(exc)
        return {"verified": "not a valid Flatbuffer" not in text, "runs": False, "error": text[:400]}
    try:
        interp.allocate_tensors()
        for d in interp.get_input_details():
            interp.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
        interp.invoke()
    except Exception as exc:  # a valid model LiteRT cannot run (custom op, ...): the parent decides
        return {"verified": True, "runs": False, "error": f"{type(exc).__name__}: {str(exc)[:400]}"}
    return {"verified": True, "runs": True, "error": ""}


def main(argv=None) -> int:
    die_with_parent(PROBE_MEMORY)
    argv = list(sys.argv[1:] if argv is None else argv)
    with open(argv[0], "rb") as f:
        data = f.read()
    out = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # LiteRT's C++ chatter (XNNPACK delegate notes) stays out of our JSON
    out.write(json.dumps(probe(data)) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
