"""Per-operator memory analysis: our planner's head equals what the real TFLM allocator reports."""

import pytest

from core.analysis.lifetimes import Buffer
from core.analysis.memory import analyze_memory, memory_table
from core.analysis.planner import arena_head, greedy_offsets
from core.measure.tflm_check import check_tflm
from tests.conftest import shared_model


@pytest.mark.parametrize("name", ["kws_ref_model.tflite", "ad01_int8.tflite",
                                  "pretrainedResnet_quant.tflite", "seed_cnn_fashion_int8.tflite"])
def test_predicted_head_equals_tflm_head(name):
    data = shared_model(name).read_bytes()
    report = analyze_memory(data)
    assert report.predicted_head == check_tflm(data, verify=False).arena_head
    assert report.lower_bound <= report.predicted_head


def test_kws_per_operator_figures():
    report = analyze_memory(shared_model("kws_ref_model.tflite").read_bytes())
    first = report.ops[0]
    assert (first.op_type, first.output_shape, first.macs) == ("CONV_2D", [1, 25, 5, 64], 320_000)
    assert report.peak_bytes == 16_000 and report.timeline[0] == 8_496
    # each constant counted once; the file holds little else
    assert sum(op.flash_bytes for op in report.ops) == report.total_flash
    assert "Peak RAM: 16,000 B" in memory_table(report)


def test_reference_int8_head(trained_reference, adapted_mnist):
    from core.steps.quantize import convert

    data = convert(trained_reference.model, "int8", adapted_mnist)
    report = analyze_memory(data)
    assert report.predicted_head == check_tflm(data, verify=False).arena_head
    assert [op.op_type for op in report.ops] == ["RESHAPE", "CONV_2D", "MAX_POOL_2D", "RESHAPE",
                                                 "FULLY_CONNECTED"]
    assert report.ops[1].macs == 26 * 26 * 12 * 9


def test_greedy_planner_ties_follow_tflm():
    # Equal sizes: TFLM places the buffer added last first (it fills its sorted array from the tail).
    bufs = [Buffer(0, 32, 0, 1), Buffer(1, 32, 1, 2), Buffer(2, 16, 2, 3)]
    offsets = greedy_offsets(bufs)
    assert offsets[1] == 0 and offsets[0] == 32 and arena_head(bufs, offsets) == 64
