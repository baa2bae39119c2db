"""Cheap before costly: a run that reuses a fine-tuned prefix writes the bytes a fresh run writes,
and the budget's lower bounds hold for real variants and stop a trial before it fine-tunes."""

import pytest

pytestmark = pytest.mark.slow


def _recipe(model, mode):
    from core.recipe import Recipe

    return Recipe.from_dict({"model": str(model), "latency_runs": 0, "steps": [
        {"name": "qat", "params": {"epochs": 1}}, {"name": "quantize", "params": {"modes": [mode]}}]})


def test_a_reused_prefix_gives_the_bytes_of_a_fresh_run(reference_h5):
    from core.measure.evaluation import model_bytes
    from core.search.prefixes import Prefixes
    from core.runner import prepare, run_recipe
    from core.steps.base import Context
    from core.tf_env import keras

    ctx = Context(log=lambda m: None)
    original, _ = prepare(_recipe(reference_h5, "int8"), ctx)

    def run(recipe, **kw):
        keras().backend.clear_session()  # as a fresh process starts
        result = run_recipe(recipe, ctx, original=original, **kw)
        return result, model_bytes(result.variants[-1].artifact)

    fresh, fresh_bytes = run(_recipe(reference_h5, "full-int"))
    kept = Prefixes()
    first, _ = run(_recipe(reference_h5, "int8"), prefixes=kept, evaluate_steps=False)
    again, again_bytes = run(_recipe(reference_h5, "full-int"), prefixes=kept, evaluate_steps=False)
    assert (kept.misses, kept.hits) == (1, 1)
    assert again_bytes == fresh_bytes
    assert [v.name for v in again.variants] == ["original", "qat+full-int"]  # the step's own is skipped
    assert len(fresh.variants) == 3
    qat_time = sum(s for what, s in first.timings if what.startswith("qat"))
    assert sum(s for what, s in again.timings if what.startswith("qat")) < qat_time / 5


def test_lower_bounds_hold_for_real_variants(reference_h5, trained_reference):
    from core.search.bounds import lower_bounds
    from core.recipe import Recipe
    from core.runner import run_recipe

    for mode in ("int8", "float16", "dynamic"):
        recipe = Recipe.from_dict({"model": str(reference_h5), "latency_runs": 0,
                                   "steps": [{"name": "quantize", "params": {"modes": [mode]}}]})
        m = run_recipe(recipe).variants[-1].metrics
        flash, ram = lower_bounds(trained_reference.model, recipe.steps)
        assert 0 < flash <= m.size_bytes, (mode, flash, m.size_bytes)
        assert (m.arena_total is not None) == (mode == "int8")  # float16 and hybrid do not run on TFLM
        if m.arena_total is not None:
            assert 0 < ram <= m.arena_total, (mode, ram, m.arena_total)
    assert lower_bounds(trained_reference.model, [{"name": "separable", "params": {"rank": 1}},
                                                  {"name": "quantize", "params": {"modes": ["int8"]}}]) is None


def test_a_budget_below_the_bounds_stops_trials_before_fine_tuning(reference_h5, tmp_path):
    from core.recipe import Recipe
    from core.search import Budget, search

    base = Recipe(model=str(reference_h5), latency_runs=0)
    result = search(base, tmp_path, trials=4, budget=Budget(flash=4 * 1024))
    assert result.ruled_out, "a 4 KB flash budget rules out the 20,202 weights of the reference CNN"
    ran = {int(p.name) for p in (tmp_path / "trials").iterdir()} if (tmp_path / "trials").exists() else set()
    for number, why in result.ruled_out:
        assert number not in ran and "ruled out before fine-tuning" in why and "4,096 B" in why
    for t in result.trials:  # only trials the bounds cannot judge ran: separable and channels change shapes
        assert any(s["name"] in ("separable", "channels") for s in t.recipe["steps"]), t.recipe["steps"]
