"""Built-in datasets, .npz files, and the rules that adapt data to a model's input."""

import numpy as np
import pytest

from core.data import adapt, load_dataset, representative
from core.errors import DataError


def test_mnist5k_split_is_stratified_and_deterministic(mnist5k):
    assert len(mnist5k.x_train) + len(mnist5k.x_test) == 5000
    assert mnist5k.x_train.shape[1:] == (28, 28) and mnist5k.x_train.dtype == np.float32
    assert 0.0 <= mnist5k.x_train.min() and mnist5k.x_train.max() <= 1.0
    counts = np.bincount(mnist5k.y_test, minlength=10) / len(mnist5k.y_test)
    full = np.bincount(np.concatenate([mnist5k.y_train, mnist5k.y_test])) / 5000
    np.testing.assert_allclose(counts, full, atol=0.005)
    again = load_dataset("mnist-5k")
    np.testing.assert_array_equal(again.y_test, mnist5k.y_test)
    assert not np.array_equal(load_dataset("mnist-5k", seed=1).y_test, mnist5k.y_test)


def test_digits():
    ds = load_dataset("digits")
    assert ds.x_train.shape[1:] == (8, 8) and ds.num_classes == 10 and ds.x_train.max() <= 1.0


def test_keras_dataset_without_cache_or_network_says_how(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    from core.tf_env import keras

    def offline(*a, **k):
        raise OSError("network unreachable")

    monkeypatch.setattr(keras().datasets.fashion_mnist, "load_data", offline)
    with pytest.raises(DataError) as e:
        load_dataset("fashion-mnist")
    assert "fashion-mnist" in str(e.value) and ".npz" in str(e.value)


def test_npz_roundtrip_and_uint8_scaling(tmp_path):
    rng = np.random.default_rng(0)
    p = tmp_path / "mine.npz"
    np.savez(p, x_train=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), y_train=np.arange(20) % 3,
             x_test=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), y_test=np.arange(6) % 3)
    ds = load_dataset(str(p))
    assert ds.name == "mine" and ds.num_classes == 3 and ds.x_test.max() <= 1.0


def test_npz_missing_arrays_named(tmp_path):
    p = tmp_path / "half.npz"
    np.savez(p, x_train=np.zeros((2, 4)), y_train=np.zeros(2))
    with pytest.raises(DataError, match="x_test, y_test"):
        load_dataset(str(p))


def test_unknown_dataset():
    with pytest.raises(DataError, match="mnist-5k"):
        load_dataset("imagenet")


@pytest.mark.parametrize("shape,expected", [
    ((28, 28), (28, 28)),
    ((28, 28, 1), (28, 28, 1)),
    ((784,), (784,)),
    ((None, None, 1), (28, 28, 1)),
])
def test_builtin_fits_models_with_its_own_input(mnist5k, shape, expected):
    ds = adapt(mnist5k, shape, 10)
    assert ds.x_train.shape[1:] == expected and ds.x_test.shape[1:] == expected


@pytest.mark.parametrize("name,shape", [("mnist-5k", (32, 32, 3)), ("mnist-5k", (14, 14, 1)),
                                        ("mnist-5k", (64,)), ("digits", (28, 28, 1))])
def test_builtin_is_never_resized_into_an_unrelated_input(name, shape):
    with pytest.raises(DataError) as e:
        adapt(load_dataset(name), shape, 10, model_name="model 'resnet.h5'")
    text = str(e.value)
    assert f"model 'resnet.h5' takes inputs of shape {shape}" in text and "never resized" in text
    assert "image folder" in text and ".npz" in text


@pytest.mark.parametrize("shape,expected", [((14, 14, 1), (14, 14, 1)), ((32, 32, 3), (32, 32, 3))])
def test_own_images_are_resized_and_given_channels(mnist5k, shape, expected):
    from dataclasses import replace

    mine = replace(mnist5k, name="my_scans")  # the user's own images: adapting them is their choice
    ds = adapt(mine, shape, 10)
    assert ds.x_train.shape[1:] == expected and 0.0 <= ds.x_test.min() and ds.x_test.max() <= 1.01


def test_adapt_value_range(mnist5k):
    ds = adapt(mnist5k, (28, 28), 10, value_range=(0.0, 255.0))
    assert ds.x_train.max() > 200 and ds.value_range == (0.0, 255.0)


def test_adapt_refuses_too_few_outputs(mnist5k):
    with pytest.raises(DataError, match="10 classes"):
        adapt(mnist5k, (28, 28), 5, model_name="model 'tiny.h5'")


def test_adapt_refuses_wrong_rank(mnist5k):
    from dataclasses import replace

    mine = replace(mnist5k, name="my_scans")
    with pytest.raises(DataError, match="rank 4"):
        adapt(mine, (4, 28, 28, 1), 10)
    with pytest.raises(DataError, match="vectors of 101"):
        adapt(mine, (101,), 10)


def test_representative_generator(adapted_mnist):
    batches = list(representative(adapted_mnist)())
    assert len(batches) == 200 and batches[0][0].shape == (1, 28, 28)
    assert batches[0][0].dtype == np.float32


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_npz_with_nan_or_inf_is_refused_naming_the_samples(tmp_path, bad):
    x = np.random.default_rng(0).random((20, 8, 8)).astype(np.float32)
    x[3, 2, 2] = bad
    x[17, 0, 0] = bad
    p = tmp_path / "sensor.npz"
    np.savez(p, x_train=x, y_train=np.arange(20) % 2, x_test=x[:4], y_test=np.arange(4) % 2)
    with pytest.raises(DataError) as e:
        load_dataset(str(p))
    assert "sensor.npz: x_train: 2 of 20 samples hold NaN or infinite values (samples 3, 17)" in str(e.value)


def test_npz_negative_labels_refused(tmp_path):
    p = tmp_path / "neg.npz"
    x = np.zeros((4, 8, 8), np.float32)
    np.savez(p, x_train=x, y_train=np.array([0, 1, -1, 0]), x_test=x, y_test=np.zeros(4, int))
    with pytest.raises(DataError, match="negative class labels"):
        load_dataset(str(p))


def test_npz_with_x_and_y_is_split_and_x_alone_is_unlabelled(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 16)).astype(np.float32) * 40  # sensor units, not 0..1: kept as they are
    np.savez(tmp_path / "xy.npz", x=x, y=np.arange(50) % 5)
    ds = load_dataset(str(tmp_path / "xy.npz"))
    assert (len(ds.x_train), len(ds.x_test)) == (40, 10) and ds.labelled and ds.num_classes == 5
    assert np.abs(ds.x_train).max() > 10 and ds.value_range is None
    np.savez(tmp_path / "x.npz", x=x)
    unlabelled = load_dataset(str(tmp_path / "x.npz"))
    assert not unlabelled.labelled and len(unlabelled.x_train) == len(unlabelled.x_test) == 50
    assert adapt(unlabelled, (16,), 16).x_test.shape == (50, 16)  # any number of outputs: no classes


def test_npy_pair_and_single_npy(tmp_path):
    x = np.random.default_rng(0).random((30, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.arange(30) % 3)
    ds = load_dataset(f"{tmp_path / 'x.npy'},{tmp_path / 'y.npy'}")
    assert ds.labelled and len(ds.x_train) == 24 and ds.num_classes == 3
    assert not load_dataset(str(tmp_path / "x.npy")).labelled
    np.save(tmp_path / "short.npy", np.arange(5))
    with pytest.raises(DataError, match="x and y have different lengths"):
        load_dataset(f"{tmp_path / 'x.npy'},{tmp_path / 'short.npy'}")
    (tmp_path / "bad.npy").write_bytes(b"garbage")
    with pytest.raises(DataError, match="bad.npy: not a readable .npy array"):
        load_dataset(str(tmp_path / "bad.npy"))


def test_input_range_from_the_recipe_scales_the_data(reference_h5):
    from core.recipe import Recipe
    from core.runner import input_range, prepare
    from core.steps.base import Context

    recipe = Recipe(model=str(reference_h5), input_range=[-1, 1])
    original, ds = prepare(recipe, Context())
    assert input_range(recipe, original) == (-1, 1)
    assert ds.x_test.min() == pytest.approx(-1.0) and ds.x_test.max() == pytest.approx(1.0, abs=0.01)
    detected = Recipe(model=str(reference_h5))
    assert input_range(detected, original) == (0.0, 1.0)  # no Rescaling layer: 0..1
