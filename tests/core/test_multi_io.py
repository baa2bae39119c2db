"""Models with several inputs and outputs: they load and run without data, inputs reach the
right tensors whatever order the converter gives them, and fidelity is reported per output."""

import numpy as np
import pytest

from core.errors import DataError


@pytest.fixture(scope="module")
def two_by_two(tmp_path_factory):
    """Inputs 'a' (16 values) and 'b' (8), outputs 'cls' (3 classes) and 'reg' (1 value). The
    converter lists the .tflite's inputs as b, a: the canonical (name) order must undo that."""
    from core.tf_env import keras

    k = keras()
    a, b = k.Input((16,), name="a"), k.Input((8,), name="b")
    h = k.layers.Dense(12, activation="relu")(k.layers.Concatenate()([a, b]))
    model = k.Model([a, b], [k.layers.Dense(3, activation="softmax", name="cls")(h),
                             k.layers.Dense(1, name="reg")(h)])
    path = tmp_path_factory.mktemp("mio") / "two_by_two.h5"
    model.save(str(path))
    return path


def test_inputs_and_outputs_in_name_order_for_keras_and_tflite(two_by_two):
    from core.artifact import Artifact
    from core.measure.evaluation import LiteRTRunner, keras_outputs
    from core.model.loading import load_model
    from core.model.info import model_io
    from core.steps.base import Context
    from core.steps.quantize import QuantizeStep

    original = load_model(str(two_by_two))
    f32 = QuantizeStep(modes=["float32"]).run(original, Context())[0]
    assert isinstance(f32, Artifact)
    for art in (original, f32):
        io = model_io(art)
        assert io.input_shapes == ((16,), (8,)) and io.output_shapes == ((3,), (1,))
    rng = np.random.default_rng(0)
    x = [rng.uniform(0, 1, (20, 16)).astype(np.float32), rng.uniform(0, 1, (20, 8)).astype(np.float32)]
    want = keras_outputs(original.model, x)
    got = LiteRTRunner(f32.data).outputs(x)
    assert [o.shape for o in got] == [(20, 3), (20, 1)]
    for w, g in zip(want, got):
        np.testing.assert_allclose(g, w, atol=1e-5)


def test_run_without_data_reports_fidelity_per_output(two_by_two):
    from core.recipe import Recipe
    from core.session import Session

    steps = [{"name": "quantize", "params": {"modes": ["float16", "int8"], "calibration": "synthetic"}}]
    session = Session(Recipe(model=str(two_by_two), data=None, latency_runs=0, steps=steps))
    original, f16, int8 = session.run().variants
    for v in (f16, int8):
        fid = v.metrics.fidelity
        assert len(fid.per_output) == 2 and fid.output in (0, 1)
        assert fid.cos == min(o["cos"] for o in fid.per_output) > 0.99
        assert fid.per_output[0]["top1"] is not None and fid.per_output[1]["top1"] is None
    assert int8.metrics.tflm.runs and "synthetic" in int8.metrics.notes[0]
    assert "output 0 (the worst of 2)" in f16.metrics.fidelity.summary() or \
        "output 1 (the worst of 2)" in f16.metrics.fidelity.summary()


def test_data_for_a_multi_input_model_is_refused_with_what_to_do(two_by_two, tmp_path):
    from core.recipe import Recipe
    from core.runner import prepare
    from core.steps.base import Context

    np.savez(tmp_path / "d.npz", x=np.zeros((10, 16), np.float32), y=np.zeros(10, int))
    with pytest.raises(DataError, match=r"takes 2 inputs .*--data none"):
        prepare(Recipe(model=str(two_by_two), data=str(tmp_path / "d.npz")), Context())
