"""Operator forms of a one-input-channel convolution: every form bit-identical on TFLM and LiteRT,
RESHAPE planned in place, and the graph step's speed pass measured on the emulated core."""

import os

import numpy as np
import pytest

from core.analysis import conv_forms
from core.analysis.tflite_reader import op_names, read_model
from core.analysis.tflite_writer import to_bytes
from core.artifact import Artifact
from core.data import Dataset
from core.steps.base import Context
from core.steps.graph import GraphStep, same_outputs
from core.target import toolchain
from tests.conftest import shared_model


def _int8(layers, shape, io="full-int") -> bytes:
    from core.steps.quantize import convert
    from core.tf_env import keras

    k = keras()
    model = k.Sequential([k.layers.InputLayer(shape)] + layers)
    x = np.random.default_rng(0).uniform(0, 1, (32, *shape)).astype(np.float32)
    return convert(model, io, Dataset("random", x, np.zeros(32, int), x[:4], np.zeros(4, int)))


def _layers(channels, kernel, pool, padding="valid"):
    from core.tf_env import keras

    L = keras().layers
    out = [L.Conv2D(channels, kernel, padding=padding, activation="relu")]
    return out + ([L.MaxPool2D()] if pool else []) + [L.Flatten(), L.Dense(5)]


CASES = [  # (height, width, channels, kernel, pool, padding)
    (28, 28, 12, 3, True, "valid"),
    (28, 28, 1, 3, False, "valid"),
    (12, 10, 3, 5, True, "valid"),
    (16, 16, 16, 3, False, "valid"),
    (10, 14, 8, 3, True, "same"),  # no space-to-depth form: SAME padding
    (9, 9, 2, 3, False, "valid"),  # none either: odd sizes
]


@pytest.mark.parametrize("h,w,c,k,pool,padding", CASES)
def test_every_form_is_bit_identical_on_tflm_and_litert(h, w, c, k, pool, padding):
    data = _int8(_layers(c, k, pool, padding), (h, w, 1), "int8")
    model = read_model(data)
    (site,) = conv_forms.sites(model)
    assert site.channels == c and (site.pool is not None) == pool
    assert ("s2d" in site.forms) == (padding == "valid" and h % 2 == 0 and w % 2 == 0)
    assert ("pairs" in site.forms) == (padding == "valid" and w % 2 == 0)
    for form in site.forms:
        out = to_bytes(conv_forms.rewrite(model, site, form))
        assert same_outputs(data, out) is None, form
        ops = op_names(read_model(out))
        if form == "s2d":
            assert "SPACE_TO_DEPTH" in ops and ("MAX_POOL_2D" in ops) == pool
            assert ("DEPTH_TO_SPACE" in ops) != pool  # the pool takes the block's max directly
        elif form == "pairs":  # two reshapes around the convolution, nothing copied
            assert ops.count("RESHAPE") == 3 and ops.count("CONV_2D") == 1 and "SPACE_TO_DEPTH" not in ops
        else:
            assert ops.count({"conv": "CONV_2D", "depthwise": "DEPTHWISE_CONV_2D"}[form]) == 1


def test_a_float_model_and_multi_channel_inputs_have_no_sites():
    from core.tf_env import keras

    L = keras().layers
    three = _int8([L.Conv2D(4, 3), L.Flatten(), L.Dense(3)], (12, 12, 3))
    strided = _int8([L.Conv2D(4, 3, strides=2), L.Flatten(), L.Dense(3)], (12, 12, 1))
    assert conv_forms.sites(read_model(three)) == [] and conv_forms.sites(read_model(strided)) == []


def test_a_reshape_is_planned_in_place_and_the_measured_arena_falls():
    """Flatten after a wide convolution: TFLM's planner keeps both copies alive; in place one."""
    from core.measure.tflm_check import check_tflm
    from core.tf_env import keras

    L = keras().layers
    data = _int8([L.Conv2D(8, 3, activation="relu"), L.Flatten(), L.Dense(4)], (28, 28, 1), "int8")
    out = GraphStep(speed=False).run(Artifact("tflite", "int8", "test", data=data), Context())[0]
    before, after = check_tflm(data), check_tflm(out.data)
    assert after.arena_head <= 0.65 * before.arena_head  # 784 + 5,408 instead of 2 x 5,408
    assert same_outputs(data, out.data) is None


def test_without_an_emulated_core_the_pass_says_why():
    lines = []
    data = shared_model("seed_cnn_fashion_int8.tflite").read_bytes()
    out = GraphStep().run(Artifact("tflite", "int8", "test", data=data), Context(log=lines.append))[0]
    assert out.info["graph"]["speed"] == [] and "emulated core" in out.info["graph"]["speed_skipped"]
    assert any("operator forms not tried" in line for line in lines)


needs_target = pytest.mark.skipif(not toolchain.available() and not os.environ.get("TINYOPT_REQUIRE_TARGET"),
                                  reason="the Arm toolchain and QEMU are not installed (make setup-target)")


@needs_target
@pytest.mark.timeout(1800)  # the first target test builds TFLM for the M4F
def test_the_studys_cnn_runs_faster_on_the_m4f_with_outputs_unchanged():
    from core.measure.tflm_check import tflm_outputs
    from core.target.build import firmware
    from core.target.measure import run, sample_inputs
    from core.target.targets import get

    fw = firmware(get("cortex-m4f"), "cmsis-nn")
    data = shared_model("seed_cnn_fashion_int8.tflite").read_bytes()
    lines = []
    out = GraphStep().run(Artifact("tflite", "int8", "test", data=data), Context(firmware=fw, log=lines.append))[0]
    (report,) = out.info["graph"]["speed"]
    assert report["before"] == "depthwise" and report["after"] != report["before"]
    assert {r["form"] for r in report["runs"]} == {"conv", "depthwise", "s2d", "pairs"}
    assert any("MACs/instruction" in line for line in lines)
    x = sample_inputs(data, 8, seed=1)
    assert same_outputs(data, out.data) is None
    before, after = run(data, x, fw), run(out.data, x, fw)
    assert after.instructions < 0.9 * before.instructions
    assert np.array_equal(after.outputs[0], before.outputs[0])
    assert np.array_equal(after.outputs[0].reshape(-1), tflm_outputs(out.data, x).reshape(-1))
    assert after.arena_used <= 1.10 * before.arena_used


@needs_target
@pytest.mark.timeout(1800)
def test_a_faster_form_never_breaks_the_budget_channel_pruning_met():
    """After channels fitted a flash budget, the graph step keeps to it: a form whose stripped
    model is larger is measured and refused, named in the report."""
    from core.steps.strip import strip
    from core.target.build import firmware
    from core.target.targets import get

    fw = firmware(get("cortex-m4f"), "cmsis-nn")
    data = shared_model("seed_cnn_fashion_int8.tflite").read_bytes()
    cap = len(strip(data)) + 200  # room for the memory plan, not for space-to-depth's 4x filters
    art = Artifact("tflite", "int8", "test", data=data, info={"channels": {"budget": {"flash": cap, "arena": None}}})
    out = GraphStep().run(art, Context(firmware=fw))[0]
    (report,) = out.info["graph"]["speed"]
    s2d = next(r for r in report["runs"] if r["form"] == "s2d")
    assert s2d["stripped"] > cap and "budget" in s2d["why"] and report["after"] != "s2d"
    assert len(strip(out.data)) <= cap
