"""ONNX models open as Keras models (onnx2tf in a child process, cached by content) rebuilt from
standard layers: outputs match onnxruntime, NCHW flattens leave no TRANSPOSE, int8 runs on TFLM,
pruning and QAT run through them; ops without a Keras layer leave the post-training steps; bad
files get messages naming the file and the op."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from tests.core import onnx_models  # noqa: E402


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr("core.model.onnx_import.cache_dir", lambda: tmp_path / "cache" / "onnx")
    return tmp_path / "cache"


def _onnxruntime(path, x):
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))])


def _int8_ops(model, x):
    from core.analysis.tflite_reader import op_names, read_model
    from core.data import Dataset
    from core.measure.tflm_check import check_tflm
    from core.steps.quantize import convert

    data = convert(model, "int8", Dataset("random", x, np.zeros(len(x), int), x[:4], np.zeros(4, int)))
    assert check_tflm(data).runs
    return op_names(read_model(data))


def test_an_nchw_cnn_is_rebuilt_as_keras_layers_with_no_transpose_left(tmp_path, cache, monkeypatch):
    from core.model.loading import load_model

    path = onnx_models.cnn(tmp_path / "cnn.onnx")
    said = []
    art = load_model(path, progress=said.append)
    assert art.kind == "keras" and art.source == str(path) and art.model.input_shape == (None, 28, 28, 1)
    assert [type(layer).__name__ for layer in art.model.layers] == [
        "InputLayer", "Conv2D", "ReLU", "MaxPooling2D", "Flatten", "Dense"]
    info = art.info["onnx"]
    assert info["converter"].startswith("onnx2tf ") and info["rebuilt"] and info["transposes"] == []
    assert "input x: batch set to 1" in info["notes"] and any("converting cnn.onnx" in s for s in said)
    assert path.read_bytes() == onnx_models.cnn(tmp_path / "again.onnx").read_bytes()  # its input is left as it was

    # Against onnxruntime ourselves, in batches (the rebuilt model is batch free): NCHW in, NHWC here.
    x = np.random.default_rng(1).uniform(0, 1, (16, 1, 28, 28)).astype(np.float32)
    got = np.asarray(art.model(np.transpose(x, (0, 2, 3, 1))))
    assert np.max(np.abs(got - _onnxruntime(path, x))) < 1e-5 and info["max_diff"] < 1e-5
    ops = _int8_ops(art.model, np.transpose(x, (0, 2, 3, 1)))
    assert "TRANSPOSE" not in ops and ops.count("CONV_2D") == 1 and "FULLY_CONNECTED" in ops

    def no_second_conversion(*args, **kwargs):
        raise AssertionError("converted twice")

    monkeypatch.setattr("core.probes.isolation.run_probe", no_second_conversion)
    again = load_model(path)  # from the cache, by content
    assert again.info["onnx"] == info and len(list((cache / "onnx").iterdir())) == 1


@pytest.mark.parametrize("build,shape", [(onnx_models.residual, (1, 28, 28)), (onnx_models.rgb_strided, (3, 32, 32)),
                                         (onnx_models.sequence, (20, 6))])
def test_residual_batchnorm_depthwise_and_sequence_models_rebuild_exactly(tmp_path, cache, build, shape):
    from core.model.loading import load_model

    path = build(tmp_path / f"{build.__name__}.onnx")
    art = load_model(path)
    info = art.info["onnx"]
    kinds = {type(layer).__name__ for layer in art.model.layers}
    assert info["rebuilt"] and not kinds & {"TFOpLambda", "Permute", "Lambda"}, (info, kinds)
    x = np.random.default_rng(2).uniform(0, 1, (8, *shape)).astype(np.float32)
    if build is onnx_models.residual:
        assert {"DepthwiseConv2D", "Add", "GlobalAveragePooling2D", "Softmax"} <= kinds
        assert "BatchNormalization" not in kinds  # folded into the convolution before it
    if build is onnx_models.rgb_strided:
        assert "ZeroPadding2D" in kinds and art.model.input_shape == (None, 32, 32, 3)
    if len(shape) == 3:  # an image: NCHW for onnxruntime, NHWC for the rebuilt model
        ours = np.transpose(x, (0, 2, 3, 1))
        assert "sequence" not in " ".join(info["notes"])
    else:  # a sequence keeps its layout
        assert "sequence input(s) kept as they are: x" in info["notes"]
        ours = x
    assert np.max(np.abs(np.asarray(art.model(ours)) - _onnxruntime(path, x))) < 1e-5
    assert "TRANSPOSE" not in _int8_ops(art.model, ours)


def test_an_old_opset_is_raised_first(tmp_path, cache):
    from core.model.loading import load_model

    art = load_model(onnx_models.cnn(tmp_path / "old.onnx", opset=11, batch=1))
    assert "opset 11 raised to 13" in art.info["onnx"]["notes"] and art.info["onnx"]["max_diff"] < 1e-4


def test_an_op_with_no_keras_layer_keeps_the_post_training_steps_and_names_it(tmp_path, cache):
    from core.errors import SequenceError
    from core.model.onnx_import import describe
    from core.recipe import Recipe
    from core.runner import run_recipe

    path = onnx_models.cnn(tmp_path / "sine.onnx", activation="Sin")
    recipe = Recipe.from_dict({"model": str(path), "latency_runs": 0,
                               "steps": [{"name": "prune", "params": {"epochs": 1}},
                                         {"name": "quantize", "params": {"modes": ["int8"]}}]})
    with pytest.raises(SequenceError, match=r"sine.onnx was converted from ONNX.*tf\.math\.sin"):
        run_recipe(recipe)
    recipe.steps = [{"name": "quantize", "params": {"modes": ["full-int"]}}]
    result = run_recipe(recipe)  # quantization still works on the op-lambda model (SIN stays float)
    info = result.variants[0].artifact.info["onnx"]
    assert not info["rebuilt"] and "tf.math.sin" in info["blocked_by"]
    assert result.variants[-1].metrics.tflm.runs
    # onnx2tf's NCHW flatten keeps its TRANSPOSE there, and the summary says what it costs
    assert info["transposes"] and "1 TRANSPOSE left (an int8 buffer of 676 B in the arena)" in describe(info)


def _holding(content):
    def make(path):
        path.write_bytes(content)
        return path
    return make


def _truncated(path):
    data = onnx_models.cnn(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _future_opset(path):
    model = onnx.load(onnx_models.cnn(path))
    model.opset_import[0].version = 99
    onnx.save(model, path)
    return path


@pytest.mark.parametrize("make,says", [
    (_holding(b""), "empty"),
    (_holding(b"not a model at all"), "not an ONNX model|no graph"),
    (_holding(b"\x08\x07\x12\x05broken"), "not an ONNX model|no graph"),
    (_truncated, "not an ONNX model|no graph"),
    (_future_opset, "opset 99, newer than"),
    (onnx_models.custom_op, r"operator com\.vendor\.FancyActivation \(node 'fancy_1'\) is not one onnx2tf"),
])
def test_a_bad_onnx_file_is_refused_naming_it(tmp_path, cache, make, says):
    from core.errors import LoadError
    from core.model.loading import load_model

    path = make(tmp_path / "bad.onnx")
    with pytest.raises(LoadError, match="bad.onnx") as raised:
        load_model(path)
    assert __import__("re").search(says, str(raised.value)), str(raised.value)
    assert not (cache / "onnx").exists() or not any((cache / "onnx").iterdir())  # refused before converting


def test_a_conversion_that_differs_from_onnxruntime_is_refused_with_the_figure(tmp_path, cache):
    import json

    from core.errors import LoadError
    from core.model.loading import load_model

    path = onnx_models.cnn(tmp_path / "cnn.onnx")
    load_model(path)
    (meta,) = (cache / "onnx").glob("*/conversion.json")
    info = json.loads(meta.read_text())
    meta.write_text(json.dumps(dict(info, max_diff=0.25)))  # as a converter bug would leave it
    with pytest.raises(LoadError, match=r"cnn.onnx: the converted model's outputs differ from onnxruntime's by 0.25"):
        load_model(path)


def test_a_tensorflow_export_keeps_its_channels_last_input(tmp_path, cache):
    """tf2onnx writes NHWC inputs; onnx2tf would read H as channels unless the shape is kept."""
    tf2onnx = pytest.importorskip("tf2onnx")
    import tensorflow as tf

    from core.model.loading import load_model
    from core.tf_env import keras

    k = keras()
    model = k.Sequential([k.layers.Input((28, 28, 1)), k.layers.Conv2D(4, 3, activation="relu"),
                          k.layers.MaxPooling2D(), k.layers.Flatten(), k.layers.Dense(10)])
    proto, _ = tf2onnx.convert.from_keras(model, opset=13,
                                          input_signature=[tf.TensorSpec((None, 28, 28, 1), tf.float32, name="x")])
    path = tmp_path / "from_keras.onnx"
    path.write_bytes(proto.SerializeToString())
    art = load_model(path)
    assert art.model.input_shape == (None, 28, 28, 1) and art.info["onnx"]["transposes"] == []
    assert [type(layer).__name__ for layer in art.model.layers][1:] == [
        "Conv2D", "ReLU", "MaxPooling2D", "Flatten", "Dense"]
    x = np.random.default_rng(3).uniform(0, 1, (8, 28, 28, 1)).astype(np.float32)
    assert np.max(np.abs(np.asarray(art.model(x)) - np.asarray(model(x)))) < 1e-5


def test_an_exported_trained_cnn_prunes_qats_and_quantizes_through_the_rebuilt_model(
        tmp_path, cache, trained_reference, mnist5k):
    """The trained reference CNN exported as PyTorch would (NCHW): same predictions once opened,
    then prune -> QAT -> int8 keeps the sparsity and the accuracy, with no TRANSPOSE on the MCU."""
    from core.analysis.tflite_reader import op_names, read_model
    from core.recipe import Recipe
    from core.runner import run_recipe
    from core.steps.base import Context

    path = onnx_models.reference_nchw(trained_reference.model, tmp_path / "reference.onnx")
    recipe = Recipe.from_dict({"model": str(path), "data": "mnist-5k", "latency_runs": 0, "steps": [
        {"name": "prune", "params": {"final_sparsity": 0.5, "epochs": 1}},
        {"name": "qat", "params": {"epochs": 1}},
        {"name": "quantize", "params": {"modes": ["int8"]}}]})
    said = []
    result = run_recipe(recipe, Context(log=said.append))
    assert any(line.startswith("ONNX conversion on your data: max |diff| against onnxruntime") for line in said)
    original, *_, int8 = result.variants
    x = mnist5k.x_test[:200].astype(np.float32)
    reference = np.asarray(trained_reference.model(x)).argmax(1)
    ours = np.asarray(original.artifact.model(x.reshape(-1, 28, 28, 1))).argmax(1)
    assert np.array_equal(reference, ours)
    assert original.metrics.accuracy > 0.85 and int8.metrics.accuracy > original.metrics.accuracy - 0.03
    assert int8.metrics.tflm.runs and "TRANSPOSE" not in op_names(read_model(int8.artifact.data))
    model = read_model(int8.artifact.data)
    weights = max((bytes(model.buffers[t.buffer].data) for t in model.subgraphs[0].tensors
                   if t.buffer and model.buffers[t.buffer].data is not None), key=len)
    assert np.mean(np.frombuffer(weights, np.int8) == 0) >= 0.45  # the Dense kept its pruning


def test_a_conversion_wrong_on_the_users_data_is_refused_with_the_figure(tmp_path, cache, mnist5k):
    from core.errors import LoadError
    from core.model.loading import load_model
    from core.model.onnx_import import check_on_data

    art = load_model(onnx_models.cnn(tmp_path / "cnn.onnx"))
    x = mnist5k.x_test[:8].reshape(-1, 28, 28, 1).astype(np.float32)
    assert check_on_data(art, x) < 1e-5
    dense = art.model.layers[-1]
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel, bias + 0.5])  # as a conversion that went wrong would be
    with pytest.raises(LoadError, match=r"cnn.onnx: on your data .* differ from onnxruntime's by 0.5"):
        check_on_data(art, x)
