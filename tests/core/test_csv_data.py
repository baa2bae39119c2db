"""CSV data for tabular and sensor models: one sample per row, the label column chosen by name."""

import numpy as np
import pytest

from core.data import load_dataset
from core.errors import DataError


def _write_csv(path, x, y, label="machine_state", names=None):
    cols = [f"sensor_{i}" for i in range(x.shape[1])]
    lines = [",".join(cols + [label])]
    lines += [",".join(f"{v:.6f}" for v in row) + f",{names[t] if names else t}" for row, t in zip(x, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_prune_and_int8_on_a_small_dense_model(tmp_path):
    from sklearn.datasets import make_classification

    from core.recipe import Recipe
    from core.session import Session
    from core.tf_env import keras

    x, y = make_classification(n_samples=600, n_features=12, n_informative=6, n_classes=3, random_state=0)
    csv = _write_csv(tmp_path / "pumps.csv", x, y, names=["ok", "wear", "fault"])
    k = keras()
    model = k.Sequential([k.layers.InputLayer((12,)), k.layers.Dense(32, activation="relu"), k.layers.Dense(3)])
    model.compile("adam", k.losses.SparseCategoricalCrossentropy(from_logits=True), ["accuracy"])
    classes = np.array([1, 2, 0])[y]  # class names are numbered in sorted order: fault, ok, wear
    model.fit(x.astype(np.float32), classes, epochs=15, verbose=0)
    model.save(str(tmp_path / "pumps.h5"))
    session = Session(Recipe(model=str(tmp_path / "pumps.h5"), data=str(csv), label_column="machine_state",
                             latency_runs=0, steps=[{"name": "prune", "params": {"final_sparsity": 0.5, "epochs": 2}},
                                                    {"name": "quantize", "params": {"modes": ["int8"]}}]))
    original, pruned, int8 = session.run().variants
    assert session.labels == ["fault", "ok", "wear"] and session.dataset.x_test.shape == (120, 12)
    assert original.metrics.accuracy > 0.7
    assert int8.metrics.tflm.runs and int8.metrics.accuracy > original.metrics.accuracy - 0.1
    assert int8.metrics.fidelity.top1 > 0.8


def test_csv_columns_and_rows_are_checked(tmp_path):
    x = np.zeros((10, 3))
    path = _write_csv(tmp_path / "d.csv", x, np.arange(10) % 2, label="target")
    ds = load_dataset(str(path))  # "target" is found without being named
    assert ds.labelled and ds.x_train.shape[1] == 3
    with pytest.raises(DataError, match="no column named 'state'; the columns are sensor_0"):
        load_dataset(str(path), label_column="state")
    path.write_text("a,b,label\n1,2,0\n1,x,1\n")
    with pytest.raises(DataError, match="column 'b' holds values that are not numbers"):
        load_dataset(str(path))
    path.write_text("a,b,label\n1,2,0\n1,2\n")
    with pytest.raises(DataError, match="row 3 has 2 values"):
        load_dataset(str(path))
    path.write_text("a,b\n1,2\n3,4\n")
    assert not load_dataset(str(path)).labelled  # no label column: unlabelled


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

cells = st.one_of(st.integers(-5, 5).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                  st.sampled_from(["", "x", "1e999", "-0", "nan", "inf", "3.5", "ok", '"a,b"', "1,2"]),
                  st.text(max_size=4))


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(header=st.lists(st.sampled_from(["a", "b", "label", "target", "", "a"]), min_size=1, max_size=4),
       rows=st.lists(st.lists(cells, min_size=0, max_size=5), max_size=6))
def test_fuzzed_csv_gives_a_dataset_or_a_data_error(tmp_path_factory, header, rows):
    path = tmp_path_factory.mktemp("csv") / "f.csv"
    path.write_text("\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n")
    try:
        ds = load_dataset(str(path))
    except DataError as exc:
        assert "f.csv" in str(exc)
    else:
        assert np.isfinite(ds.x_train).all() and len(ds.x_train) + len(ds.x_test) > 0
