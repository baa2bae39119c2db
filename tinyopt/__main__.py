"""`tinyopt`: without a command (or with a model path) it opens the window; `tinyopt run|analyze|
export|presets|train-reference ...` run headless. The probes' child entries (`--tflm-probe`,
`--litert-probe`) live here too, because a frozen app has no `python -m`."""

from __future__ import annotations

import sys

PROBES = {"--tflm-probe": "core.probes.tflm_probe", "--litert-probe": "core.probes.litert_probe",
          "--onnx-probe": "core.probes.onnx_probe", "--vela-probe": "core.probes.vela_probe"}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] and argv[0] in PROBES:
        import importlib

        return importlib.import_module(PROBES[argv[0]]).main(argv[1:])
    from cli.commands import is_command, main as cli_main
    from core.probes.isolation import clean_stale

    clean_stale()  # temporary folders of earlier runs that were killed
    if argv and is_command(argv[0]):
        return cli_main(argv)
    try:
        from app.main import main as app_main
    except ImportError as exc:
        print(f"The desktop app is not available ({exc}). Headless commands: tinyopt run --demo "
              "--out DIR, tinyopt analyze MODEL. See tinyopt --help.", file=sys.stderr)
        return 1
    return app_main(argv)


if __name__ == "__main__":
    sys.exit(main())
