"""A dataset adapted to one model's input: channel axis, size, flattening, scaling or mean/std
normalization, and the calibration samples the TFLite converter reads."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from core.data.builtin import builtin_fits
from core.data.dataset import Dataset
from core.errors import DataError, setting


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
