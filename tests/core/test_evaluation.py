"""Evaluation of Keras and TFLite variants, and the runner that ties them together."""

import numpy as np

from core.measure.evaluation import LiteRTRunner, evaluate
from core.recipe import Recipe
from core.runner import run_recipe
from core.steps.base import CancelToken, Context
from core.steps.quantize import QuantizeStep


def test_reference_model_shape(trained_reference):
    assert trained_reference.model.count_params() == 20_410
    kinds = [type(l).__name__ for l in trained_reference.model.layers]
    assert kinds == ["Reshape", "Conv2D", "MaxPooling2D", "Flatten", "Dense"]


def test_reference_training_is_deterministic(mnist5k):
    from core.model.reference import train_reference

    small = mnist5k.__class__("s", mnist5k.x_train[:300], mnist5k.y_train[:300],
                              mnist5k.x_test[:100], mnist5k.y_test[:100])
    a = train_reference(small, epochs=1, seed=7).model.get_weights()
    b = train_reference(small, epochs=1, seed=7).model.get_weights()
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa, wb)


def test_int8_input_quantized_with_model_parameters(trained_reference, adapted_mnist):
    int8 = QuantizeStep(modes=["int8"]).run(trained_reference, Context(dataset=adapted_mnist))[0]
    runner = LiteRTRunner(int8.data)
    scale, zero = runner.inp["quantization"]
    q = runner.quantize_input(np.array([0.0, 1.0], np.float32), runner.inp)
    assert q.dtype == np.int8 and q[0] == np.clip(round(zero), -128, 127)
    assert q[1] == np.clip(round(1.0 / scale + zero), -128, 127)


def test_evaluate_keras_and_int8(trained_reference, adapted_mnist):
    k = evaluate(trained_reference, adapted_mnist, latency_runs=20, tflm=False)
    assert k.kind == "keras" and k.params == 20_410 and k.accuracy > 0.85
    int8 = QuantizeStep(modes=["int8"]).run(trained_reference, Context(dataset=adapted_mnist))[0]
    m = evaluate(int8, adapted_mnist, latency_runs=200)
    assert m.size_bytes == len(int8.data) and 0 < m.gzip_bytes < m.size_bytes
    assert abs(m.accuracy - k.accuracy) <= 0.01
    assert 0 < m.latency_ms_median <= m.latency_ms_p90
    assert m.tflm.runs and m.tflm.arena_total > 0 and m.tflm.arena_verified


def test_runner_fans_out_and_cancel_keeps_finished(trained_reference):
    recipe = Recipe(steps=[{"name": "quantize", "params": {"modes": ["int8", "dynamic", "float16"]}}],
                    latency_runs=5)
    token = CancelToken()
    seen = []
    weights = [w.copy() for w in trained_reference.model.get_weights()]

    def on_variant(v):
        seen.append(v.name)
        if v.name == "int8":
            token.cancel()

    res = run_recipe(recipe, Context(cancel=token), original=trained_reference,
                     on_variant=on_variant, tflm=False)
    assert res.cancelled and seen == ["original", "int8"]
    assert [v.name for v in res.variants] == seen
    # the loaded model is never changed by a run: same weights, and it is the original row
    assert all((a == b).all() for a, b in zip(weights, trained_reference.model.get_weights()))
    assert res.variants[0].artifact is trained_reference
