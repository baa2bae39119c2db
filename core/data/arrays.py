"""Your arrays as a dataset: a .npz (x_train, y_train, x_test, y_test; or x, y; or x alone), one or
two .npy files, or arrays in memory (CSV and image folders end here too), every array checked."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from core.data.dataset import Dataset, check_finite, split
from core.errors import DataError

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def npz_dataset(path: Path, seed: int = 0, test_fraction: float = 0.2) -> Dataset:
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


def npy_dataset(spec: str, seed: int, test_fraction: float) -> Dataset:
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
