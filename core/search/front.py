"""A search's results: every finished trial with its outcome, the Pareto front among the feasible
ones, the best variant for the device, and their front.json and table."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from core.search.objectives import direction
from core.search.outcome import Outcome, note, outcome
from core.search.space import describe


@dataclass
class TrialResult:
    number: int
    values: dict  # objective -> value
    feasible: bool
    violations: list
    recipe: dict
    variant: str
    folder: str
    front: bool = False
    worker: str = ""  # host:pid of the process that ran it
    seconds: float = 0.0  # wall time of the trial
    reused: int = 0  # fine-tuned steps it took from earlier trials (core/search/prefixes.py)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class SearchResult:
    trials: list = field(default_factory=list)  # TrialResult of every finished trial
    invalid: int = 0  # draws refused by Sequence.validate (never run)
    failed: int = 0
    ruled_out: list = field(default_factory=list)  # (trial, why): stopped before fine-tuning
    refused: int = 0  # trials a step refused while running (e.g. LUT compression of a hybrid model)
    unmeasured: int = 0  # variants an objective could not be measured for (no TFLM arena: float16, dynamic)
    objectives: tuple = ()

    @property
    def front(self) -> list:
        return [t for t in self.trials if t.front]

    def best_for_device(self) -> TrialResult | None:
        """The smallest feasible variant (flash + RAM), within the accuracy floor; of equally small
        ones, the most accurate (then the fastest)."""
        feasible = [t for t in self.trials if t.feasible and t.values.get("flash") is not None]
        return min(feasible, key=lambda t: (t.values["flash"] + (t.values.get("ram") or 0),
                                            -(t.values.get("accuracy") or 0), t.values.get("latency") or 0),
                   default=None)


def collect(study, objectives) -> SearchResult:
    """Every finished trial, the feasible non-dominated ones marked as the front."""
    result = SearchResult(objectives=tuple(objectives))
    for t in study.get_trials(deepcopy=False):
        what = outcome(t)
        if what is Outcome.INVALID:
            result.invalid += 1
        elif what is Outcome.REFUSED:
            result.refused += 1
        elif what is Outcome.UNMEASURED:
            result.unmeasured += 1
        elif what is Outcome.RULED_OUT:
            result.ruled_out.append((t.number, note(t)))
        elif what is Outcome.FAILED:
            result.failed += 1
        elif what is Outcome.COMPLETE:
            values = dict(zip(objectives, t.values))
            violations = t.user_attrs.get("violations", [])
            result.trials.append(TrialResult(t.number, values, not violations, violations,
                                             t.user_attrs.get("recipe", {}), t.user_attrs.get("variant", ""),
                                             t.user_attrs.get("folder", ""), worker=t.user_attrs.get("worker", ""),
                                             seconds=t.duration.total_seconds() if t.duration else 0.0,
                                             reused=t.user_attrs.get("reused_steps", 0)))
    mark_front(result.trials, objectives)
    return result


def mark_front(trials: list, objectives) -> None:
    """Set `front` on the feasible trials no other feasible trial dominates."""
    feasible = [t for t in trials if t.feasible]
    for t in trials:
        t.front = t.feasible and not any(dominates(o, t, objectives) for o in feasible if o is not t)


def dominates(a: TrialResult, b: TrialResult, objectives) -> bool:
    """a is at least as good as b on every objective and better on one."""
    better = False
    for o in objectives:
        x, y = a.values[o], b.values[o]
        if direction(o) == "maximize":
            x, y = -x, -y
        if x > y:
            return False
        better |= x < y
    return better


def write_front(result: SearchResult, out: Path) -> None:
    best = result.best_for_device()
    (out / "front.json").write_text(json.dumps({
        "objectives": list(result.objectives), "invalid_draws": result.invalid, "failed": result.failed,
        "ruled_out": [{"number": n, "why": why} for n, why in result.ruled_out], "unmeasured": result.unmeasured,
        "refused": result.refused,
        "front": [t.to_dict() for t in result.front], "trials": [t.to_dict() for t in result.trials],
        "best_for_device": best.to_dict() if best else None}, indent=2, sort_keys=True) + "\n")


def table(result: SearchResult) -> str:
    head = ["trial", *result.objectives, "feasible", "front", "sequence"]
    rows = []
    for t in sorted(result.trials, key=lambda t: (not t.front, t.number)):
        seq = describe(t.recipe.get("steps", []))
        rows.append([str(t.number), *(_fmt(o, t.values[o]) for o in result.objectives),
                     "yes" if t.feasible else "no: " + "; ".join(t.violations), "*" if t.front else "", seq])
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(head, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def _fmt(objective: str, value: float) -> str:
    if objective in ("flash", "ram"):
        return f"{value:,.0f}"
    if objective == "latency":
        return f"{value:,.0f}" if value > 1000 else f"{value:.3f}"
    return f"{value:.4f}"
