"""The graph step's speed pass on the emulated cores: the four shared models and the reference
CNN's int8 variant, instructions and MACs per instruction before and after, on the Cortex-M4F
(CMSIS-NN) and the Cortex-M55 (CMSIS-NN with MVE), outputs compared on the core.

    python bench/speed.py

Writes bench/results/speed.md. Goal (issue 27): the study's CNN at >= 0.5 MACs per instruction
on the M4F, outputs unchanged.
"""

import sys
import time
from pathlib import Path

import numpy as np
from _table import machine, markdown, write

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "models"
MODELS = ("seed_cnn_fashion_int8.tflite", "kws_ref_model.tflite", "ad01_int8.tflite", "pretrainedResnet_quant.tflite")
TARGETS = ("cortex-m4f", "cortex-m55")


def reference_int8() -> bytes:
    from core.data import adapt, load_dataset
    from core.model.reference import build_reference
    from core.steps.quantize import convert
    from core.steps.training import fine_tune
    from core.steps.base import Context

    model = build_reference()
    ds = adapt(load_dataset("mnist-5k"), model.input_shape[1:], 10)
    fine_tune(model, Context(dataset=ds, task="classification"), "bench", epochs=3, batch_size=32, learning_rate=1e-3)
    return convert(model, "int8", ds)


def macs_of(run) -> int:
    return sum(op.macs or 0 for op in run.ops)


def main() -> int:
    from core.artifact import Artifact
    from core.steps.base import Context
    from core.steps.graph import GraphStep
    from core.target.build import firmware
    from core.target.footprint import measure
    from core.target.measure import run, sample_inputs
    from core.target.targets import get

    models = {name: (SHARED / name).read_bytes() for name in MODELS}
    models["reference CNN int8 (mnist-5k)"] = reference_int8()
    rows = []
    for target in TARGETS:
        fw = firmware(get(target), "cmsis-nn")
        for name, data in models.items():
            started = time.monotonic()
            lines = []
            out = GraphStep().run(Artifact("tflite", "int8", "bench", data=data),
                                  Context(firmware=fw, log=lines.append))[0]
            seconds = time.monotonic() - started
            x = sample_inputs(data, 2, seed=1)
            before, after = run(data, x, fw), run(out.data, x, fw)
            same = all(np.array_equal(a, b) for a, b in zip(before.outputs, after.outputs))
            macs = macs_of(before)  # the model's own MACs: a form's zero taps are not work
            fw_before, fw_after = (measure(d, fw, r.arena_used).flash_total for d, r in ((data, before), (out.data, after)))
            forms = "; ".join(f"{r['op']}: {r['before']} → {r['after']} (" + ", ".join(
                f"{f['form']} {f['site_instructions']:,}" if f["exact"] else f"{f['form']} not exact"
                for f in r["runs"]) + ")" for r in out.info["graph"]["speed"]) \
                or out.info["graph"].get("speed_skipped", "")
            rows.append([target, name, f"{before.instructions:,}", f"{after.instructions:,}",
                         f"{after.instructions / before.instructions:.2f}x", f"{macs / before.instructions:.3f}",
                         f"{macs / after.instructions:.3f}", f"{before.arena_used:,} → {after.arena_used:,}",
                         f"{len(data):,} → {len(out.data):,}", f"{fw_before:,} → {fw_after:,}", "yes" if same else "NO",
                         forms, f"{seconds:.0f}"])
            print(" | ".join(rows[-1]), flush=True)
    text = ("# Operator forms on the emulated cores (graph step, speed pass)\n\n"
            f"{machine()}. Each model through the graph step with the target's runner (every form of each "
            "costly operator measured there, kept when bit-identical and fastest within 10 % more arena and 10 % "
            "more firmware flash: model + the TFLM code of its operators, core/target/footprint.py), then "
            "run before and after on 2 random inputs: instructions of one inference (exact, QEMU), MACs per "
            "instruction (the model's own MACs, core/analysis/macs.py), arena and flash, outputs compared "
            "bit for bit. 'forms' lists each site's forms tried with the site's own instructions. 'wall s' is "
            "the graph step's time.\n\n"
            + markdown(["target", "model", "instructions before", "after", "ratio", "MACs/instr before", "after",
                        "arena B", "model B", "firmware flash B", "outputs equal", "forms", "wall s"], rows) + "\n")
    write("speed.md", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
