"""Child-process entry for Arm's Vela: ``python -m core.probes.vela_probe ARGS`` runs the `vela`
command's own main with ARGS, printing what it prints and writing its CSV reports.

Vela runs here rather than in the caller because its C++ core (regor) crashes on a damaged model
(a segmentation fault, seen with Vela 5.2.0 on a .tflite with 64 bytes overwritten): a crash costs
this process only, and the caller names the model. Only numpy, flatbuffers and Vela are imported.
"""

from __future__ import annotations

import sys

from core.probes.isolation import PROBE_MEMORY, die_with_parent


def main(argv=None) -> int:
    die_with_parent(PROBE_MEMORY)
    from ethosu.vela import vela

    try:
        return vela.main(list(sys.argv[1:] if argv is None else argv))
    except Exception as exc:  # Vela's own errors: said on stdout like the command does
        print(f"error: {type(exc).__name__}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
