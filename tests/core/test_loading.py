"""Loading each format, and a clear LoadError (never a traceback) for every kind of bad input."""

import json
import os

import numpy as np
import pytest

from core.errors import LoadError, UnsafeModelError
from core.model.loading import load_model
from tests.conftest import shared_model


@pytest.fixture(scope="module")
def small_model():
    from core.model.reference import build_reference

    return build_reference()


def test_loads_h5_keras_and_savedmodel(small_model, tmp_path):
    x = np.random.default_rng(0).random((2, 28, 28), dtype=np.float32)
    want = small_model.predict(x, verbose=0)
    paths = [tmp_path / "m.h5", tmp_path / "m.keras", tmp_path / "saved"]
    for p in paths:
        small_model.save(str(p))
        art = load_model(p)
        assert art.kind == "keras" and art.name == "original"
        assert art.model.count_params() == 20_410
        np.testing.assert_allclose(art.model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)


def test_loads_tflite():
    art = load_model(shared_model("kws_ref_model.tflite"))
    assert art.kind == "tflite" and len(art.data) == 53_936


def test_loads_third_party_h5_with_optimizer_state():
    art = load_model(shared_model("seed_cnn_fashion_base.h5"))
    assert art.model.count_params() == 20_410
    assert [type(l).__name__ for l in art.model.layers][:2] == ["Reshape", "Conv2D"]


def _bad(tmp_path, name, content: bytes):
    p = tmp_path / name
    p.write_bytes(content)
    return p


@pytest.mark.parametrize("name,content,words", [
    ("empty.tflite", b"", "empty"),
    ("empty.h5", b"", "empty"),
    ("random.tflite", os.urandom(4096), "not a TensorFlow Lite model"),
    ("notes.tflite", b"hello, this is a text file\n" * 20, "looks like text"),
    ("random.h5", os.urandom(4096), "not a valid HDF5"),
    ("notes.keras", b"just text", "not a valid .keras"),
    ("model.onnx", b"\x08\x07", "no graph in it"),
    ("model.onnx", b"\xff\xfe garbage", "not an ONNX model"),
    ("model", b"\x08\x07", "unknown model format"),
])
def test_bad_files_name_file_and_cause(tmp_path, name, content, words):
    p = _bad(tmp_path, name, content)
    with pytest.raises(LoadError) as e:
        load_model(p)
    assert p.name in str(e.value) and words in str(e.value)


def test_truncated_tflite(tmp_path):
    data = shared_model("kws_ref_model.tflite").read_bytes()
    p = _bad(tmp_path, "cut.tflite", data[: len(data) // 2])
    with pytest.raises(LoadError, match="corrupt or truncated"):
        load_model(p)


def test_truncated_h5(tmp_path, small_model):
    small_model.save(str(tmp_path / "full.h5"))
    data = (tmp_path / "full.h5").read_bytes()
    p = _bad(tmp_path, "cut.h5", data[: len(data) // 3])
    with pytest.raises(LoadError, match="cut.h5"):
        load_model(p)


def test_h5_without_model(tmp_path, small_model):
    p = tmp_path / "weights.h5"
    small_model.save_weights(str(p))
    with pytest.raises(LoadError, match="no Keras model"):
        load_model(p)


def test_missing_file_and_plain_directory(tmp_path):
    with pytest.raises(LoadError, match="no such file"):
        load_model(tmp_path / "nope.h5")
    (tmp_path / "folder").mkdir()
    with pytest.raises(LoadError, match="not a SavedModel"):
        load_model(tmp_path / "folder")


def _lambda_model():
    from core.tf_env import keras

    k = keras()
    return k.Sequential([k.layers.InputLayer(input_shape=(4,)),
                         k.layers.Lambda(lambda t: t * 2.0, name="doubler"),
                         k.layers.Dense(2)])


@pytest.mark.parametrize("fmt", ["h5", "keras", "savedmodel"])
def test_lambda_layer_refused_unless_trusted(tmp_path, fmt):
    p = tmp_path / ("m" if fmt == "savedmodel" else f"m.{fmt}")
    _lambda_model().save(str(p))
    with pytest.raises(UnsafeModelError) as e:
        load_model(p)
    msg = str(e.value)
    assert "'doubler' (Lambda)" in msg and "--trust-model-code" in msg
    art = load_model(p, trust_model_code=True)
    assert art.model.predict(np.ones((1, 4), np.float32), verbose=0).shape == (1, 2)


def test_custom_layer_that_cannot_be_rebuilt(tmp_path):
    from core.tf_env import keras

    k = keras()

    class Scale(k.layers.Layer):  # not registered: its code is not in the file
        def call(self, x):
            return x * 3.0

    m = k.Sequential([k.layers.InputLayer(input_shape=(4,)), Scale(name="scale"), k.layers.Dense(2)])
    p = tmp_path / "custom.h5"
    m.save(str(p))
    with pytest.raises(LoadError) as e:
        load_model(p)
    assert "custom.h5" in str(e.value) and "Scale" in str(e.value)


def test_damaged_config_in_h5(tmp_path, small_model):
    import h5py

    p = tmp_path / "damaged.h5"
    small_model.save(str(p))
    with h5py.File(p, "r+") as f:
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"layers": [
            {"class_name": "NoSuchLayer", "config": {"name": "mystery"}}]}})
    with pytest.raises(LoadError, match="NoSuchLayer"):
        load_model(p)
