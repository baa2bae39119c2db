"""ONNX models open as Keras models (onnx2tf in a child process, cached by content): outputs match
onnxruntime, the int8 conversion runs on TFLM, old opsets and dynamic batches are handled, bad
files and training steps get messages naming the file."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")


def _cnn(path, *, opset=13, batch="N", seed=0):
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.3, (4, 1, 3, 3)).astype(np.float32)
    b = rng.normal(0, 0.1, 4).astype(np.float32)
    g = rng.normal(0, 0.05, (10, 4 * 13 * 13)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], kernel_shape=[3, 3]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"], axis=1),
             helper.make_node("Gemm", ["f", "G", "GB"], ["y"], transB=1)]
    graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 1, 28, 28])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 10])],
                              [numpy_helper.from_array(a, n) for a, n in
                               ((w, "W"), (b, "B"), (g, "G"), (np.zeros(10, np.float32), "GB"))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7 if opset < 13 else 8
    onnx.save(model, path)
    return path


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr("core.model.onnx_import.cache_dir", lambda: tmp_path / "cache" / "onnx")
    return tmp_path / "cache"


def test_an_onnx_cnn_opens_matches_onnxruntime_and_runs_int8_on_tflm(tmp_path, cache, monkeypatch):
    from core.data import Dataset
    from core.measure.tflm_check import check_tflm
    from core.model.loading import load_model
    from core.steps.quantize import convert

    path = _cnn(tmp_path / "cnn.onnx")
    said = []
    art = load_model(path, progress=said.append)
    assert art.kind == "keras" and art.source == str(path) and art.model.input_shape == (1, 28, 28, 1)
    info = art.info["onnx"]
    assert info["converter"].startswith("onnx2tf ") and info["max_diff"] < 1e-4
    assert "input x: batch set to 1" in info["notes"] and any("converting cnn.onnx" in s for s in said)
    assert path.read_bytes() == _cnn(tmp_path / "again.onnx").read_bytes()  # its input is left as it was

    def no_second_conversion(*args, **kwargs):
        raise AssertionError("converted twice")

    monkeypatch.setattr("core.probes.isolation.run_probe", no_second_conversion)
    again = load_model(path)  # from the cache, by content
    assert again.info["onnx"] == info and len(list((cache / "onnx").iterdir())) == 1
    x = np.random.default_rng(0).uniform(0, 1, (32, 28, 28, 1)).astype(np.float32)
    data = convert(art.model, "int8", Dataset("random", x, np.zeros(32, int), x[:4], np.zeros(4, int)))
    assert check_tflm(data).runs


def test_an_old_opset_is_raised_first(tmp_path, cache):
    from core.model.loading import load_model

    art = load_model(_cnn(tmp_path / "old.onnx", opset=11, batch=1))
    assert "opset 11 raised to 13" in art.info["onnx"]["notes"] and art.info["onnx"]["max_diff"] < 1e-4


@pytest.mark.parametrize("content", [b"", b"not a model at all", b"\x08\x07\x12\x05broken"])
def test_a_bad_onnx_file_is_refused_naming_it(tmp_path, cache, content):
    from core.errors import LoadError
    from core.model.loading import load_model

    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(LoadError, match="bad.onnx"):
        load_model(path)


def test_training_steps_say_why_they_cannot_run_on_it(tmp_path, cache):
    from core.errors import SequenceError
    from core.recipe import Recipe
    from core.runner import run_recipe

    recipe = Recipe.from_dict({"model": str(_cnn(tmp_path / "cnn.onnx")), "latency_runs": 0,
                               "steps": [{"name": "prune", "params": {"epochs": 1}},
                                         {"name": "quantize", "params": {"modes": ["int8"]}}]})
    with pytest.raises(SequenceError, match="cnn.onnx was converted from ONNX"):
        run_recipe(recipe)
