"""Explore: a multi-objective search over sequences and their parameters, run by Optuna.

Each trial draws which components are on and their main parameters, within the ranges the steps'
own parameter descriptions allow (core/params.py), builds a recipe, refuses it before running when
`Sequence.validate` does (an invalid draw is never run), runs it like any recipe and measures the
variant as the results table does. A device budget (RAM, flash) and an accuracy floor are
constraints, not objectives: variants that break them are kept and marked infeasible. Every trial
writes its recipe and its .tflite; the study lives in an Optuna storage (an SQLite file in the
output folder by default, or a PostgreSQL URL shared by several machines), so a stopped search
resumes where it was and loses no finished trial.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import socket
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import SearchError, SequenceError, TinyOptError, setting
from core.prefixes import Prefixes
from core.recipe import Recipe
from core.steps import REGISTRY
from core.study_storage import create_or_join, open_storage, shown

# The order components run in when they are on: Keras steps, the conversion, then TFLite steps.
ORDER = ("separable", "prune", "cluster", "qat", "quantize", "graph", "strip", "compress")
# What the search varies of each component (names of its parameters).
SEARCHED = {"separable": ("rank",), "prune": ("final_sparsity",), "cluster": ("clusters",), "qat": (),
            "quantize": ("modes",), "graph": (), "strip": (), "compress": ("index_bits",)}
# Narrower than the descriptions allow where the rest is never worth a trial; always inside them.
LIMITS = {("separable", "rank"): (1, 4), ("prune", "final_sparsity"): (0.3, 0.9),
          ("cluster", "clusters"): (4, 64), ("compress", "index_bits"): (0, 6)}  # 0: the fewest that fit
MODES = ("int8", "full-int", "float16", "dynamic")  # one PTQ mode per trial: a trial is one variant
TRAINING = ("separable", "prune", "cluster", "qat")
OBJECTIVES = ("flash", "ram", "accuracy", "latency")


@dataclass
class Budget:
    """Constraints: a variant over either budget, or below the accuracy floor, is infeasible."""

    ram: int | None = None  # bytes for the arena
    flash: int | None = None  # bytes for the model
    max_drop: float | None = None  # accuracy points below the original's


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
    reused: int = 0  # fine-tuned steps it took from earlier trials (core/prefixes.py)

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


def measure(metrics, objective: str) -> float | None:
    """An objective as the results table measures it; None when it was not measured."""
    t = metrics.target
    if objective == "flash":
        return float(metrics.size_bytes)
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


def draw(trial, kind: str, epochs: int) -> list[dict]:
    """The steps of one trial: components on or off, their searched parameters from their own
    descriptions (ranges, choices), fine-tuning for `epochs` epochs."""
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
        if name in TRAINING:
            params["epochs"] = epochs
        steps.append({"name": name, "params": params})
    return steps


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


def search(base: Recipe, out_dir, *, trials: int, objectives=("flash", "ram", "accuracy"),
           budget: Budget | None = None, epochs: int = 1, storage: str | None = None,
           study_name: str | None = None, resume: bool = False, ctx=None, trust_model_code: bool = False,
           on_trial=lambda t: None, on_variant=lambda number, run: None,
           should_stop=lambda: False, presets: bool = True) -> SearchResult:
    """Run (or resume) a search until `trials` trials have finished; return every finished trial
    with the Pareto front marked. `storage` is an Optuna storage URL (default: SQLite in `out_dir`).

    `on_trial(frozen_trial)` follows every trial (those a resumed study already has, first), `on_variant(number, core.runner.RunResult)` every
    trial that made a variant (the original first, the trial's variant last); once `should_stop()` is true the search ends after the running trial, and
    every finished one is kept (the window's Cancel). With `presets`, the first trials are the
    presets' sequences (core/presets.py) that lie in the search space, so the front starts from
    what an expert would try first."""
    import optuna

    from core.runner import prepare
    from core.steps.base import Context

    objectives = tuple(objectives)
    budget = budget or Budget()
    check_settings(objectives, trials, epochs, budget)  # before minutes of loading and training
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    storage = storage or f"sqlite:///{(out / 'search.db').resolve()}"
    study_name = study_name or f"tinyopt-{base.digest()}"
    ctx = ctx or Context()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    shared = "://" in storage and not storage.startswith("sqlite:///" + str(out.resolve()))
    url = storage
    # The storage first: a wrong URL is told at once, not after loading the model. Its schema is
    # made here, once, however many workers start together (core/study_storage.py).
    storage = open_storage(url)
    exists = study_name in optuna.study.get_all_study_names(storage)
    if exists and not resume and not shared:  # on a shared storage, joining the study is the point
        raise SearchError(f"A search '{study_name}' already exists in {shown(url)}: continue it with "
                          f"{setting('resume')}, or choose another folder.")
    original, _ = prepare(base, ctx, trust_model_code=trust_model_code)
    kind = str(original.kind)

    def seed_presets(study):  # by the creator only, before others join: workers never run one twice
        if presets and kind == "keras":
            for params in preset_params()[: max(1, trials // 3)]:  # a third at most: a short search still explores
                study.enqueue_trial(params)

    with warnings.catch_warnings():  # multivariate TPE and metric names are "experimental"
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=base.seed, multivariate=True, n_startup_trials=min(10, trials))
        directions = [direction(o) for o in objectives]
        study, _created = create_or_join(storage, url, study_name, sampler=sampler, directions=directions,
                                         on_create=seed_presets)
        if study.directions != [optuna.study.StudyDirection[d.upper()] for d in directions]:
            raise SearchError(f"The search '{study_name}' in {shown(url)} has other objectives: give the same "
                              "--objectives, or another --study.")
        study.set_metric_names(list(objectives))
    if not shared:  # the folder's own file has one worker: a trial left running was stopped with it
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
    prefixes = Prefixes()  # fine-tuned prefixes shared by this worker's trials
    worker = f"{socket.gethostname()}:{os.getpid()}"

    def objective(trial):
        if _surplus(study, trial, trials):  # the other workers have the total running already
            trial.set_user_attr("surplus", worker)
            study.stop()
            raise optuna.TrialPruned("beyond the total")
        trial.set_user_attr("worker", worker)
        # Keras numbers the models and layers it creates per process (sequential_3/...), and those
        # names reach the .tflite: start each trial from a fresh count, as a fresh `tinyopt run` does.
        from core.tf_env import keras

        keras().backend.clear_session()
        steps = draw(trial, kind, epochs)
        recipe = dataclasses.replace(base, steps=steps)
        try:
            if not steps:
                raise SequenceError("no component is on")
            recipe = Recipe.from_dict(recipe.to_dict(), f"trial {trial.number}")
            recipe.sequence().validate(kind)
        except SequenceError as exc:  # an order the sequence refuses is never run
            trial.set_user_attr("invalid", str(exc))
            raise optuna.TrialPruned(str(exc)) from None
        why = _ruled_out(original, recipe.steps, budget)
        if why:  # cheap before costly: the budget rules it out before any fine-tuning
            trial.set_user_attr("ruled_out", why)
            raise optuna.TrialPruned(why)
        from core.runner import run_recipe

        hits = prefixes.hits
        try:
            result = run_recipe(recipe, ctx, original=original, trust_model_code=trust_model_code,
                                prefixes=prefixes, evaluate_steps=False)
        except TinyOptError as exc:  # a step refused this combination (compressing a hybrid model, say)
            trial.set_user_attr("refused", str(exc).strip().splitlines()[0][:300])
            raise optuna.TrialPruned(str(exc)) from None
        except Exception as exc:  # one trial's failure (a library error too) must not end the search
            trial.set_user_attr("error", f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]}"
                                if str(exc).strip() else type(exc).__name__)
            raise
        trial.set_user_attr("reused_steps", prefixes.hits - hits)  # fine-tuned steps taken from earlier trials
        if result.cancelled:
            raise KeyboardInterrupt
        if len(result.variants) < 2:
            raise SearchError(f"trial {trial.number}: no variant ({result.failures})")
        base_m, m = result.variants[0].metrics, result.variants[-1].metrics
        values = [measure(m, o) for o in objectives]
        if any(v is None or not math.isfinite(v) for v in values):
            trial.set_user_attr("unmeasured", [o for o, v in zip(objectives, values) if v is None])
            raise optuna.TrialPruned("an objective could not be measured")
        folder = out / "trials" / f"{trial.number:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        recipe.save(folder / "recipe.json")
        from core.evaluation import model_bytes

        (folder / f"{m.name}.tflite").write_bytes(model_bytes(result.variants[-1].artifact))
        (folder / "metrics.json").write_text(json.dumps(m.to_dict(), indent=2, sort_keys=True, default=str))
        violations = _violations(m, base_m, budget)
        for key, (_, amount) in zip(("ram", "flash", "accuracy"), violations):  # > 0: infeasible
            trial.set_constraint(key, amount)
        trial.set_user_attr("violations", [v[0] for v in violations if v[1] > 0])
        trial.set_user_attr("recipe", recipe.to_dict())
        trial.set_user_attr("variant", m.name)
        trial.set_user_attr("original_accuracy", measure(base_m, "accuracy"))  # for the accuracy floor
        trial.set_user_attr("folder", str(folder))
        on_variant(trial.number, result)
        return values

    def after(study, frozen):
        on_trial(frozen)
        if should_stop():
            study.stop()

    for t in study.get_trials(deepcopy=False):  # a resumed search tells its earlier trials first
        if t.state.is_finished() and "surplus" not in t.user_attrs:
            on_trial(t)
    done, rounds = _finished(study), 0
    while done < trials and rounds < 3:  # failed trials do not count: a few more rounds make up for them
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.optimize(objective, n_trials=trials - done, catch=(Exception,),
                           callbacks=[after])
        done, rounds = _finished(study), rounds + 1
        if should_stop():
            break
    result = collect(study, objectives)
    write_front(result, out)
    return result


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


def _surplus(study, trial, total: int) -> bool:
    """True when `total` trials numbered before this one are finished or running: this one is
    closed unrun and not counted. The storage numbers trials one by one, so with several workers
    exactly `total` trials run."""
    import optuna

    S = optuna.trial.TrialState
    taken = [t for t in study.get_trials(deepcopy=False, states=(S.COMPLETE, S.PRUNED, S.RUNNING, S.WAITING))
             if t.number < trial.number and "surplus" not in t.user_attrs]
    return len(taken) >= total


def _ruled_out(original, steps: list[dict], budget: Budget) -> str | None:
    """Why the budget rules out these steps' variant before it is made (core/bounds.py), or None."""
    if str(original.kind) != "keras" or (budget.flash is None and budget.ram is None):
        return None
    from core.bounds import lower_bounds

    bounds = lower_bounds(original.model, steps)
    if bounds is None:
        return None
    flash, ram = bounds
    if budget.flash is not None and flash > budget.flash:
        return f"ruled out before fine-tuning: its weights alone take at least {flash:,} B (flash budget {budget.flash:,} B)"
    if budget.ram is not None and ram > budget.ram:
        return f"ruled out before fine-tuning: its largest activation alone takes {ram:,} B (RAM budget {budget.ram:,} B)"
    return None


def _finished(study) -> int:
    import optuna

    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len([t for t in study.get_trials(deepcopy=False, states=states) if "surplus" not in t.user_attrs])


def _violations(m, base_m, budget: Budget) -> list[tuple[str, float]]:
    """(what, amount) for RAM, flash and the accuracy floor, in that order: amount > 0 breaks the
    constraint (Optuna's convention), 0 where there is no such constraint."""
    ram = measure(m, "ram")
    out = [(f"arena over {budget.ram:,} B", (ram - budget.ram) if ram is not None else 1.0)
           if budget.ram is not None else ("", 0.0),
           (f"model over {budget.flash:,} B", float(m.size_bytes - budget.flash))
           if budget.flash is not None else ("", 0.0)]
    acc, base = measure(m, "accuracy"), measure(base_m, "accuracy")
    if budget.max_drop is not None and acc is not None and base is not None:
        out.append((f"accuracy more than {budget.max_drop} pt below the original's",
                    (base - acc) * 100 - budget.max_drop))
    else:
        out.append(("", 0.0))
    return out


def collect(study, objectives) -> SearchResult:
    """Every finished trial, the feasible non-dominated ones marked as the front."""
    import optuna

    result = SearchResult(objectives=tuple(objectives))
    for t in study.get_trials(deepcopy=False):
        if t.state == optuna.trial.TrialState.PRUNED and "invalid" in t.user_attrs:
            result.invalid += 1
        elif t.state == optuna.trial.TrialState.PRUNED and "refused" in t.user_attrs:
            result.refused += 1
        elif t.state == optuna.trial.TrialState.PRUNED and "unmeasured" in t.user_attrs:
            result.unmeasured += 1
        elif t.state == optuna.trial.TrialState.PRUNED and "ruled_out" in t.user_attrs:
            result.ruled_out.append((t.number, t.user_attrs["ruled_out"]))
        elif t.state == optuna.trial.TrialState.FAIL:
            result.failed += 1
        elif t.state == optuna.trial.TrialState.COMPLETE:
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
