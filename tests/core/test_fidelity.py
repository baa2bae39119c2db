"""Fidelity to the original (ST's validate figures: cos, SNR, l2r, top-1 agreement), measured for
every variant on the same inputs, with or without data."""

import math

import numpy as np
import pytest

from core.measure.fidelity import fidelity
from tests.conftest import shared_model


def test_definitions_on_known_outputs():
    rng = np.random.default_rng(0)
    r = rng.normal(size=(100, 10))
    same = fidelity(r, r.copy())
    assert same.cos == pytest.approx(1.0) and same.l2r == 0.0 and same.snr is None and same.top1 == 1.0
    noise = 0.1 * rng.normal(size=r.shape)
    f = fidelity(r, r + noise)
    assert f.snr == pytest.approx(10 * math.log10(np.sum(r ** 2) / np.sum(noise ** 2)))
    assert f.l2r == pytest.approx(np.linalg.norm(noise) / np.linalg.norm(r))
    assert 0.99 < f.cos < 1.0 and 0.8 < f.top1 < 1.0
    assert fidelity(r[:, :1], r[:, :1]).top1 is None  # one output: no classes to agree on


def test_every_variant_of_a_run_carries_its_fidelity(reference_h5):
    from core.recipe import Recipe
    from core.session import Session

    session = Session(Recipe(model=str(reference_h5), latency_runs=0,
                             steps=[{"name": "quantize", "params": {"modes": ["int8", "float16"]}}]))
    original, float16, int8 = session.run(tflm=False).variants
    assert original.metrics.fidelity is None
    assert float16.metrics.fidelity.top1 >= 0.999 and float16.metrics.fidelity.snr > 40
    f = int8.metrics.fidelity
    assert f.samples == 1000 and f.inputs == "test split" and f.top1 > 0.95 and f.snr > 10


def test_fidelity_without_data_on_synthetic_inputs():
    from core.recipe import Recipe
    from core.session import Session

    session = Session(Recipe(model=str(shared_model("kws_ref_model.tflite")), data=None, latency_runs=0,
                             steps=[{"name": "strip", "params": {}}]))
    original, stripped = session.run(tflm=False).variants
    f = stripped.metrics.fidelity
    assert original.metrics.accuracy is None and stripped.metrics.accuracy is None
    assert f.inputs == "synthetic (no data)" and f.samples == 64
    assert f.l2r == 0.0 and f.snr is None and f.top1 == 1.0  # stripping names changes no output


def test_anomaly_autoencoder_with_unlabelled_arrays_runs_graph_step_with_fidelity(tmp_path):
    """MLPerf Tiny's ad01 autoencoder (640 values in and out) with an x-only .npz: the graph step
    runs, accuracy is not measured (no labels), fidelity is, on the user's own inputs."""
    from core.errors import DataError
    from core.recipe import Recipe
    from core.session import Session

    x = np.random.default_rng(1).normal(0, 1, (40, 640)).astype(np.float32)
    np.savez(tmp_path / "machine.npz", x=x)
    session = Session(Recipe(model=str(shared_model("ad01_int8.tflite")), data=str(tmp_path / "machine.npz"),
                             latency_runs=0, steps=[{"name": "graph", "params": {}}]))
    original, graph = session.run().variants
    assert original.metrics.accuracy is None and graph.metrics.accuracy is None
    f = graph.metrics.fidelity
    assert f.inputs == "test split" and f.samples == 40 and f.l2r == 0.0  # the graph step keeps outputs
    assert graph.metrics.tflm.runs
    np.savez(tmp_path / "scans.npz", x=np.random.default_rng(2).random((40, 28, 28)).astype(np.float32))
    with pytest.raises(DataError, match="needs labels"):
        Session(Recipe(model=str(shared_model("seed_cnn_fashion_base.h5")), data=str(tmp_path / "scans.npz"),
                       steps=[{"name": "prune", "params": {"epochs": 1}}])).run(tflm=False)


def test_resnet_without_data_analysis_graph_step_and_export(tmp_path):
    """MLPerf Tiny's CIFAR-10 ResNet (32x32x3) with no data at all: nothing is adapted from digits;
    analysis, the graph step and the export work; accuracy shows as not measured."""
    from core.recipe import Recipe
    from core.session import Session

    session = Session(Recipe(model=str(shared_model("pretrainedResnet_quant.tflite")), data=None, latency_runs=0,
                             steps=[{"name": "graph", "params": {"time_limit_s": 2.0}}]))
    original, graph = session.run().variants
    assert original.metrics.accuracy is None and graph.metrics.accuracy is None
    assert graph.metrics.fidelity.inputs == "synthetic (no data)" and graph.metrics.fidelity.l2r == 0.0
    assert graph.metrics.tflm.runs and graph.metrics.tflm.arena_total <= original.metrics.tflm.arena_total
    memory, _ = session.memory(graph.artifact)
    assert memory.peak_bytes > 0 and memory.total_macs > 0
    package = session.export("graph", tmp_path / "pkg")
    assert (package / "model_settings.h").exists() and (package / "op_resolver.h").exists()
