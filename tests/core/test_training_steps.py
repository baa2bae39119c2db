"""Pruning, clustering, QAT (and their collaborative forms) and the separable rewrite, on real tfmot."""

import numpy as np
import pytest

from core.errors import Cancelled, ConversionError
from core.measure.evaluation import LiteRTRunner
from core.steps.base import CancelToken, Context
from core.steps.cluster import ClusterStep
from core.steps.prune import PruneStep
from core.steps.qat import QatStep
from core.steps.quantize import convert
from core.steps.separable import SeparableStep, candidates, factorize, rewrite
from core.steps.training import accuracy, kernel_layers


def _weights(model):
    return [w.copy() for w in model.get_weights()]


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def pruned(trained_reference, adapted_mnist):
    before = _weights(trained_reference.model)
    out = PruneStep(final_sparsity=0.8).run(trained_reference, Context(dataset=adapted_mnist))[0]
    assert _same(before, trained_reference.model.get_weights()), "pruning changed its input model"
    return out


def test_pruning_reaches_target_sparsity_in_every_kernel(pruned):
    for layer in kernel_layers(pruned.model):
        kernel = layer.get_weights()[0]
        assert np.mean(kernel == 0) >= 0.79, layer.name
    assert set(pruned.info["prune"]["sparsity"]) == {"conv2d", "dense"}
    assert not any("prune_low_magnitude" in layer.name for layer in pruned.model.layers)


def test_pruning_skips_named_layers(trained_reference, adapted_mnist):
    step = PruneStep(final_sparsity=0.5, epochs=1, skip_layers=["conv2d"], schedule="constant")
    out = step.run(trained_reference, Context(dataset=adapted_mnist))[0]
    conv = out.model.get_layer("conv2d").get_weights()[0]
    assert np.mean(conv == 0) < 0.1 and out.info["prune"]["sparsity"]["dense"] >= 0.49


def test_pqat_int8_keeps_sparsity_and_accuracy(pruned, trained_reference, adapted_mnist):
    qat = QatStep().run(pruned, Context(dataset=adapted_mnist))[0]
    assert qat.info["qat"]["scheme"] == "sparsity"
    data = convert(qat.model, "int8", adapted_mnist)
    from core.analysis.tflite_reader import read_model

    model = read_model(data)
    dense = max((t for t in model.subgraphs[0].tensors if t.buffer and model.buffers[t.buffer].data is not None),
                key=lambda t: len(model.buffers[t.buffer].data))
    assert np.mean(np.frombuffer(bytes(model.buffers[dense.buffer].data), np.int8) == 0) >= 0.79
    float_acc = accuracy(trained_reference.model, adapted_mnist.x_test, adapted_mnist.y_test)
    int8_out = LiteRTRunner(data).outputs(adapted_mnist.x_test)
    int8_acc = float(np.mean(int8_out.argmax(axis=1) == adapted_mnist.y_test))
    assert int8_acc >= float_acc - 0.01, (int8_acc, float_acc)


def test_clustering_leaves_few_distinct_values(trained_reference, adapted_mnist):
    before = _weights(trained_reference.model)
    out = ClusterStep(clusters=8, epochs=1).run(trained_reference, Context(dataset=adapted_mnist))[0]
    assert _same(before, trained_reference.model.get_weights()), "clustering changed its input model"
    for layer in kernel_layers(out.model):
        assert np.unique(layer.get_weights()[0]).size <= 8, layer.name


def test_cancel_mid_training_keeps_input(trained_reference, adapted_mnist):
    token = CancelToken()
    seen = []

    def progress(p):
        seen.append(p)
        if len(seen) == 5:  # a few batches into the first epoch
            token.cancel()

    before = _weights(trained_reference.model)
    with pytest.raises(Cancelled):
        PruneStep(epochs=3).run(trained_reference, Context(dataset=adapted_mnist, progress=progress,
                                                           cancel=token))
    assert len(seen) == 5 and seen[-1].fraction < 0.05
    assert _same(before, trained_reference.model.get_weights())


def test_qat_names_a_layer_it_cannot_quantize(adapted_mnist):
    from core.artifact import Artifact
    from core.tf_env import keras

    k = keras()
    inp = k.Input((28, 28))
    x = k.layers.Reshape((28, 28, 1))(inp)
    x = k.layers.Conv2D(4, 3)(x)
    x = k.layers.LayerNormalization(name="odd_norm")(x)
    out = k.layers.Dense(10)(k.layers.Flatten()(x))
    art = Artifact("keras", "original", "test", model=k.Model(inp, out))
    with pytest.raises(ConversionError, match="odd_norm.*LayerNormalization"):
        QatStep(epochs=0).run(art, Context(dataset=adapted_mnist))


def test_factorization_is_exact_for_rank_one_kernels():
    rng = np.random.default_rng(0)
    d, p = rng.normal(size=(3, 3, 4)), rng.normal(size=(4, 8))
    kernel = np.einsum("hwc,co->hwco", d, p).astype(np.float32)
    dw, pw = factorize(kernel, 1)
    rebuilt = np.einsum("hwc,co->hwco", dw[..., 0], pw[0, 0])
    np.testing.assert_allclose(rebuilt, kernel, rtol=1e-4, atol=1e-5)


def test_separable_rewrite_of_a_functional_model_lowers_macs(adapted_mnist):
    from core.tf_env import keras

    k = keras()
    inp = k.Input((28, 28, 1))
    x = k.layers.Conv2D(32, 3, padding="same", activation="relu", name="c1")(inp)
    x = k.layers.MaxPooling2D()(x)
    y = k.layers.Conv2D(32, 3, padding="same", activation="relu", name="c2")(x)
    y = k.layers.Add()([x, y])
    out = k.layers.Dense(10)(k.layers.GlobalAveragePooling2D()(y))
    model = k.Model(inp, out)
    assert candidates(model, 1) == ["c1", "c2"]
    new = rewrite(model, {"c2"}, 1)
    assert [type(layer).__name__ for layer in new.layers].count("DepthwiseConv2D") == 1
    assert new.get_layer("c2").kernel.shape == (1, 1, 32, 32)
    x = np.random.default_rng(0).uniform(size=(2, 28, 28, 1)).astype(np.float32)
    assert new.predict(x, verbose=0).shape == (2, 10)
    unchanged = rewrite(model, set(), 1)
    np.testing.assert_allclose(unchanged.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


def test_separable_on_reference_reports_each_conv(trained_reference, adapted_mnist):
    out = SeparableStep(epochs=1, max_drop=100).run(trained_reference, Context(dataset=adapted_mnist))[0]
    layer = out.info["separable"]["layers"]["conv2d"]
    assert layer["replaced"] and layer["macs_after"] * 3 < layer["macs_before"]
    assert "conv2d_dw" in [lyr.name for lyr in out.model.layers]
    guarded = SeparableStep(epochs=0, max_drop=0).run(trained_reference, Context(dataset=adapted_mnist))[0]
    assert not guarded.info["separable"]["layers"]["conv2d"]["replaced"]
    assert "conv2d_dw" not in [lyr.name for lyr in guarded.model.layers]


def test_prune_then_cluster_in_a_fresh_process(reference_h5, tmp_path):
    """Sparsity-preserving clustering once needed a module only QAT happened to import: in a
    process that had run no QAT, prune -> cluster failed. A fresh process checks it."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "tinyopt", "run", "--model", str(reference_h5), "--latency-runs",
                           "0", "--steps", "prune:epochs=1,cluster:epochs=1", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "keeping zeros" in proc.stderr and (tmp_path / "out" / "pruned+clustered.h5").exists()


def test_clustering_a_hard_pruned_kernel_with_more_clusters_than_weights(pruned, adapted_mnist):
    """80 % pruned, the reference's 108-weight conv keeps about 22 non-zero weights: 32 clusters
    made tfmot's k-means++ fail (found by the search). Each weight is then its own cluster."""
    lines = []
    out = ClusterStep(clusters=32, epochs=1).run(pruned, Context(dataset=adapted_mnist, log=lines.append))[0]
    conv = next(layer for layer in kernel_layers(out.model) if "conv" in layer.name)
    kernel = conv.get_weights()[0]
    assert np.count_nonzero(kernel) < 32 and np.unique(kernel[kernel != 0]).size <= np.count_nonzero(kernel)
    assert any("clusters instead of 32" in line for line in lines)
