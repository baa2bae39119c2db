"""Explore: a multi-objective search over sequences and their parameters, run by Optuna.

Each trial draws which components are on and their main parameters (core/search/space.py),
builds a recipe, refuses it before running when `Sequence.validate` does (an invalid draw is never
run), runs it like any recipe and measures the variant as the results table does
(core/search/objectives.py). A device budget (RAM, flash) and an accuracy floor are constraints,
not objectives: variants that break them are kept and marked infeasible. Every trial writes its
recipe and its .tflite; the study lives in an Optuna storage (an SQLite file in the output folder
by default, or a PostgreSQL URL shared by several machines, core/search/storage.py), so a stopped
search resumes where it was and loses no finished trial.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import socket
import warnings
from pathlib import Path

from core.errors import SearchError, SequenceError, TinyOptError, setting
from core.recipe import Recipe
from core.search.front import SearchResult, collect, write_front
from core.search.objectives import Budget, check_settings, direction, measure, ruled_out, violations
from core.search.outcome import Outcome, counted, mark
from core.search.prefixes import Prefixes
from core.search.space import channel_blocks, draw, preset_params
from core.search.storage import create_or_join, open_storage, shown


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
    # made here, once, however many workers start together (core/search/storage.py).
    storage = open_storage(url)
    exists = study_name in optuna.study.get_all_study_names(storage)
    if exists and not resume and not shared:  # on a shared storage, joining the study is the point
        raise SearchError(f"A search '{study_name}' already exists in {shown(url)}: continue it with "
                          f"{setting('resume')}, or choose another folder.")
    original, _ = prepare(base, ctx, trust_model_code=trust_model_code)
    kind = str(original.kind)
    blocks = channel_blocks(original.model) if kind == "keras" else []

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
            mark(trial, Outcome.SURPLUS, worker)
            study.stop()
            raise optuna.TrialPruned("beyond the total")
        trial.set_user_attr("worker", worker)
        # Keras numbers the models and layers it creates per process (sequential_3/...), and those
        # names reach the .tflite: start each trial from a fresh count, as a fresh `tinyopt run` does.
        from core.tf_env import keras

        keras().backend.clear_session()
        steps = draw(trial, kind, epochs, blocks)
        recipe = dataclasses.replace(base, steps=steps)
        try:
            if not steps:
                raise SequenceError("no component is on")
            recipe = Recipe.from_dict(recipe.to_dict(), f"trial {trial.number}")
            recipe.sequence().validate(kind)
        except SequenceError as exc:  # an order the sequence refuses is never run
            mark(trial, Outcome.INVALID, str(exc))
            raise optuna.TrialPruned(str(exc)) from None
        why = ruled_out(original, recipe.steps, budget)
        if why:  # cheap before costly: the budget rules it out before any fine-tuning
            mark(trial, Outcome.RULED_OUT, why)
            raise optuna.TrialPruned(why)
        from core.runner import run_recipe

        hits = prefixes.hits
        try:
            result = run_recipe(recipe, ctx, original=original, trust_model_code=trust_model_code,
                                prefixes=prefixes, evaluate_steps=False)
        except TinyOptError as exc:  # a step refused this combination (compressing a hybrid model, say)
            mark(trial, Outcome.REFUSED, str(exc).strip().splitlines()[0][:300])
            raise optuna.TrialPruned(str(exc)) from None
        except Exception as exc:  # one trial's failure (a library error too) must not end the search
            mark(trial, Outcome.FAILED, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]}"
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
            mark(trial, Outcome.UNMEASURED, [o for o, v in zip(objectives, values) if v is None])
            raise optuna.TrialPruned("an objective could not be measured")
        folder = out / "trials" / f"{trial.number:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        recipe.save(folder / "recipe.json")
        from core.measure.evaluation import model_bytes

        (folder / f"{m.name}.tflite").write_bytes(model_bytes(result.variants[-1].artifact))
        (folder / "metrics.json").write_text(json.dumps(m.to_dict(), indent=2, sort_keys=True, default=str))
        broken = violations(m, base_m, budget)
        for key, (_, amount) in zip(("ram", "flash", "accuracy"), broken):  # > 0: infeasible
            trial.set_constraint(key, amount)
        trial.set_user_attr("violations", [v[0] for v in broken if v[1] > 0])
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
        if counted(t):
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


def _surplus(study, trial, total: int) -> bool:
    """True when `total` trials numbered before this one are finished or running: this one is
    closed unrun and not counted. The storage numbers trials one by one, so with several workers
    exactly `total` trials run."""
    import optuna

    S = optuna.trial.TrialState
    taken = [t for t in study.get_trials(deepcopy=False, states=(S.COMPLETE, S.PRUNED, S.RUNNING, S.WAITING))
             if t.number < trial.number and "surplus" not in t.user_attrs]
    return len(taken) >= total


def _finished(study) -> int:
    import optuna

    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len([t for t in study.get_trials(deepcopy=False, states=states) if "surplus" not in t.user_attrs])
