"""Sparse weight storage for TFLM's DECODE (prune): the encoder against its Python decoder bit for
bit, and pruned models that TFLM runs with the same outputs as the dense ones."""

import numpy as np
import pytest

from core.analysis.sparse_weights import HEADER, decode, encode, stored_bytes


@pytest.mark.parametrize("sparsity", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("shape, axis, dtype", [((13,), None, np.int8), ((4, 3, 3, 5), 0, np.int8),
                                                ((1, 3, 3, 7), 3, np.int8), ((5, 11), None, np.int16),
                                                ((3, 5, 1, 1), 0, np.int16)])
def test_decode_of_encode_is_the_tensor(sparsity, shape, axis, dtype):
    rng = np.random.default_rng(7)
    info = np.iinfo(dtype)
    values = rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
    channels = shape[axis] if axis is not None else 1
    zps = rng.integers(-3, 4, channels) if dtype == np.int8 and axis is not None else np.zeros(channels, int)
    view = [1] * len(shape)
    if axis is not None:
        view[axis] = channels
    zp_full = np.broadcast_to(zps.reshape(view) if axis is not None else zps[0], shape)
    values = np.where(rng.random(shape) < sparsity, zp_full, values).astype(dtype)
    bitmap, ancillary = encode(values, zps, axis)
    assert len(bitmap) == (values.size + 7) // 8 and ancillary[0] == 2 and ancillary[4] == 1
    nonzero = int(np.count_nonzero(values != zp_full))
    assert len(ancillary) == HEADER + nonzero * values.itemsize == stored_bytes(values, zps, axis) - len(bitmap)
    np.testing.assert_array_equal(decode(bitmap, ancillary, shape, dtype, zps, axis), values)


def test_bit_order_is_most_significant_first():
    """Element i is bit 7 - i % 8 of byte i // 8, as decode_state_prune.cc reads it."""
    values = np.array([5, 0, 0, 0, 0, 0, 0, 7, 0, 9], np.int8)
    bitmap, ancillary = encode(values)
    assert bitmap == bytes([0b1000_0001, 0b0100_0000])
    assert ancillary[HEADER:] == bytes([5, 7, 9])


def test_a_middle_channel_axis_is_refused():
    with pytest.raises(ValueError, match="first or last"):
        encode(np.zeros((2, 3, 4), np.int8), [0, 0, 0], axis=1)


@pytest.fixture(scope="module")
def pruned_int8(trained_reference, adapted_mnist):
    from core.steps.base import Context
    from core.steps.prune import PruneStep
    from core.steps.quantize import convert

    (pruned,) = PruneStep(final_sparsity=0.8, epochs=1).run(trained_reference, Context(dataset=adapted_mnist))
    data = convert(pruned.model, "int8", adapted_mnist)
    return pruned.derive(kind="tflite", name="int8", step="quantize:int8", data=data)


def test_pruned_reference_is_stored_sparse_in_under_45_percent_of_int8(pruned_int8, trained_reference, adapted_mnist):
    """prune 0.8 -> int8 -> compress: the Dense weights go sparse (a table of their 100+ values is larger),
    TFLM's outputs equal the dense model's on 64 inputs (the step refuses otherwise), and the
    decoded weights' arena cost is reported."""
    from core.measure.tflm_check import tflm_outputs
    from core.steps.base import Context
    from core.steps.compress import CompressStep, check_inputs
    from core.steps.quantize import convert

    dense = convert(trained_reference.model, "int8", adapted_mnist)
    out = CompressStep().run(pruned_int8, Context(dataset=adapted_mnist))[0]
    info = out.info["compress"]
    assert [t["storage"] for t in info["tensors"]] == ["sparse"]
    assert len(out.data) <= 0.45 * len(dense)
    assert info["arena_added"] > 0 and info["decoded_bytes"] == 20_280
    x = check_inputs(pruned_int8.data, adapted_mnist)
    np.testing.assert_array_equal(tflm_outputs(out.data, x), tflm_outputs(pruned_int8.data, x))
    from core.search.bounds import lower_bounds

    steps = [{"name": "prune", "params": {}}, {"name": "quantize", "params": {"modes": ["int8"]}},
             {"name": "compress", "params": {"index_bits": 4}}]  # auto storage: sparse beats 4-bit tables
    assert lower_bounds(trained_reference.model, steps)[0] <= len(out.data)  # the search's bound still holds
    lut = CompressStep(storage="lut").run(pruned_int8, Context(dataset=adapted_mnist))[0]
    assert len(lut.data) > len(out.data)  # auto took the smaller: a table of ~100 values saves little


def test_sparse_storage_needs_pruning_first():
    from core.recipe import Recipe

    bad = Recipe.from_dict({"model": "reference", "steps": [
        {"name": "quantize", "params": {"modes": ["int8"]}}, {"name": "compress", "params": {"storage": "sparse"}}]})
    with pytest.raises(Exception, match="prune"):
        bad.sequence().validate("keras")


@pytest.mark.skipif(not __import__("core.target.toolchain", fromlist=["available"]).available()
                    and not __import__("os").environ.get("TINYOPT_REQUIRE_TARGET"),
                    reason="the Arm toolchain and QEMU are not installed (make setup-target)")
@pytest.mark.timeout(1800)  # the first target test on a machine builds TFLM for the core
def test_the_sparse_model_runs_on_the_emulated_m4f_with_the_hosts_outputs(pruned_int8, adapted_mnist):
    from core.measure.tflm_check import tflm_outputs
    from core.steps.base import Context
    from core.steps.compress import CompressStep, check_inputs
    from core.target.build import firmware
    from core.target.measure import run
    from core.target.targets import get

    out = CompressStep().run(pruned_int8, Context(dataset=adapted_mnist))[0]
    x = check_inputs(pruned_int8.data, adapted_mnist, n=4)  # LiteRT cannot open DECODE: quantize as before
    result = run(out.data, x, firmware(get("cortex-m4f"), "cmsis-nn"))
    host = tflm_outputs(out.data, x)
    np.testing.assert_array_equal(result.outputs[0].reshape(host.shape), host)
    decode = [op for op in result.ops if "DECODE" in op.op]
    assert decode and all(op.instructions > 0 for op in decode)  # the cost of decoding, every inference


@pytest.mark.skipif(not __import__("core.target.toolchain", fromlist=["available"]).available()
                    and not __import__("os").environ.get("TINYOPT_REQUIRE_TARGET"),
                    reason="the Arm toolchain and QEMU are not installed (make setup-target)")
@pytest.mark.timeout(1800)
def test_an_exported_package_with_sparse_weights_builds_and_runs_on_the_m4f(pruned_int8, adapted_mnist, tmp_path):
    """The firmware package links the DECODE kernels: it builds, allocates at its declared arena
    and gives the host TFLM's outputs in QEMU."""
    from core.recipe import Recipe
    from core.session import Session
    from core.steps.base import Context
    from core.steps.compress import CompressStep

    out = CompressStep().run(pruned_int8, Context(dataset=adapted_mnist))[0]
    path = tmp_path / "sparse.tflite"
    path.write_bytes(out.data)
    session = Session(Recipe(model=str(path), data=None))
    session.load()
    package = session.export("original", tmp_path / "export", target="cortex-m4f")
    check = session.verify(package, "cortex-m4f")
    assert check.builds and check.allocates and check.outputs_match and check.run_model_instructions > 0
