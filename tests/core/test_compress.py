"""LUT compression and stripping: smaller flash, identical outputs on TFLM, mismatches refused."""

import numpy as np
import pytest

from core.errors import ConversionError
from core.steps.base import Context
from core.steps.cluster import ClusterStep
from core.steps.compress import CompressStep, check_inputs
from core.steps.quantize import convert
from core.steps.strip import StripStep
from core.measure.tflm_check import check_tflm, tflm_outputs


@pytest.fixture(scope="module")
def clustered_int8(trained_reference, adapted_mnist):
    art = ClusterStep(clusters=8, epochs=1).run(trained_reference, Context(dataset=adapted_mnist))[0]
    data = convert(art.model, "int8", adapted_mnist)
    return art.derive(kind="tflite", name="int8", step="quantize:int8", data=data)


def test_lut_compression_halves_flash_and_keeps_outputs(clustered_int8, adapted_mnist):
    out = CompressStep().run(clustered_int8, Context(dataset=adapted_mnist))[0]
    info = out.info["compress"]
    assert len(out.data) < 0.6 * len(clustered_int8.data)
    assert [t["index_bits"] for t in info["tensors"]] == [3]  # the dense kernel: 8 values, 3 bits
    assert info["decoded_bytes"] == 20_280 and info["arena_added"] > 0
    x = check_inputs(clustered_int8.data, adapted_mnist)
    np.testing.assert_array_equal(tflm_outputs(out.data, x), tflm_outputs(clustered_int8.data, x))
    assert len(out.data) % 4 == 0 and check_tflm(out.data, verify=False).runs


def test_per_tensor_lut_on_per_channel_weights_is_refused(clustered_int8, adapted_mnist):
    # The conv kernel is quantized per channel: one table for all channels decodes wrong values.
    step = CompressStep(lut_mode="per-tensor", min_bytes=0)
    with pytest.raises(ConversionError, match="changed the model's outputs"):
        step.run(clustered_int8, Context(dataset=adapted_mnist))


def test_unclustered_model_has_nothing_to_compress(trained_reference, adapted_mnist):
    data = convert(trained_reference.model, "int8", adapted_mnist)
    art = trained_reference.derive(kind="tflite", name="int8", step="quantize:int8", data=data)
    out = CompressStep().run(art, Context(dataset=adapted_mnist))[0]
    assert out.data == data and out.info["compress"]["tensors"] == []
    assert any("distinct values" in s for s in out.info["compress"]["skipped"])


def test_strip_removes_names_and_keeps_outputs(clustered_int8, adapted_mnist):
    from core.analysis.tflite_reader import read_model

    out = StripStep().run(clustered_int8, Context())[0]
    assert len(out.data) < len(clustered_int8.data) - 500
    model = read_model(out.data)
    assert all(not t.name for t in model.subgraphs[0].tensors) and not model.signatureDefs
    sg = model.subgraphs[0]
    assert all(t.shapeSignature is None for t in sg.tensors)
    assert len(model.buffers) == 1 + len({t.buffer for t in sg.tensors if t.buffer})  # one empty buffer, shared
    x = check_inputs(clustered_int8.data, adapted_mnist, n=16)
    np.testing.assert_array_equal(tflm_outputs(out.data, x), tflm_outputs(clustered_int8.data, x))
    kept = StripStep(shapes=False).run(clustered_int8, Context())[0]
    assert len(out.data) < len(kept.data)


def test_per_layer_match_shows_decode_as_added_and_keeps_the_dense_layer(clustered_int8, adapted_mnist):
    """Before/after views pair operators by what they compute: the int8 model's FULLY_CONNECTED
    stands beside the compressed model's FULLY_CONNECTED, not under its DECODE."""
    from core.analysis.match import match_ops
    from core.analysis.memory import analyze_memory

    out = CompressStep().run(clustered_int8, Context(dataset=adapted_mnist))[0]
    before, after = analyze_memory(clustered_int8.data), analyze_memory(out.data)
    rows = match_ops(before.ops, after.ops)
    pairs = [(r.status, before.ops[r.original].op_type if r.original is not None else None,
              after.ops[r.variant].op_type if r.variant is not None else None) for r in rows]
    assert ("matched", "FULLY_CONNECTED", "FULLY_CONNECTED") in pairs
    assert ("added", None, "CUSTOM:TFLM_DECODE") in pairs
    assert [p for p in pairs if p[0] != "added"] == [("matched", op, op) for op in [o.op_type for o in before.ops]]
