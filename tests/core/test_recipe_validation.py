"""Hostile and mistaken recipes: every one is refused before anything runs, with the project's own
error naming the field or the step and parameter; a recipe can never grant trust in model code."""

import json

import pytest

from core.errors import SequenceError, UnsafeModelError
from core.recipe import Recipe


def _step(name, **params):
    return {"steps": [{"name": name, "params": params}]}


BAD = [
    ({"trust_model_code": "false"}, "'trust_model_code' must be true or false"),
    ({"trust_model_code": "no"}, "'trust_model_code' must be true or false"),
    ({"trust_model_code": 1}, "'trust_model_code' must be true or false"),
    ({"model": None}, "'model' must be a file path"),
    ({"model": 3}, "'model' must be a file path"),
    ({"model": "  "}, "'model' must be a file path"),
    ({"data": 5}, "'data' must be a dataset name"),
    ({"data": ""}, "'data' must be a dataset name"),
    ({"seed": "1"}, "field 'seed': must be a whole number"),
    ({"seed": 1.5}, "field 'seed': must be a whole number"),
    ({"seed": True}, "field 'seed': must be a whole number"),
    ({"seed": -1}, "field 'seed': -1 is out of range"),
    ({"latency_runs": -1}, "field 'latency_runs': -1 is out of range"),
    ({"latency_runs": 10**9}, "out of range"),
    ({"reference_epochs": 0}, "field 'reference_epochs'"),
    ({"format": 2}, "format 2 is not supported"),
    ({"format": True}, "format True is not supported"),
    ({"modle": "x.h5"}, "unknown field(s) modle"),
    ({"input_range": [1, 0]}, "'input_range' must be [low, high]"),
    ({"input_range": "0,1"}, "'input_range' must be [low, high]"),
    ({"input_range": [0, True]}, "'input_range' must be [low, high]"),
    ({"input_norm": [0.5, 0.25]}, "'input_norm' must be an object with 'mean' and 'std'"),
    ({"input_norm": {"mean": 0.5, "std": 0.25}}, "'input_norm' needs 'mean' and 'std' as lists"),
    ({"input_norm": {"mean": [0.5], "std": [0]}}, "'input_norm' needs every 'std' above 0"),
    ({"input_norm": {"mean": [0.5, 0.4], "std": [0.2]}}, "needs as many 'std' values"),
    ({"input_norm": {"mean": [0.5], "std": [0.2]}, "input_range": [0, 1]}, "not both"),
    ({"task": "segmentation"}, "'task' must be one of classification, anomaly, regression"),
    ({"label_column": 3}, "'label_column' must be a column name"),
    ({"steps": {"name": "qat"}}, "'steps' must be a list"),
    ({"steps": ["qat"]}, "Step 1 must be an object"),
    ({"steps": [{"params": {}}]}, "Step 1 must be an object"),
    ({"steps": [{"name": "shrink"}]}, "Unknown step 'shrink'"),
    ({"steps": [{"name": "qat", "params": [1]}]}, "parameters must be an object"),
    (_step("qat", epochs="2"), "Step 'qat', parameter 'epochs': must be a whole number"),
    (_step("qat", epochs=2.0), "parameter 'epochs': must be a whole number"),
    (_step("qat", epochs=1e9), "parameter 'epochs': must be a whole number"),
    (_step("qat", epochs=10**9), "parameter 'epochs': 1000000000 is out of range; allowed from 0 to 500"),
    (_step("qat", epochs=-1), "out of range"),
    (_step("qat", learning_rate="fast"), "parameter 'learning_rate': must be a number"),
    (_step("qat", preserve="all"), "parameter 'preserve': must be one of auto"),
    (_step("qat", warmup=3), "unknown parameter(s) warmup"),
    (_step("quantize", modes=3), "parameter 'modes': must be a list of"),
    (_step("quantize", modes=[]), "at least one"),
    (_step("quantize", modes=["int3"]), "parameter 'modes'"),
    (_step("quantize", modes=[["int8"]]), "parameter 'modes'"),
    (_step("quantize", batch_one="true"), "parameter 'batch_one': must be true or false"),
    (_step("quantize", representative_samples=0), "out of range"),
    (_step("prune", final_sparsity=1.0), "from 0 to below 1"),
    (_step("prune", final_sparsity=float("nan")), "NaN is not a JSON number"),
    (_step("prune", skip_layers="conv"), "parameter 'skip_layers': must be a list of layer names"),
    (_step("prune", skip_layers=[1]), "must be a list of layer names"),
    (_step("prune", layer_sparsity={"dense": "0.5"}), "layer 'dense' needs a number"),
    (_step("prune", layer_sparsity={"dense": 2}), "layer 'dense': 2 is out of range"),
    (_step("prune", initial_sparsity=0.9, final_sparsity=0.5), "initial_sparsity must not exceed"),
    (_step("cluster", clusters=1), "parameter 'clusters': 1 is out of range; allowed from 2 to 256"),
    (_step("cluster", clusters=16.5), "must be a whole number"),
    (_step("compress", index_bits=9), "parameter 'index_bits'"),
    (_step("graph", time_limit_s=1e12), "parameter 'time_limit_s'"),
    (_step("separable", rank=0), "parameter 'rank'"),
]


@pytest.mark.parametrize("fields,words", BAD, ids=[f"{i}-{w[:30]}" for i, (_, w) in enumerate(BAD)])
def test_bad_recipe_is_refused_with_a_message(tmp_path, fields, words):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"model": "m.h5", **fields}))
    with pytest.raises(SequenceError) as e:
        Recipe.load(path)
    assert words in str(e.value)
    assert str(e.value).startswith("bad.json")  # the file is named


@pytest.mark.parametrize("content", ["", "[]", "null", "3", '"x"', "{", "NaN", '{"seed": NaN}',
                                     '{"seed": Infinity}', "[" * 100_000, "\xff\xfe"])
def test_malformed_json_is_refused(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape") if content != "\xff\xfe" else b"\xff\xfe{")
    with pytest.raises(SequenceError, match="bad.json"):
        Recipe.load(path)


def test_recipe_cannot_grant_trust_in_model_code(tmp_path):
    from core.runner import run_recipe
    from core.tf_env import keras

    k = keras()
    model = k.Sequential([k.layers.InputLayer(input_shape=(4,)),
                          k.layers.Lambda(lambda t: t * 2.0, name="doubler"), k.layers.Dense(2)])
    model.save(str(tmp_path / "lambda.h5"))
    for granted in (True, "false", "yes"):
        path = tmp_path / "r.json"
        path.write_text(json.dumps({"model": str(tmp_path / "lambda.h5"), "data": None,
                                    "trust_model_code": granted,
                                    "steps": [{"name": "quantize", "params": {"modes": ["float32"]}}]}))
        if granted is not True:
            with pytest.raises(SequenceError):
                Recipe.load(path)
            continue
        recipe = Recipe.load(path)
        assert "trust_model_code" not in recipe.to_dict()
        with pytest.raises(UnsafeModelError, match="'doubler' \\(Lambda\\)"):
            run_recipe(recipe, tflm=False)


def test_cli_values_are_parsed_by_their_description():
    from core.sequence import parse_steps

    assert parse_steps("strip:names=no,quantize:int8+16x8") == [
        {"name": "strip", "params": {"names": False}},
        {"name": "quantize", "params": {"modes": ["int8", "16x8"]}}]
    for text, words in [("prune:epochs=two", "'two' is not from 1 to 500"),
                        ("prune:1.5", "out of range"), ("strip:names=maybe", "true or false"),
                        ("qat:speed=2", "has no parameter 'speed'"), ("strip:yes", "key=value")]:
        with pytest.raises(SequenceError, match=words):
            parse_steps(text)


def test_every_parameter_is_described():
    from core.steps import REGISTRY

    for cls in REGISTRY.values():
        defaults = cls.Params()
        for p in cls.describe():
            assert p.help and p.kind
            assert getattr(defaults, p.name) == p.default
            cls(**{p.name: p.default})  # the default passes its own check
