"""Named sequences: the study's sequences to reproduce, and our own targets.

Each preset is a list of recipe steps; the GUI fills its sequence panel from them and the CLI runs
them with ``--preset ID``. The study names its three "best" sequences by goal only (smallest,
most accurate, fastest); the step lists below are our reading of them, said so in the titles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.choices import PTQ_MODES

ALL_PTQ = [m for m in PTQ_MODES if m != "float32"]
INT_PTQ = [m for m in ALL_PTQ if m != "float16"]  # what keeps QAT's ranges (no float export)


def _q(*modes):
    return {"name": "quantize", "params": {"modes": list(modes)}}


@dataclass(frozen=True)
class Preset:
    id: str
    title: str
    description: str
    steps: list = field(default_factory=list)


PRESETS: dict[str, Preset] = {p.id: p for p in [
    Preset("ptq", "Post-training quantization, every mode",
           "The float model converted in each of the five PTQ modes.", [_q(*ALL_PTQ)]),
    Preset("prune-ptq", "Pruning, then each PTQ mode",
           "Magnitude pruning to 80 % sparsity with fine-tuning, then every PTQ mode (study).",
           [{"name": "prune", "params": {"final_sparsity": 0.8}}, _q(*ALL_PTQ)]),
    Preset("qat-ptq", "QAT, then each integer PTQ mode",
           "Quantization-aware training, then the conversions that keep its learned ranges (study; "
           "float exports are left out because they discard QAT).",
           [{"name": "qat", "params": {}}, _q(*INT_PTQ)]),
    Preset("separable-ptq", "Separable convolutions, then each PTQ mode",
           "Standard convolutions replaced by depthwise-separable ones where that lowers MACs, "
           "fine-tuned, then every PTQ mode (study).",
           [{"name": "separable", "params": {}}, _q(*ALL_PTQ)]),
    Preset("study-smallest", "Study best: smallest size (our reading)",
           "Pruning then dynamic-range quantization, the study's smallest file (22.5 KB); it does "
           "not run on TFLM (hybrid kernels).",
           [{"name": "prune", "params": {"final_sparsity": 0.8}}, _q("dynamic")]),
    Preset("study-accurate", "Study best: accuracy preservation (our reading)",
           "Quantization-aware training then integer-only int8: the study's best TFLM-deployable "
           "kind of model (23,208 B there).",
           [{"name": "qat", "params": {}}, _q("int8")]),
    Preset("study-fastest", "Study best: fastest inference (our reading)",
           "Pruning, pruning-preserving QAT, integer-only int8: integer kernels throughout.",
           [{"name": "prune", "params": {"final_sparsity": 0.8}}, {"name": "qat", "params": {}},
            _q("int8")]),
    Preset("smallest-tflm", "Smallest TFLM-runnable",
           "Cluster to 8 weight values, cluster-preserving QAT, integer-only int8, strip names and "
           "metadata, 3-bit LUT compression: the smallest model that still runs on TFLM "
           "(decoded weights cost arena RAM; see the compress step's report).",
           [{"name": "cluster", "params": {"clusters": 8}}, {"name": "qat", "params": {}},
            _q("int8"), {"name": "strip", "params": {}}, {"name": "compress", "params": {}}]),
    Preset("fit-small", "Fit a small MCU (8 KB flash, 4 KB arena), no compression",
           "Channel pruning until the int8 model fits 8 KB of flash and a 4 KB TFLM arena (measured "
           "each round; empty input borders may be cropped too), fine-tuned; then QAT, integer-only "
           "int8, the graph step (faster operator forms where the device's core is emulated) and strip. "
           "Flash, arena and instructions all fall, with no decoded weights in RAM.",
           [{"name": "channels", "params": {"flash_budget": 8192, "arena_budget": 4096, "epochs": 15, "spatial": True}},
            {"name": "qat", "params": {}}, _q("int8"), {"name": "graph", "params": {}}, {"name": "strip", "params": {}}]),
]}

# What the app preloads: the whole story from float to the smallest TFLM model, about a minute.
DEFAULT = PRESETS["smallest-tflm"].steps


def get(preset_id: str) -> Preset:
    from core.errors import SequenceError

    try:
        return PRESETS[preset_id]
    except KeyError:
        raise SequenceError(f"Unknown preset '{preset_id}'. Presets: {', '.join(PRESETS)}.") from None
