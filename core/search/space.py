"""The search space: which components a trial switches on and the parameters it draws for them,
within the ranges the steps' own parameter descriptions give (core/params.py); the presets as
trials; a trial's sequence in one line."""

from __future__ import annotations

from core.steps import REGISTRY

# The components a trial may switch on, in the sequence's own order.
ORDER = tuple(REGISTRY)
# What the search varies of each component (names of its parameters): width (channels kept) as
# well as bits and values.
SEARCHED = {"channels": ("keep",), "separable": ("rank",), "prune": ("final_sparsity",), "cluster": ("clusters",), "qat": (),
            "quantize": ("modes",), "graph": (), "strip": (), "compress": ("index_bits",)}
# Narrower than the descriptions allow where the rest is never worth a trial; always inside them.
LIMITS = {("channels", "keep"): (0.15, 1.0), ("separable", "rank"): (1, 4), ("prune", "final_sparsity"): (0.3, 0.9),
          ("cluster", "clusters"): (4, 64), ("compress", "index_bits"): (0, 6)}  # 0: the fewest that fit
# One PTQ mode per trial (a trial is one variant), of core.choices.PTQ_MODES: integer first; 16x8
# and float32 are never worth a trial.
MODES = ("int8", "full-int", "float16", "dynamic")
TRAINING = ("channels", "separable", "prune", "cluster", "qat")
# Per block of the model, a factor on the global kept fraction (MCUNet-style stage widths): the
# front can then keep early layers wide and cut late ones, or the reverse. At most MAX_BLOCKS.
MAX_BLOCKS = 4
BLOCK_FACTOR = (0.5, 2.0)


def channel_blocks(model, n: int = MAX_BLOCKS) -> list[list[str]]:
    """The model's channel groups (core.steps.channel_groups) in model order, cut into at most `n`
    contiguous blocks of group names; [] with fewer than two groups (the global ratio says it all)."""
    from core.steps.channel_groups import analyse

    order = {layer.name: i for i, layer in enumerate(model.layers)}
    groups = sorted((g.name for g in analyse(model).groups), key=lambda name: order.get(name, 0))
    if len(groups) < 2:
        return []
    n = min(n, len(groups))
    return [groups[len(groups) * i // n: len(groups) * (i + 1) // n] for i in range(n)]


def draw(trial, kind: str, epochs: int, blocks: list | None = None) -> list[dict]:
    """The steps of one trial: components on or off, their searched parameters from their own
    descriptions (ranges, choices), fine-tuning for `epochs` epochs. `blocks` (channel_blocks of
    the model) adds one width factor per block to channel pruning."""
    steps = []
    for name in ORDER:
        cls = REGISTRY[name]
        if kind == "tflite" and cls.takes == "keras":
            continue
        on = name == "quantize" and kind == "keras" or trial.suggest_categorical(f"{name}", [False, True])
        if not on:
            continue
        params = {}
        described = {p.name: p for p in cls.describe()}
        for pname in SEARCHED[name]:
            params[pname] = _suggest(trial, name, described[pname])
        if name == "channels" and blocks:
            params["layer_keep"] = _block_keep(trial, params["keep"], blocks)
        if name in TRAINING:
            params["epochs"] = epochs
        steps.append({"name": name, "params": params})
    return steps


def _block_keep(trial, keep: float, blocks: list) -> dict:
    low, high = LIMITS[("channels", "keep")]
    out = {}
    for i, names in enumerate(blocks):
        factor = trial.suggest_float(f"channels.block{i}", *BLOCK_FACTOR, step=0.25)
        for name in names:
            out[name] = round(min(high, max(0.05, keep * factor)), 3)
    return out


def _suggest(trial, step: str, p):
    key = f"{step}.{p.name}"
    if p.kind == "choices":  # PTQ modes: one per trial
        return [trial.suggest_categorical(key, [m for m in MODES if m in p.choices])]
    if p.kind == "choice":
        return trial.suggest_categorical(key, list(p.choices))
    if p.kind == "bool":
        return trial.suggest_categorical(key, [False, True])
    low, high = LIMITS.get((step, p.name), (p.min, p.max))
    special = getattr(p, "special", None) or {}
    low, high = (low if low in special else max(low, p.min)), min(high, p.max)
    if p.kind == "int":
        return trial.suggest_int(key, int(low), int(high), log=high / max(low, 1) >= 8)
    return round(trial.suggest_float(key, float(low), float(high), step=0.05), 2)


def preset_params() -> list[dict]:
    """The presets as trial parameters (one PTQ mode each: int8 where the preset has it), for those
    whose steps and values the search space holds; in preset order, without repeats."""
    from core.presets import PRESETS

    out = []
    for preset in PRESETS.values():
        names = [s["name"] for s in preset.steps]
        if any(n not in ORDER for n in names) or names != sorted(names, key=ORDER.index):
            continue
        params, fits = {n: n in names for n in ORDER if n != "quantize"}, True
        for step in preset.steps:
            described = {p.name: p for p in REGISTRY[step["name"]].describe()}
            for pname in SEARCHED[step["name"]]:
                value = step.get("params", {}).get(pname, described[pname].default)
                if pname == "modes":
                    # integer modes only: float16 and dynamic-range variants have no TFLM arena
                    value = "int8" if "int8" in value else ("full-int" if "full-int" in value else None)
                    fits &= value is not None
                else:
                    low, high = LIMITS.get((step["name"], pname), (described[pname].min, described[pname].max))
                    fits &= low <= value <= high
                params[f"{step['name']}.{pname}"] = value
        if fits and params not in out:
            out.append(params)
    return out


def describe(steps: list) -> str:
    """A trial's sequence in a line, with what the search varied: prune 0.7 → qat → int8 → graph."""
    parts = []
    for step in steps:
        params = step.get("params", {})
        if step["name"] == "quantize":
            parts.append("+".join(params.get("modes", ["quantize"])))
            continue
        shown = [params[k] for k in SEARCHED.get(step["name"], ()) if isinstance(params.get(k), (int, float))]
        parts.append(" ".join([step["name"], *(f"{v:g}" for v in shown)]))
    return " → ".join(parts) or "-"
