"""A recipe opened in the window runs there exactly as `tinyopt run --recipe` runs it, and saving it
from the window gives back every field (the window used to drop seed, latency runs and epochs)."""

import subprocess
import sys

from core.recipe import Recipe
from tests.app.conftest import export_selected, wait_idle
from tests.conftest import ROOT


def test_window_run_of_a_recipe_matches_the_cli_byte_for_byte(window, qtbot, tiny_h5, tmp_path):
    recipe = Recipe(model=str(tiny_h5), data="mnist-5k", seed=7, latency_runs=3, reference_epochs=4,
                    steps=[{"name": "prune", "params": {"final_sparsity": 0.5, "epochs": 1}},
                           {"name": "quantize", "params": {"modes": ["int8"]}}])
    path = recipe.save(tmp_path / "recipe.json")
    out = tmp_path / "cli"
    proc = subprocess.run([sys.executable, "-m", "cli", "run", "--recipe", str(path), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]

    window.applyRecipe(Recipe.load(path))
    wait_idle(qtbot, window)
    assert window.loaded is not None and window.loaded.path == str(tiny_h5)
    saved = window.currentRecipe()
    assert saved.to_dict() == Recipe.load(path).to_dict()  # every field, seed 7 included
    window.panel.run_button.click()
    wait_idle(qtbot, window, 600_000)
    tflite = {p.name: p.artifact.data for p in window.variants.payloads if p.is_tflite}
    assert list(tflite) == ["pruned+int8"]
    assert tflite["pruned+int8"] == (out / "pruned+int8.tflite").read_bytes()
    window.currentRecipe().save(tmp_path / "from_window.json")
    # The recipe as run, as the command line writes it: the same fields, and the input range the run
    # detected recorded in both (the recipe given left it to detection).
    assert Recipe.load(tmp_path / "from_window.json").to_json() == Recipe.load(out / "recipe.json").to_json()
    assert Recipe.load(out / "recipe.json").input_range == [0.0, 1.0] and Recipe.load(path).input_range is None


def test_save_recipe_after_a_run_equals_the_exported_recipe_field_for_field(window, qtbot, tiny_h5, tmp_path,
                                                                             monkeypatch):
    import json

    window.openModel(str(tiny_h5))
    wait_idle(qtbot, window)
    window.panel.sequence.setRecipeSteps([{"name": "quantize", "params": {"modes": ["int8"]}}])
    window.panel.task.setCurrentIndex(window.panel.task.findData("classification"))
    window._on_run_clicked()
    wait_idle(qtbot, window, 300_000)
    window.results.selectRow(1)
    folder = export_selected(window, qtbot, monkeypatch, tmp_path / "exports")
    exported = json.loads((folder / "recipe.json").read_text())
    window.currentRecipe().save(tmp_path / "saved.json")
    saved = json.loads((tmp_path / "saved.json").read_text())
    assert saved == exported, {k: (saved.get(k), exported.get(k)) for k in set(saved) | set(exported)
                               if saved.get(k) != exported.get(k)}
    assert saved["input_range"] == [0.0, 1.0] and saved["task"] == "classification"
