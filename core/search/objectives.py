"""What a search minimises or maximises, measured as the results table measures it, and the device
budget and accuracy floor as constraints (with the strict lower bounds that rule a trial out
before any fine-tuning, core/search/bounds.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.errors import SearchError

OBJECTIVES = ("flash", "ram", "accuracy", "latency")


@dataclass
class Budget:
    """Constraints: a variant over either budget, or below the accuracy floor, is infeasible."""

    ram: int | None = None  # bytes of RAM: the firmware's (arena + runtime + stack) where measured, else the arena
    flash: int | None = None  # bytes of flash: the firmware's (model + TFLM code) where measured, else the model
    max_drop: float | None = None  # accuracy points below the original's


def measure(metrics, objective: str) -> float | None:
    """An objective as the results table measures it; None when it was not measured. On an Ethos-U
    (a run with an NPU), latency and RAM are Vela's estimates: its total cycles (memory included)
    and its SRAM plus TFLM's persistent allocations, as the NPU export sizes the arena."""
    t, npu = metrics.target, getattr(metrics, "npu", None)
    fp = getattr(metrics, "footprint", None) if npu is None else None  # the CPU firmware's totals
    if npu is not None and objective == "latency":
        return float(npu.total_cycles)
    if npu is not None and objective == "ram":
        return float(npu.sram_bytes + ((metrics.tflm.arena_tail or 0) if metrics.tflm else 0))
    if objective == "flash":
        return float(fp.flash_total if fp is not None else metrics.size_bytes)
    if objective == "ram" and fp is not None:
        return float(fp.ram_total)
    if objective == "ram":
        return float(t.arena_used if t is not None else metrics.arena_total) if (t or metrics.arena_total) else None
    if objective == "latency":
        return float(t.instructions) if t is not None else metrics.latency_ms_median
    name, value = metrics.primary
    if value is None and metrics.fidelity is not None:  # no labels: agreement with the original
        value = metrics.fidelity.top1 if metrics.fidelity.top1 is not None else metrics.fidelity.cos
    if value is not None and name == "MAE":
        return -value  # maximised like the others
    return value


def direction(objective: str) -> str:
    return "maximize" if objective == "accuracy" else "minimize"


def check_settings(objectives: tuple, trials, epochs, budget: Budget) -> None:
    """Refuse settings that cannot make a search, naming the setting and what it takes."""
    from core.steps.training import MAX_EPOCHS

    def whole(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    unknown = [o for o in objectives if o not in OBJECTIVES]
    if unknown or len(set(objectives)) < 2 or len(set(objectives)) != len(objectives):
        raise SearchError(f"Objectives: give two or more different ones of {', '.join(OBJECTIVES)}"
                           + (f" (not {', '.join(map(str, unknown))})." if unknown else f" (not {', '.join(objectives)})."))
    if not whole(trials) or not 1 <= trials <= 100_000:
        raise SearchError(f"Trials: give a whole number from 1 to 100,000 (not {trials!r}).")
    if not whole(epochs) or not 1 <= epochs <= MAX_EPOCHS:
        raise SearchError(f"Epochs: give a whole number of fine-tuning epochs from 1 to {MAX_EPOCHS} (not {epochs!r}).")
    for name, value in (("RAM", budget.ram), ("flash", budget.flash)):
        if value is not None and (not whole(value) or value <= 0):
            raise SearchError(f"The {name} budget must be a positive number of bytes (not {value!r}).")
    drop = budget.max_drop
    if drop is not None and (isinstance(drop, bool) or not isinstance(drop, (int, float))
                             or not 0 <= drop <= 100 or not math.isfinite(drop)):
        raise SearchError(f"Max drop: give the accuracy points a variant may lose, from 0 to 100 (not {drop!r}).")


def ruled_out(original, steps: list[dict], budget: Budget) -> str | None:
    """Why the budget rules out these steps' variant before it is made (core/search/bounds.py), or None."""
    if str(original.kind) != "keras" or (budget.flash is None and budget.ram is None):
        return None
    from core.search.bounds import lower_bounds

    bounds = lower_bounds(original.model, steps)
    if bounds is None:
        return None
    flash, ram = bounds
    if budget.flash is not None and flash > budget.flash:
        return f"ruled out before fine-tuning: its weights alone take at least {flash:,} B (flash budget {budget.flash:,} B)"
    if budget.ram is not None and ram > budget.ram:
        return f"ruled out before fine-tuning: its largest activation alone takes {ram:,} B (RAM budget {budget.ram:,} B)"
    return None


def violations(m, base_m, budget: Budget) -> list[tuple[str, float]]:
    """(what, amount) for RAM, flash and the accuracy floor, in that order: amount > 0 breaks the
    constraint (Optuna's convention), 0 where there is no such constraint."""
    ram, flash = measure(m, "ram"), measure(m, "flash")
    whole = getattr(m, "footprint", None) is not None and getattr(m, "npu", None) is None
    out = [(f"{'firmware RAM' if whole else 'arena'} over {budget.ram:,} B", (ram - budget.ram) if ram is not None else 1.0)
           if budget.ram is not None else ("", 0.0),
           (f"{'firmware flash' if whole else 'model'} over {budget.flash:,} B", float(flash - budget.flash))
           if budget.flash is not None else ("", 0.0)]
    acc, base = measure(m, "accuracy"), measure(base_m, "accuracy")
    if budget.max_drop is not None and acc is not None and base is not None:
        out.append((f"accuracy more than {budget.max_drop} pt below the original's",
                    (base - acc) * 100 - budget.max_drop))
    else:
        out.append(("", 0.0))
    return out
