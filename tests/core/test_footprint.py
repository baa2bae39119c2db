"""The whole firmware footprint: the model linked with exactly its TFLM code, split by the link map,
and the stack an inference needs measured on the emulated core."""

import os

import pytest

from core.target import toolchain
from tests.conftest import shared_model

if not toolchain.available() and not os.environ.get("TINYOPT_REQUIRE_TARGET"):
    pytest.skip("the Arm toolchain and QEMU are not installed (make setup-target)", allow_module_level=True)

pytestmark = pytest.mark.timeout(1800)  # the first test to need a target builds TFLM for it


def _runner(kernels="cmsis-nn", target="cortex-m4f"):
    from core.target.build import firmware
    from core.target.targets import get

    return firmware(get(target), kernels)


def _measure(name, kernels="cmsis-nn", target="cortex-m4f", arena=None):
    from core.target.footprint import measure

    return measure(shared_model(name).read_bytes(), _runner(kernels, target), arena, exact=arena is not None)


def test_the_split_adds_up_to_the_image_for_the_study_cnn_on_the_m4f():
    data = shared_model("seed_cnn_fashion_int8.tflite").read_bytes()
    fp = _measure("seed_cnn_fashion_int8.tflite")
    parts = fp.model + fp.framework + fp.kernels_total + fp.runtime_library + fp.harness
    assert fp.model == len(data)
    assert 0 <= fp.image - parts <= fp.padding + 64  # the rest is the linker's alignment fill
    assert fp.padding < 1024
    # every operator the model uses has kernel code of its own; the framework is the bulk
    assert set(fp.ops) <= set(fp.kernel_code) and all(fp.kernel_code[op] > 0 for op in fp.ops)
    assert fp.framework > fp.kernels_total / 4 and fp.framework > 10_000
    assert 0 < fp.harness < 4_000  # start-up, main, RunModel (the example code): left out of the totals
    assert fp.flash_total == fp.model + fp.code and fp.flash_total < fp.image
    assert fp.arena >= fp.arena_used > 0 and fp.tflm_static >= 0 and fp.runtime_objects > 0
    assert fp.ram_total == fp.arena + fp.static_ram + fp.stack


def test_the_kernel_set_shows_in_the_code_size():
    cmsis = _measure("seed_cnn_fashion_int8.tflite", "cmsis-nn")
    reference = _measure("seed_cnn_fashion_int8.tflite", "reference")
    assert cmsis.model == reference.model and cmsis.framework == pytest.approx(reference.framework, rel=0.05)
    assert cmsis.kernel_code["DEPTHWISE_CONV_2D"] != reference.kernel_code["DEPTHWISE_CONV_2D"]
    assert cmsis.kernels_total != reference.kernels_total


def test_the_stack_is_measured_and_grows_with_the_kernels_a_model_needs():
    from core.target.build import STACK

    small = _measure("ad01_int8.tflite")  # FULLY_CONNECTED only: 836 B measured on the M4F
    larger = _measure("seed_cnn_fashion_int8.tflite")  # CMSIS-NN's depthwise kernel: 1,284 B
    for fp in (small, larger):
        assert 0 < fp.stack < STACK <= fp.stack_room
    assert larger.stack > small.stack + 200


def test_an_arena_too_small_for_the_footprint_image_says_so():
    from core.errors import TargetError

    with pytest.raises(TargetError, match="AllocateTensors failed with a 1,024-byte arena"):
        _measure("seed_cnn_fashion_int8.tflite", arena=1024)
