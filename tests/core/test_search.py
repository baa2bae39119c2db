"""The search: every trial's order passes Sequence.validate before it runs, the front is
non-dominated and made of TFLM-runnable variants whose recipes reproduce them byte for byte, and
a stopped search resumes with its finished trials kept."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def searched(reference_h5, tmp_path_factory):
    from core.recipe import Recipe
    from core.search import Budget, search

    out = tmp_path_factory.mktemp("search")
    base = Recipe(model=str(reference_h5), latency_runs=0)
    first = search(base, out, trials=4, budget=Budget(ram=32 * 1024, flash=256 * 1024, max_drop=2.0))
    return base, out, first


def test_front_is_non_dominated_runs_on_tflm_and_reproduces(searched):
    from core.search import dominates

    base, out, result = searched
    assert result.trials and result.front and all(t.feasible for t in result.front)
    assert all(t.feasible == (not t.violations) for t in result.trials)
    for a in result.front:
        assert not any(dominates(b, a, result.objectives) for b in result.trials if b.feasible and b is not a)
        metrics = json.loads((out / "trials" / f"{a.number:04d}" / "metrics.json").read_text())
        assert metrics["tflm"]["runs"]
    point = result.front[0]
    folder = out / "trials" / f"{point.number:04d}"
    proc = subprocess.run([sys.executable, "-m", "tinyopt", "run", "--recipe", str(folder / "recipe.json"),
                           "--out", str(out / "again")], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "again" / f"{point.variant}.tflite").read_bytes() == (folder / f"{point.variant}.tflite").read_bytes()
    saved = json.loads((out / "front.json").read_text())
    assert [t["number"] for t in saved["front"]] == [t.number for t in result.front]


def test_no_trial_runs_an_order_the_sequence_refuses(searched):
    from core.recipe import Recipe

    _, out, result = searched
    for t in result.trials:
        Recipe.from_dict(t.recipe).sequence().validate("keras")  # raises for a refused order
    ran = {int(p.name) for p in (out / "trials").iterdir()}
    assert ran == {t.number for t in result.trials}  # refused draws wrote nothing


def test_resume_keeps_finished_trials_and_reaches_the_total(searched):
    from core.errors import TinyOptError
    from core.search import search

    base, out, first = searched
    with pytest.raises(TinyOptError, match="--resume"):
        search(base, out, trials=6)
    again = search(base, out, trials=6, resume=True)
    before = {t.number: t.values for t in first.trials}
    after = {t.number: t.values for t in again.trials}
    assert all(after[n] == v for n, v in before.items())
    import optuna

    study = optuna.load_study(study_name=f"tinyopt-{base.digest()}", storage=f"sqlite:///{out / 'search.db'}")
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED") and "surplus" not in t.user_attrs]
    assert len(finished) == 6


def test_a_killed_search_resumes_with_its_finished_trials(reference_h5, tmp_path):
    """SIGKILL the search process once a trial has finished, then --resume: the finished trials
    are kept unchanged and the total reaches --trials."""
    import time

    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "tinyopt", "search", "--model", str(reference_h5), "--trials", "4",
           "--out", str(out)]
    import sqlite3

    def complete() -> list[int]:  # trials the study has recorded as finished (not just written)
        try:
            with sqlite3.connect(out / "search.db") as db:
                return [n for (n,) in db.execute("SELECT number FROM trials WHERE state = 'COMPLETE'")]
        except sqlite3.Error:
            return []

    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while not complete() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
    proc.kill()
    proc.wait(30)
    before = {f"{n:04d}": (out / "trials" / f"{n:04d}" / "metrics.json").read_bytes() for n in complete()}
    assert before, "no trial finished before the kill"
    again = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    assert all((out / "trials" / name / "metrics.json").read_bytes() == data for name, data in before.items())
    front = json.loads((out / "front.json").read_text())
    import optuna

    study = optuna.load_study(study_name=optuna.study.get_all_study_names(f"sqlite:///{out / 'search.db'}")[0],
                              storage=f"sqlite:///{out / 'search.db'}")
    assert len([t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED") and "surplus" not in t.user_attrs]) == 4
    assert {int(n) for n in before} <= {t["number"] for t in front["trials"]}


def test_presets_seed_the_search_as_valid_draws_of_its_space():
    """The presets the search starts from are draws of its own space (FixedTrial replays them
    through the same suggest calls) and orders Sequence.validate accepts."""
    import optuna

    from core.presets import PRESETS
    from core.recipe import Recipe
    from core.search import draw, preset_params

    seeded = preset_params()
    assert len(seeded) >= 5
    names = set()
    for params in seeded:
        steps = draw(optuna.trial.FixedTrial(params), "keras", 1)
        Recipe.from_dict({"model": "reference", "steps": steps}).sequence().validate("keras")
        names.add(tuple(s["name"] for s in steps))
    smallest = tuple(s["name"] for s in PRESETS["smallest-tflm"].steps)
    assert smallest in names and ("quantize",) in names


@pytest.mark.parametrize("settings, message", [
    ({"trials": 0}, "Trials"), ({"trials": True}, "Trials"), ({"trials": 2.5}, "Trials"),
    ({"epochs": 0}, "Epochs"), ({"objectives": ("flash",)}, "Objectives"),
    ({"objectives": ("flash", "flash")}, "Objectives"), ({"objectives": ("flash", "speed")}, "speed"),
    ({"budget": "ram"}, "RAM"), ({"budget": "drop"}, "Max drop"), ({"budget": "nan"}, "Max drop"),
    ({"storage": "postgresql://someone:s3cret@127.0.0.1:1/db"}, "Cannot open the search storage"),
])
def test_wrong_settings_are_refused_before_the_model_loads(settings, message, tmp_path):
    """Each refusal names the setting; none waits for the model (this one does not exist) and none
    shows a storage password."""
    from core.errors import TinyOptError
    from core.recipe import Recipe
    from core.search import Budget, search

    budget = {"ram": Budget(ram=-5), "drop": Budget(max_drop=-1.0), "nan": Budget(max_drop=float("nan"))}
    kwargs = {"trials": 3, **settings}
    kwargs["budget"] = budget.get(settings.get("budget"))
    with pytest.raises(TinyOptError, match=message) as err:
        search(Recipe(model=str(tmp_path / "absent.h5")), tmp_path / "out", **kwargs)
    assert "s3cret" not in str(err.value) and "absent.h5" not in str(err.value)


def test_channel_widths_are_searched_per_block_of_the_model():
    """A model with several channel groups gets one width factor per block on top of the global
    ratio; the drawn sequence is one the step accepts, and each block's layers get their own keep."""
    import optuna

    from core.recipe import Recipe
    from core.search.space import channel_blocks, draw
    from core.tf_env import keras

    k = keras()
    model = k.Sequential([k.layers.InputLayer((12, 12, 1))] + [k.layers.Conv2D(8, 3, name=f"c{i}") for i in range(5)]
                         + [k.layers.Flatten(), k.layers.Dense(3, name="out")])
    blocks = channel_blocks(model)
    assert blocks == [["c0"], ["c1"], ["c2"], ["c3", "c4"]]  # five groups in four contiguous blocks
    params = {n: n == "channels" for n in ("channels", "separable", "prune", "cluster", "qat", "graph", "strip",
                                           "compress")}
    params.update({"channels.keep": 0.5, "channels.block0": 2.0, "channels.block1": 0.5, "channels.block2": 1.0,
                   "channels.block3": 1.5, "quantize.modes": "int8"})
    steps = draw(optuna.trial.FixedTrial(params), "keras", 1, blocks)
    keep = steps[0]["params"]["layer_keep"]
    assert keep == {"c0": 1.0, "c1": 0.25, "c2": 0.5, "c3": 0.75, "c4": 0.75}
    Recipe.from_dict({"model": "reference", "steps": steps}).sequence().validate("keras")
    one = k.Sequential([k.layers.InputLayer((6, 6, 1)), k.layers.Conv2D(4, 3), k.layers.Flatten(), k.layers.Dense(2)])
    assert channel_blocks(one) == []


def test_flash_and_ram_objectives_count_the_whole_firmware_where_it_was_measured():
    from core.measure.evaluation import Metrics
    from core.search.objectives import Budget, measure, violations
    from core.target.footprint import Footprint

    fp = Footprint("cortex-m4f", "cmsis-nn", model=23_208, framework=19_995, kernel_code={"CONV_2D": 17_000,
                   "shared": 400}, runtime_library=35_630, harness=2_000, padding=100, image=99_000, arena=11_184,
                   arena_used=11_184, tflm_static=12, runtime_objects=436, library_static=2_536, stack=1_284, stack_room=65_536)
    bare = Metrics(name="int8", kind="tflite", size_bytes=23_208, gzip_bytes=16_000)
    whole = Metrics(name="int8", kind="tflite", size_bytes=23_208, gzip_bytes=16_000, footprint=fp)
    assert measure(bare, "flash") == 23_208 and measure(whole, "flash") == fp.flash_total == 96_233
    assert measure(whole, "ram") == fp.ram_total == 11_184 + 12 + 436 + 2_536 + 1_284
    over = violations(whole, whole, Budget(flash=64 * 1024))
    assert over[1][0] == "firmware flash over 65,536 B" and over[1][1] > 0  # the model alone would fit
    assert violations(bare, bare, Budget(flash=64 * 1024))[1][1] < 0
