"""Channel pruning to a device budget, step by step (after NetAdapt, Yang et al., ECCV 2018).

Each round tries, for every channel group, removing its least important channels; each candidate is
converted to int8 and measured (flash: the .tflite's bytes; arena and instructions: on the device's
emulated core when the run has one, exact; else the host TFLM's arena, in a child process, once per
set of bytes) and scored on held-out samples. The candidate that loses the least
quality per share of the budget it saves is kept and fine-tuned briefly, and the next round ranks
its channels again, until every budget fits. Costs are measured, never estimated. The full
fine-tuning comes after.
"""

from __future__ import annotations

import dataclasses

from dataclasses import dataclass

import numpy as np

from core.errors import SequenceError
from core.steps.base import Context, Progress

HELD_OUT = 500  # samples of the training split that score candidates (never the test split)
CALIBRATION = 64  # samples that calibrate each candidate's int8 conversion: its size, not its accuracy
STEP = 0.15  # share of a group's channels a round removes (at least one)
MAX_ROUNDS = 200


@dataclass
class Measured:
    flash: int  # the model's bytes; with a firmware budget, plus the TFLM code it links
    arena: int | None  # the arena; with a firmware budget, plus TFLM's own RAM and the stack
    quality: float  # accuracy on held-out samples, or -relative output error without labels
    instructions: int | None = None  # one inference on the emulated core (None: no core)
    code: int = 0  # the TFLM code and runtime RAM counted in flash and arena (firmware budgets)
    runtime: int = 0

    def fits(self, p) -> bool:
        return (not p.flash_budget or self.flash <= p.flash_budget) and \
            (not p.arena_budget or (self.arena is not None and self.arena <= p.arena_budget)) and \
            (not p.instructions_budget or (self.instructions is not None and self.instructions <= p.instructions_budget))


COLLAPSE = 0.10  # held-out accuracy lost on the way to a budget that earns a warning in the log


def fit(model, p, ctx: Context, *, analyse, scorer, rebuild, tune) -> tuple[object, list]:
    """(the cut model, the path: one dict per round) for the budgets in `p` (0: none). Each round's
    winner is fine-tuned for `p.round_epochs` (`tune(model, epochs)`) before the next round ranks
    channels again, as NetAdapt does: scores of an untuned cut mislead at small widths."""
    ds = ctx.dataset
    if p.instructions_budget and ctx.firmware is None:
        raise SequenceError("Channel pruning to an instructions budget measures each candidate on the device's "
                            "emulated core: choose a device that has one (e.g. nRF52840) with Measure on the "
                            "emulated core, or --target.")
    if p.budget_of == "firmware" and ctx.firmware is None:
        raise SequenceError("Channel pruning to a firmware budget measures the TFLM code and runtime RAM on the "
                            "device's emulated core: choose a device that has one with Measure on the emulated "
                            "core, or --target (or count the model alone: budget_of model).")
    if ds is None or not len(ds.x_train):
        raise SequenceError("Channel pruning to a budget measures candidates on your data: choose a "
                            "dataset (int8 conversion calibrates on it).")
    x = ds.x_train[-HELD_OUT:]
    y = ds.y_train[-HELD_OUT:] if len(ds.y_train) == len(ds.x_train) else None
    # Rounds fine-tune on the rest, so the samples that score candidates stay unseen by the cuts'
    # tuning (a set too small to spare them is tuned whole, and scores flatter then).
    tuning = ctx
    if len(ds.x_train) >= 2 * HELD_OUT:
        rest = ds.y_train[:-HELD_OUT] if y is not None else ds.y_train
        tuning = dataclasses.replace(ctx, dataset=dataclasses.replace(ds, x_train=ds.x_train[:-HELD_OUT], y_train=rest))
    reference = model.predict(x, verbose=0, batch_size=256)
    labelled = y is not None and ctx.task in (None, "classification") and reference.ndim == 2

    def quality(m) -> float:
        out = m.predict(x, verbose=0, batch_size=256)
        if labelled:
            return float(np.mean(np.argmax(out, axis=-1) == y))
        return -float(np.linalg.norm(out - reference) / (np.linalg.norm(reference) or 1.0))

    def measure(small) -> Measured:
        from core.measure.tflm_check import check_tflm
        from core.steps.quantize import convert

        from core.steps.strip import strip

        # Stripped: names and converter metadata are never flashed by anyone who fits a budget
        # (the strip step is lossless; Fit the device and fit-small end with it).
        data = strip(convert(small, "int8", ds, CALIBRATION, seed=ctx.seed))
        if ctx.firmware is not None:
            from core.errors import TinyOptError
            from core.target.measure import run, sample_inputs

            try:
                t = run(data, sample_inputs(data, 1, seed=ctx.seed), ctx.firmware)
            except TinyOptError:  # does not run there: no arena, no instructions
                return Measured(len(data), None, quality(small))
            if p.budget_of == "firmware":
                code, runtime = overhead(data, t.arena_used)
                return Measured(len(data) + code, t.arena_used + runtime, quality(small), t.instructions, code, runtime)
            return Measured(len(data), t.arena_used, quality(small), t.instructions)
        tflm = check_tflm(data, verify=False)
        return Measured(len(data), tflm.arena_total if tflm.runs else None, quality(small))

    overheads: dict = {}

    def overhead(data: bytes, arena: int) -> tuple[int, int]:
        """(TFLM code, runtime RAM + stack) for this operator set: the same for every width, so
        measured once per set (core.target.footprint)."""
        from core.analysis.tflite_reader import op_names, read_model
        from core.target.footprint import measure as footprint

        ops = tuple(sorted(set(op_names(read_model(data)))))
        if ops not in overheads:
            fp = footprint(data, ctx.firmware, arena)
            overheads[ops] = (fp.code, fp.static_ram + fp.stack)
            ctx.log(f"channels: the budgets count the whole firmware: + {fp.code:,} B of TFLM code in flash, "
                    f"+ {fp.static_ram + fp.stack:,} B of runtime RAM and stack (measured on {ctx.firmware.target})")
        return overheads[ops]

    current_model, analysis = model, analyse(model)
    current = measure(model)
    where = f"on {ctx.firmware.target}" if ctx.firmware is not None else "on the host TFLM"
    path = [_row(0, "", analysis, current)]
    ctx.log(f"channels: measuring {where}; start: {_said(current)}")
    for rnd in range(1, MAX_ROUNDS + 1):
        if current.fits(p):
            break
        ctx.cancel.check()
        ctx.progress(Progress("channels", f"round {rnd}: {_said(current)}", None))
        best, score = None, scorer(current_model)
        for name, make in _candidates(current_model, analysis, p, score, rebuild, ds.x_train):
            candidate = make()
            m = measure(candidate)
            saved = _share(current, m, p)
            if saved <= 0:
                continue
            cost = max(0.0, current.quality - m.quality) / saved
            if best is None or cost < best[0]:
                best = (cost, name, candidate, m)
        if best is None:
            raise SequenceError(f"Channel pruning cannot reach the budget (flash {_b(p.flash_budget or None)}, "
                                f"arena {_b(p.arena_budget or None)}, instructions "
                                f"{p.instructions_budget or 'none'}): at its smallest this model is "
                                f"{_said(current)}. Give a larger budget, or combine with another step "
                                "(e.g. LUT compression for flash).")
        _, name, current_model, current = best
        if p.round_epochs:
            tune(current_model, p.round_epochs, tuning)
            current.quality = quality(current_model)
        analysis = analyse(current_model)
        path.append(_row(rnd, name, analysis, current))
        what = (f"input cropped to {_input_hw(current_model)}" if name.startswith("crop ")
                else f"{_sizes(analysis)[name]} channels")
        ctx.log(f"channels: round {rnd}: {name} -> {what}: {_said(current)}")
    else:
        raise SequenceError(f"Channel pruning stopped after {MAX_ROUNDS} rounds short of the budget.")
    start, end = path[0]["quality"], path[-1]["quality"]
    if labelled and start - end > COLLAPSE:
        thin = ", ".join(f"{name} {n}" for name, n in _sizes(analysis).items() if n <= 2)
        ctx.log(f"channels: warning: held-out accuracy fell {start:.3f} -> {end:.3f} on the way to the budget"
                + (f" (down to {thin} channel(s))" if thin else "")
                + ": the budget is tight for this model; fine-tuning may recover some, a larger budget or "
                  "min_channels keeps more")
    return current_model, path


def _candidates(model, analysis, p, score, rebuild, x):
    """(name, build) for each cut a round may make: STEP of one group's channels, or with
    `p.spatial` one map position off a side of the input (core.steps.channel_crop)."""
    for g in analysis.groups:
        if g.channels <= p.min_channels:
            continue
        cut = min(max(1, int(round(g.channels * STEP))), g.channels - p.min_channels)
        kept = {h.name: np.arange(h.channels) for h in analysis.groups}
        kept[g.name] = np.sort(np.argsort(score(g), kind="stable")[cut:])
        yield g.name, (lambda kept=kept: rebuild(model, analysis, kept))
    if getattr(p, "spatial", False):
        from core.steps.channel_crop import chain, crop, removed_variance, sides

        ch = chain(model)
        for side in sides(ch) if ch is not None else []:
            if removed_variance(ch, side, x) <= p.crop_variance / 100:
                yield f"crop {side}", (lambda side=side: crop(model, ch, side, x))


def _share(before: Measured, after: Measured, p) -> float:
    """How much of the way to the budget a candidate goes: bytes saved over bytes still to save,
    summed over the budgets not met yet."""
    share = 0.0
    if p.flash_budget and before.flash > p.flash_budget:
        share += (before.flash - after.flash) / (before.flash - p.flash_budget)
    if p.arena_budget and before.arena is not None and after.arena is not None and before.arena > p.arena_budget:
        share += (before.arena - after.arena) / (before.arena - p.arena_budget)
    if p.instructions_budget and before.instructions and after.instructions and before.instructions > p.instructions_budget:
        share += (before.instructions - after.instructions) / (before.instructions - p.instructions_budget)
    return share


def _row(rnd: int, group: str, analysis, m: Measured) -> dict:
    return {"round": rnd, "group": group, "channels": _sizes(analysis), "flash": m.flash, "arena": m.arena,
            "instructions": m.instructions, "quality": round(m.quality, 4),
            **({"code": m.code, "runtime": m.runtime} if m.code else {})}


def _said(m: Measured) -> str:
    if m.code:
        return (f"firmware flash {m.flash:,} B, RAM {_b(m.arena)}"
                + (f", {m.instructions:,} instructions" if m.instructions is not None else "") + f", quality {m.quality:.4f}")
    return (f"flash {m.flash:,} B, arena {_b(m.arena)}"
            + (f", {m.instructions:,} instructions" if m.instructions is not None else "") + f", quality {m.quality:.4f}")


def _input_hw(model) -> str:
    from core.steps.channel_crop import chain

    ch = chain(model)
    h, w = model.input_shape[1:3]
    if ch is None:
        return f"{h}x{w}"
    t, b, left, right = ch.crop
    return f"{h - t - b}x{w - left - right} (rows {t}..{h - b - 1}, columns {left}..{w - right - 1})"


def _sizes(analysis) -> dict:
    return {g.name: int(g.channels) for g in analysis.groups}


def _b(value) -> str:
    return "none" if value is None else f"{value:,} B"
