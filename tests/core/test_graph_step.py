"""Graph step: reordering and offline plans lower the TFLM-measured arena, outputs bit-identical."""

import pytest

from bench.synthetic import bottleneck_chain, inception_block, long_chain_graph
from core.analysis.graph import build_graph
from core.analysis.lifetimes import Buffer
from core.analysis.offline_plan import read_plan, verify
from core.artifact import Artifact
from core.errors import ConversionError
from core.steps.base import Context
from core.steps.graph import GraphStep, same_outputs
from core.measure.tflm_check import check_tflm
from tests.conftest import shared_model


def _run(data):
    return GraphStep().run(Artifact("tflite", "int8", "test", data=data), Context())[0]


def test_offline_plan_lowers_tflm_head_by_a_fifth():
    data = bottleneck_chain()
    out = _run(data)
    info = out.info["graph"]
    assert info["offline_plan"] and info["tflm_head_after"] <= 0.8 * info["tflm_head_before"]
    assert check_tflm(out.data, verify=False).arena_head == info["lower_bound_after"]
    plan = read_plan(build_graph(out.data).model)
    assert len(plan) == len(build_graph(out.data).tensors)  # one entry per tensor, constants at -1
    assert same_outputs(data, out.data) is None
    assert len(out.data) % 16 == 0


def test_reordering_a_branched_block():
    data = inception_block()
    out = _run(data)
    info = out.info["graph"]
    assert info["reordered"] and info["tflm_head_after"] < info["tflm_head_before"]
    assert same_outputs(data, out.data) is None


def test_nothing_to_gain_returns_the_model_unchanged():
    data = shared_model("kws_ref_model.tflite").read_bytes()
    out = _run(data)
    assert out.data == data and "already reaches" in out.info["graph"]["unchanged"]


def test_overlapping_plan_is_refused():
    bufs = [Buffer(0, 64, 0, 2), Buffer(1, 64, 1, 3)]
    with pytest.raises(ConversionError, match="overlap"):
        verify(bufs, [0, 32])
    verify(bufs, [0, 64])
    verify([Buffer(0, 64, 0, 1), Buffer(1, 64, 2, 3)], [0, 0])  # not alive together: may share


def test_thousand_operator_analysis_is_fast():
    import time

    from core.analysis.memory import analyze_graph

    t = time.perf_counter()
    report = analyze_graph(long_chain_graph(1000))
    assert time.perf_counter() - t < 2.0 and len(report.ops) == 1000
