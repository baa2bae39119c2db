"""Order validation, the CLI step syntax, and recipes."""

import json

import pytest

from core.errors import SequenceError
from core.recipe import Recipe
from core.sequence import Sequence, parse_steps


def test_parse_steps_merges_adjacent_quantize_modes():
    assert parse_steps("quantize:int8,quantize:dynamic") == [
        {"name": "quantize", "params": {"modes": ["int8", "dynamic"]}}]
    assert parse_steps("quantize:int8+16x8:representative_samples=50") == [
        {"name": "quantize", "params": {"modes": ["int8", "16x8"], "representative_samples": 50}}]


def test_unknown_step_lists_available():
    with pytest.raises(SequenceError, match="Unknown step 'shrink'.*quantize"):
        Sequence.from_dicts(parse_steps("shrink"))


def test_bad_parameter_named():
    with pytest.raises(SequenceError, match="quantize.*representative_samples"):
        Sequence.from_dicts([{"name": "quantize", "params": {"bogus": 1}}])


def test_keras_step_after_conversion_refused():
    seq = Sequence.from_dicts([{"name": "quantize", "params": {"modes": ["int8"]}},
                               {"name": "quantize", "params": {"modes": ["dynamic"]}}])
    with pytest.raises(SequenceError, match="Step 2 'quantize' needs a Keras model.*Move 'quantize' before"):
        seq.validate("keras")


def test_keras_step_on_tflite_input_refused():
    seq = Sequence.from_dicts(parse_steps("quantize:int8"))
    with pytest.raises(SequenceError, match="Open the Keras model"):
        seq.validate("tflite")
    seq.validate("keras")


def test_recipe_roundtrip(tmp_path):
    r = Recipe(model="m.h5", data="digits", steps=parse_steps("quantize:int8"), seed=3)
    again = Recipe.load(r.save(tmp_path / "r.json"))
    assert again.to_json() == r.to_json() and again.digest() == r.digest()
    assert again.steps[0]["params"]["representative_samples"] == 200  # defaults written out


@pytest.mark.parametrize("content,words", [
    ("{not json", "not valid JSON"),
    (json.dumps({"format": 99}), "format 99"),
    (json.dumps({"modle": "x.h5"}), "unknown field(s) modle"),
    (json.dumps({"steps": [{"name": "quantize", "params": {"modes": ["int3"]}}]}), "int3"),
])
def test_bad_recipes(tmp_path, content, words):
    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(SequenceError) as e:
        Recipe.load(p)
    assert words in str(e.value)


@pytest.mark.parametrize("steps,words", [
    ("quantize:int8,prune:0.8", "Move 'prune' before"),
    ("qat,quantize:float16", "float16.*choose int8 or full-int"),
    ("quantize:int8,compress", "add 'cluster'"),
    ("prune:0.5,separable", "Move 'separable' first"),
    ("qat,cluster:16", "cluster before 'qat'"),
])
def test_orders_that_cannot_work_are_refused_with_the_fix(steps, words):
    with pytest.raises(SequenceError, match=words):
        Sequence.from_dicts(parse_steps(steps)).validate("keras")


def test_primary_parameter_from_bare_value():
    assert parse_steps("prune:0.8,cluster:16:epochs=2") == [
        {"name": "prune", "params": {"final_sparsity": 0.8}},
        {"name": "cluster", "params": {"clusters": 16, "epochs": 2}}]


def test_every_preset_is_a_valid_sequence():
    from core.presets import DEFAULT, PRESETS

    assert "smallest-tflm" in PRESETS
    for preset in PRESETS.values():
        Sequence.from_dicts(preset.steps).validate("keras")
    Sequence.from_dicts(DEFAULT).validate("keras")
