"""Each PTQ mode through the real converter, checked in the written flatbuffer."""

import pytest

from core.analysis import tflite_reader as r
from core.errors import ConversionError, SequenceError
from core.steps.base import Context
from core.steps.quantize import QuantizeStep, verify


@pytest.fixture(scope="module")
def variants(trained_reference, adapted_mnist):
    step = QuantizeStep(modes=["float32", "dynamic", "float16", "full-int", "int8", "16x8"])
    outs = step.run(trained_reference, Context(dataset=adapted_mnist))
    return {a.name: a for a in outs}


def _types(art):
    model = r.read_model(art.data)
    ins, outs = r.io_dtypes(model)
    return set(ins), set(outs), r.weight_dtypes(model), r.activation_dtypes(model)


def test_float32(variants):
    ins, outs, weights, acts = _types(variants["float32"])
    assert ins == outs == {"float32"} and weights == {"float32"}


def test_dynamic_range(variants):
    ins, outs, weights, acts = _types(variants["dynamic"])
    assert ins == outs == {"float32"} and "int8" in weights and "float32" in acts


def test_float16(variants):
    ins, outs, weights, _ = _types(variants["float16"])
    assert ins == {"float32"} and "float16" in weights


def test_full_integer_with_float_fallback(variants):
    ins, outs, weights, acts = _types(variants["full-int"])
    assert ins == outs == {"float32"} and "int8" in weights and "int8" in acts


def test_integer_only(variants):
    ins, outs, weights, acts = _types(variants["int8"])
    assert ins == outs == {"int8"} and "float32" not in acts


def test_16x8(variants):
    ins, outs, weights, acts = _types(variants["16x8"])
    assert "int16" in acts and "int8" in weights


def test_input_artifact_untouched_and_history(trained_reference, adapted_mnist, variants):
    """Converting never changes the model the user loaded: its weights are what they were."""
    import numpy as np

    before = [w.copy() for w in trained_reference.model.get_weights()]
    QuantizeStep(modes=["int8", "dynamic"]).run(trained_reference, Context(dataset=adapted_mnist))
    after = trained_reference.model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert variants["int8"].history == ("quantize:int8",)
    assert variants["int8"].source == trained_reference.source


def test_verify_rejects_mismatch(variants):
    with pytest.raises(ConversionError, match="not int8"):
        verify(variants["full-int"].data, "int8")
    with pytest.raises(ConversionError, match="float16"):
        verify(variants["dynamic"].data, "float16")


def test_unknown_mode_rejected():
    with pytest.raises(SequenceError, match="int4"):
        QuantizeStep(modes=["int4"])


def test_data_required_for_calibrated_modes(trained_reference):
    from core.errors import DataError

    with pytest.raises(DataError, match="representative data.*--data"):
        QuantizeStep(modes=["int8"]).run(trained_reference, Context(dataset=None))
    (dynamic,) = QuantizeStep(modes=["dynamic"]).run(trained_reference, Context(dataset=None))  # needs none
    assert dynamic.info["quantize"]["calibration"] == "none"


def test_batch_one_folds_shape_arithmetic(trained_reference, adapted_mnist, variants):
    ops = r.op_names(r.read_model(variants["int8"].data))
    assert ops == ["RESHAPE", "CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED"]
    dynamic_batch = QuantizeStep(modes=["int8"], batch_one=False).run(
        trained_reference, Context(dataset=adapted_mnist))[0]
    assert "SHAPE" in r.op_names(r.read_model(dynamic_batch.data))
    assert len(variants["int8"].data) < len(dynamic_batch.data)


def test_integer_quantization_without_data_needs_an_explicit_choice(tmp_path, trained_reference):
    from core.errors import DataError
    from core.recipe import Recipe
    from core.model.reference import save_keras
    from core.session import Session

    path = save_keras(trained_reference.model, tmp_path / "ref.h5")
    steps = [{"name": "quantize", "params": {"modes": ["int8"]}}]
    with pytest.raises(DataError, match="Give your data with --data.*--calibration synthetic"):
        Session(Recipe(model=str(path), data=None, steps=steps, latency_runs=0)).run(tflm=False)
    steps[0]["params"]["calibration"] = "synthetic"
    original, int8 = Session(Recipe(model=str(path), data=None, steps=steps, latency_runs=0)).run().variants
    assert int8.artifact.info["quantize"]["calibration"] == "synthetic"
    assert int8.metrics.notes[0].startswith("Calibrated on synthetic inputs") and int8.metrics.tflm.runs
    assert int8.metrics.fidelity.inputs == "synthetic (no data)"
