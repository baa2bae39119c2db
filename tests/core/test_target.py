"""Cortex-M targets: TFLM built with arm-none-eabi-gcc from the pinned tree, run in QEMU.

The first run builds TFLM for each CPU into the user's cache (minutes); later runs reuse it. In CI
(TINYOPT_REQUIRE_TARGET=1) a missing toolchain fails these tests instead of skipping them.
"""

import os

import numpy as np
import pytest

from core.target import toolchain
from tests.conftest import shared_model

if not toolchain.available() and not os.environ.get("TINYOPT_REQUIRE_TARGET"):
    pytest.skip("the Arm toolchain and QEMU are not installed (make setup-target)", allow_module_level=True)

SAMPLES = 3

# The first test to need a target builds TFLM for it (5-7 minutes per CPU on 2 cores).
pytestmark = pytest.mark.timeout(1800)


def _runner(target, kernels):
    from core.target.build import firmware
    from core.target.targets import get

    return firmware(get(target), kernels)


def _inputs(data: bytes, n: int = SAMPLES, seed: int = 0):
    from core.target.measure import sample_inputs

    return sample_inputs(data, n, seed=seed)


@pytest.mark.parametrize("name", ["seed_cnn_fashion_int8.tflite", "kws_ref_model.tflite"])
def test_cortex_m4_outputs_equal_host_tflm_and_cmsis_nn_is_faster(name):
    from core.target.measure import run
    from core.measure.tflm_check import tflm_outputs

    data = shared_model(name).read_bytes()
    x = _inputs(data)
    host = tflm_outputs(data, x)
    runs = {}
    for kernels in ("cmsis-nn", "reference"):
        r = run(data, x, _runner("cortex-m4f", kernels))
        np.testing.assert_array_equal(r.outputs[0].reshape(host.shape), host)  # bit-identical
        again = run(data, x, _runner("cortex-m4f", kernels))
        assert again.per_sample == r.per_sample  # exact counts: the same on every run
        assert r.arena_used > 0 and r.instructions > 0 and len(r.ops) > 2
        assert sum(op.instructions for op in r.ops) < r.instructions  # ops inside Invoke()
        runs[kernels] = r
    assert runs["cmsis-nn"].instructions * 2 < runs["reference"].instructions
    conv = [op for op in runs["cmsis-nn"].ops if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    assert conv and all(op.macs_per_instruction and op.macs_per_instruction > 0 for op in conv)
    assert runs["cmsis-nn"].build["tflite_micro_commit"] != "unknown"


def test_an_arena_too_small_on_the_target_says_why():
    from core.errors import TinyOptError
    from core.target.measure import loads_at, run

    data = shared_model("seed_cnn_fashion_int8.tflite").read_bytes()
    runner = _runner("cortex-m4f", "cmsis-nn")
    with pytest.raises(TinyOptError, match=r"does not run on cortex-m4f \(cmsis-nn\): AllocateTensors failed"):
        run(data, _inputs(data), runner, arena=2048)
    used = run(data, _inputs(data), runner).arena_used
    assert loads_at(data, runner, used + 16) and not loads_at(data, runner, used - 256)


def test_a_run_with_a_target_measures_every_tflm_runnable_variant(reference_h5):
    from core.recipe import Recipe
    from core.report import table
    from core.session import Session

    recipe = Recipe(model=str(reference_h5), latency_runs=0, target="cortex-m4f",
                    steps=[{"name": "quantize", "params": {"modes": ["int8"]}}])
    original, int8 = Session(recipe).run().variants
    assert original.metrics.target is None  # a Keras model: TFLM runs .tflite files
    t = int8.metrics.target
    assert t.matches_host and t.instructions > 100_000 and t.arena_used > 0
    assert t.cycles_estimate > t.instructions and t.ms_estimate > 0 and "estimate" in t.estimate_model
    assert [op.op for op in t.ops if op.op != "RESHAPE"][:2] == ["CONV_2D", "MAX_POOL_2D"]
    assert "instr" in table([original.metrics, int8.metrics]).splitlines()[0]


def _exported(tmp_path, name, target):
    from core.recipe import Recipe
    from core.session import Session

    session = Session(Recipe(model=str(shared_model(name)), data=None))
    session.load()
    return session, session.export("original", tmp_path, target=target)


@pytest.mark.parametrize("name", ["seed_cnn_fashion_int8.tflite", "kws_ref_model.tflite"])
def test_exported_package_builds_with_its_makefile_and_runs_in_qemu(tmp_path, name):
    session, package = _exported(tmp_path, name, "cortex-m4f")
    assert (package / "Makefile").is_file() and "cortex-m4" in (package / "Makefile").read_text()
    check = session.verify(package, "cortex-m4f")
    assert check.builds and check.allocates and check.outputs_match and check.run_model_instructions > 0
    assert not (package / "build").exists()  # verified in a copy: the package stays as exported
    # the whole firmware's split is in every file a firmware engineer reads, at the declared arena
    import json
    import re

    fp = json.loads((package / "report.json").read_text())["settings"]["footprint"]
    settings = (package / "model_settings.h").read_text()
    assert fp["arena"] == int(re.search(r"kTensorArenaSize = (\d+);", settings).group(1))
    assert f"flash {fp['flash_total']:,} B = model {fp['model']:,}" in settings
    assert fp["model"] == len((package / "model.tflite").read_bytes()) and fp["stack"] > 0
    assert fp["flash_total"] < check.image_bytes  # the verifying image adds printf and file I/O
    assert "Firmware footprint on cortex-m4f" in (package / "report.html").read_text()
    assert "## Firmware footprint" in (package / "README.md").read_text() and "make size" in (package / "README.md").read_text()


def test_cortex_m55_export_declares_at_least_the_arena_the_m55_needs(tmp_path):
    import re

    from core.target.measure import run

    data = shared_model("kws_ref_model.tflite").read_bytes()
    needed = run(data, _inputs(data, 1), _runner("cortex-m55", "cmsis-nn")).arena_used
    _, package = _exported(tmp_path, "kws_ref_model.tflite", "cortex-m55")
    settings = (package / "model_settings.h").read_text()
    declared = int(re.search(r"kTensorArenaSize = (\d+);", settings).group(1))
    assert declared >= needed + 16 and "Cortex-M55" in settings


def test_each_operator_names_the_cmsis_nn_kernel_it_ran():
    """Counted by the QEMU plugin at the kernels' entry points: what CMSIS-NN chose, not assumed."""
    from core.target.measure import run

    runner = _runner("cortex-m4f", "cmsis-nn")
    fashion = shared_model("seed_cnn_fashion_int8.tflite").read_bytes()
    by_op = {op.op: op.kernel for op in run(fashion, _inputs(fashion, 1), runner).ops}
    assert by_op["DEPTHWISE_CONV_2D"] == "arm_depthwise_conv_s8"  # multiplier 12: the generic path
    assert by_op["FULLY_CONNECTED"].startswith("arm_fully_connected_s8") and by_op["QUANTIZE"] == ""
    kws = shared_model("kws_ref_model.tflite").read_bytes()
    convs = [op.kernel for op in run(kws, _inputs(kws, 1), runner).ops if op.op == "CONV_2D"]
    assert convs[0].startswith("arm_convolve_s8, arm_nn_mat_mult_kernel_s8_s16 x")  # the 10x4 first layer
    assert all(k.startswith("arm_convolve_1x1_s8_fast") for k in convs[1:])  # the pointwise ones
