"""The real TFLM runtime, in a child process: arena figures, failures with reasons, aborts survived."""

import numpy as np
import pytest

from core.measure.tflm_check import check_tflm
from tests.conftest import shared_model

# Figures measured with TFLM's RecordingMicroAllocator (../shared/models/README.md).
KNOWN = {
    "kws_ref_model.tflite": (24_272, 16_000, 8_272),
    "pretrainedResnet_quant.tflite": (55_984, 49_152, 6_832),
    "ad01_int8.tflite": (3_984, 768, 3_216),
    "seed_cnn_fashion_int8.tflite": (11_952, 10_144, 1_808),
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_measured_arena_matches_tflm(name):
    res = check_tflm(shared_model(name).read_bytes())
    assert res.runs, res.reason
    assert (res.arena_total, res.arena_head, res.arena_tail) == KNOWN[name]
    assert res.arena_verified is not None and res.arena_verified >= res.arena_total - 16


@pytest.fixture(scope="module")
def softmax_int8():
    """A tiny int8 model ending in SOFTMAX, converted by the real converter."""
    from core.data import Dataset
    from core.steps.quantize import convert
    from core.tf_env import keras

    k = keras()
    m = k.Sequential([k.layers.InputLayer(input_shape=(8,)), k.layers.Dense(4), k.layers.Softmax()])
    x = np.random.default_rng(0).random((40, 8)).astype(np.float32)
    return convert(m, "int8", Dataset("r", x, np.arange(40) % 4, x, np.arange(40) % 4), 40)


def test_smallest_arena_survives_aborts_while_searching(softmax_int8):
    # Arenas just above the reported total make TFLM abort() while preparing; the search resumes.
    res = check_tflm(softmax_int8)
    assert res.runs and res.arena_verified and res.arena_verified >= res.arena_total


def test_abort_reported_not_fatal(softmax_int8, monkeypatch):
    # At exactly this arena the pinned TFLM build aborts() while preparing (found by the search)
    monkeypatch.setenv("TINYOPT_TFLM_ARENA", "1408")
    res = check_tflm(softmax_int8, verify=False)
    assert not res.runs
    assert "aborted" in res.reason and "SIGABRT" in res.reason and "temp buffers" in res.reason


def test_bad_quantization_names_op(softmax_int8):
    from tensorflow.lite.tools import flatbuffer_utils as fu

    model = fu.convert_bytearray_to_object(bytearray(softmax_int8))
    sg = model.subgraphs[0]
    sg.tensors[sg.outputs[0]].quantization.scale = [1.0]  # TFLM's int8 SOFTMAX needs 1/256
    res = check_tflm(bytes(fu.convert_object_to_bytearray(model)))
    assert not res.runs and "SOFTMAX" in res.reason and "prepare" in res.reason
