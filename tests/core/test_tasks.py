"""Tasks: an autoencoder is scored as anomaly detection (reconstruction error, ROC AUC), a
classifier with per-class accuracy and a confusion matrix."""

import numpy as np
import pytest

from core.measure.tasks import detect, score


def test_detection_from_shapes():
    from core.model.info import ModelIO

    assert detect(ModelIO((640,), 640, output_shape=(640,))) == "anomaly"
    assert detect(ModelIO((28, 28), 10, output_shape=(10,))) == "classification"


def test_confusion_and_per_class_accuracy():
    outputs = np.eye(3)[[0, 1, 2, 2, 1]]
    s, acc = score("classification", np.zeros((5, 4)), outputs, np.array([0, 1, 2, 1, 1]), 3)
    assert acc == pytest.approx(0.8) and s.confusion == [[1, 0, 0], [0, 2, 1], [0, 0, 1]]
    assert s.per_class == [1.0, pytest.approx(2 / 3), 1.0]


def test_autoencoder_int8_keeps_its_anomaly_auc_on_tflm(tmp_path):
    """A dense autoencoder trained here on normal synthetic sensor vectors; anomalies are labelled 1.
    Its int8 variant runs on TFLM and its ROC AUC stays within 0.02 of the float model's."""
    from core.recipe import Recipe
    from core.session import Session
    from core.tf_env import keras

    rng = np.random.default_rng(0)
    basis = rng.normal(size=(4, 32))

    def normal(n):  # vectors on a 4-dimensional subspace: what the autoencoder learns to rebuild
        return (rng.normal(size=(n, 4)) @ basis / 4).astype(np.float32)

    x_train = normal(2000)
    anomalies = normal(100) + rng.normal(0, 0.08, (100, 32)).astype(np.float32)  # off the subspace
    x_test = np.concatenate([normal(300), anomalies])
    y_test = np.r_[np.zeros(300, int), np.ones(100, int)]
    np.savez(tmp_path / "sensors.npz", x_train=x_train, y_train=np.zeros(len(x_train), int),
             x_test=x_test, y_test=y_test)
    k = keras()
    model = k.Sequential([k.layers.InputLayer((32,)), k.layers.Dense(16, activation="relu"),
                          k.layers.Dense(4), k.layers.Dense(16, activation="relu"), k.layers.Dense(32)])
    model.compile("adam", "mse")
    model.fit(x_train, x_train, epochs=30, batch_size=64, verbose=0)
    model.save(str(tmp_path / "ae.h5"))
    session = Session(Recipe(model=str(tmp_path / "ae.h5"), data=str(tmp_path / "sensors.npz"), latency_runs=0,
                             steps=[{"name": "quantize", "params": {"modes": ["int8"]}}]))
    original, int8 = session.run().variants
    assert original.metrics.task == int8.metrics.task == "anomaly"
    assert original.metrics.accuracy is None and 0.9 < original.metrics.scores.auc < 1.0
    assert int8.metrics.tflm.runs
    assert abs(int8.metrics.scores.auc - original.metrics.scores.auc) <= 0.02
    assert int8.metrics.fidelity.top1 is not None and int8.metrics.fidelity.cos > 0.9
    from core.report import score_cell

    assert score_cell(int8.metrics) == f"AUC {int8.metrics.scores.auc:.4f}"


def test_regression_from_csv_targets_prune_and_int8(tmp_path):
    """A CSV whose target column holds measurements (not classes) is a regression: MAE and RMSE,
    fine-tuning with mean squared error, and an int8 variant that stays close."""
    from sklearn.datasets import make_regression

    from core.recipe import Recipe
    from core.session import Session
    from core.tf_env import keras

    x, y = make_regression(n_samples=500, n_features=8, noise=0.1, random_state=0)
    y = (y / np.abs(y).max()).astype(np.float32)
    lines = [",".join([f"f{i}" for i in range(8)] + ["remaining_life"])]
    lines += [",".join(f"{v:.6f}" for v in row) + f",{t:.6f}" for row, t in zip(x, y)]
    (tmp_path / "wear.csv").write_text("\n".join(lines) + "\n")
    k = keras()
    k.utils.set_random_seed(0)
    model = k.Sequential([k.layers.InputLayer((8,)), k.layers.Dense(32, activation="relu"), k.layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(x.astype(np.float32), y, epochs=40, verbose=0)
    model.save(str(tmp_path / "wear.h5"))
    session = Session(Recipe(model=str(tmp_path / "wear.h5"), data=str(tmp_path / "wear.csv"),
                             label_column="remaining_life", latency_runs=0,
                             steps=[{"name": "prune", "params": {"final_sparsity": 0.5, "epochs": 2}},
                                    {"name": "quantize", "params": {"modes": ["int8"]}}]))
    original, pruned, int8 = session.run().variants
    assert original.metrics.task == "regression" and original.metrics.accuracy is None
    assert original.metrics.scores.mae < 0.1 and original.metrics.scores.rmse >= original.metrics.scores.mae
    # fine-tuned with MSE: pruning half the weights keeps the error of the same order
    assert pruned.metrics.scores.mae < max(0.2, 2 * original.metrics.scores.mae)
    assert int8.metrics.tflm.runs and int8.metrics.scores.mae < pruned.metrics.scores.mae + 0.05
    assert int8.metrics.primary[0] == "MAE" and int8.metrics.fidelity.top1 is None


def test_whole_number_targets_are_a_regression_when_asked(tmp_path):
    """Counts in a CSV look like class labels; with the task set to regression they are values."""
    from core.data import load_dataset
    from core.errors import DataError
    from core.recipe import Recipe
    from core.runner import prepare
    from core.steps.base import Context
    from core.tf_env import keras

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (200, 4))
    counts = np.round(x.sum(axis=1) * 3).astype(int)
    rows = ["a,b,c,d,count"] + [",".join(f"{v:.4f}" for v in r) + f",{c}" for r, c in zip(x, counts)]
    (tmp_path / "counts.csv").write_text("\n".join(rows) + "\n")
    k = keras()
    model = k.Sequential([k.layers.InputLayer((4,)), k.layers.Dense(1)])
    model.save(str(tmp_path / "m.h5"))
    base = dict(model=str(tmp_path / "m.h5"), data=str(tmp_path / "counts.csv"), label_column="count")
    with pytest.raises(DataError, match="--task regression"):
        prepare(Recipe(**base), Context())
    _, ds = prepare(Recipe(**base, task="regression"), Context())
    assert ds.y_test.dtype.kind == "f" and ds.num_classes == 0 and len(load_dataset(base["data"], label_column="count").x_test)
