"""`tinyopt npu MODEL.tflite`: the model compiled by Vela for Ethos-U NPUs, per operator where it
runs (and why not on the NPU), with Vela's cycle and memory estimates."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from core.errors import UsageError


def add_parser(sub) -> None:
    from core.npu.configs import NPUS

    n = sub.add_parser("npu", help="compile a .tflite with Vela for Ethos-U NPUs: NPU/CPU per operator "
                       "with reasons, cycles, SRAM, flash (Vela's estimates)")
    n.add_argument("model", help="an int8 .tflite")
    n.add_argument("--npu", default=None, help="one or more of " + ", ".join(NPUS) + " (comma-separated; "
                   "default ethos-u55-128)")
    n.add_argument("--device", default=None, help="a device profile with an NPU (its NPU at its clock), "
                   "e.g. 'Alif' or 'Himax'")
    n.add_argument("--out", default=None, help="write the Vela-compiled .tflite(s) to this folder")
    n.add_argument("--json", action="store_true", help="print JSON instead of tables")


def _npus(args) -> list:
    from core.devices import find
    from core.npu.configs import find_npu

    if args.device and args.npu:
        raise UsageError("Give --npu or --device, not both.")
    if args.device:
        device = find(args.device)
        if not device.npu:
            raise UsageError(f"Device '{device.name}' has no NPU; NPU devices: " + "; ".join(
                d.name for d in __import__("core.devices", fromlist=["DEVICES"]).DEVICES if d.npu) + ".")
        return [device.npu_config()]
    return [find_npu(name.strip()) for name in (args.npu or "ethos-u55-128").split(",") if name.strip()]


def cmd_npu(args) -> int:
    from core.model.loading import load_model
    from core.npu.vela import compile_for
    from core.report import table_text

    path = Path(args.model)
    art = load_model(path)
    if not art.is_tflite:
        raise UsageError(f"{path.name} is a Keras model: Vela compiles int8 .tflite files. Quantize it first "
                         "(tinyopt run --steps quantize:int8).")
    reports = [compile_for(art.data, npu, path.stem) for npu in _npus(args)]
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for npu, r in zip(_npus(args), reports):
            (out / f"{path.stem}_{npu.name}_vela.tflite").write_bytes(r.compiled)
    if args.json:
        print(json.dumps([dict({k: v for k, v in asdict(r).items() if k != "compiled"}, label=r.label)
                          for r in reports], indent=2))
        return 0
    for r in reports:
        print(f"{path.name} on {r.npu}: {r.label}")
        rows = [[o.op, o.target, f"{o.cycles:,}" if o.target == "NPU" else "-", f"{o.macs:,}",
                 (o.reason + (f" → {o.advice}" if o.advice else "")) if o.target == "CPU" else ""]
                for o in r.ops]
        print(table_text(["operator", "runs on", "NPU cycles", "MACs", "why not on the NPU"], rows, wide_last=220))
        print(f"NPU operators {len(r.npu_ops)}, CPU operators {len(r.cpu_ops)}; NPU cycles {r.npu_cycles:,}, "
              f"total {r.total_cycles:,} (with memory) = {r.inference_ms:.3f} ms at {r.clock_hz / 1e6:g} MHz; "
              f"SRAM {r.sram_bytes:,} B, flash {r.flash_bytes:,} B" + (f", DRAM {r.dram_bytes:,} B" if r.dram_bytes else "")
              + f"; compiled {len(r.compiled):,} B\n")
    return 0
